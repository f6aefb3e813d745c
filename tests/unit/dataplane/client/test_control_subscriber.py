"""ControlSubscriber: across reconnects to random masters it applies every event exactly once, in
order; a message that does not continue its view (a gap) or a silent master makes it subscribe
again elsewhere; after a failure it goes to the leader it heard of; a VolumeLocator given to it
answers from the view while the stream is live and asks a master once it is not."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import grpc.aio
from kelp_pb import control_pb2, control_pb2_grpc, events_pb2, master_pb2

from controlplane.master.state import MasterState
from dataplane.client.control import ControlSubscriber
from dataplane.client.control_view import NodeDelta
from dataplane.client.lookup import VolumeLocator
from tests.unit.controlplane.master.fake_control_core import (
    ControlCore,
    ControlMaster,
    node_joined,
    reserve,
    volume_added,
)
from tests.unit.dataplane.client.fake_master import FakeMaster, run, wait_for


async def cluster(count: int) -> list[ControlMaster]:
    """`count` masters with identical logs (each its own core, fed the same events)."""
    masters = []
    for _ in range(count):
        core = ControlCore()
        await core.start()
        master = ControlMaster(core, keepalive_seconds=0.5)
        await master.start()
        masters.append(master)
    return masters


async def append(masters: list[ControlMaster], events: list[events_pb2.Event]) -> None:
    for m in masters:
        await m.core.append(events)


def random_events(rng: random.Random) -> list[events_pb2.Event]:
    roll = rng.random()
    if roll < 0.2:
        return [node_joined(rng.randrange(1, 5))]
    if roll < 0.7:
        return [volume_added(rng.randrange(1, 20), rng.randrange(1, 5)) for _ in range(rng.randrange(1, 4))]
    return [reserve()]


class Running:
    """A subscriber's run() in a task, cancelled and closed on exit."""

    def __init__(self, subscriber: ControlSubscriber) -> None:
        self.subscriber = subscriber
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> ControlSubscriber:
        self.task = asyncio.ensure_future(self.subscriber.run())
        return self.subscriber

    async def __aexit__(self, *exc: object) -> None:
        assert self.task is not None
        self.task.cancel()
        await asyncio.wait({self.task})
        await self.subscriber.close()


def test_random_reconnects_apply_every_event_once_in_order() -> None:
    async def scenario() -> None:
        rng = random.Random(7)
        masters = await cluster(3)
        await append(masters, [node_joined(1), volume_added(1, 1)])
        received: list[control_pb2.ControlMessage] = []
        changes: list[NodeDelta] = []
        sub = ControlSubscriber(
            [m.address for m in masters], "test", on_message=received.append, on_change=changes.extend
        )
        try:
            async with Running(sub):
                for _ in range(40):
                    await append(masters, random_events(rng))
                    if rng.random() < 0.4:
                        sub.reconnect(rng.choice(masters).address)
                    if rng.random() < 0.5:  # sometimes let it catch up, sometimes reconnect mid-burst
                        async with asyncio.timeout(10):
                            await sub.wait_index(masters[0].core.index)
                async with asyncio.timeout(10):
                    await sub.wait_index(masters[0].core.index)
                stats = sub.statistics()
        finally:
            for m in masters:
                await m.stop()
        # A snapshot of wherever the log was when it first subscribed, then only events.
        start = received[0].index
        assert received[0].HasField("snapshot") and start >= 2
        assert all(m.HasField("event") for m in received[1:])
        indexes = [m.index for m in received[1:]]
        assert indexes == list(range(start + 1, masters[0].core.index + 1))  # each once, in order
        appended = [e for batch in masters[0].core.log.entries for e in batch.events]
        assert [m.event for m in received[1:]] == appended[start:]
        assert stats.snapshots == 1 and stats.subscriptions > 5 and stats.resyncs == 0
        # The view is the master's state.
        state = masters[0].core.log.state
        for vid in range(1, 20):
            want = [n for n in (state.volumes[vid].replicas if vid in state.volumes else {})]
            assert [n.url for n in sub.view.locations(vid)] == want
        # The deltas reported add up to the live view.
        pairs: set[tuple[str, int]] = set()
        for d in changes:
            pairs -= {(d.node.url, v) for v in d.removed}
            pairs |= {(d.node.url, v) for v in d.added}
        assert pairs == {(info.url, v) for info, vids in sub.view.nodes() for v in vids}

    run(scenario)


class GapServicer:
    """A broken master: whatever the subscriber's index, it sends an event two ahead of it."""

    async def Subscribe(
        self,
        request: control_pb2.SubscribeRequest,
        context: grpc.aio.ServicerContext,  # type: ignore[type-arg]
    ) -> AsyncIterator[control_pb2.ControlMessage]:
        yield control_pb2.ControlMessage(index=request.since_index + 2, event=reserve())
        await asyncio.Event().wait()


class SilentServicer:
    """A master that accepts the subscription and then says nothing (as if stopped)."""

    async def Subscribe(
        self,
        request: control_pb2.SubscribeRequest,
        context: grpc.aio.ServicerContext,  # type: ignore[type-arg]
    ) -> AsyncIterator[control_pb2.ControlMessage]:
        await asyncio.Event().wait()
        yield control_pb2.ControlMessage()


