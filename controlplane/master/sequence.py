"""Needle keys (the middle of a fid) handed out from ranges reserved on the Raft log.

Invariant: a key is handed out only from a range whose SequenceReserved event is committed,
and every reservation is disjoint from every other (the range is computed when the event is
applied, see `state.py`). So no key is ever issued twice: not across leader changes, not after
kill -9 (a restarted or newly elected master reserves above the last committed range and
abandons whatever was left of older ranges; gaps are fine).

Keys are served from memory: a request never waits on a Raft round trip unless the ranges
ran dry. The next reservation is started when fewer than half a batch remain, so under a
steady load the next range is committed before the current one runs out.

Volume servers report the highest key they hold (`max_file_key`); keys at or below it are
never issued, so a master that lost its log (or a cluster imported from SeaweedFS) does not
collide with existing needles.

Must not import pysyncobj, grpc or kelp_http: reservations go through the injected `reserve`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

# reserve(count, at_least) -> first key of a committed range [first, first + count)
Reserve = Callable[[int, int], Awaitable[int]]


@dataclass(frozen=True, slots=True)
class SequenceStatistics:
    remaining: int  # keys left in memory
    reservations: int  # ranges reserved by this process
    issued: int  # keys handed out by this process
    floor: int  # lowest key that may still be issued (max reported file key + 1)


class Sequence:
    def __init__(self, reserve: Reserve, batch: int) -> None:
        if batch < 1:
            raise ValueError(f"sequence batch must be positive, not {batch}")
        self._reserve = reserve
        self._batch = batch
        self._ranges: list[list[int]] = []  # [next, end) pairs, ascending
        self._floor = 1
        self._inflight: asyncio.Task[None] | None = None
        self._epoch = 0  # bumped by reset(): results of older reservations are dropped
        self._reservations = 0
        self._issued = 0

    def observe_max_file_key(self, key: int) -> None:
        """A volume server holds needles up to `key`: never issue it or anything below."""
        self._floor = max(self._floor, key + 1)

    def remaining(self) -> int:
        return sum(max(0, end - max(nxt, self._floor)) for nxt, end in self._ranges)

    def take_nowait(self, count: int) -> int | None:
        """First of `count` consecutive keys, or None when no range holds that many."""
        self._ranges = [[max(nxt, self._floor), end] for nxt, end in self._ranges if end > self._floor]
        self._ranges = [r for r in self._ranges if r[0] < r[1]]
        for r in self._ranges:
            if r[1] - r[0] >= count:
                key = r[0]
                r[0] += count
                self._issued += count
                if self.remaining() < self._batch // 2:
                    self._prefetch(self._batch)
                return key
        return None

    async def take(self, count: int) -> int:
        """First of `count` consecutive keys; waits for a reservation only when memory runs dry."""
        count = max(1, count)
        while True:
            key = self.take_nowait(count)
            if key is not None:
                return key
            if self._inflight is None:
                self._prefetch(max(self._batch, count))
            task = self._inflight
            assert task is not None
            # shield: a caller that gives up must not cancel a reservation others wait for
            await asyncio.shield(task)

    def _prefetch(self, count: int) -> None:
        if self._inflight is None:
            task = asyncio.get_running_loop().create_task(self._reserve_range(count, self._epoch))
            # A prefetch nobody awaits may fail (leadership lost): its error is reported to the
            # next taker by the next reservation, so mark this one as seen.
            task.add_done_callback(lambda t: t.cancelled() or t.exception())
            self._inflight = task

    async def _reserve_range(self, count: int, epoch: int) -> None:
        try:
            first = await self._reserve(count, self._floor)
        finally:
            if self._epoch == epoch:
                self._inflight = None
        if self._epoch != epoch:
            return
        self._reservations += 1
        if self._ranges and self._ranges[-1][1] == first:
            self._ranges[-1][1] = first + count
        else:
            self._ranges.append([first, first + count])

    def reset(self) -> None:
        """Leadership lost: forget the ranges (the gap is harmless) and any reservation in flight."""
        self._epoch += 1
        self._ranges = []
        task, self._inflight = self._inflight, None
        if task is not None:
            task.cancel()

    async def close(self) -> None:
        task = self._inflight
        self.reset()
        if task is not None:
            await asyncio.wait([task])

    def statistics(self) -> SequenceStatistics:
        return SequenceStatistics(self.remaining(), self._reservations, self._issued, self._floor)
