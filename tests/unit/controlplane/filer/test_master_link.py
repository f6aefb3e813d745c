"""The filer's MasterLink against real master_pb.Seaweed servicers (MasterCore on an in-memory log):
it registers with the leader (ListClusterNodes lists it, with its version and join time, and
forgets it when the link stops), follows a follower's redirect to the leader, moves to the new
leader when leadership changes, keeps retrying while no master answers, and keeps the peer filers
of its group from the master's ClusterNodeUpdate pushes."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import grpc
import grpc.aio
from kelp_pb import weed_master_pb2 as wpb
from kelp_pb import weed_master_pb2_grpc

from controlplane.filer.master_link import FilerIdentity, MasterLink
from controlplane.master.config import MasterConfig
from controlplane.master.core import MasterCore
from controlplane.master.raft import MemoryLog
from controlplane.master.weed_grpc_api import WeedServicer
from tests.unit.controlplane.master.fakes import FakeClock, FakeVolumeAdmin
from tests.unit.controlplane.master.test_http_api_support import run

WAIT_SECONDS = 5.0  # a registration or a move to a new leader (milliseconds here)
POLL_SECONDS = 0.02
FILER = FilerIdentity("127.0.0.1:8888.18888", version="kelp-test", data_center="dc1")


@dataclass
class Master:
    address: str  # "127.0.0.1:http.grpc", as a filer's -master list names it
    http: str
    log: MemoryLog
    servicer: WeedServicer
    stub: weed_master_pb2_grpc.SeaweedStub


@asynccontextmanager
async def master(leader: Master | None = None) -> AsyncIterator[Master]:
    """A master whose gRPC port is its HTTP port + 10000 (so peers find it by HTTP address);
    a follower of `leader` when one is given, else leading."""
    server = grpc.aio.server()
    grpc_port = server.add_insecure_port("127.0.0.1:0")
    http = f"127.0.0.1:{grpc_port - 10000}"
    event_log = MemoryLog()
    config = MasterConfig(port=grpc_port - 10000, grpc_port=grpc_port)
    core = MasterCore(config, FakeVolumeAdmin([]), clock=FakeClock(), rng=random.Random(7), log=event_log)
    event_log.leading = leader is None
    event_log.leader_address = http if leader is None else leader.http
    await core.start()
    servicer = WeedServicer(core, leader_check_seconds=0.05)
    weed_master_pb2_grpc.add_SeaweedServicer_to_server(servicer, server)
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}")
    try:
        stub = weed_master_pb2_grpc.SeaweedStub(channel)
        yield Master(f"{http}.{grpc_port}", http, event_log, servicer, stub)
    finally:
        await channel.close(None)
        await server.stop(None)
        await servicer.close()
        await core.stop()


async def eventually(what: str, check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(POLL_SECONDS)


async def filers(m: Master) -> list[wpb.ListClusterNodesResponse.ClusterNode]:
    reply = await m.stub.ListClusterNodes(wpb.ListClusterNodesRequest(client_type="filer"))
    return list(reply.cluster_nodes)


def listed(m: Master) -> list[str]:
    return [n.address for n in m.servicer.cluster_nodes.listed("filer")]


@asynccontextmanager
async def linked(masters: list[str], identity: FilerIdentity = FILER) -> AsyncIterator[MasterLink]:
    link = MasterLink(masters, identity, retry_seconds=0.05)
    task = asyncio.ensure_future(link.run())
    try:
        yield link
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def test_the_leader_lists_a_connected_filer_until_its_link_stops() -> None:
    async def scenario() -> None:
        async with master() as m:
            before = time.time_ns()
            async with linked([m.address]) as link:
                assert await link.wait_connected(WAIT_SECONDS) == m.http
                await eventually("the filer listed", lambda: bool(m.servicer.cluster_nodes.listed("filer")))
                (node,) = await filers(m)
                assert (node.address, node.version, node.data_center) == (FILER.address, "kelp-test", "dc1")
                assert before <= node.created_at_ns <= time.time_ns()
                # Tools and volume servers are not filers; other groups are not listed.
                other = await m.stub.ListClusterNodes(wpb.ListClusterNodesRequest(client_type="filer",
                                                                                  filer_group="g2"))
                assert not other.cluster_nodes
            await eventually("the filer dropped", lambda: not m.servicer.cluster_nodes.listed("filer"))
            assert await filers(m) == []

    run(scenario())


def test_a_follower_redirects_the_link_and_forwards_the_listing() -> None:
    async def scenario() -> None:
        async with (master() as leader, master(leader) as follower,
                    linked([follower.address, leader.address]) as link):
            assert await link.wait_connected(WAIT_SECONDS) == leader.http
            await eventually("the filer listed", lambda: bool(leader.servicer.cluster_nodes.listed("filer")))
            assert not follower.servicer.cluster_nodes.listed("filer")
            # The shell may ask any master: a follower asks the leader.
            assert [n.address for n in await filers(follower)] == [FILER.address]

    run(scenario())


def test_the_link_moves_to_the_new_leader() -> None:
    async def scenario() -> None:
        async with (master() as first, master(first) as second,
                    linked([first.address, second.address]) as link):
            await link.wait_connected(WAIT_SECONDS)
            assert link.current == first.http
            # Leadership moves from first to second: first ends the stream naming second.
            first.log.leading, first.log.leader_address = False, second.http
            second.log.leading, second.log.leader_address = True, second.http
            await eventually("the link on the new leader", lambda: link.current == second.http)
            await eventually("listed by the new leader", lambda: bool(listed(second)))
            await eventually("dropped by the old one", lambda: not listed(first))
            assert link.connects == 2

    run(scenario())


def test_the_link_keeps_trying_until_a_master_answers() -> None:
    async def scenario() -> None:
        async with master() as m:
            absent = "127.0.0.1:1.2"  # nothing listens on port 2: refused at once
            async with linked([absent, m.address]) as link:
                assert await link.wait_connected(WAIT_SECONDS) == m.http
            # No leader known anywhere: the link waits between rounds instead of failing.
            m.log.leading, m.log.leader_address = False, None
            async with linked([m.address]) as link:
                await asyncio.sleep(0.3)  # a few retry rounds (nothing to poll for: it must not connect)
                assert link.current is None and link.connects == 0

    run(scenario())


@asynccontextmanager
async def tool_stream(m: Master) -> AsyncIterator[Any]:
    """A tool's KeepConnected stream (client_type "client"), open once its first message came: from
    then on the master pushes it every cluster node update."""
    call = m.stub.KeepConnected()
    try:
        await call.write(wpb.KeepConnectedRequest(client_type="client", version="test"))
        first = await asyncio.wait_for(call.read(), WAIT_SECONDS)
        assert first.HasField("volume_location")
        yield call
    finally:
        call.cancel()


async def next_node_update(call: Any) -> wpb.ClusterNodeUpdate:
    while True:
        reply = await asyncio.wait_for(call.read(), WAIT_SECONDS)
        assert reply is not grpc.aio.EOF  # type: ignore[attr-defined]
        if reply.HasField("cluster_node_update"):
            return reply.cluster_node_update


def test_filers_learn_of_each_other_and_of_a_departure() -> None:
    other = FilerIdentity("127.0.0.1:8889.18889", version="kelp-test")
    elsewhere = FilerIdentity("127.0.0.1:8890.18890", filer_group="g2")

    async def scenario() -> None:
        async with master() as m, linked([m.address]) as first:
            await first.wait_connected(WAIT_SECONDS)  # joined: the master joins it before answering
            async with tool_stream(m) as tool:
                async with linked([m.address], other) as second:
                    # The joiner hears the filer already there (replayed), the other hears the join.
                    await eventually("the second learns of the first", lambda: FILER.address in second.peers)
                    await eventually("the first learns of the second", lambda: other.address in first.peers)
                    assert set(first.peers) == {other.address} and set(second.peers) == {FILER.address}
                    joined = first.peers[other.address].created_at_ns
                    assert joined and joined == next(n.created_at_ns for n in await filers(m)
                                                     if n.address == other.address)
                    async with linked([m.address], elsewhere) as third:
                        await eventually("the third is listed", lambda: bool(m.servicer.cluster_nodes.listed(
                            "filer", "g2")))
                        assert not third.peers, "a filer of another group is not a peer"
                        assert elsewhere.address not in first.peers
                await eventually("the first learns of the departure", lambda: not first.peers)
                # Tools hear every push too (SeaweedFS's master sends them to every client), in order.
                seen = [(u.address, u.is_add, u.filer_group) for u in
                        [await next_node_update(tool) for _ in range(4)]]
                assert seen == [(other.address, True, ""), (elsewhere.address, True, "g2"),
                                (elsewhere.address, False, "g2"), (other.address, False, "")]

    run(scenario())
