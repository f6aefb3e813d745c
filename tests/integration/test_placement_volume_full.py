"""A volume that reached the master's `-volumeSizeLimitMB` gets no more assigns.

The master runs with a 1 MB limit. Three 600 KiB needles are written into one volume (keys of
one count= batch share it); once the volume server's heartbeat reports its size, the master
drops the volume from the writable list of its layout, every later assign names another
volume, and writes there work. The full volume still serves its needles.
"""

from __future__ import annotations

import os
import time

from ops.localcluster import LocalCluster, http_call

from .conftest import ClusterFactory

LIMIT_MB = 1
NEEDLE_BYTES = 600 << 10
NEEDLES = 3  # 1.8 MiB: well over the limit
ASSIGNS_AFTER = 30
HEARTBEAT_SECONDS = 30.0  # the size reaches the master with the next heartbeat (1 s pulses here)
RAW_UPLOAD = {"Content-Type": "application/octet-stream"}


def writables(master: str) -> set[int]:
    status = http_call(master, "GET", "/dir/status")
    assert status.status == 200, status.body
    return {vid for layout in status.json()["Topology"]["Layouts"] or [] for vid in layout["writables"] or []}


def test_a_full_volume_gets_no_more_assigns(cluster_factory: ClusterFactory) -> None:
    cluster: LocalCluster = cluster_factory(volume_size_limit_mb=LIMIT_MB)
    volume = cluster.volume_addresses[0]
    assigned = http_call(cluster.master, "GET", f"/dir/assign?count={NEEDLES}")
    assert assigned.status == 200, assigned.body
    first = assigned.json()["fid"]
    full = int(first.split(",")[0])
    needles = {fid: os.urandom(NEEDLE_BYTES) for fid in [first] + [f"{first}_{n}" for n in range(1, NEEDLES)]}
    for fid, data in needles.items():
        written = http_call(volume, "POST", f"/{fid}", data, RAW_UPLOAD)
        assert written.status == 201, written.body

    deadline = time.monotonic() + HEARTBEAT_SECONDS
    while full in writables(cluster.master):
        assert time.monotonic() < deadline, f"volume {full} is over {LIMIT_MB} MB and still writable"
        time.sleep(0.1)
    for _ in range(ASSIGNS_AFTER):
        again = http_call(cluster.master, "GET", "/dir/assign")
        assert again.status == 200, again.body
        assert int(again.json()["fid"].split(",")[0]) != full, again.body
    written = http_call(again.json()["url"], "POST", f"/{again.json()['fid']}", b"after", RAW_UPLOAD)
    assert written.status == 201, written.body
    for fid, data in needles.items():
        assert http_call(volume, "GET", f"/{fid}").body == data, fid
