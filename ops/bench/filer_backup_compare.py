"""`kelp filer.meta.backup` against `weed filer.meta.backup` (SeaweedFS 4.48), same machine, same run.

Systems (each: master + volume server + filer on PostgreSQL, started with ops.localcluster on free
ports of one range; the backup writes a standby PostgreSQL database of its own):
  * kelp          kelp filer ([postgres]) <- kelp filer.meta.backup -> kelp standby ([postgres])
  * weed          weed filer ([postgres2]) <- weed filer.meta.backup -> weed standby ([postgres2])
  * weed-on-kelp  the kelp filer above <- weed filer.meta.backup -> weed standby (the tool alone)
Per system:
  * tree: `--entries` entries nested `--levels` deep (small inline files), created through the
    filer's gRPC CreateEntry, before the backup starts;
  * traversal: the backup process is started with no checkpoint; the time from its start to the
    standby holding every entry (polled row count) gives entries/s; its CPU seconds are read
    from /proc;
  * lag: `--lag-n` files created one at a time (`--lag-interval` apart) through CreateEntry; for
    each, the time from CreateEntry's return to its row being in the standby (polled every
    0.5 ms by primary key) gives p50/p99.
Prints a table and `RESULT_JSON {...}` (`--out` writes it too).

    python -m ops.bench.filer_backup_compare --entries 50000 --levels 6 --lag-n 300

Imports ops.localcluster, ops.bench.filer_compare (weed cluster and PostgreSQL helpers), the
integration tests' tree builder, psycopg and the standard library. Every process started here is
stopped by pid, every database dropped.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg

from ops.bench.filer_compare import (
    PG,
    WeedFilerCluster,
    _create_database,
    _drop_database,
    kelp_postgres_toml,
    weed_postgres2_toml,
)
from ops.localcluster import LocalCluster, VolumeSpec
from tests.integration.filer_meta_backup_support import (
    build_tree,
    create,
    dir_entry,
    file_entry,
    filer_stub,
    kelp_env,
)

POLL_TRAVERSAL_SECONDS = 0.05
POLL_ROW_SECONDS = 0.0005
ROW_TIMEOUT_SECONDS = 30.0
LAG_DIR = "/lagprobe"


def weed_dirhash(directory: str) -> int:
    """weed's postgres2 `dirhash`: the first 8 bytes of md5(directory) as a signed big-endian int."""
    return int.from_bytes(hashlib.md5(directory.encode()).digest()[:8], "big", signed=True)


class StandbyProbe:
    """Counts rows and finds one row in a standby database (kelp's or weed's schema)."""

    def __init__(self, database: str, weed_schema: bool) -> None:
        self.connection = psycopg.connect(dbname=database, autocommit=True, **PG)  # type: ignore[arg-type]
        self.weed = weed_schema

    def count(self) -> int:
        table = "filemeta" if self.weed else "filer_entries"
        try:
            row = self.connection.execute(f"SELECT count(*) FROM {table}").fetchone()
        except psycopg.errors.UndefinedTable:
            return 0
        return int(row[0]) if row else 0

    def has(self, directory: str, name: str) -> bool:
        if self.weed:
            query = "SELECT 1 FROM filemeta WHERE dirhash = %s AND name = %s"
            args: tuple[Any, ...] = (weed_dirhash(directory), name)
        else:
            query = "SELECT 1 FROM filer_entries WHERE directory = %s AND name = %s"
            args = (directory, name)
        try:
            return self.connection.execute(query, args).fetchone() is not None
        except psycopg.errors.UndefinedTable:
            return False

    def close(self) -> None:
        self.connection.close()


