"""EC on a running cluster, kelp against weed 4.48 in the same run (issue 6's measurements):
`ec.encode` of one volume through the shell (wall time, MB/s of .dat), reading every needle
over HTTP from a surviving server while the server holding the most shards (4) is dead, and
`ec.rebuild` of those 4 shards through the shell.

    python -m ops.bench.ec_cluster --size-mib 1024 [--port-range 10600-11299] [--json out.json]

One volume of random needles (4 KiB-1 MiB) is written with kelp's engine (ec_codec.make_volume)
and copied for each system; each cluster has 4 volume servers in 2 racks, the first serving the
copy; weed 4.48 refuses shard copies between loopback addresses ("resolves to loopback
address"), so the comparison runs on one volume server (4 shard files deleted, server restarted)
and kelp alone also runs on 4 servers (the server with 4 shards killed). Shell times include
the shell's start-up. Reads use 8 client threads.
Prints a table and RESULT_JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ops.bench.ec_codec import LOST, VID, make_volume
from ops.localcluster import LocalCluster, VolumeSpec, WeedCluster, http_call

MIB = 1 << 20
READ_THREADS = 8


def shard_servers(cluster: LocalCluster) -> list[str]:
    """The lookup's locations of the EC volume: one per held shard, in shard order."""
    reply = http_call(cluster.master, "GET", f"/dir/lookup?volumeId={VID}")
    if reply.status != 200:
        return []
    return [loc["url"] for loc in reply.json().get("locations", [])]


def wait_for(what: str, check: Any, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.2)


def run_shell(kind: str, cluster: LocalCluster, commands: list[str]) -> float:
    if kind == "weed":
        argv = [WeedCluster.binary(), "shell", f"-master={cluster.master}"]
        text = "lock\n" + "\n".join(commands) + "\nunlock\nexit\n"
        start = time.perf_counter()
        proc = subprocess.run(argv, input=text, capture_output=True, text=True, timeout=1800,
                              cwd=cluster.config_dir)
    else:
        argv = [sys.executable, "-m", "ops.cli.main", "shell", f"-master={cluster.master}",
                "-c", "lock; " + "; ".join(commands)]
        start = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=1800)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0 or "error" in proc.stderr.lower():
        raise RuntimeError(f"{kind} shell {commands} failed:\n{proc.stdout}\n{proc.stderr}")
    return elapsed


def read_every_needle(server: str, needles: dict[int, tuple[int, int]]) -> float:
    def one(item: tuple[int, tuple[int, int]]) -> None:
        key, (cookie, length) = item
        reply = http_call(server, "GET", f"/{VID},{key:x}{cookie:08x}", timeout=120)
        if reply.status != 200 or len(reply.body) != length:
            raise RuntimeError(f"needle {key:x}: status {reply.status}, {len(reply.body)} of {length} bytes")

    start = time.perf_counter()
    with ThreadPoolExecutor(READ_THREADS) as pool:
        list(pool.map(one, needles.items()))
    return len(needles) / (time.perf_counter() - start)


def bench(kind: str, source: Path, workdir: Path, needles: dict[int, tuple[int, int]], dat_size: int
          ) -> dict[str, float]:
    directory = workdir / f"{kind}-v0"
    shutil.copytree(source, directory)
    specs = [VolumeSpec("dc1", "r1", dir=str(directory), max_volumes=8), VolumeSpec("dc1", "r1"),
             VolumeSpec("dc1", "r2"), VolumeSpec("dc1", "r2")]
    cls = WeedCluster if kind == "weed" else LocalCluster
    cluster = cls(volumes=specs, workdir=str(workdir / f"{kind}-cluster"))
    cluster.start()
    try:
        encode = f"ec.encode -volumeId={VID}" + (" -force" if kind == "weed" else "")
        encode_s = run_shell(kind, cluster, [encode])
        wait_for("14 shard locations", lambda: len(shard_servers(cluster)) >= 14)
        holders = shard_servers(cluster)
        counts = {a: holders.count(a) for a in set(holders)}
        victim = max(counts, key=lambda a: (counts[a], a))
        reader = next(n.address for n in cluster.volume_nodes if n.address != victim)
        by_address = {n.address: n.name for n in cluster.volume_nodes}
        cluster.kill(by_address[victim])
        reads = read_every_needle(reader, needles)
        wait_for("the dead server's shards to go", lambda: len(shard_servers(cluster)) == 14 - counts[victim])
        rebuild_s = run_shell(kind, cluster, ["ec.rebuild -apply" if kind == "weed" else "ec.rebuild -force"])
        wait_for("14 shards again", lambda: len(shard_servers(cluster)) >= 14)
        return {"encode_s": encode_s, "encode_mb_s": dat_size / MIB / encode_s, "lost_shards": counts[victim],
                "reads_needles_s": reads, "rebuild_s": rebuild_s}
    finally:
        cluster.stop()
        shutil.rmtree(directory, ignore_errors=True)


