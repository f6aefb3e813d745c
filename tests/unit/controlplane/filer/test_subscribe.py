"""SubscribeMetadata over a real (SQLite) store: replay from since_ns then tail live, every
committed change exactly once and in commit order, woken by commits made through another store
handle (another filer) without any local notification."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from controlplane.filer.store import FilerStore, StoreConfig, open_store
from controlplane.filer.subscribe import EventFilter, subscribe
from tests.unit.controlplane.filer.subscribe_helpers import (
    EVENT_DEADLINE_SECONDS,
    FILER_SIGNATURE,
    core_on,
    file_entry,
    path_of,
    running_notifier,
    sqlite_store,
    take,
)

# The bound: a subscriber of filer B sees a change made through filer A within a second.
CROSS_FILER_WAKE_SECONDS = 1.0


async def test_replay_then_live_exactly_once_in_order(tmp_path: Path) -> None:
    store = sqlite_store(tmp_path)
    core = core_on(store)
    for i in range(5):
        await core.create("/d", file_entry(f"f{i}"))  # the first also creates /d
    async with running_notifier(store) as notifier:
        stream = subscribe(store, notifier, EventFilter(), 0, filer_signature=FILER_SIGNATURE)
        replayed = await take(stream, 6)
        assert [path_of(e) for e in replayed] == ["/d", "/d/f0", "/d/f1", "/d/f2", "/d/f3", "/d/f4"]
        await core.rename("/d", "f0", "/e", "g0")
        await core.delete("/d", "f1")
        live = await take(stream, 3)  # mkdir /e, the rename, the delete
        assert [path_of(e) for e in live] == ["/e", "/e/g0", "/d/f1"]
        assert live[1].directory == "/d" and live[1].event_notification.old_entry.name == "f0"
        stamps = [e.ts_ns for e in replayed + live]
        assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
        await stream.aclose()  # type: ignore[attr-defined]


async def test_since_ns_starts_at_that_time(tmp_path: Path) -> None:
    store = sqlite_store(tmp_path)
    core = core_on(store)
    events = [await core.create("/", file_entry(f"f{i}")) for i in range(4)]
    async with running_notifier(store) as notifier:
        stream = subscribe(store, notifier, EventFilter(), events[2].ts_ns, filer_signature=FILER_SIGNATURE)
        got = await take(stream, 2)
        assert [path_of(e) for e in got] == ["/f2", "/f3"]
        await stream.aclose()  # type: ignore[attr-defined]


async def _wakes_across_filers(store: FilerStore, other_store: FilerStore) -> float:
    """Seconds from another filer's commit to the event reaching a subscriber of this one."""
    other = core_on(other_store)
    async with running_notifier(store) as notifier:
        stream = subscribe(store, notifier, EventFilter(), 0, filer_signature=FILER_SIGNATURE)
        pending = asyncio.ensure_future(take(stream, 1))
        async with asyncio.timeout(EVENT_DEADLINE_SECONDS):  # it finds nothing and waits
            while notifier.statistics().waiting_subscribers == 0:
                await asyncio.sleep(0.001)
        await other.create("/", file_entry("from-b"))
        committed = time.monotonic()
        (event,) = await pending
        assert path_of(event) == "/from-b"
        await stream.aclose()  # type: ignore[attr-defined]
    return time.monotonic() - committed


async def test_commit_through_another_filer_wakes_the_tail(tmp_path: Path) -> None:
    store, other_store = sqlite_store(tmp_path), sqlite_store(tmp_path)  # two filers, one database
    try:
        assert await _wakes_across_filers(store, other_store) < CROSS_FILER_WAKE_SECONDS
    finally:
        other_store.close()
        store.close()


async def test_postgres_notify_wakes_the_tail_of_another_filer(pg_store_config: StoreConfig) -> None:
    store, other_store = open_store(pg_store_config), open_store(pg_store_config)
    try:
        assert await _wakes_across_filers(store, other_store) < CROSS_FILER_WAKE_SECONDS
    finally:
        other_store.close()
        store.close()
