"""kelp's filer against SeaweedFS 4.48's filer on this machine, same clients, same run.

Four systems, each a master + one volume server + one filer started with ops.localcluster on free
ports of one range:
  * kelp-sqlite      `kelp filer` on its embedded SQLite store (the default);
  * kelp-postgres    `kelp filer` with filer.toml `[postgres]` on a fresh database;
  * weed-leveldb2    `weed filer` on its default embedded store (no filer.toml);
  * weed-postgres2   `weed filer` with filer.toml `[postgres2]` on a fresh database.
Per run, alternating between the systems:
  * small : the reference /work/shared/bench/w2_filer_small.py (wrk + anchor.lua): PUT and GET of
            `--n` files of 4 KiB at c=16 in 20x10 directories, then its leaf-listing phase;
  * dir10k: w2 again with every file in ONE directory (`--list-n` files, 1 KiB), then this script
            pages through that directory (`Accept: application/json`, limit=1000, lastFileName)
            `--list-repeat` times and reports the median seconds per full 10,000-entry listing;
  * large : the reference w3_large.py: one `--large-mib` file PUT (curl -T) and GET through the
            filer (and its small blob phase on the volume server).
Server CPU covers the cluster's processes (not the PostgreSQL server's backends). Prints a table of
medians per system and the kelp/SeaweedFS ratios (sqlite vs leveldb2, postgres vs postgres2), and
`RESULT_JSON {...}` last (`--out` writes it too).

    python -m ops.bench.filer_compare --runs 3 --n 5000 --list-n 10000 --large-mib 1024

Imports ops.localcluster, ops.bench.compare, psycopg (to make the databases) and the standard
library; every cluster is stopped by pid and every database dropped on exit.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from ops.bench.compare import REFERENCE_BENCH, _cpu_seconds, _loadavg, _run
from ops.localcluster import GRPC_PORT_OFFSET, LocalCluster, VolumeSpec, WeedCluster

VOLUME_MAX = 100
PG = {
    "host": os.environ.get("KELP_PG_HOST", "127.0.0.1"),
    "port": int(os.environ.get("KELP_PG_PORT", "5432")),
    "user": os.environ.get("KELP_PG_USER", "kelp"),
    "password": os.environ.get("KELP_PG_PASSWORD", "kelp"),
}
LIST_PAGE = 1000
LIST_TIMEOUT_S = 120


class WeedFilerCluster(WeedCluster):
    """WeedCluster whose filers get weed's flags (the kelp-only -config.dir/-logLevel left out)."""

    def _filer_flags(self, http_port: int, data_dir: Path) -> list[str]:
        return [
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-port={http_port}",
            f"-port.grpc={http_port + GRPC_PORT_OFFSET}",
            f"-master={','.join(self.master_addresses)}",
            f"-defaultStoreDir={data_dir}",
            *self.filer_flags,
        ]


def _admin() -> psycopg.Connection:
    return psycopg.connect(dbname="postgres", connect_timeout=3, autocommit=True, **PG)  # type: ignore[arg-type]


def _create_database(tag: str) -> str:
    prefix = os.environ.get("KELP_PG_DB_PREFIX", "kelp_bench_")
    name = f"{prefix}{tag}_{secrets.token_hex(3)}"
    with _admin() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name


def _drop_database(name: str) -> None:
    with contextlib.suppress(psycopg.Error), _admin() as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def kelp_postgres_toml(database: str) -> str:
    return (
        f'[postgres]\nhost = "{PG["host"]}"\nport = {PG["port"]}\nuser = "{PG["user"]}"\n'
        f'password = "{PG["password"]}"\ndatabase = "{database}"\nsslmode = "disable"\npool_size = 10\n'
    )


def weed_postgres2_toml(database: str) -> str:
    # The keys weed 4.48's `weed scaffold -config=filer` lists for [postgres2]; the table statements
    # are weed's own defaults (it needs them spelled out in the file).
    return (
        "[postgres2]\nenabled = true\n"
        'createTable = """\n  CREATE TABLE IF NOT EXISTS "%s" (\n    dirhash BIGINT,\n'
        "    name VARCHAR(65535),\n"
        '    directory VARCHAR(65535),\n    meta bytea,\n    PRIMARY KEY (dirhash, name)\n  );\n"""\n'
        f'hostname = "{PG["host"]}"\nport = {PG["port"]}\nusername = "{PG["user"]}"\n'
        f'password = "{PG["password"]}"\ndatabase = "{database}"\nschema = ""\nsslmode = "disable"\n'
        "connection_max_idle = 50\nconnection_max_open = 50\nconnection_max_lifetime_seconds = 300\n"
        "pgbouncer_compatible = false\nenableUpsert = true\n"
        'upsertQuery = """\n  INSERT INTO "%[1]s" (dirhash, name, directory, meta)\n'
        "    VALUES($1, $2, $3, $4)\n"
        "    ON CONFLICT (dirhash, name) DO UPDATE SET\n      directory=EXCLUDED.directory,\n"
        '      meta=EXCLUDED.meta\n"""\n'
    )


