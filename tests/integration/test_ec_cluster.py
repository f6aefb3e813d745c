"""Erasure coding on a running cluster through `kelp shell` (issue 6), with real processes:
one master, four volume servers in two racks, one of them with two data directories.

- `ec.encode -volumeId=V -force` spreads 14 shards with at most 4 per server (two racks: the
  server is the fault domain), removes the source only after; the master's lookup names them;
- two `ec.encode` of one volume started at once: exactly one succeeds, every needle reads back,
  each shard exists once, the source is gone; two generates at once on one server without the
  shell's lock: one wins, the volume is intact, and ec.encode drops the unfinished shards and
  encodes it;
- an EC needle deleted over HTTP stays deleted through every later step;
- 4 shard files deleted (one moved to the second data directory, servers restarted): every
  needle reads back; `ec.rebuild -force` restores 14 on the two-directory server;
- `ec.balance -force` spreads them again; a server holding shards is killed: every needle reads
  back; `ec.rebuild -force` restores 14 again;
- `ec.decode` turns it back into a normal volume that serves every needle.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
from kelp_pb import volume_pb2 as vpb
from kelp_pb import weed_master_pb2 as wpb
from kelp_pb import weed_master_pb2_grpc as wgrpc
from kelp_pb.volume_pb2_grpc import VolumeAdminStub

from ops.localcluster import LocalCluster, VolumeSpec, http_call, multipart_file

from .conftest import ClusterFactory

NEEDLES = 90
DEADLINE = 60.0


def shell_argv(cluster: LocalCluster, script: str) -> list[str]:
    """`kelp shell -c "lock; <script>"`: mutating commands need the lock, as weed's."""
    return [sys.executable, "-m", "ops.cli.main", "shell", f"-master={cluster.master}",
            "-c", f"lock; {script}"]


def shell(cluster: LocalCluster, script: str, timeout: float = 180.0) -> subprocess.CompletedProcess[str]:
    argv = shell_argv(cluster, script)
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


def shell_ok(cluster: LocalCluster, script: str) -> str:
    done = shell(cluster, script)
    assert done.returncode == 0, f"{script}: rc={done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def poll(what: str, check: Callable[[], bool], seconds: float = DEADLINE) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def volume_list(cluster: LocalCluster) -> dict[str, dict[str, object]]:
    """Per server address: normal volume ids and EC shard bits, from the master's /vol/status-like
    view (weed's VolumeList over the shell's own command would be slower)."""
    host, port = cluster.master.split(":")
    with grpc.insecure_channel(f"{host}:{int(port) + 10000}") as channel:
        reply = wgrpc.SeaweedStub(channel).VolumeList(wpb.VolumeListRequest(), timeout=10)
    out: dict[str, dict[str, object]] = {}
    for dc in reply.topology_info.data_center_infos:
        for rack in dc.rack_infos:
            for node in rack.data_node_infos:
                vols = {v.id for d in node.diskInfos.values() for v in d.volume_infos}
                ec = {e.id: e.ec_index_bits for d in node.diskInfos.values() for e in d.ec_shard_infos}
                out[node.id] = {"volumes": vols, "ec": ec, "rack": rack.id}
    return out


def shard_holders(cluster: LocalCluster, vid: int) -> dict[int, list[str]]:
    holders: dict[int, list[str]] = {}
    for address, info in volume_list(cluster).items():
        bits = info["ec"].get(vid, 0)  # type: ignore[attr-defined]
        for shard in range(14):
            if bits >> shard & 1:
                holders.setdefault(shard, []).append(address)
    return holders


def has_volume(cluster: LocalCluster, vid: int) -> bool:
    return any(vid in info["volumes"] for info in volume_list(cluster).values())  # type: ignore[operator]


def write_volume(cluster: LocalCluster, rng: random.Random, base_key: int
                 ) -> tuple[int, str, dict[str, bytes]]:
    """NEEDLES needles (1 KB..400 KB) into one volume; its id, server and fid -> bytes."""
    assign = http_call(cluster.master, "GET", "/dir/assign").json()
    vid = int(assign["fid"].split(",")[0])
    cookie = int(assign["fid"].split(",")[1][-8:], 16)
    server = assign["url"]
    stored: dict[str, bytes] = {}
    for n in range(NEEDLES):
        fid = f"{vid},{base_key + n:x}{cookie:08x}"
        data = rng.randbytes(rng.randint(1000, 400_000))
        body, ctype = multipart_file(f"f{n}.bin", data)
        reply = http_call(server, "POST", f"/{fid}", body, {"Content-Type": ctype})
        assert reply.status == 201, reply.body
        stored[fid] = data
    return vid, server, stored


