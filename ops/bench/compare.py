"""kelp against SeaweedFS on this machine, same client, same run: a ratio table.

Starts a SeaweedFS cluster (`weed master` + `weed volume`, the venv's `weed`, flags as in
/work/shared/bench/cluster_seaweedfs.sh) and a kelp cluster with ops.localcluster on free ports of
one range: `kelp master` + `kelp volume` as two processes (`--kelp-mode separate`, the default, like
for like with weed) or one `kelp server -dir=...` (`--kelp-mode server`). Then it alternates the
workloads between them, run by run:
  * `kelp benchmark` 1 KiB (write, then read) and 64 KiB (write, then read), c=16;
  * optionally the real `weed benchmark` client (`--weed-n`), as issue 3 asks;
  * optionally the reference wrk client /work/shared/bench/w1_blob_http.py (1 KiB PUT/GET on the
    volume server with pre-assigned ids; `--w1-large-n` adds its 64 KiB form with no assign phase),
    which needs `wrk` (`--install-wrk` apt-installs it).
Server CPU per request comes from /proc/PID/stat of the cluster's processes (also split per
process for `kelp benchmark`). Prints one table (median [min-max] per system, kelp/SeaweedFS of
the medians) and `RESULT_JSON {...}` last.

    python -m ops.bench.compare --n 30000 --runs 3 [--port-range 25000-25999] [--w1] [--w1-large-n 10000]

Imports ops.localcluster and the standard library only; every cluster is stopped by pid on exit.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ops.localcluster import REPO_ROOT, ClusterError, LocalCluster, VolumeSpec, WeedCluster

_CLK_TCK = os.sysconf("SC_CLK_TCK")
REFERENCE_BENCH = Path(os.environ.get("KELP_REFERENCE_BENCH", "/work/shared/bench"))
# One workload run may not take longer than this; a stuck server fails the comparison, not the machine.
WORKLOAD_TIMEOUT_S = 1800
# Volumes per volume server, as the reference SeaweedFS script configures (-max=100).
VOLUME_MAX = 100


def _cpu_seconds(pids: Sequence[int]) -> float:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError), open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / _CLK_TCK


def _result_json(stdout: str) -> dict[str, Any]:
    for line in reversed(stdout.splitlines()):
        if line.startswith("RESULT_JSON "):
            parsed: dict[str, Any] = json.loads(line.removeprefix("RESULT_JSON "))
            return parsed
    raise RuntimeError("no RESULT_JSON line in:\n" + stdout[-2000:])


def _run(argv: list[str]) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "proto")]))
    proc = subprocess.run(
        argv, capture_output=True, text=True, timeout=WORKLOAD_TIMEOUT_S, env=env, check=False
    )
    if proc.returncode not in (0, 1):  # 1 = some requests failed: still a result to report
        raise RuntimeError(f"{' '.join(argv[:4])} exited {proc.returncode}: {proc.stderr[-2000:]}")
    return _result_json(proc.stdout)


class System:
    """One running cluster under test."""

    def __init__(self, name: str, cluster: LocalCluster) -> None:
        self.name = name
        self.cluster = cluster

    @property
    def pids(self) -> list[int]:
        return [n.pid for n in self.cluster.nodes.values() if n.pid is not None]

    def cpu_by_node(self) -> dict[str, float]:
        return {n.name: _cpu_seconds([n.pid]) for n in self.cluster.nodes.values() if n.pid is not None}

    def benchmark(self, workdir: Path, tag: str, n: int, size: int, conc: int, batch: int) -> dict[str, Any]:
        """`kelp benchmark` write phase then read phase, each with server CPU accounted."""
        listing = workdir / f"{self.name}-{tag}.fids"
        common = [
            sys.executable,
            "-m",
            "ops.cli.main",
            "benchmark",
            f"-master={self.cluster.master}",
            f"-n={n}",
            f"-size={size}",
            f"-c={conc}",
            f"-assignBatch={batch}",
            f"-collection=bench{tag}",
            f"-list={listing}",
            "-progress=false",
        ]
        out: dict[str, Any] = {}
        for phase, flags in (("write", ["-read=false"]), ("read", ["-write=false"])):
            before = self.cpu_by_node()
            load_before = _loadavg()
            result = _run(common + flags)[phase]
            after = self.cpu_by_node()
            done = max(1, result["completed"])
            used = sum(after.values()) - sum(before.values())
            result["server_cpu_us_per_req"] = round(used / done * 1e6, 1)
            # Which process pays: the master (assign, lookup) or the volume server (the bytes).
            result["server_cpu_us_per_req_by_node"] = {
                name: round((after[name] - before.get(name, 0.0)) / done * 1e6, 1) for name in after
            }
            result["loadavg_before"] = load_before
            out[phase] = result
        return out

    def weed_benchmark(self, n: int, size: int, conc: int, tag: str) -> dict[str, Any]:
        """The real `weed benchmark` client (gRPC Assign + KeepConnected, HTTP writes and reads)
        against this cluster's master; write and read phases with server CPU accounted."""
        argv = [
            WeedCluster.binary(),
            "benchmark",
            f"-master={self.cluster.master}",
            f"-n={n}",
            f"-size={size}",
            f"-c={conc}",
            f"-collection=weedbench{tag}",
        ]
        before = _cpu_seconds(self.pids)
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=WORKLOAD_TIMEOUT_S)
        used = _cpu_seconds(self.pids) - before
        if proc.returncode != 0:
            raise RuntimeError(f"weed benchmark exited {proc.returncode}: {proc.stderr[-2000:]}")
        out = parse_weed_benchmark(proc.stdout)
        done = sum(max(1, phase.get("completed", 0)) for phase in out.values())
        for phase in out.values():
            phase["server_cpu_us_per_req"] = round(used / max(1, done) * 1e6, 1)  # both phases together
        return out

    def w1(self, workdir: Path, n: int, size: int, conc: int, assign_n: int | None = None) -> dict[str, Any]:
        script = REFERENCE_BENCH / "w1_blob_http.py"
        argv = [
            sys.executable,
            str(script),
            f"--master={self.cluster.master}",
            f"--n={n}",
            f"--size={size}",
            f"--conc={conc}",
            "--runs=1",
            f"--server-pids={','.join(map(str, self.pids))}",
            f"--workdir={workdir}",
            f"--assign-n={min(n, 20000) if assign_n is None else assign_n}",
        ]
        return _run(argv)


