"""Where a kelp server's CPU goes under load: py-spy samples while wrk or `kelp benchmark` drives it.

Against a running cluster (a master plus one volume server whose pid is given), each phase loads
the server and records py-spy's raw (collapsed) stacks for a fixed time in the middle of the load:
  put-raw : wrk PUT of SIZE..SIZE+63-byte octet-stream bodies to pre-assigned fids (as w1)
  get-raw : wrk GET of those fids
  post-mp : `kelp benchmark -read=false` (assign + multipart POST, as `weed benchmark` writes);
            with --master-pid the master is sampled at the same time (its /dir/assign path)
Then it prints, per phase, the functions with the most samples on top of the stack ("self") and
anywhere on the stack ("inclusive"), and writes them to OUT_DIR/<phase>.txt next to the raw stacks.

    python -m ops.bench.profile_volume --master 127.0.0.1:29600 --volume-pid 123 [--master-pid 122]

Needs py-spy (`pip install py-spy`) and wrk; the wrk driver is /work/shared/bench/anchorlib.py.
Imports the standard library and that reference module only.
"""

from __future__ import annotations

import argparse
import collections
import importlib
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Any

REFERENCE_BENCH = Path(os.environ.get("KELP_REFERENCE_BENCH", "/work/shared/bench"))
REPO_ROOT = Path(__file__).resolve().parent.parent.parent
# Load is given this long to reach a steady state before sampling starts.
WARMUP_S = 1.5
TOP = 25
_LINE_NO = re.compile(r":\d+\)$")


def _anchorlib() -> ModuleType:
    sys.path.insert(0, str(REFERENCE_BENCH))
    return importlib.import_module("anchorlib")


def _py_spy() -> str:
    found = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if not found:
        raise SystemExit("py-spy not found: pip install py-spy")
    return found


def _record(pid: int, out: Path, seconds: float, rate: int, gil: bool) -> subprocess.Popen[bytes]:
    argv = [_py_spy(), "record", "--format", "raw", "-o", str(out), "--pid", str(pid)]
    argv += ["--duration", str(int(seconds)), "--rate", str(rate)]
    if gil:
        # Only samples of the thread holding the GIL: Python and uvloop work, not threads parked
        # on a queue or the loop's epoll wait (which py-spy's idle heuristic sometimes counts).
        argv.append("--gil")
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def summarize(raw: Path, possible: int = 0, top: int = TOP) -> str:
    """Self and inclusive sample counts per function (file:line dropped) from collapsed stacks."""
    self_counts: collections.Counter[str] = collections.Counter()
    incl_counts: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_LINE_NO.sub(")", f) for f in stack.split(";")]
        total += count
        self_counts[frames[-1]] += count
        for frame in set(frames):
            incl_counts[frame] += count
    if not total:
        return f"{raw.name}: no samples\n"
    busy = f" = {total * 100 / possible:.0f}% of {possible} sample ticks (GIL held)" if possible else ""
    out = [f"{raw.name}: {total} samples{busy}", "", "self %  function"]
    out += [f"{c * 100 / total:6.1f}  {f}" for f, c in self_counts.most_common(top)]
    out += ["", "incl %  function"]
    out += [f"{c * 100 / total:6.1f}  {f}" for f, c in incl_counts.most_common(top)]
    return "\n".join(out) + "\n"


def _profiled(
    pids: dict[str, int], out_dir: Path, phase: str, seconds: float, rate: int, gil: bool, load: Any
) -> list[Path]:
    """Run `load` in a thread, sample every pid for `seconds` in its middle, wait for the load."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            load()
        except BaseException as err:  # reported after the samplers are done
            errors.append(err)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    time.sleep(WARMUP_S)
    raws = {name: out_dir / f"{phase}-{name}.raw" for name in pids}
    samplers = [_record(pid, raws[name], seconds, rate, gil) for name, pid in pids.items()]
    for sampler in samplers:
        _, err = sampler.communicate(timeout=seconds + 60)
        if sampler.returncode != 0:
            print(f"py-spy exited {sampler.returncode}: {err.decode()[-500:]}", file=sys.stderr)
    worker.join()
    if errors:
        raise errors[0]
    return [raw for raw in raws.values() if raw.exists()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--master", required=True)
    ap.add_argument("--volume-pid", type=int, required=True)
    ap.add_argument("--master-pid", type=int, default=0)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--n", type=int, default=300_000, help="requests per wrk phase (must outlast sampling)")
    ap.add_argument("--bench-n", type=int, default=100_000, help="files for the kelp benchmark phase")
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--rate", type=int, default=200, help="py-spy samples per second")
    ap.add_argument("--phases", default="put-raw,get-raw,post-mp")
    ap.add_argument("--all-threads", action="store_true", help="py-spy without --gil")
    ap.add_argument("--out-dir", type=Path, default=Path(os.environ.get("KELP_TMPDIR", "/tmp")) / "kelp-prof")
    args = ap.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    anchor = _anchorlib()
    phases = args.phases.split(",")
    fids = str(args.out_dir / "fids.txt")
    batch = max(1, -(-args.n // 8))
    volume_url = ""
    if "put-raw" in phases or "get-raw" in phases:
        volume_url, _ = anchor.assign_batches(args.master, args.n, batch, fids, "prof")
    wrk_common = {"fids": fids, "batch": batch}
    loads = {
        "put-raw": lambda: anchor.run_wrk(
            f"http://{volume_url}",
            "vol_put",
            args.n,
            16,
            1,
            600,
            [args.volume_pid],
            minsize=args.size,
            maxsize=args.size + 63,
            **wrk_common,
        ),
        "get-raw": lambda: anchor.run_wrk(
            f"http://{volume_url}", "vol_get", args.n, 16, 1, 600, [args.volume_pid], **wrk_common
        ),
        "post-mp": lambda: subprocess.run(
            [
                sys.executable,
                "-m",
                "ops.cli.main",
                "benchmark",
                f"-master={args.master}",
                f"-n={args.bench_n}",
                f"-size={args.size}",
                "-c=16",
                "-read=false",
                "-progress=false",
                "-collection=profmp",
                f"-list={args.out_dir / 'bench.fids'}",
            ],
            cwd=REPO_ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=900,
            env=dict(os.environ, PYTHONPATH=f"{REPO_ROOT}{os.pathsep}{REPO_ROOT / 'proto'}"),
        ),
    }
    for phase in phases:
        pids = {"volume": args.volume_pid}
        if phase == "post-mp" and args.master_pid:
            pids["master"] = args.master_pid
        gil = not args.all_threads
        for raw in _profiled(pids, args.out_dir, phase, args.seconds, args.rate, gil, loads[phase]):
            text = summarize(raw, int(args.seconds * args.rate) if gil else 0)
            raw.with_suffix(".txt").write_text(text)
            print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
