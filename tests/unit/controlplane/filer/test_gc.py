"""gc.py: the collector deletes queued chunks (manifests with their members), keeps failures queued."""

from __future__ import annotations

import asyncio
from typing import Any

from kelp_pb import weed_filer_pb2 as filer_pb

from controlplane.filer.core import FilerCore
from controlplane.filer.entry import make_chunk
from controlplane.filer.gc import ChunkCollector
from tests.unit.controlplane.filer.conftest import file_entry, queued
from tests.unit.controlplane.filer.fake_volumes import FakeVolumes


async def test_deleted_file_chunks_are_deleted_and_dequeued(core: FilerCore, store: Any) -> None:
    volumes = FakeVolumes()
    volumes.needles.update({"3,01637037d6": b"a", "3,02637037d6": b"b", "3,03637037d6": b"c"})
    await core.create("/", file_entry("f", "3,01637037d6", "3,02637037d6"))
    await core.delete("/", "f")
    collector = ChunkCollector(store, volumes)
    assert await collector.drain_once() == 2
    assert sorted(volumes.deleted) == ["3,01637037d6", "3,02637037d6"]
    assert queued(store) == [] and set(volumes.needles) == {"3,03637037d6"}
    assert collector.statistics().deleted == 2


async def test_unreachable_volume_keeps_the_row(core: FilerCore, store: Any) -> None:
    volumes = FakeVolumes()
    await core.create("/", file_entry("f", "3,01637037d6"))
    await core.delete("/", "f")
    volumes.unreachable = True
    collector = ChunkCollector(store, volumes, retry_seconds=0)
    await collector.drain_once()
    assert queued(store) == ["3,01637037d6"] and collector.statistics().failed == 1
    volumes.unreachable = False
    await collector.drain_once()
    assert queued(store) == []


async def test_manifest_members_go_before_the_manifest(store: Any) -> None:
    volumes = FakeVolumes()
    members = [make_chunk("3,01637037d6", 0, 1, 1, b""), make_chunk("3,02637037d6", 1, 1, 1, b"")]
    volumes.needles["3,01637037d6"] = b"a"
    volumes.needles["3,02637037d6"] = b"b"
    volumes.needles["4,09637037d6"] = filer_pb.FileChunkManifest(chunks=members).SerializeToString()
    with store.transaction() as tx:
        tx.queue_chunk_deletions(["manifest:4,09637037d6", "manifest:4,0a637037d6"])  # second: gone
    await ChunkCollector(store, volumes).drain_once()
    assert volumes.deleted == ["3,01637037d6", "3,02637037d6", "4,09637037d6"]
    assert queued(store) == []


async def test_run_wakes_up_on_demand(core: FilerCore, store: Any) -> None:
    volumes = FakeVolumes()
    collector = ChunkCollector(store, volumes, idle_seconds=60)
    runner = asyncio.ensure_future(collector.run())
    try:
        await core.create("/", file_entry("f", "3,01637037d6"))
        await core.delete("/", "f")
        collector.wake()
        async with asyncio.timeout(5):
            while queued(store):
                await asyncio.sleep(0.01)
    finally:
        runner.cancel()
    assert volumes.deleted == ["3,01637037d6"]