class FilerSystem:
    def __init__(self, name: str, cluster: LocalCluster) -> None:
        self.name = name
        self.cluster = cluster

    @property
    def pids(self) -> list[int]:
        return [n.pid for n in self.cluster.nodes.values() if n.pid is not None]

    def _script(self, script: str, *args: str) -> dict[str, Any]:
        return _run(
            [
                sys.executable,
                str(REFERENCE_BENCH / script),
                *args,
                "--runs=1",
                f"--server-pids={','.join(map(str, self.pids))}",
                f"--label={self.name}",
            ]
        )

    def small(self, run: int, n: int, size: int, conc: int) -> dict[str, Any]:
        return self._script(
            "w2_filer_small.py",
            f"--filer={self.cluster.filer}",
            f"--n={n}",
            f"--size={size}",
            f"--conc={conc}",
            f"--prefix=/bench/small{run}",
            "--list-repeat=3",
        )

    def dir10k(self, run: int, n: int, conc: int, repeat: int) -> dict[str, Any]:
        prefix = f"/bench/dir{run}"
        made = self._script(
            "w2_filer_small.py",
            f"--filer={self.cluster.filer}",
            f"--n={n}",
            "--size=1024",
            f"--conc={conc}",
            f"--prefix={prefix}",
            "--top=1",
            "--sub=1",
            "--list-repeat=1",
        )
        directory = _only_run_dir(self.cluster.filer, prefix)
        seconds = []
        cpu = []
        counts = []
        for _ in range(repeat):
            before = _cpu_seconds(self.pids)
            took, count = page_through(self.cluster.filer, directory)
            cpu.append(_cpu_seconds(self.pids) - before)
            seconds.append(took)
            counts.append(count)
        return {
            "w2_one_dir": made,
            "directory": directory,
            "list_seconds": seconds,
            "list_server_cpu_s": cpu,
            "entries": counts,
            "list_ok": all(c == n for c in counts),
        }

    def large(self, workdir: Path, mib: int) -> dict[str, Any]:
        return self._script(
            "w3_large.py",
            f"--filer={self.cluster.filer}",
            f"--master={self.cluster.master}",
            f"--size-mib={mib}",
            "--blob-mib=16",
            "--prefix=/bench/large",
            f"--workdir={workdir}",
        )


def _get_json(conn: http.client.HTTPConnection, path: str) -> Any:
    conn.request("GET", path, headers={"Accept": "application/json"})
    reply = conn.getresponse()
    body = reply.read()
    if reply.status != 200:
        raise RuntimeError(f"GET {path}: {reply.status} {body[:200]!r}")
    return json.loads(body)


def _only_run_dir(filer: str, prefix: str) -> str:
    """w2 writes into PREFIX/r<time>-0/d00/d00: find that leaf."""
    host, port = filer.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=LIST_TIMEOUT_S)
    try:
        listed = _get_json(conn, f"{prefix}/?limit=100")["Entries"] or []
        runs = [e["FullPath"] for e in listed if not e["FullPath"].endswith("/warmup")]
        if len(runs) != 1:
            raise RuntimeError(f"expected one run directory under {prefix}, found {runs}")
        return f"{runs[0]}/d00/d00"
    finally:
        conn.close()


def page_through(filer: str, directory: str) -> tuple[float, int]:
    """Seconds to list `directory` whole, LIST_PAGE entries a request, and the entries seen."""
    from urllib.parse import quote

    host, port = filer.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=LIST_TIMEOUT_S)
    count, last = 0, ""
    started = time.perf_counter()
    try:
        while True:
            page = _get_json(conn, f"{quote(directory)}/?limit={LIST_PAGE}&lastFileName={quote(last)}")
            entries = page.get("Entries") or []
            count += len(entries)
            if not entries or not page.get("ShouldDisplayLoadMore"):
                break
            last = page["LastFileName"]
        return time.perf_counter() - started, count
    finally:
        conn.close()


@contextlib.contextmanager
def _systems(args: argparse.Namespace, workdir: Path) -> Iterator[list[FilerSystem]]:
    low, high = (int(p) for p in args.port_range.split("-"))
    started: list[FilerSystem] = []
    databases: list[str] = []
    wanted = args.systems.split(",")
    try:
        for name in wanted:
            store = ""
            if name.endswith("postgres") or name.endswith("postgres2"):
                databases.append(_create_database(name.replace("-", "_")))
                store = (kelp_postgres_toml if name.startswith("kelp") else weed_postgres2_toml)(
                    databases[-1]
                )
            kind = LocalCluster if name.startswith("kelp") else WeedFilerCluster
            cluster = kind(
                [VolumeSpec(max_volumes=VOLUME_MAX)],
                workdir=workdir / name,
                port_range=(low, high),
                filers=1,
                filer_store=store,
            )
            started.append(FilerSystem(name, cluster))
            cluster.start()
            print(f"[{name}] filer at {cluster.filer}", file=sys.stderr, flush=True)
        yield started
    finally:
        for system in started:
            system.cluster.stop()
        for database in databases:
            _drop_database(database)


