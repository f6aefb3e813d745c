"""Volume server memory per needle and restart time, kelp against SeaweedFS: the w5 driver.

Runs the reference script /work/shared/bench/w5_memory.py (1,000,000 tiny needles written with wrk,
RSS of the volume server, then stop + start timed to the first successful read of the last needle)
against each system in turn, one run per system per round, so the systems alternate on a shared
machine. Each run starts from a fresh cluster (its --reset-cmd wipes and starts one):
  * seaweedfs: `weed master` + `weed volume` via /work/shared/bench/cluster_seaweedfs.sh (no filer);
  * kelp-memory / kelp-leveldb: `kelp master` + `kelp volume -index=...` via ops/bench/cluster_kelp.sh.
Prints a table (median [min-max] over rounds; restart times pooled over every restart) and
`RESULT_JSON {...}` last. Every cluster is stopped by its pid files at the end, also on failure.

    python -m ops.bench.w5 --rounds 2 --restarts 3 [--systems seaweedfs,kelp-memory,kelp-leveldb]

Imports the standard library only: it drives both systems through their command lines and HTTP.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REFERENCE_BENCH = Path(os.environ.get("KELP_REFERENCE_BENCH", "/work/shared/bench"))
# One w5 run (1M writes, restarts, 100k reads) may not take longer than this.
RUN_TIMEOUT_S = 1500


@dataclass(frozen=True)
class Target:
    """One system under test: how to start, stop and find its cluster."""

    name: str
    script: Path
    datadir: Path
    ports: tuple[int, ...]  # master, volume[, filer]
    env: dict[str, str]

    @property
    def master(self) -> str:
        return f"127.0.0.1:{self.ports[0]}"

    def command(self, verb: str, *extra: str) -> str:
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in self.env.items())
        args = " ".join(shlex.quote(a) for a in (str(self.script), verb, str(self.datadir), *extra))
        return f"{env} {args}".strip()

    def reset_command(self) -> str:
        start = self.command("start", *map(str, self.ports))
        return f"{self.command('stop')}; rm -rf {shlex.quote(str(self.datadir))}; {start}"


def _targets(base: Path, weed: str) -> dict[str, Target]:
    seaweed_script = REFERENCE_BENCH / "cluster_seaweedfs.sh"
    kelp_script = HERE / "cluster_kelp.sh"
    return {
        "seaweedfs": Target(
            "seaweedfs",
            seaweed_script,
            base / "seaweedfs",
            (29500, 29580, 29588),
            {"WEED": weed, "WITH_FILER": "0"},
        ),
        "kelp-memory": Target(
            "kelp-memory", kelp_script, base / "kelp-memory", (29600, 29680), {"INDEX": "memory"}
        ),
        "kelp-leveldb": Target(
            "kelp-leveldb", kelp_script, base / "kelp-leveldb", (29700, 29780), {"INDEX": "leveldb"}
        ),
    }


def _run_w5(target: Target, args: argparse.Namespace, round_no: int) -> dict[str, Any]:
    out = args.workdir / f"{target.name}-{round_no}.json"
    argv = [
        sys.executable,
        str(REFERENCE_BENCH / "w5_memory.py"),
        f"--master={target.master}",
        f"--volume-pid-file={target.datadir / 'pids' / 'volume.pid'}",
        f"--reset-cmd={target.reset_command()}",
        f"--stop-cmd={target.command('stop-volume')}",
        f"--start-cmd={target.command('start-volume')}",
        f"--n={args.n}",
        f"--restarts={args.restarts}",
        "--runs=1",
        f"--label={target.name}",
        f"--workdir={args.workdir / ('fids-' + target.name)}",
        f"--out={out}",
    ]
    log_path = args.workdir / f"{target.name}-{round_no}.log"
    with log_path.open("w") as log:
        proc = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, timeout=RUN_TIMEOUT_S, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"w5 on {target.name} exited {proc.returncode}; see {log_path}")
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def _values(results: list[dict[str, Any]], key: str, sub: str = "") -> list[float]:
    """Every run value of one summarized field, pooled over rounds."""
    values: list[float] = []
    for r in results:
        node = r.get(key, {})
        if sub:
            node = node.get(sub, {})
        values += [v for v in node.get("runs", []) if v is not None]
    return values


def _cell(values: list[float], fmt: str = ".1f") -> str:
    if not values:
        return "-"
    med = statistics.median(values)
    if len(values) == 1:
        return f"{med:{fmt}}"
    return f"{med:{fmt}} [{min(values):{fmt}}-{max(values):{fmt}}]"


_ROWS = (
    ("RSS empty MiB", "rss_empty_MiB", "", ".1f"),
    ("RSS after the writes MiB", "rss_after_write_MiB", "", ".1f"),
    ("bytes/needle (RSS delta)", "bytes_per_needle_rss_delta", "", ".1f"),
    ("RSS after restart MiB", "rss_after_restart_MiB", "", ".1f"),
    ("bytes/needle after restart", "bytes_per_needle_after_restart", "", ".1f"),
    ("stop s", "stop_s", "", ".3f"),
    ("restart to first read s", "restart_s", "", ".3f"),
    ("write req/s (1-100 B)", "write", "req_per_s", ".0f"),
    ("write server CPU µs/req", "write", "server_cpu_us_per_req", ".1f"),
    ("read req/s", "read", "req_per_s", ".0f"),
    ("read server CPU µs/req", "read", "server_cpu_us_per_req", ".1f"),
)


def _table(all_results: dict[str, list[dict[str, Any]]]) -> list[str]:
    names = list(all_results)
    lines = [f"{'metric':<28} " + " ".join(f"{n:>28}" for n in names)]
    for label, key, sub, fmt in _ROWS:
        cells = " ".join(f"{_cell(_values(all_results[n], key, sub), fmt):>28}" for n in names)
        lines.append(f"{label:<28} {cells}")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--systems", default="seaweedfs,kelp-memory,kelp-leveldb")
    ap.add_argument("--rounds", type=int, default=1, help="runs per system, alternating")
    ap.add_argument("--restarts", type=int, default=3)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--workdir", type=Path, default=Path(os.environ.get("KELP_TMPDIR", "/tmp")) / "kelp-w5")
    ap.add_argument("--weed", default=str(Path(sys.executable).parent / "weed"))
    ap.add_argument("--out", default="", help="also write the result JSON here")
    args = ap.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    targets = _targets(args.workdir / "clusters", args.weed)
    chosen = [targets[name] for name in args.systems.split(",")]
    results: dict[str, list[dict[str, Any]]] = {t.name: [] for t in chosen}
    try:
        for round_no in range(args.rounds):
            for target in chosen:
                print(f"[{target.name}] w5 round {round_no + 1}/{args.rounds}", file=sys.stderr, flush=True)
                try:
                    results[target.name].append(_run_w5(target, args, round_no))
                finally:
                    # Free the machine (and the memory) for the next system's run.
                    subprocess.run(target.command("stop"), shell=True, check=False, timeout=120)
    finally:
        for target in chosen:
            subprocess.run(target.command("stop"), shell=True, check=False, timeout=120)
    print("\n".join(_table(results)))
    payload = {"n": args.n, "restarts": args.restarts, "rounds": args.rounds, "results": results}
    if args.out:
        Path(args.out).write_text(json.dumps(payload, indent=2) + "\n")
    print("RESULT_JSON " + json.dumps(payload))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
