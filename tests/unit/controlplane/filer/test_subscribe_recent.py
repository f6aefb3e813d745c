"""Caught-up subscribers take this filer's own commits from the notifier's ring, never skipping a
row another filer committed in between."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from kelp_pb import weed_filer_pb2 as filer_pb

from controlplane.filer.subscribe import ChangeNotifier, EventFilter, subscribe


@dataclass(frozen=True)
class Row:
    seq: int
    ts_ns: int
    directory: str
    payload: bytes


def row(seq: int) -> Row:
    event = filer_pb.SubscribeMetadataResponse(directory="/d", ts_ns=seq)
    event.event_notification.new_entry.name = f"f{seq}"
    return Row(seq, seq, "/d", event.SerializeToString())


class Log:
    """The store's log: rows 1..n committed; counts the reads that reach it."""

    def __init__(self) -> None:
        self.rows: list[Row] = []
        self.reads = 0

    def changes_after(self, seq: int, limit: int = 1000) -> Sequence[Row]:
        self.reads += 1
        return [r for r in self.rows if r.seq > seq][:limit]

    def cursor_for_time(self, ts_ns: int) -> int:
        return len(self.rows)

    def last_seq(self) -> int:
        return len(self.rows)

    def wait_for_change(self, after_seq: int, timeout: float) -> bool:
        return False


def name(event: filer_pb.SubscribeMetadataResponse) -> str:
    return event.event_notification.new_entry.name


async def waiting_for_rows(notifier: ChangeNotifier) -> None:
    async with asyncio.timeout(5):
        while notifier.statistics().waiting_subscribers != 1:
            await asyncio.sleep(0.001)  # a poll with a deadline, not a guess at timing


async def test_local_commits_come_from_the_ring_and_a_foreign_row_from_the_store() -> None:
    log = Log()
    notifier = ChangeNotifier(log)
    stream = subscribe(log, notifier, EventFilter(), 0, filer_signature=0)
    first = asyncio.ensure_future(anext(stream))
    await waiting_for_rows(notifier)  # it has read the (empty) store and waits
    reads_before = log.reads
    log.rows += [row(1), row(2)]
    notifier.committed(log.rows[0:2])  # a local commit
    names = [name(await first), name(await anext(stream))]
    assert names == ["f1", "f2"] and log.reads == reads_before  # from memory

    waiting = asyncio.ensure_future(anext(stream))
    await waiting_for_rows(notifier)
    log.rows += [row(3), row(4)]  # 3 by another filer (not handed over), 4 by this one
    notifier.committed(log.rows[3:4])
    got = [name(await waiting), name(await anext(stream))]
    assert got == ["f3", "f4"] and log.reads > reads_before  # the hole at 3 sent it to the store
    await stream.aclose()