async def serve_rogue(servicer: object) -> tuple[grpc.aio.Server, str]:
    server = grpc.aio.server()
    control_pb2_grpc.add_ControlServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, f"127.0.0.1:{port}.{port}"


def test_a_gap_or_a_silent_master_makes_it_subscribe_elsewhere() -> None:
    async def scenario() -> None:
        (good,) = await cluster(1)
        await good.core.append([node_joined(1), volume_added(3, 1), reserve()])
        gap_server, gap_address = await serve_rogue(GapServicer())
        silent_server, silent_address = await serve_rogue(SilentServicer())
        sub = ControlSubscriber([gap_address, silent_address, good.address], "test", silence_seconds=0.3)
        try:
            async with Running(sub):
                await wait_for(lambda: sub.view.index == 3 and sub.fresh, "caught up on the good master")
                assert sub.statistics().master == good.address
        finally:
            await gap_server.stop(None)
            await silent_server.stop(None)
            await good.stop()
        stats = sub.statistics()
        assert stats.resyncs == 1  # the gap master's event was refused, not applied
        assert stats.snapshots == 1 and [n.url for n in sub.view.locations(3)] == ["127.0.0.1:8001"]

    run(scenario)


def test_after_a_failure_it_goes_to_the_leader_it_heard_of() -> None:
    async def scenario() -> None:
        a, c, b = await cluster(3)
        for m in (a, b, c):
            m.core.leader_address = f"127.0.0.1:{b.port}"  # b leads
        await append([a, b, c], [node_joined(1)])
        sub = ControlSubscriber([a.address, c.address, b.address], "test")
        try:
            async with Running(sub):
                await wait_for(lambda: sub.fresh and sub.statistics().master == a.address, "on a")
                assert sub.leader == f"127.0.0.1:{b.port}"
                await a.stop()
                await wait_for(lambda: sub.fresh and sub.statistics().master != a.address, "moved")
                assert sub.statistics().master == b.address  # not c, the next in rotation
                assert sub.statistics().subscriptions == 2
        finally:
            for m in (a, b, c):
                await m.stop()

    run(scenario)


def test_locator_answers_from_the_fresh_view_and_asks_a_master_otherwise() -> None:
    async def scenario() -> None:
        (control,) = await cluster(1)
        lookups = FakeMaster()
        await lookups.start()
        lookups.pinned[5] = [master_pb2.Location(url="10.9.9.9:8080", public_url="10.9.9.9:8080")]
        locator = VolumeLocator([lookups.address])
        await control.core.append([node_joined(1), volume_added(5, 1)])
        sub = ControlSubscriber([control.address], "test", locator=locator)
        try:
            async with Running(sub):
                await wait_for(lambda: sub.fresh and sub.view.index == 2, "subscribed")
                found = await locator.lookup(5)
                assert [loc.url for loc in found.locations] == ["127.0.0.1:8001"]
                assert lookups.lookups == []
                # A change reaches the locator's answers at once (no TTL wait).
                await control.core.append([node_joined(2), volume_added(5, 2)])
                await wait_for(lambda: sub.view.index == 4, "second replica")
                found = await locator.lookup(5)
                assert [loc.url for loc in found.locations] == ["127.0.0.1:8001", "127.0.0.1:8002"]
                assert [loc.url for loc in (locator.cached(5) or found).locations] == [
                    "127.0.0.1:8001",
                    "127.0.0.1:8002",
                ]
                # The master goes away: the view is no longer vouched for; lookups go to a master.
                await control.stop()
                await wait_for(lambda: not sub.fresh, "stale")
                locator.invalidate(5)
                assert [loc.url for loc in (await locator.lookup(5)).locations] == ["10.9.9.9:8080"]
                assert lookups.lookups == [[5]]
        finally:
            await control.stop()
            await locator.close()
            await lookups.stop()
        assert locator.source is None  # close() detached it

    run(scenario)


def test_view_matches_the_master_state_after_a_snapshot_resume() -> None:
    async def scenario() -> None:
        core = ControlCore(retain=3)
        await core.start()
        master = ControlMaster(core)
        await master.start()
        await core.append([node_joined(1), volume_added(1, 1)])
        sub = ControlSubscriber([master.address], "test")
        try:
            async with Running(sub):
                await wait_for(lambda: sub.view.index == 2, "first snapshot")
                await master.stop()
                await wait_for(lambda: not sub.fresh, "stale")
                # While it is away the master moves past what it retains: it must resume by snapshot.
                for i in range(2, 8):
                    await core.append([node_joined(i), volume_added(i, i)])
                await master.start(master.port)
                await wait_for(lambda: sub.view.index == core.index, "resumed")
                assert sub.statistics().snapshots == 2
        finally:
            await master.stop()
        restored = MasterState.from_snapshot(core.snapshot())
        for vid in range(1, 8):
            assert [n.url for n in sub.view.locations(vid)] == list(restored.volumes[vid].replicas)

    run(scenario)
