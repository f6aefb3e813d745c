"""Replication is W = N: when one replica of a volume is dead, a write to that volume fails, the
volume goes read-only, and assigns go to volumes whose replicas are all alive.

Two volume servers (dc1/r1 and dc1/r2) take writes with replication 010, so every volume has a
copy on each. A third server joins r2, then the r2 server holding the copies gets SIGKILL.
A write sent to the surviving copy must fail with 500 (never 201), that copy turns read-only,
the needles written before still read back from it, and new 010 assigns land on fresh volumes
(r1 + the new r2 server) where a round trip works. When the killed server comes back, the
volume that refused a write stays out of the writable list: its copies may differ.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from ops.localcluster import LocalCluster, VolumeSpec, http_call, multipart_file

from .conftest import ClusterFactory

REPLICATION = "010"
WRITES_BEFORE = 5
MAX_WRITES_BEFORE = 100  # assigns pick volumes at random; two distinct ones come within a few
ASSIGNS_AFTER = 20
STATE_SECONDS = 30.0  # read-only state and node loss reach the master within a few heartbeats
GROWTH_SECONDS = 30.0  # assigns answer 503 + Retry-After while new volumes are grown
UNUSED_KEY_DELTA = 100000  # fid_N: a key no assign handed out, same cookie


def upload(address: str, fid: str, data: bytes) -> tuple[int, bytes]:
    body, content_type = multipart_file("r.bin", data)
    written = http_call(address, "POST", f"/{fid}", body, {"Content-Type": content_type})
    return written.status, written.body


def assign(master: str) -> tuple[str, str]:
    """A 010 fid and its url, waiting out 503 "growth in progress" answers."""
    deadline = time.monotonic() + GROWTH_SECONDS
    while True:
        assigned = http_call(master, "GET", f"/dir/assign?replication={REPLICATION}")
        if assigned.status == 200:
            return assigned.json()["fid"], assigned.json()["url"]
        assert assigned.status == 503 and time.monotonic() < deadline, (assigned.status, assigned.body)
        time.sleep(float(assigned.header("Retry-After") or 1))


def vid_of(fid: str) -> int:
    return int(fid.split(",")[0])


def read_only_on(address: str, vid: int) -> bool:
    status = http_call(address, "GET", "/status")
    assert status.status == 200, status.body
    return any(v["Id"] == vid and v["ReadOnly"] for v in status.json()["Volumes"] or [])


def writables(master: str) -> set[int]:
    status = http_call(master, "GET", "/dir/status")
    assert status.status == 200, status.body
    layouts = status.json()["Topology"]["Layouts"] or []
    ours = [layout for layout in layouts if layout["replication"] == REPLICATION]
    return {vid for layout in ours for vid in layout["writables"] or []}


def poll(what: str, seconds: float, check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"not within {seconds:.0f} s: {what}"
        time.sleep(0.1)


def test_a_dead_replica_fails_the_write_and_retires_the_volume(cluster_factory: ClusterFactory) -> None:
    cluster: LocalCluster = cluster_factory(volumes=[VolumeSpec("dc1", "r1"), VolumeSpec("dc1", "r2")])
    survivor, victim = cluster.volume_nodes
    written: dict[str, bytes] = {}
    for _ in range(MAX_WRITES_BEFORE):  # until two volumes hold needles: one fails, one comes back
        fid, url = assign(cluster.master)
        data = os.urandom(2000)
        assert upload(url, fid, data)[0] == 201
        written[fid] = data
        if len(written) >= WRITES_BEFORE and len({vid_of(f) for f in written}) >= 2:
            break
    shared_volumes = {vid_of(fid) for fid in written}
    assert len(shared_volumes) >= 2, written.keys()

    newcomer = cluster.add_volume(VolumeSpec("dc1", "r2"))
    cluster.kill(victim.name)

    doomed_fid = f"{next(iter(written))}_{UNUSED_KEY_DELTA}"
    doomed = vid_of(doomed_fid)
    status, body = upload(survivor.address, doomed_fid, os.urandom(2000))
    assert status == 500, f"a write with a dead replica got {status}: {body[:200]!r}"
    poll(f"volume {doomed} read-only on the surviving copy", STATE_SECONDS,
         lambda: read_only_on(survivor.address, doomed))
    for fid, data in written.items():
        read = http_call(survivor.address, "GET", f"/{fid}")
        assert (read.status, read.body) == (200, data), fid

    poll("the volumes with a dead copy leave the writable list", STATE_SECONDS,
         lambda: not (writables(cluster.master) & shared_volumes))
    for _ in range(ASSIGNS_AFTER):
        fid, url = assign(cluster.master)
        assert vid_of(fid) not in shared_volumes, f"assigned {fid} on a volume with a dead replica"
    data = os.urandom(3000)
    assert upload(url, fid, data)[0] == 201
    located = http_call(cluster.master, "GET", f"/dir/lookup?volumeId={vid_of(fid)}")
    holders = sorted(loc["url"] for loc in located.json()["locations"])
    assert holders == sorted([survivor.address, newcomer.address])
    for address in (survivor.address, newcomer.address):
        assert http_call(address, "GET", f"/{fid}").body == data

    cluster.restart(victim.name)
    poll("the volumes whose copies are all back return to the writable list", STATE_SECONDS,
         lambda: bool(writables(cluster.master) & (shared_volumes - {doomed})))
    assert doomed not in writables(cluster.master), "the volume that refused a write is writable again"
