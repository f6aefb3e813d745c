"""With replication W = N, an acknowledged write outlives the server that acknowledged it.

Two volume servers share a rack and every volume is replicated 001, so each holds a copy of
everything. A burst of writes goes to one of them, which gets SIGKILL mid-burst. Every write it
answered 201 must already be readable from the other server, before the killed one is back;
after it restarts, every acknowledged write reads back from it too.
"""

from __future__ import annotations

from ops.localcluster import VolumeSpec

from .conftest import ClusterFactory
from .test_volume_kill9 import assert_reads_back, run_burst_and_kill

REPLICATION = "001"
BURST_NEEDLES = 600
WRITERS = 3
KILL_AFTER_ACKS = 200


def test_acknowledged_replicated_writes_survive_the_acknowledging_server(
    cluster_factory: ClusterFactory,
) -> None:
    cluster = cluster_factory(volumes=[VolumeSpec("dc1", "r1"), VolumeSpec("dc1", "r1")])
    victim, survivor = cluster.volume_nodes
    burst = run_burst_and_kill(
        cluster,
        victim,
        needles=BURST_NEEDLES,
        kill_after=KILL_AFTER_ACKS,
        writers=WRITERS,
        assign_query=f"&replication={REPLICATION}",
    )
    assert not burst.refused, f"writes refused while both servers were up: {burst.refused[:10]}"
    assert len(burst.acked) >= KILL_AFTER_ACKS

    assert_reads_back(survivor.address, burst.acked, "from the other replica, with the acknowledger dead")
    cluster.restart(victim.name)
    assert_reads_back(victim.address, burst.acked, "from the acknowledging server after its restart")