@contextlib.contextmanager
def _systems(args: argparse.Namespace, workdir: Path) -> Iterator[list[System]]:
    port_range = tuple(int(p) for p in args.port_range.split("-"))
    assert len(port_range) == 2
    started: list[System] = []
    try:
        if not args.skip_weed:
            weed = WeedCluster(
                [VolumeSpec(max_volumes=VOLUME_MAX)], workdir=workdir / "weed", port_range=port_range
            )
            started.append(System("seaweedfs", weed.start()))
        if not args.skip_kelp:
            kelp = LocalCluster(
                [VolumeSpec(max_volumes=VOLUME_MAX)],
                all_in_one=args.kelp_mode == "server",
                workdir=workdir / "kelp",
                port_range=port_range,
                volume_flags=[f"-{'volume.' if args.kelp_mode == 'server' else ''}index={args.kelp_index}"],
            )
            try:
                started.append(System("kelp", kelp.start()))
            except ClusterError as err:
                print(f"kelp cluster did not start ({err}); comparing nothing for kelp", file=sys.stderr)
        yield started
    finally:
        for system in started:
            system.cluster.stop()


_WEED_FIELDS = {
    "Requests per second:": "req_per_s",
    "Failed requests:": "failed",
    "Completed requests:": "completed",
}


def parse_weed_benchmark(stdout: str) -> dict[str, dict[str, Any]]:
    """`weed benchmark`'s report: its "Writing" and "Randomly Reading" sections, each with
    "Completed requests", "Failed requests" and "Requests per second"."""
    out: dict[str, dict[str, Any]] = {}
    phase = ""
    for line in stdout.splitlines():
        if "Writing Benchmark" in line:
            phase = "write"
        elif "Reading Benchmark" in line:
            phase = "read"
        for label, key in _WEED_FIELDS.items():
            if phase and line.strip().startswith(label):
                out.setdefault(phase, {})[key] = float(line.split(":", 1)[1].split()[0])
    return out


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