def bench_one_server(kind: str, source: Path, workdir: Path, needles: dict[int, tuple[int, int]],
                     dat_size: int) -> dict[str, float]:
    """One volume server (weed 4.48 refuses shard copies between loopback addresses, so its
    multi-server run cannot happen on one machine): encode, then shard files 0, 3, 10, 12
    deleted and the server restarted, every needle read, then those 4 shards rebuilt."""
    directory = workdir / f"{kind}-single"
    shutil.copytree(source, directory)
    cls = WeedCluster if kind == "weed" else LocalCluster
    cluster = cls(volumes=[VolumeSpec("dc1", "r1", dir=str(directory), max_volumes=8)],
                  workdir=str(workdir / f"{kind}-single-cluster"))
    cluster.start()
    try:
        encode = f"ec.encode -volumeId={VID}" + (" -force" if kind == "weed" else "")
        encode_s = run_shell(kind, cluster, [encode])
        wait_for("14 shard locations", lambda: len(shard_servers(cluster)) >= 14)
        node = cluster.volume_nodes[0]
        cluster.kill(node.name)
        for shard in LOST:
            (directory / f"{VID}.ec{shard:02d}").unlink()
        cluster.restart(node.name)
        wait_for("10 shard locations", lambda: len(shard_servers(cluster)) == 10)
        reads = read_every_needle(node.address, needles)
        rebuild_s = run_shell(kind, cluster, ["ec.rebuild -apply" if kind == "weed" else "ec.rebuild -force"])
        wait_for("14 shards again", lambda: len(shard_servers(cluster)) >= 14)
        return {"encode_s": encode_s, "encode_mb_s": dat_size / MIB / encode_s, "lost_shards": len(LOST),
                "reads_needles_s": reads, "rebuild_s": rebuild_s}
    finally:
        cluster.stop()
        shutil.rmtree(directory, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--port-range", default="")
    parser.add_argument("--json", default="")
    parser.add_argument("--only", choices=("kelp", "weed", ""), default="")
    args = parser.parse_args(argv)
    if args.port_range:
        os.environ["KELP_PORT_RANGE"] = args.port_range
    base = os.environ.get("KELP_TMPDIR") or None
    with tempfile.TemporaryDirectory(prefix="ec-cluster-", dir=base) as tmp:
        work = Path(tmp)
        source = work / "source"
        source.mkdir()
        needles = make_volume(source, args.size_mib * MIB)
        dat_size = (source / f"{VID}.dat").stat().st_size
        results: dict[str, Any] = {"dat_bytes": dat_size, "needles": len(needles)}
        for kind in ("kelp", "weed"):
            if args.only and kind != args.only:
                continue
            results[f"{kind} 1 server"] = bench_one_server(kind, source, work, needles, dat_size)
        if args.only != "weed":
            results["kelp 4 servers"] = bench("kelp", source, work, needles, dat_size)
    print(f"volume: {dat_size / MIB:.0f} MiB, {len(needles)} needles")
    print(f"{'':15} {'encode s':>9} {'MB/s':>7} {'reads/s (4 shards lost)':>24} {'rebuild s':>10}")
    for kind in ("kelp 1 server", "weed 1 server", "kelp 4 servers"):
        if kind in results:
            r = results[kind]
            print(f"{kind:15} {r['encode_s']:9.2f} {r['encode_mb_s']:7.0f} {r['reads_needles_s']:24.0f} "
                  f"{r['rebuild_s']:10.2f}  ({r['lost_shards']} shards lost)")
    print("RESULT_JSON " + json.dumps(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
