"""Concurrent overwrites of one path on PostgreSQL (real store) lose no update: each read-modify-write
locks the entry it replaces (Tx.find(for_update=True)), so every chunk ends up exactly once either
in the final entry or in the deletion queue, and each event's old_entry is the previous event's
new_entry. Without the lock, two writers read the same old entry: both queue its chunks and the
first writer's new chunks are neither live nor queued (a leak), with a stale old_entry logged."""

from __future__ import annotations

import asyncio
from collections import Counter

from kelp_pb import weed_filer_pb2 as filer_pb

from controlplane.filer.core import FilerCore
from controlplane.filer.entry import chunk_fid
from controlplane.filer.store import StoreConfig, open_store
from tests.unit.controlplane.filer.conftest import file_entry, logged, queued

WRITERS = 8
ROUNDS = 6


async def test_concurrent_overwrites_account_for_every_chunk(pg_store_config: StoreConfig) -> None:
    store = open_store(pg_store_config)
    try:
        core = FilerCore(store)
        await core.create("/d", file_entry("f", "1,0112345678"))
        written = ["1,0112345678"]

        async def writer(w: int) -> None:
            for r in range(ROUNDS):
                fids = [f"{w + 2},{r * 16 + k + 1:02x}12345678" for k in range(3)]
                written.extend(fids)
                await core.create("/d", file_entry("f", *fids))

        await asyncio.gather(*(writer(w) for w in range(WRITERS)))

        final = await core.lookup("/d", "f")
        live = [chunk_fid(c) for c in final.chunks]
        dropped = queued(store)
        assert not set(live) & set(dropped), "a live chunk is queued for deletion"
        assert Counter(live + dropped) == Counter(written), "a chunk leaked or was queued twice"

        history = [e.event_notification for e in logged(store) if e.directory == "/d"
                   and (e.event_notification.new_entry.name or e.event_notification.old_entry.name) == "f"]
        assert len(history) == 1 + WRITERS * ROUNDS
        previous = filer_pb.Entry()
        for note in history:
            assert note.old_entry == previous, "an event's old_entry is not the entry it replaced"
            previous = note.new_entry
        assert previous == final
    finally:
        store.close()
