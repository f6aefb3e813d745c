"""MasterPool: finds the leader from any master, follows hints, retries once elsewhere, waits
out an election, and learns the cluster's members from status answers."""

from __future__ import annotations

import asyncio

import pytest

from controlplane.shell.errors import MasterGone, NoMasterAvailable
from controlplane.shell.master_pool import MasterPool
from tests.unit.controlplane.shell.fake_masters import FakeCluster

M1, M2, M3 = "m1:9333", "m2:9333", "m3:9333"


def pool(cluster: FakeCluster, seeds: list[str], *, wait: float = 1.0) -> MasterPool:
    return MasterPool(seeds, cluster.connect, leader_wait_seconds=wait, poll_seconds=0.01)


def test_status_asks_a_follower_then_the_leader_it_names() -> None:
    cluster = FakeCluster([M1, M2, M3], leader=M2)
    status = asyncio.run(pool(cluster, [M1]).status())
    assert status.is_leader and status.answered_by == M2 and status.leader == M2
    assert cluster.calls == [(M1, "cluster_status"), (M2, "cluster_status")]


def test_status_falls_back_to_the_follower_when_the_named_leader_is_gone() -> None:
    cluster = FakeCluster([M1, M2, M3], leader=M2, down={M2})
    status = asyncio.run(pool(cluster, [M1]).status())
    assert status.answered_by == M1 and not status.is_leader and status.leader == M2


def test_a_gone_master_is_skipped_for_the_next_known_one() -> None:
    cluster = FakeCluster([M1, M2, M3], leader=M3, down={M1})
    masters = pool(cluster, [M1, M2])
    status = asyncio.run(masters.status())
    assert status.answered_by == M3
    assert [c[0] for c in cluster.calls] == [M1, M2, M3]


def test_members_are_learned_so_a_single_seed_can_die() -> None:
    cluster = FakeCluster([M1, M2, M3], leader=M1)
    masters = pool(cluster, [M1])

    async def scenario() -> str:
        await masters.status()
        assert masters.known == [M1, M2, M3]
        cluster.down.add(M1)
        cluster.leader = M2
        return (await masters.status()).answered_by

    assert asyncio.run(scenario()) == M2


def test_no_master_answering_is_one_error_naming_them() -> None:
    cluster = FakeCluster([M1, M2], leader=M1, down={M1, M2})
    with pytest.raises(NoMasterAvailable) as caught:
        asyncio.run(pool(cluster, [M1, M2]).status())
    assert caught.value.masters == (M1, M2)
    assert "connection refused" in caught.value.reason


def test_a_leader_call_goes_to_the_leader_found_through_a_follower() -> None:
    cluster = FakeCluster([M1, M2, M3], leader=M3)
    asyncio.run(pool(cluster, [M1]).call_leader(lambda m: m.add_server("m4:9333")))
    assert cluster.calls == [(M1, "cluster_status"), (M3, "add_server")]
    assert "m4:9333" in cluster.members


def test_a_leader_call_is_retried_once_on_the_new_leader_after_a_failover() -> None:
    cluster = FakeCluster([M1, M2, M3], leader=M1)
    masters = pool(cluster, [M1])

    async def scenario() -> None:
        await masters.status()  # the pool now believes M1 leads
        cluster.down.add(M1)
        cluster.leader = M2
        await masters.call_leader(lambda m: m.add_server("m4:9333"))

    asyncio.run(scenario())
    adds = [c for c in cluster.calls if c[1] == "add_server"]
    assert adds == [(M1, "add_server"), (M2, "add_server")]


def test_a_not_leader_answer_is_followed_to_the_leader_it_names() -> None:
    cluster = FakeCluster([M1, M2, M3], leader=M1)
    masters = pool(cluster, [M1])

    async def scenario() -> None:
        await masters.status()
        cluster.leader = M3  # M1 stepped down; it now names M3
        await masters.call_leader(lambda m: m.remove_server(M2))

    asyncio.run(scenario())
    removes = [c for c in cluster.calls if c[1] == "remove_server"]
    assert removes == [(M1, "remove_server"), (M3, "remove_server")]
    assert cluster.members == [M1, M3]


def test_a_leader_call_is_not_retried_twice() -> None:
    cluster = FakeCluster([M1, M2], leader=M1)
    masters = pool(cluster, [M1])

    async def always_gone(master: object) -> None:
        raise MasterGone("x:1", "UNAVAILABLE")

    with pytest.raises(MasterGone):
        asyncio.run(masters.call_leader(always_gone))
    # found the leader, called, found it again, called: no third attempt
    assert [c[1] for c in cluster.calls].count("cluster_status") == 2


def test_a_leader_call_waits_out_an_election() -> None:
    cluster = FakeCluster([M1, M2, M3], leader=M2, elect_after=4)
    asyncio.run(pool(cluster, [M1]).call_leader(lambda m: m.add_server("m4:9333")))
    assert (M2, "add_server") in cluster.calls
    assert [c[1] for c in cluster.calls].count("cluster_status") == 5


def test_no_leader_within_the_wait_is_an_error() -> None:
    cluster = FakeCluster([M1, M2], leader="")
    with pytest.raises(NoMasterAvailable) as caught:
        asyncio.run(pool(cluster, [M1], wait=0.05).call_leader(lambda m: m.add_server("m4:9333")))
    assert "no master named a leader within" in caught.value.reason


def test_a_leader_call_with_no_master_answering_fails_at_once() -> None:
    cluster = FakeCluster([M1, M2], leader=M1, down={M1, M2})
    with pytest.raises(NoMasterAvailable) as caught:
        asyncio.run(pool(cluster, [M1, M2], wait=60.0).call_leader(lambda m: m.add_server("m4:9333")))
    assert "connection refused" in caught.value.reason
    assert len(cluster.calls) == 2


def test_an_explicit_grpc_port_of_a_seed_is_kept_when_members_name_it() -> None:
    cluster = FakeCluster(["m1:9333"], leader="m1:9333")
    seen = []

    def connect(address):  # type: ignore[no-untyped-def]
        seen.append(address.grpc)
        return cluster.connect(address)

    asyncio.run(MasterPool(["m1:9333.7777"], connect).status())
    assert seen == ["m1:7777"]


def test_close_closes_every_connection() -> None:
    cluster = FakeCluster([M1, M2, M3], leader=M2)
    masters = pool(cluster, [M1])

    async def scenario() -> None:
        await masters.status()
        await masters.close()

    asyncio.run(scenario())
    assert sorted(cluster.closed) == [M1, M2]
