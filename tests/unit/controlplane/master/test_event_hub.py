"""EventHub: a subscriber gets every applied event after its index exactly once, in order, with a
snapshot first when that index is no longer retained; wake-ups from another thread are not lost."""

from __future__ import annotations

import asyncio
import threading

from kelp_pb import events_pb2

from controlplane.master.event_hub import EventHub, HubItem
from controlplane.master.raft import MemoryLog, commit
from controlplane.master.state import MasterState


def _reserve(n: int) -> events_pb2.Event:
    return events_pb2.Event(sequence_reserved=events_pb2.SequenceReserved(count=n))


def _node(i: int) -> events_pb2.Event:
    return events_pb2.Event(node_joined=events_pb2.NodeJoined(node_id=f"127.0.0.1:{8000 + i}"))


async def _collect(hub: EventHub, log: MemoryLog, since: int, count: int) -> list[HubItem]:
    def snapshot() -> events_pb2.StateSnapshot:
        with log.lock:
            return log.state.snapshot()

    out: list[HubItem] = []
    stream = hub.follow(since, snapshot)
    async with asyncio.timeout(5):
        async for item in stream:
            out.append(item)
            if len(out) == count:
                break
    await stream.aclose()  # type: ignore[attr-defined]
    return out


async def _log_with_hub(retain: int = 100) -> tuple[EventHub, MemoryLog]:
    hub = EventHub(retain)
    log = MemoryLog()
    log.add_observer(hub)
    hub.bind(asyncio.get_running_loop())
    await log.start()
    return hub, log


def test_events_after_index_in_order_then_live() -> None:
    async def scenario() -> None:
        hub, log = await _log_with_hub()
        await commit(log, [_node(i) for i in range(3)])
        assert hub.last_index == 3
        collecting = asyncio.create_task(_collect(hub, log, 1, 4))
        await asyncio.sleep(0)  # let it take the retained events before the next commit
        await commit(log, [_reserve(5)])
        await commit(log, [_reserve(5)])
        items = await collecting
        assert [i.index for i in items] == [2, 3, 4, 5]
        assert all(i.event is not None and i.snapshot is None for i in items)
        assert items[0].event == _node(1)

    asyncio.run(scenario())


def test_fresh_subscriber_gets_snapshot_then_events() -> None:
    async def scenario() -> None:
        hub, log = await _log_with_hub()
        await commit(log, [_node(i) for i in range(2)])
        collecting = asyncio.create_task(_collect(hub, log, 0, 2))
        await asyncio.sleep(0)
        await commit(log, [_reserve(1)])
        snap_item, event_item = await collecting
        assert snap_item.snapshot is not None and snap_item.index == 2
        state = MasterState.from_snapshot(snap_item.snapshot)
        assert sorted(state.nodes) == ["127.0.0.1:8000", "127.0.0.1:8001"]
        assert event_item.index == 3 and event_item.event == _reserve(1)

    asyncio.run(scenario())


def test_index_behind_the_ring_gets_snapshot() -> None:
    async def scenario() -> None:
        hub, log = await _log_with_hub(retain=4)
        for i in range(10):
            await commit(log, [_node(i)])
        (item,) = await _collect(hub, log, 3, 1)
        assert item.snapshot is not None and item.index == 10
        assert len(MasterState.from_snapshot(item.snapshot).nodes) == 10
        # Still retained: plain events.
        items = await _collect(hub, log, 7, 3)
        assert [i.index for i in items] == [8, 9, 10]

    asyncio.run(scenario())


def test_reset_forces_a_snapshot_for_older_positions() -> None:
    async def scenario() -> None:
        hub, log = await _log_with_hub()
        for i in range(5):
            await commit(log, [_node(i)])
        hub.reset(5)  # as when pysyncobj installs a snapshot
        (item,) = await _collect(hub, log, 2, 1)
        assert item.snapshot is not None and item.index == 5

    asyncio.run(scenario())


def test_subscriber_ahead_waits_for_this_master_to_catch_up() -> None:
    async def scenario() -> None:
        hub, log = await _log_with_hub()
        await commit(log, [_node(0)])
        collecting = asyncio.create_task(_collect(hub, log, 3, 1))
        for i in range(1, 4):
            await commit(log, [_node(i)])
        (item,) = await collecting
        assert item.index == 4 and item.event == _node(3)

    asyncio.run(scenario())


def test_events_applied_on_another_thread_wake_the_subscriber() -> None:
    async def scenario() -> None:
        hub = EventHub()
        hub.bind(asyncio.get_running_loop())
        state = MasterState()
        lock = threading.Lock()

        def apply_from_thread() -> None:
            for i in range(50):
                with lock:
                    state.apply(_node(i))
                    hub.applied([_node(i)], state.event_index)

        def snapshot() -> events_pb2.StateSnapshot:
            with lock:
                return state.snapshot()

        thread = threading.Thread(target=apply_from_thread)
        seen: list[int] = []
        stream = hub.follow(0, snapshot)
        thread.start()
        async with asyncio.timeout(5):
            async for item in stream:
                seen.append(item.index)
                if item.index == 50:
                    break
        thread.join()
        # Whatever the snapshot covered, the rest came one by one, contiguous.
        assert seen == list(range(seen[0], 51))

    asyncio.run(scenario())
