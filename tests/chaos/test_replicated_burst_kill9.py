"""With replication W = N, an acknowledged write outlives the server that acknowledged it.

Two volume servers share a rack and every volume is replicated 001, so each holds a copy of
everything. A burst of writes goes to one of them, which gets SIGKILL mid-burst. Every write it
answered 201 must already be readable from the other server, before the killed one is back;
after it restarts, every acknowledged write reads back from it too.
"""

from __future__ import annotations

import os
import random
import threading
import time

from ops.localcluster import VolumeSpec, http_call

from .conftest import ClusterFactory
from .test_volume_kill9 import WRITER_STOP_SECONDS, Burst, assert_reads_back, writer

REPLICATION = "001"
BURST_NEEDLES = 600
WRITERS = 3
KILL_AFTER_ACKS = 200
MAX_NEEDLE_BYTES = 4096
ASSIGN_BATCH = 50
BURST_SECONDS = 120.0  # replicated writes on a loaded 2-core machine; normally a second or two


def assign_fids(master: str, count: int) -> list[str]:
    fids: list[str] = []
    while len(fids) < count:
        assigned = http_call(master, "GET", f"/dir/assign?count={ASSIGN_BATCH}&replication={REPLICATION}")
        assert assigned.status == 200, assigned.body
        first = assigned.json()["fid"]
        fids += [first] + [f"{first}_{n}" for n in range(1, ASSIGN_BATCH)]
    return fids[:count]


def test_acknowledged_replicated_writes_survive_the_acknowledging_server(
    cluster_factory: ClusterFactory,
) -> None:
    cluster = cluster_factory(volumes=[VolumeSpec("dc1", "r1"), VolumeSpec("dc1", "r1")])
    victim, survivor = cluster.volume_nodes
    rng = random.Random(1)
    burst = Burst([(fid, os.urandom(rng.randint(1, MAX_NEEDLE_BYTES)))
                   for fid in assign_fids(cluster.master, BURST_NEEDLES)])
    threads = [threading.Thread(target=writer, args=(victim.address, burst)) for _ in range(WRITERS)]
    for thread in threads:
        thread.start()
    try:
        deadline = time.monotonic() + BURST_SECONDS
        while len(burst.acked) < KILL_AFTER_ACKS:
            assert time.monotonic() < deadline, f"only {len(burst.acked)} writes acknowledged in time"
            assert any(t.is_alive() for t in threads), f"writers stopped early: {burst.refused[:5]}"
            time.sleep(0.01)
        burst.killed.set()
        cluster.kill(victim.name)
    finally:
        burst.pending.clear()
        for thread in threads:
            thread.join(WRITER_STOP_SECONDS)
    assert not burst.refused, f"writes refused while both servers were up: {burst.refused[:10]}"
    assert len(burst.acked) >= KILL_AFTER_ACKS

    assert_reads_back(survivor.address, burst.acked, "from the other replica, with the acknowledger dead")
    cluster.restart(victim.name)
    assert_reads_back(victim.address, burst.acked, "from the acknowledging server after its restart")