def _med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summarize(results: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, float]]:
    """Per system: the median of each headline figure over its runs."""
    out: dict[str, dict[str, float]] = {}
    for name, runs in results.items():
        row: dict[str, list[float]] = {}

        def add(key: str, value: Any, row: dict[str, list[float]] = row) -> None:
            if isinstance(value, int | float):
                row.setdefault(key, []).append(float(value))

        for r in runs:
            small = r.get("small", {})
            for phase in ("put", "get", "list"):
                add(f"4KiB {phase} req/s", small.get(phase, {}).get("req_per_s", {}).get("median"))
                add(
                    f"4KiB {phase} server CPU us/req",
                    small.get(phase, {}).get("server_cpu_us_per_req", {}).get("median"),
                )
            one = r.get("dir10k", {})
            w2one = one.get("w2_one_dir", {})
            add("1KiB PUT into one dir req/s", w2one.get("put", {}).get("req_per_s", {}).get("median"))
            if one.get("list_seconds"):
                add("list 10k entries ms", _med(one["list_seconds"]) * 1000)
                add("list 10k server CPU ms", _med(one["list_server_cpu_s"]) * 1000)
            large = r.get("large", {})
            for phase in ("filer_put", "filer_get"):
                add(f"1GiB {phase} MB/s", large.get(phase, {}).get("MB_per_s", {}).get("median"))
                add(
                    f"1GiB {phase} server CPU s",
                    large.get(phase, {}).get("server_cpu_s", {}).get("median")
                    if large.get(phase, {}).get("server_cpu_s")
                    else None,
                )
        out[name] = {k: _med(v) for k, v in row.items()}
    return out


_PAIRS = (("kelp-sqlite", "weed-leveldb2"), ("kelp-postgres", "weed-postgres2"))


def table(summary: dict[str, dict[str, float]]) -> list[str]:
    names = list(summary)
    metrics: list[str] = []
    for row in summary.values():
        metrics += [m for m in row if m not in metrics]
    pairs = [(k, w) for k, w in _PAIRS if k in summary and w in summary]
    head = "| metric | " + " | ".join(names) + " | " + " | ".join(f"{k}/{w}" for k, w in pairs) + " |"
    lines = [head, "|" + "---|" * (1 + len(names) + len(pairs))]
    for m in metrics:
        cells = [f"{summary[n].get(m, float('nan')):,.1f}" for n in names]
        ratios = []
        for k, w in pairs:
            kv, wv = summary[k].get(m), summary[w].get(m)
            ratios.append(f"{kv / wv:.2f}x" if kv and wv and kv == kv and wv == wv else "-")
        lines.append(f"| {m} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--n", type=int, default=5000, help="4 KiB files per run for PUT/GET (0 skips)")
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--conc", type=int, default=16)
    ap.add_argument(
        "--list-n", type=int, default=10_000, help="entries in the one-directory listing (0 skips)"
    )
    ap.add_argument("--list-repeat", type=int, default=5)
    ap.add_argument("--large-mib", type=int, default=1024, help="the large file's size (0 skips)")
    ap.add_argument("--systems", default="kelp-sqlite,weed-leveldb2,kelp-postgres,weed-postgres2")
    ap.add_argument("--port-range", default=os.environ.get("KELP_PORT_RANGE", "25000-25999"))
    ap.add_argument("--workdir", default="")
    ap.add_argument("--out", default="")
    args = ap.parse_args(argv)
    workdir = Path(
        args.workdir or tempfile.mkdtemp(prefix="kelp-filer-compare-", dir=os.environ.get("KELP_TMPDIR"))
    )
    workdir.mkdir(parents=True, exist_ok=True)
    results: dict[str, list[dict[str, Any]]] = {}
    with _systems(args, workdir) as systems:
        for r in range(args.runs):
            for system in systems:
                print(
                    f"[{system.name}] run {r + 1}/{args.runs} loadavg {_loadavg()}",
                    file=sys.stderr,
                    flush=True,
                )
                outcome: dict[str, Any] = {"loadavg_before": _loadavg()}
                if args.n:
                    outcome["small"] = system.small(r, args.n, args.size, args.conc)
                if args.list_n:
                    outcome["dir10k"] = system.dir10k(r, args.list_n, args.conc, args.list_repeat)
                if args.large_mib:
                    outcome["large"] = system.large(workdir / "src", args.large_mib)
                results.setdefault(system.name, []).append(outcome)
    summary = summarize(results)
    print("\n".join(table(summary)))
    payload = {"argv": sys.argv[1:] if argv is None else list(argv), "summary": summary, "results": results}
    if args.out:
        Path(args.out).write_text(json.dumps(payload, indent=2) + "\n")
    print("RESULT_JSON " + json.dumps(payload))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
