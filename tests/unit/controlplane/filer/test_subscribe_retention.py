"""A subscriber never jumps silently over trimmed changes: asking from a time older than the
retained log, or being overtaken by retention while reading, ends the stream with SubscriberBehind."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from controlplane.filer.subscribe import ChangeNotifier, EventFilter, SubscriberBehind, subscribe
from tests.unit.controlplane.filer.subscribe_helpers import (
    EVENT_DEADLINE_SECONDS,
    core_on,
    file_entry,
    path_of,
    running_notifier,
    sqlite_store,
    take,
)


async def test_since_older_than_retention_is_an_error(tmp_path: Path) -> None:
    store = sqlite_store(tmp_path)
    core = core_on(store)
    events = [await core.create("/", file_entry(f"f{i}")) for i in range(4)]
    assert store.trim_changes(events[2].ts_ns) == 2
    async with running_notifier(store) as notifier:
        with pytest.raises(SubscriberBehind) as info:
            await take(subscribe(store, notifier, EventFilter(), events[0].ts_ns, filer_signature=0), 1)
        assert "fell behind" in str(info.value) and info.value.trimmed_seq == 2
        # From the oldest retained change on, all is there.
        stream = subscribe(store, notifier, EventFilter(), events[2].ts_ns, filer_signature=0)
        assert [path_of(e) for e in await take(stream, 2)] == ["/f2", "/f3"]
        await stream.aclose()  # type: ignore[attr-defined]


async def test_overtaken_by_retention_while_waiting(tmp_path: Path) -> None:
    store = sqlite_store(tmp_path)
    core = core_on(store)
    await core.create("/", file_entry("f0"))
    notifier = ChangeNotifier(store)  # not running: the test wakes it, so the order is fixed
    stream = subscribe(store, notifier, EventFilter(prefixes=("/f0",)), 0, filer_signature=0)
    assert [path_of(e) for e in await take(stream, 1)] == ["/f0"]
    pending = asyncio.ensure_future(take(stream, 1))
    async with asyncio.timeout(EVENT_DEADLINE_SECONDS):  # it reads (nothing new), then waits at seq 1
        while notifier.statistics().waiting_subscribers == 0:
            await asyncio.sleep(0.001)
    unseen = [await core.create("/", file_entry(f"f{i}")) for i in (1, 2)]
    store.trim_changes(unseen[-1].ts_ns + 1)  # seqs 1..3 go; 2 and 3 were never read
    await core.create("/", file_entry("f0-again"))
    notifier.notify_nowait()
    with pytest.raises(SubscriberBehind) as info:
        await pending
    assert info.value.cursor == 1 and info.value.trimmed_seq == 3
