"""kelp.v1.Control/Subscribe over grpc.aio: a snapshot first for a new subscriber, then events with
consecutive indexes; a caught-up subscriber first gets an immediate message with the leader and
its own index; leader changes and keepalives reach an idle stream; a subscriber behind the
retained tail gets a snapshot, then the events after it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import grpc.aio
from kelp_pb import control_pb2, control_pb2_grpc

from tests.unit.controlplane.master.fake_control_core import (
    ControlCore,
    ControlMaster,
    node_joined,
    reserve,
    volume_added,
)
from tests.unit.dataplane.client.fake_master import run

READ_TIMEOUT_SECONDS = 5.0  # one message; generous for a shared machine


@asynccontextmanager
async def subscription(master: ControlMaster, since: int) -> AsyncIterator[grpc.aio.UnaryStreamCall]:  # type: ignore[type-arg]  # generic only in stubs
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{master.port}")
    call = control_pb2_grpc.ControlStub(channel).Subscribe(
        control_pb2.SubscribeRequest(since_index=since, client_name="test")
    )
    try:
        yield call
    finally:
        call.cancel()
        await channel.close()


async def _read(call: grpc.aio.UnaryStreamCall) -> control_pb2.ControlMessage:  # type: ignore[type-arg]
    async with asyncio.timeout(READ_TIMEOUT_SECONDS):
        msg = await call.read()
    assert isinstance(msg, control_pb2.ControlMessage), msg
    return msg


def test_new_subscriber_gets_a_snapshot_then_consecutive_events() -> None:
    async def scenario() -> None:
        core = ControlCore()
        await core.start()
        await core.append([node_joined(1), volume_added(1, 1), reserve()])
        master = ControlMaster(core)
        await master.start()
        try:
            async with subscription(master, 0) as call:
                first = await _read(call)
                assert first.HasField("snapshot") and first.index == 3 == first.snapshot.event_index
                assert first.leader == "127.0.0.1:9333"
                await core.append([node_joined(2)])
                await core.append([volume_added(2, 2), reserve()])
                got = [await _read(call) for _ in range(3)]
                assert [m.index for m in got] == [4, 5, 6]
                assert got[0].event == node_joined(2) and got[1].event == volume_added(2, 2)
                assert all(not m.leader and not m.HasField("snapshot") for m in got)
        finally:
            await master.stop()

    run(scenario)


def test_caught_up_subscriber_gets_an_immediate_message_then_leader_changes_and_keepalives() -> None:
    async def scenario() -> None:
        core = ControlCore()
        await core.start()
        await core.append([node_joined(1), reserve()])
        master = ControlMaster(core, keepalive_seconds=0.3, leader_poll_seconds=0.05)
        await master.start()
        try:
            async with subscription(master, 2) as call:
                first = await _read(call)
                assert not first.HasField("event") and not first.HasField("snapshot")
                assert (first.index, first.leader) == (2, "127.0.0.1:9333")
                core.leader_address = "127.0.0.1:9334"
                moved = await _read(call)
                assert (moved.index, moved.leader, moved.HasField("event")) == (2, "127.0.0.1:9334", False)
                keepalive = await _read(call)  # nothing happened for keepalive_seconds
                assert (keepalive.index, keepalive.leader, keepalive.HasField("event")) == (2, "", False)
                await core.append([reserve()])
                event = await _read(call)
                assert event.index == 3 and event.HasField("event")
        finally:
            await master.stop()

    run(scenario)


def test_subscriber_behind_the_retained_tail_gets_a_snapshot_then_the_rest() -> None:
    async def scenario() -> None:
        core = ControlCore(retain=2)
        await core.start()
        for i in range(1, 6):
            await core.append([node_joined(i)])
        master = ControlMaster(core)
        await master.start()
        try:
            async with subscription(master, 3) as call:  # events 4 and 5 are retained: no snapshot
                assert [(await _read(call)).index for _ in range(2)] == [4, 5]
            async with subscription(master, 1) as call:  # event 2 is gone
                snap = await _read(call)
                assert snap.HasField("snapshot") and snap.index == 5
                await core.append([reserve()])
                assert (await _read(call)).index == 6
        finally:
            await master.stop()

    run(scenario)