# (label, path into a kelp benchmark phase result, True if higher is better)
_BENCH_ROWS = (
    ("req/s", ("req_per_s",), True),
    ("MB/s", ("mb_per_s",), True),
    ("p50 ms", ("latency_ms", "p50"), False),
    ("p99 ms", ("latency_ms", "p99"), False),
    ("server CPU µs/req", ("server_cpu_us_per_req",), False),
    ("failed", ("failed",), False),
)
_W1_ROWS = (
    ("req/s", ("req_per_s", "median"), True),
    ("MB/s", ("MB_per_s", "median"), True),
    ("p50 ms", ("p50_ms", "median"), False),
    ("p99 ms", ("p99_ms", "median"), False),
    ("server CPU µs/req", ("server_cpu_us_per_req", "median"), False),
)


def _dig(obj: Any, path: Sequence[str]) -> float | None:
    for key in path:
        if not isinstance(obj, dict) or key not in obj:
            return None
        obj = obj[key]
    return float(obj) if isinstance(obj, int | float) else None


def _cell(values: list[float]) -> str:
    """median [min-max] of one system's runs."""
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{statistics.median(values):.1f} [{min(values):.1f}-{max(values):.1f}]"


def _table(results: dict[str, dict[str, list[dict[str, Any]]]], names: list[str]) -> list[str]:
    width = 26
    lines = [
        f"{'workload':<28} {'metric':<18} " + " ".join(f"{n:>{width}}" for n in names) + "  kelp/SeaweedFS"
    ]
    for workload, per_system in results.items():
        rows = _W1_ROWS if workload.startswith("w1") else _BENCH_ROWS
        for label, path, higher_better in rows:
            runs = [[v for r in per_system.get(n, []) if (v := _dig(r, path)) is not None] for n in names]
            if not any(runs):
                continue
            values = [_median(v) for v in runs]
            ratio = ""
            if "kelp" in names and "seaweedfs" in names:
                k, w = values[names.index("kelp")], values[names.index("seaweedfs")]
                if w and w == w and k == k:
                    ratio = f"{k / w:.2f}x" + ("" if label == "failed" else (" ↑" if higher_better else " ↓"))
            cells = " ".join(f"{_cell(v):>{width}}" for v in runs)
            lines.append(f"{workload:<28} {label:<18} {cells}  {ratio}")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100_000, help="1 KiB files per run (0 skips)")
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--large-n", type=int, default=4000, help="64 KiB files per run (0 skips)")
    ap.add_argument("--large-size", type=int, default=65536)
    ap.add_argument("--c", type=int, default=16)
    ap.add_argument("--assign-batch", type=int, default=1, help="kelp benchmark -assignBatch")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--weed-n", type=int, default=0, help="files per weed benchmark run (0 skips)")
    ap.add_argument("--w1", action="store_true", help="also run the reference wrk client w1_blob_http.py")
    ap.add_argument("--w1-n", type=int, default=0, help="w1 1 KiB blobs per run (default: --n)")
    ap.add_argument(
        "--w1-large-n", type=int, default=0, help="w1 64 KiB blobs per run, no assign phase (0 skips)"
    )
    ap.add_argument(
        "--kelp-mode",
        choices=("separate", "server"),
        default="separate",
        help="kelp master + kelp volume processes, or one kelp server",
    )
    ap.add_argument("--kelp-index", default="memory", help="kelp volume -index")
    ap.add_argument("--install-wrk", action="store_true", help="apt-get install -y wrk if it is missing")
    ap.add_argument("--port-range", default=os.environ.get("KELP_PORT_RANGE", "25000-25999"))
    ap.add_argument("--workdir", default="", help="cluster and fid-list directory (default: a new temp dir)")
    ap.add_argument("--skip-kelp", action="store_true")
    ap.add_argument("--skip-weed", action="store_true")
    ap.add_argument("--out", default="", help="also write the result JSON here")
    args = ap.parse_args(argv)
    if (args.w1 or args.w1_large_n) and shutil.which("wrk") is None:
        if not args.install_wrk:
            print("--w1 needs wrk: install it or pass --install-wrk", file=sys.stderr)
            return 2
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=True, capture_output=True)
    workdir = Path(
        args.workdir or tempfile.mkdtemp(prefix="kelp-compare-", dir=os.environ.get("KELP_TMPDIR"))
    )
    workdir.mkdir(parents=True, exist_ok=True)
    workloads: list[tuple[str, Any]] = []
    if args.n:
        workloads.append(
            (
                f"benchmark {args.size}B c={args.c}",
                lambda s, r: s.benchmark(workdir, f"s{r}", args.n, args.size, args.c, args.assign_batch),
            )
        )
    if args.large_n:
        workloads.append(
            (
                f"benchmark {args.large_size}B c={args.c}",
                lambda s, r: s.benchmark(
                    workdir, f"l{r}", args.large_n, args.large_size, args.c, args.assign_batch
                ),
            )
        )
    if args.weed_n:
        workloads.append(
            (
                f"weed benchmark {args.size}B c={args.c}",
                lambda s, r: s.weed_benchmark(args.weed_n, args.size, args.c, f"{r}"),
            )
        )
    if args.w1:
        workloads.append(
            (
                f"w1 PUT {args.size}B (wrk)",
                lambda s, r: s.w1(workdir / f"w1-{s.name}-{r}", args.w1_n or args.n, args.size, args.c),
            )
        )
    if args.w1_large_n:
        workloads.append(
            (
                f"w1 PUT {args.large_size}B (wrk)",
                lambda s, r: s.w1(
                    workdir / f"w1l-{s.name}-{r}", args.w1_large_n, args.large_size, args.c, assign_n=0
                ),
            )
        )
    results: dict[str, dict[str, list[dict[str, Any]]]] = {}
    with _systems(args, workdir) as systems:
        names = [s.name for s in systems]
        for title, run in workloads:
            for r in range(args.runs):
                for system in systems:
                    print(f"[{system.name}] {title} run {r + 1}/{args.runs}", file=sys.stderr, flush=True)
                    outcome = run(system, r)
                    if title.startswith("w1"):
                        names_by_phase = {
                            "assign": "w1 /dir/assign (wrk)" if "assign" in outcome else "",
                            "put": title,
                            "get": title.replace("PUT", "GET"),
                        }
                        for phase, name in names_by_phase.items():
                            if not name:
                                continue
                            per_system = results.setdefault(name, {}).setdefault(system.name, [])
                            per_system.append(outcome.get(phase, {}))
                    else:
                        for phase in ("write", "read"):
                            results.setdefault(f"{title} {phase}", {}).setdefault(system.name, []).append(
                                outcome[phase]
                            )
    print("\n".join(_table(results, names)))
    payload = {
        "systems": names,
        "kelp_mode": args.kelp_mode,
        "kelp_index": args.kelp_index,
        "argv": sys.argv[1:] if argv is None else list(argv),
        "results": results,
    }
    if args.out:
        Path(args.out).write_text(json.dumps(payload, indent=2) + "\n")
    print("RESULT_JSON " + json.dumps(payload))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
