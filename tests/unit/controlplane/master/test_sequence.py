"""Needle keys come from committed, disjoint ranges: never repeated across leader changes,
never at or below a volume server's reported max key, prefetched before a range runs dry."""

from __future__ import annotations

import asyncio

import pytest
from kelp_pb import events_pb2

from controlplane.master.errors import NotLeader
from controlplane.master.sequence import Sequence
from controlplane.master.state import MasterState


class LogOfState:
    """Reservations folded into one shared MasterState, as the Raft log does for every leader."""

    def __init__(self) -> None:
        self.state = MasterState()
        self.calls = 0
        self.fail = False
        self.gate: asyncio.Event | None = None

    async def reserve(self, count: int, at_least: int) -> int:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            raise NotLeader(None)
        first = self.state.apply(
            events_pb2.Event(sequence_reserved=events_pb2.SequenceReserved(count=count, at_least=at_least))
        )
        assert first is not None
        return first


def test_keys_are_consecutive_for_a_count_and_never_repeat() -> None:
    async def scenario() -> None:
        log = LogOfState()
        seq = Sequence(log.reserve, batch=10)
        issued: list[int] = []
        for count in [1, 3, 7, 1, 12, 2, 5]:
            first = await seq.take(count)
            issued.extend(range(first, first + count))
        assert len(issued) == len(set(issued))
        assert min(issued) >= 1
        await seq.close()

    asyncio.run(scenario())


def test_no_key_repeats_across_a_simulated_leader_change() -> None:
    async def scenario() -> None:
        log = LogOfState()  # the replicated state both leaders fold
        old = Sequence(log.reserve, batch=100)
        new = Sequence(log.reserve, batch=100)
        issued = [await old.take(1) for _ in range(30)]
        # The new leader starts while the old one still holds (and may still use) its range:
        issued += [await new.take(1) for _ in range(30)]
        issued += [await old.take(1) for _ in range(30)]  # a deposed leader finishing its range
        old.reset()
        issued += [await new.take(2) for _ in range(200)]
        assert len(issued) == len(set(issued))
        await old.close()
        await new.close()

    asyncio.run(scenario())


def test_reported_max_file_key_is_never_issued_or_undercut() -> None:
    async def scenario() -> None:
        log = LogOfState()
        seq = Sequence(log.reserve, batch=100)
        assert await seq.take(1) == 1
        seq.observe_max_file_key(5000)
        assert await seq.take(1) == 5001  # the rest of the old range is below the floor
        seq.observe_max_file_key(10)  # a lower report never lowers the floor
        assert await seq.take(1) == 5002
        await seq.close()

    asyncio.run(scenario())


def test_next_range_is_reserved_before_the_current_one_runs_out() -> None:
    async def scenario() -> None:
        log = LogOfState()
        seq = Sequence(log.reserve, batch=10)
        await seq.take(1)
        assert log.calls == 1
        for _ in range(5):  # below half a batch left: a prefetch starts in the background
            seq.take_nowait(1)
        await asyncio.sleep(0)
        assert log.calls == 2
        await asyncio.sleep(0)
        assert seq.remaining() >= 10
        await seq.close()

    asyncio.run(scenario())


def test_concurrent_takers_share_one_reservation_and_failures_reach_them() -> None:
    async def scenario() -> None:
        log = LogOfState()
        log.gate = asyncio.Event()
        seq = Sequence(log.reserve, batch=100)
        takers = [asyncio.create_task(seq.take(1)) for _ in range(20)]
        await asyncio.sleep(0)
        log.gate.set()
        keys = await asyncio.gather(*takers)
        assert sorted(keys) == list(range(1, 21)) and log.calls == 1

        seq.reset()
        log.fail = True
        with pytest.raises(NotLeader):
            await seq.take(1)
        await seq.close()

    asyncio.run(scenario())