def read_all(server: str, stored: dict[str, bytes], deleted: frozenset[str] | set[str] = frozenset()) -> None:
    for fid, data in stored.items():
        got = http_call(server, "GET", f"/{fid}", timeout=60)
        if fid in deleted:
            assert got.status == 404, (fid, got.status)
        else:
            assert got.status == 200 and got.body == data, (fid, got.status, len(got.body))


def test_ec_on_the_cluster(cluster_factory: ClusterFactory) -> None:
    tmp = Path(os.environ.get("KELP_TMPDIR") or "/tmp") / f"ec-dirs-{os.getpid()}-{time.time_ns()}"
    dir_a, dir_b = tmp / "a", tmp / "b"
    dir_a.mkdir(parents=True)
    dir_b.mkdir(parents=True)
    specs = [  # volume0 has two data directories (its own -dir is overridden)
        VolumeSpec("dc1", "r1", extra_flags=(f"-dir={dir_a},{dir_b}", "-max=8,8")),
        VolumeSpec("dc1", "r1"),
        VolumeSpec("dc1", "r2"),
        VolumeSpec("dc1", "r2"),
    ]
    try:
        cluster = cluster_factory(specs, replication="000")
        _scenario(cluster, dir_a, dir_b)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _scenario(cluster: LocalCluster, dir_a: Path, dir_b: Path) -> None:
    rng = random.Random(6)
    nodes = {n.address: n for n in cluster.volume_nodes}
    multi = cluster.volume_nodes[0].address
    vid, _, stored = write_volume(cluster, rng, 0x100000)

    # -- encode through the shell ------------------------------------------------------------
    out = shell_ok(cluster, f"ec.encode -volumeId={vid} -force")
    assert "erasure coded" in out, out
    poll("14 shards of the encoded volume", lambda: len(shard_holders(cluster, vid)) == 14
         and not has_volume(cluster, vid))
    holders = shard_holders(cluster, vid)
    per_server: dict[str, int] = {}
    for servers in holders.values():
        assert len(servers) == 1, holders
        per_server[servers[0]] = per_server.get(servers[0], 0) + 1
    assert max(per_server.values()) <= 4, per_server  # any one server lost: >= 10 shards remain
    lookup = http_call(cluster.master, "GET", f"/dir/lookup?volumeId={vid}").json()
    assert len(lookup["locations"]) == 14, lookup
    reader = next(a for a in nodes if a != multi)
    read_all(reader, stored)

    # -- two encoders at once on another volume ----------------------------------------------
    wid, _, second = write_volume(cluster, rng, 0x200000)
    argv = shell_argv(cluster, f"ec.encode -volumeId={wid} -force")
    racers = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for _ in range(2)]
    results = [(p.wait(timeout=180), *p.communicate()) for p in racers]
    # The loser is refused: the lock is held, another encoder got there first, or (late) the
    # volume is already erasure coded.
    assert sorted(rc == 0 for rc, _, _ in results) == [False, True], results
    poll("14 shards of the raced volume", lambda: len(shard_holders(cluster, wid)) == 14
         and not has_volume(cluster, wid))
    assert all(len(s) == 1 for s in shard_holders(cluster, wid).values())
    read_all(reader, second)

    # -- two generates at once on one server (no shell, no lock): one wins, the volume is intact
    # after the loser's and the winner's shards are dropped, and then encodes normally ----------
    uid, owner, third = write_volume(cluster, rng, 0x300000)
    stub = VolumeAdminStub(grpc.insecure_channel(f"127.0.0.1:{nodes[owner].grpc_port}"))
    stub.MarkReadOnly(vpb.MarkReadOnlyRequest(volume_id=uid, read_only=True), timeout=30)
    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(lambda _: _generate(stub, uid), range(2)))
    assert sorted(outcomes) == ["ABORTED", "OK"] or sorted(outcomes) == ["ALREADY_EXISTS", "OK"], outcomes
    read_all(owner, third)  # still the normal volume
    # The winner never finished (no shell drove it): ec.encode drops its shards and encodes.
    out = shell_ok(cluster, f"ec.encode -volumeId={uid}")
    assert "dropped the shards of an unfinished encode" in out, out
    poll("14 shards of the third volume", lambda: len(shard_holders(cluster, uid)) == 14)
    read_all(reader, third)

    # -- a delete journaled on every holder --------------------------------------------------
    gone = next(iter(stored))
    reply = http_call(reader, "DELETE", f"/{gone}")
    assert reply.status == 202, reply.body
    deleted = {gone}
    read_all(reader, stored, deleted)

    # -- lose 4 shard files (restart their servers); one shard moved to the 2nd directory -----
    holders = shard_holders(cluster, vid)
    on_multi = [s for s, a in holders.items() if a[0] == multi]
    lost = [s for s, a in holders.items() if a[0] != multi][:4]
    touched = {holders[s][0] for s in lost} | {multi}
    for address in touched:
        cluster.kill(nodes[address].name)
    for shard in lost:
        node = nodes[holders[shard][0]]
        (node.data_dir / f"{vid}.ec{shard:02d}").unlink()
    # One of its shards goes to the other data directory (where the .ecx is not).
    moved = f"{vid}.ec{on_multi[0]:02d}"
    home, other = (dir_a, dir_b) if (dir_a / f"{vid}.ecx").exists() else (dir_b, dir_a)
    shutil.move(str(home / moved), str(other / moved))
    for address in touched:
        cluster.restart(nodes[address].name, wait=False)
    for address in touched:
        cluster.wait_ready(nodes[address].name)
    cluster.wait_cluster_ready()
    poll("the lost shards to leave the master's view", lambda: len(shard_holders(cluster, vid)) == 10)
    read_all(reader, stored, deleted)
    read_all(multi, stored, deleted)

    out = shell_ok(cluster, "ec.rebuild -force")
    assert f"rebuild on {multi}" in out, out  # the two-directory server holds the most shards
    poll("14 shards after rebuild", lambda: len(shard_holders(cluster, vid)) == 14)
    assert {f"{vid}.ec{s:02d}" for s in lost} <= {p.name for p in home.iterdir()}  # rebuilt next to .ecx
    assert (other / moved).exists()
    read_all(reader, stored, deleted)

    # -- balance, then kill a server holding shards -------------------------------------------
    shell_ok(cluster, "ec.balance -force")
    poll("balanced shards", lambda: max(_counts(shard_holders(cluster, vid)).values()) <= 4)
    read_all(reader, stored, deleted)  # shards moved under the reader's cached holder map
    victim = next(a for a in _counts(shard_holders(cluster, vid)) if a not in (multi, reader))
    cluster.kill(nodes[victim].name)
    read_all(reader, stored, deleted)  # the dead server's shards reconstructed from the others
    poll("the dead server's shards to leave the master's view", lambda: victim not in
         {a for s in shard_holders(cluster, vid).values() for a in s}, seconds=90)
    shell_ok(cluster, "ec.rebuild -force")
    poll("14 shards after the second rebuild", lambda: len(shard_holders(cluster, vid)) == 14)
    read_all(reader, stored, deleted)

    # -- decode back to a normal volume --------------------------------------------------------
    shell_ok(cluster, f"ec.decode -volumeId={vid}")
    poll("the decoded volume", lambda: has_volume(cluster, vid) and not shard_holders(cluster, vid))
    read_all(reader, stored, deleted)  # proxied to the decoded volume's server
    info = json.dumps(volume_list(cluster), default=list)
    assert str(vid) in info


def _generate(stub: VolumeAdminStub, vid: int) -> str:
    try:
        stub.EcShardsGenerate(vpb.EcShardsGenerateRequest(volume_id=vid), timeout=60)
    except grpc.RpcError as err:
        return str(err.code().name)
    return "OK"


def _counts(holders: dict[int, list[str]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for servers in holders.values():
        for a in servers:
            out[a] = out.get(a, 0) + 1
    return out
