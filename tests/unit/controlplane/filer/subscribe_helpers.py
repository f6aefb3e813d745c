"""Shared by the subscribe tests: a SQLite store with a core writing to it, a running notifier,
and collecting events from a subscription with a deadline."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from pathlib import Path

from kelp_pb import weed_filer_pb2 as filer_pb

from controlplane.filer.core import FilerCore
from controlplane.filer.store import FilerStore, StoreConfig, open_store
from controlplane.filer.subscribe import ChangeNotifier

# Long enough for a loaded 2-core machine; every wait below is a deadline, not a sleep.
EVENT_DEADLINE_SECONDS = 10.0
T0 = 1_700_000_000_000_000_000
FILER_SIGNATURE = 777


def sqlite_store(tmp_path: Path) -> FilerStore:
    return open_store(StoreConfig(kind="sqlite", path=str(tmp_path / "filer.db")))


def core_on(store: FilerStore, *, step_ns: int = 1000) -> FilerCore:
    ticks = itertools.count(T0, step_ns)
    return FilerCore(store, signature=FILER_SIGNATURE, clock=lambda: next(ticks))


def file_entry(name: str) -> filer_pb.Entry:
    entry = filer_pb.Entry(name=name, content=b"x")
    entry.attributes.file_mode = 0o644
    entry.attributes.file_size = 1
    return entry


@contextlib.asynccontextmanager
async def running_notifier(store: FilerStore) -> AsyncIterator[ChangeNotifier]:
    notifier = ChangeNotifier(store, wait_seconds=0.2)
    task = asyncio.create_task(notifier.run())
    try:
        yield notifier
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def take(
    stream: AsyncIterator[filer_pb.SubscribeMetadataResponse], count: int
) -> list[filer_pb.SubscribeMetadataResponse]:
    out: list[filer_pb.SubscribeMetadataResponse] = []
    async with asyncio.timeout(EVENT_DEADLINE_SECONDS):
        while len(out) < count:
            out.append(await anext(stream))
    return out


def path_of(event: filer_pb.SubscribeMetadataResponse) -> str:
    note = event.event_notification
    if note.HasField("new_entry"):
        return f"{note.new_parent_path.rstrip('/')}/{note.new_entry.name}"
    return f"{event.directory.rstrip('/')}/{note.old_entry.name}"
