"""kelp.v1.Master over grpc.aio: each heartbeat message is one core call whose answer is streamed
back; the end of a stream is one `node_disconnected` (only for the node's newest stream, and not
while the master itself shuts down); Lookup answers from the core."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import grpc
from kelp_pb import master_pb2, master_pb2_grpc

from controlplane.master.core import Location, WarmingUp
from controlplane.master.grpc_api import NO_LEADER_YET, MasterServicer
from tests.unit.controlplane.master.test_http_api_support import FakeCore, run

POLL_DEADLINE_SECONDS = 5.0


async def wait_for(condition: Callable[[], bool]) -> None:
    deadline = asyncio.get_running_loop().time() + POLL_DEADLINE_SECONDS
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


@asynccontextmanager
async def master(core: FakeCore) -> AsyncIterator[tuple[MasterServicer, master_pb2_grpc.MasterStub]]:
    server = grpc.aio.server()
    servicer = MasterServicer(core)  # type: ignore[arg-type]  # duck-typed fake core
    master_pb2_grpc.add_MasterServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield servicer, master_pb2_grpc.MasterStub(channel)
    finally:
        await channel.close()
        await server.stop(None)


def hb(port: int) -> master_pb2.HeartbeatRequest:
    return master_pb2.HeartbeatRequest(ip="127.0.0.1", port=port, max_volume_count=8)


def test_each_heartbeat_is_answered_and_the_stream_end_disconnects_the_node() -> None:
    core = FakeCore()

    async def scenario() -> None:
        async with master(core) as (_, stub):
            call = stub.Heartbeat()
            for expected in (1, 2, 3):
                await call.write(hb(8080))
                reply = await call.read()
                assert reply.volume_size_limit == expected  # the fake counts calls
            assert core.args("node_disconnected") == []
            await call.done_writing()
            assert await call.code() == grpc.StatusCode.OK
            await wait_for(lambda: core.args("node_disconnected") == ["127.0.0.1:8080"])

    run(scenario())
    assert [h.port for h in core.args("heartbeat")] == [8080, 8080, 8080]


def test_a_cancelled_stream_disconnects_the_node() -> None:
    core = FakeCore()

    async def scenario() -> None:
        async with master(core) as (_, stub):
            call = stub.Heartbeat()
            await call.write(hb(8081))
            await call.read()
            call.cancel()
            await wait_for(lambda: core.args("node_disconnected") == ["127.0.0.1:8081"])

    run(scenario())


def test_only_the_newest_stream_of_a_node_counts() -> None:
    core = FakeCore()

    async def scenario() -> None:
        async with master(core) as (_, stub):
            old, new = stub.Heartbeat(), stub.Heartbeat()
            await old.write(hb(8082))
            await old.read()
            await new.write(hb(8082))
            await new.read()
            await old.done_writing()
            assert await old.code() == grpc.StatusCode.OK  # its handler has returned
            assert core.args("node_disconnected") == []
            await new.done_writing()
            assert await new.code() == grpc.StatusCode.OK
            await wait_for(lambda: core.args("node_disconnected") == ["127.0.0.1:8082"])

    run(scenario())


def test_streams_ended_by_our_own_shutdown_record_nothing() -> None:
    core = FakeCore()

    async def scenario() -> None:
        async with master(core) as (servicer, stub):
            call = stub.Heartbeat()
            await call.write(hb(8083))
            await call.read()
            servicer.shutting_down = True
            await call.done_writing()
            assert await call.code() == grpc.StatusCode.OK

    run(scenario())
    assert core.args("node_disconnected") == []


def test_a_core_error_aborts_the_stream_without_recording_a_departure() -> None:
    core = FakeCore(fail={"heartbeat": WarmingUp()})

    async def scenario() -> None:
        async with master(core) as (_, stub):
            call = stub.Heartbeat()
            await call.write(hb(8084))
            assert await call.code() == grpc.StatusCode.FAILED_PRECONDITION
            assert "warming up" in (await call.details() or "")
            assert core.args("node_disconnected") == []  # the handler (and its finally) ended first
            # The master ended that stream; the server will retry: it did not leave. A stream the
            # server ends itself afterwards is its one recorded departure.
            core.fail.clear()
            again = stub.Heartbeat()
            await again.write(hb(8084))
            await again.read()
            await again.done_writing()
            assert await again.code() == grpc.StatusCode.OK
            await wait_for(lambda: core.args("node_disconnected") == ["127.0.0.1:8084"])

    run(scenario())


def test_lookup_answers_each_volume() -> None:
    core = FakeCore(volumes={3: [Location("10.0.0.1:8080", "pub:80", 18080, "dc1", "r1")]})

    async def scenario() -> None:
        async with master(core) as (_, stub):
            lookup: Callable[..., Awaitable[master_pb2.LookupResponse]] = stub.Lookup
            reply = await lookup(master_pb2.LookupRequest(volume_ids=[3, 4]))
            found, missing = reply.volumes
            assert found.volume_id == 3 and not found.error
            (loc,) = found.locations
            assert (loc.url, loc.public_url, loc.grpc_port, loc.data_center, loc.rack) == (
                "10.0.0.1:8080",
                "pub:80",
                18080,
                "dc1",
                "r1",
            )
            assert missing.volume_id == 4 and missing.error == "volume id 4 not found"
            assert not missing.locations

    run(scenario())


def test_a_follower_that_knows_no_leader_ends_the_stream_as_unavailable() -> None:
    core = FakeCore()
    core.leader_flag = False  # its heartbeat answer names no leader: an election is under way

    async def scenario() -> None:
        async with master(core) as (_, stub):
            call = stub.Heartbeat()
            await call.write(hb(8080))
            assert await call.code() == grpc.StatusCode.UNAVAILABLE
            assert NO_LEADER_YET in (await call.details() or "")
            # A second stream that the server ends itself is the only departure recorded.
            core.leader_flag = True
            again = stub.Heartbeat()
            await again.write(hb(8080))
            await again.read()
            await again.done_writing()
            await wait_for(lambda: core.args("node_disconnected") == ["127.0.0.1:8080"])

    run(scenario())
