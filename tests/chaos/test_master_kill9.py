"""A master killed with SIGKILL and restarted on the same `-mdir` keeps its topology, its
collections and its file id sequence: no (volume, key) pair is ever handed out twice.

One master, two volume servers on two racks. About 5,000 fids are assigned (count= batches,
whose replies stand for keys K..K+count-1, and single assigns) over three collections, one of
them replicated 010; then single assigns keep going while the master gets SIGKILL. After the
restart the volume servers register again, `/dir/status` shows the same servers holding the
same volumes, every collection is still there, the volume id counter has not gone back, and
assigning goes on without repeating any pair handed out before the crash. A master killed
while growing volumes (some replicas allocated, some not) only assigns whole volumes afterwards.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from typing import Any

from ops.localcluster import LocalCluster, VolumeSpec, http_call

from .conftest import ClusterFactory

SLOTS_PER_SERVER = 20  # 7 + 7 volumes for the 000 collections, 3 x 2 for the 010 one, and growth
# (collection, replication) of every assign; the empty collection is the default one.
LAYOUTS = (("", "000"), ("alpha", "000"), ("beta", "010"))
BATCH = 100
BATCHES_BEFORE = 40  # 4,000 keys in count= batches
SINGLES_BEFORE = 1000
ASSIGNS_BEFORE_KILL = 100  # singles acknowledged during the traffic the kill interrupts
BATCHES_AFTER = 10
SINGLES_AFTER = 300
TRAFFIC_SECONDS = 60.0  # the assign traffic before the kill; normally well under a second
REREGISTER_SECONDS = 60.0
GROWTH_KILL_DELAY_SECONDS = 0.015  # on this machine, mid-way through allocating the replicas
GROWTH_RETRY_SECONDS = 15.0
ASSIGNS_AFTER_GROWTH_KILL = 30  # volume servers reconnect with a backoff capped at a few seconds


def fid_pairs(fid: str, count: int) -> list[tuple[int, int]]:
    """Every (volume, key) a reply stands for: fid, fid_1, ..., fid_{count-1}."""
    vid, _, key_cookie = fid.partition(",")
    key = int(key_cookie[:-8], 16)
    return [(int(vid), key + n) for n in range(count)]


def assign(master: str, count: int, layout: tuple[str, str]) -> list[tuple[int, int]]:
    collection, replication = layout
    query = f"count={count}&collection={collection}&replication={replication}"
    # 503 "volume growth in progress" is the master's "ask again shortly" (a restarted master may
    # grow a layout whose replicas it has not all heard yet); clients retry it, so does this.
    deadline = time.monotonic() + GROWTH_RETRY_SECONDS
    reply = http_call(master, "GET", f"/dir/assign?{query}")
    while reply.status == 503 and time.monotonic() < deadline:
        time.sleep(0.1)
        reply = http_call(master, "GET", f"/dir/assign?{query}")
    assert reply.status == 200, (layout, reply.body)
    assert reply.json()["count"] == count
    return fid_pairs(reply.json()["fid"], count)


def assign_many(master: str, batches: int, singles: int) -> list[tuple[int, int]]:
    pairs: list[tuple[int, int]] = []
    for n in range(batches):
        pairs += assign(master, BATCH, LAYOUTS[n % len(LAYOUTS)])
    for n in range(singles):
        pairs += assign(master, 1, LAYOUTS[n % len(LAYOUTS)])
    return pairs


def topology(master: str) -> dict[str, Any]:
    """What must survive: which server holds which volumes, per collection layout."""
    status = http_call(master, "GET", "/dir/status")
    assert status.status == 200, status.body
    nodes = {
        node["Url"]: (dc["Id"], rack["Id"], node["VolumeIds"])
        for dc in status.json()["Topology"]["DataCenters"] or []
        for rack in dc["Racks"] or []
        for node in rack["DataNodes"] or []
    }
    layouts = {
        (layout["collection"], layout["replication"]): sorted(layout["writables"] or [])
        for layout in status.json()["Topology"]["Layouts"] or []
    }
    return {"nodes": nodes, "layouts": layouts}


def max_volume_id(master: str) -> int:
    status = http_call(master, "GET", "/cluster/status")
    assert status.status == 200, status.body
    return int(status.json()["MaxVolumeId"])


def assign_until_killed(cluster: LocalCluster) -> list[tuple[int, int]]:
    """Single assigns in a thread while the master is SIGKILLed; the pairs that were answered."""
    answered: list[tuple[int, int]] = []
    stop = threading.Event()

    def traffic() -> None:
        n = 0
        while not stop.is_set():
            try:
                answered.extend(assign(cluster.master, 1, LAYOUTS[n % len(LAYOUTS)]))
            except OSError:
                return  # the master is gone
            n += 1

    thread = threading.Thread(target=traffic)
    thread.start()
    try:
        deadline = time.monotonic() + TRAFFIC_SECONDS
        while len(answered) < ASSIGNS_BEFORE_KILL:
            assert thread.is_alive(), "assign traffic stopped before the kill"
            assert time.monotonic() < deadline, f"only {len(answered)} assigns answered in time"
            time.sleep(0.005)
        cluster.kill("master")  # SIGKILL, and reaped
    finally:
        stop.set()
        thread.join(TRAFFIC_SECONDS)
    return answered


def wait_for_topology(master: str, wanted: dict[str, Any]) -> dict[str, Any]:
    deadline = time.monotonic() + REREGISTER_SECONDS
    while True:
        got = topology(master)
        if got["nodes"] == wanted["nodes"] or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def assert_no_pair_twice(pairs: list[tuple[int, int]]) -> None:
    repeated = [pair for pair, times in Counter(pairs).items() if times > 1]
    assert not repeated, f"{len(repeated)} (volume, key) pairs handed out twice, e.g. {repeated[:10]}"


def test_master_restart_keeps_topology_collections_and_sequence(cluster_factory: ClusterFactory) -> None:
    cluster = cluster_factory(
        volumes=[VolumeSpec("dc1", "r1", SLOTS_PER_SERVER), VolumeSpec("dc1", "r2", SLOTS_PER_SERVER)]
    )
    before = assign_many(cluster.master, BATCHES_BEFORE, SINGLES_BEFORE)
    assert len(before) == BATCHES_BEFORE * BATCH + SINGLES_BEFORE
    assert_no_pair_twice(before)
    topology_before = topology(cluster.master)
    assert {layout for layout in topology_before["layouts"]} == set(LAYOUTS)
    max_vid_before = max_volume_id(cluster.master)

    before += assign_until_killed(cluster)
    cluster.restart("master")  # same ports, same -mdir; waits for both volume servers

    topology_after = wait_for_topology(cluster.master, topology_before)
    assert topology_after["nodes"] == topology_before["nodes"]
    assert topology_after["layouts"].keys() == topology_before["layouts"].keys()
    for collection in ("alpha", "beta"):
        info = http_call(cluster.master, "GET", f"/collection/info?collection={collection}")
        assert info.status == 200, (collection, info.body)
    assert max_volume_id(cluster.master) >= max_vid_before

    after = assign_many(cluster.master, BATCHES_AFTER, SINGLES_AFTER)
    grown = http_call(cluster.master, "GET", "/vol/grow?collection=gamma&count=1")
    assert grown.status == 200, grown.body
    assert max_volume_id(cluster.master) > max_vid_before  # a new volume id, never a reused one
    assert_no_pair_twice(before + after)


def test_master_killed_during_growth_only_assigns_whole_volumes(cluster_factory: ClusterFactory) -> None:
    """SIGKILL while the first assign grows volumes (some replicas allocated, some not): after
    the restart every assigned fid is writable, i.e. no half-created volume is handed out."""
    cluster = cluster_factory(
        volumes=[VolumeSpec("dc1", "r1", SLOTS_PER_SERVER), VolumeSpec("dc1", "r2", SLOTS_PER_SERVER)]
    )

    def first_assign() -> None:
        with contextlib.suppress(OSError):  # the master dies under it
            http_call(cluster.master, "GET", "/dir/assign?replication=010", timeout=TRAFFIC_SECONDS)

    thread = threading.Thread(target=first_assign)
    thread.start()
    time.sleep(GROWTH_KILL_DELAY_SECONDS)  # deliberately a delay: where the kill lands is the variable
    cluster.kill("master")
    thread.join(TRAFFIC_SECONDS)
    cluster.restart("master")

    seen: set[tuple[int, int]] = set()
    for _ in range(ASSIGNS_AFTER_GROWTH_KILL):
        reply = http_call(cluster.master, "GET", "/dir/assign?replication=010")
        assert reply.status in (200, 503), reply.body
        if reply.status == 503:  # growth in progress: Retry-After says when
            time.sleep(float(reply.header("Retry-After") or 1))
            continue
        fid, url = reply.json()["fid"], reply.json()["url"]
        seen.update(fid_pairs(fid, 1))
        written = http_call(url, "POST", f"/{fid}", b"after the crash", {"Content-Type": "text/x-test"})
        assert written.status == 201, (fid, written.status, written.body)
    assert seen, "no assign succeeded after the restart"