def cpu_seconds(pid: int) -> float:
    with contextlib.suppress(OSError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return float("nan")


def backup_command(tool: str, filer: str, config: Path) -> list[str]:
    if tool == "kelp":
        return [sys.executable, "-m", "ops.cli.main", "filer.meta.backup", f"-filer={filer}",
                f"-config={config}"]
    return [WeedFilerCluster.binary(), "filer.meta.backup", f"-filer={filer}", f"-config={config}"]


def measure(name: str, tool: str, filer: str, entries: int, standby: StandbyProbe, config: Path,
            workdir: Path, lag_n: int, lag_interval: float) -> dict[str, Any]:
    log = (workdir / f"{name}-backup.log").open("wb")
    started = time.monotonic()
    process = subprocess.Popen(backup_command(tool, filer, config), cwd=workdir, env=kelp_env(), stdout=log,
                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    result: dict[str, Any] = {"system": name, "entries": entries}
    try:
        deadline = started + 600
        while standby.count() < entries:
            if process.poll() is not None:
                raise RuntimeError(f"{name}: the backup exited {process.returncode}; see {log.name}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name}: traversal did not finish in 600 s")
            time.sleep(POLL_TRAVERSAL_SECONDS)
        seconds = time.monotonic() - started
        result.update(traversal_seconds=round(seconds, 2), traversal_entries_per_s=round(entries / seconds),
                      traversal_cpu_seconds=round(cpu_seconds(process.pid), 2))
        rate = entries / seconds
        print(f"[{name}] traversal of {entries} entries: {seconds:.1f} s ({rate:,.0f} entries/s)",
              file=sys.stderr, flush=True)
        result.update(lag(name, filer, standby, lag_n, lag_interval))
        result["backup_cpu_seconds"] = round(cpu_seconds(process.pid), 2)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()
    return result


def lag(name: str, filer: str, standby: StandbyProbe, n: int, interval: float) -> dict[str, Any]:
    channel, stub = filer_stub(filer)
    try:
        create(stub, "/", dir_entry(LAG_DIR.strip("/")))
        wait_row(standby, "/", LAG_DIR.strip("/"))
        lags: list[float] = []
        for i in range(n):
            entry_name = f"{name}-{i:05d}"
            create(stub, LAG_DIR, file_entry(entry_name, b"x"))
            created = time.monotonic()
            lags.append(wait_row(standby, LAG_DIR, entry_name) - created)
            time.sleep(interval)
    finally:
        channel.close()
    lags.sort()
    def p(q: float) -> float:
        return lags[min(len(lags) - 1, int(q * len(lags)))] * 1000
    return {"lag_n": n, "lag_p50_ms": round(p(0.50), 2), "lag_p99_ms": round(p(0.99), 2),
            "lag_max_ms": round(lags[-1] * 1000, 2), "lag_mean_ms": round(statistics.fmean(lags) * 1000, 2)}


def wait_row(standby: StandbyProbe, directory: str, name: str) -> float:
    deadline = time.monotonic() + ROW_TIMEOUT_SECONDS
    while not standby.has(directory, name):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{directory}/{name} not in the standby after {ROW_TIMEOUT_SECONDS} s")
        time.sleep(POLL_ROW_SECONDS)
    return time.monotonic()


@contextlib.contextmanager
def databases() -> Iterator[Callable[[str], str]]:
    made: list[str] = []

    def make(tag: str) -> str:
        made.append(_create_database(tag))
        return made[-1]

    try:
        yield make
    finally:
        for name in made:
            _drop_database(name)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entries", type=int, default=50_000)
    ap.add_argument("--levels", type=int, default=6)
    ap.add_argument("--lag-n", type=int, default=300)
    ap.add_argument("--lag-interval", type=float, default=0.02)
    ap.add_argument("--systems", default="kelp,weed,weed-on-kelp")
    ap.add_argument("--port-range", default=os.environ.get("KELP_PORT_RANGE", "10600-11299"))
    ap.add_argument("--out", default="")
    args = ap.parse_args(argv)
    low, high = (int(p) for p in args.port_range.split("-"))
    wanted = args.systems.split(",")
    results: list[dict[str, Any]] = []
    base = os.environ.get("KELP_TMPDIR") or None
    with tempfile.TemporaryDirectory(prefix="backup-bench-", dir=base) as tmp, databases() as new_db:
        workdir = Path(tmp)
        clusters: dict[str, LocalCluster] = {}
        try:
            for kind in ("kelp", "weed"):
                if not any(w == kind or w.endswith("-" + kind) for w in wanted):
                    continue
                primary = new_db(f"{kind}_primary")
                store = (kelp_postgres_toml if kind == "kelp" else weed_postgres2_toml)(primary)
                cls = LocalCluster if kind == "kelp" else WeedFilerCluster
                cluster = cls([VolumeSpec()], workdir=workdir / kind, port_range=(low, high), filers=1,
                              filer_store=store)
                clusters[kind] = cluster
                cluster.start()
                began = time.monotonic()
                build_tree(cluster.filer, args.entries, args.levels)
                print(f"[{kind}] tree of {args.entries} entries in {time.monotonic() - began:.1f} s",
                      file=sys.stderr, flush=True)
            for name in wanted:
                tool = "kelp" if name == "kelp" else "weed"
                source = "weed" if name == "weed" else "kelp"
                standby_db = new_db(f"{name.replace('-', '_')}_standby")
                toml = (kelp_postgres_toml if tool == "kelp" else weed_postgres2_toml)(standby_db)
                config = workdir / f"{name}-backup_filer.toml"
                config.write_text(toml)
                probe = StandbyProbe(standby_db, weed_schema=tool == "weed")
                try:
                    results.append(measure(name, tool, clusters[source].filer, args.entries, probe, config,
                                           workdir, args.lag_n, args.lag_interval))
                finally:
                    probe.close()
                print(json.dumps(results[-1]), file=sys.stderr, flush=True)
        finally:
            for cluster in clusters.values():
                cluster.stop()
    print(f"{'system':14} {'entries/s':>10} {'trav s':>7} {'trav CPU s':>10} "
          f"{'lag p50 ms':>10} {'p99 ms':>8}")
    for r in results:
        print(f"{r['system']:14} {r['traversal_entries_per_s']:>10,} {r['traversal_seconds']:>7} "
              f"{r['traversal_cpu_seconds']:>10} {r['lag_p50_ms']:>10} {r['lag_p99_ms']:>8}")
    payload = {"entries": args.entries, "levels": args.levels, "results": results,
               "loadavg": Path("/proc/loadavg").read_text().split()[:3]}
    print("RESULT_JSON " + json.dumps(payload))
    if args.out:
        Path(args.out).write_text(json.dumps(payload, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
