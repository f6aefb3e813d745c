"""FilerCore delete: not found, non-empty without recursive, recursive walks, chunk queueing."""

from __future__ import annotations

from typing import Any

import pytest

from controlplane.filer.core import FilerCore
from controlplane.filer.errors import DirectoryNotEmpty, EntryNotFound
from tests.unit.controlplane.filer.conftest import file_entry, logged, queued, stored


async def test_missing_entry(core: FilerCore) -> None:
    with pytest.raises(EntryNotFound):
        await core.delete("/", "nope")


async def test_non_empty_directory_needs_recursive(core: FilerCore, store: Any) -> None:
    await core.create("/d", file_entry("f", "3,01637037d6"))
    with pytest.raises(DirectoryNotEmpty, match="fail to delete non-empty folder: /d"):
        await core.delete("/", "d", ignore_recursive_error=True)
    assert (await core.lookup("/d", "f")).name == "f"
    assert queued(store) == []


async def test_recursive_delete_removes_tree_children_first(core: FilerCore, store: Any) -> None:
    await core.create("/d/e", file_entry("f1", "3,01637037d6", "3,02637037d6"))
    await core.create("/d", file_entry("f2", "4,03637037d6"))
    before = len(logged(store))
    events = await core.delete("/", "d", recursive=True, signatures=[5])
    names = [(e.directory, e.event_notification.old_entry.name) for e in events]
    assert names == [("/d/e", "f1"), ("/d", "e"), ("/d", "f2"), ("/", "d")]
    assert all(not e.event_notification.HasField("new_entry") for e in events)
    assert len(logged(store)) == before + 4
    assert sorted(queued(store)) == ["3,01637037d6", "3,02637037d6", "4,03637037d6"]
    assert stored(store) == set()


async def test_delete_without_data_keeps_chunks(core: FilerCore, store: Any) -> None:
    await core.create("/", file_entry("f", "3,01637037d6"))
    await core.delete("/", "f", delete_data=False)
    assert queued(store) == []


async def test_manifest_chunks_are_queued_marked(core: FilerCore, store: Any) -> None:
    entry = file_entry("big", "3,01637037d6")
    entry.chunks[0].is_chunk_manifest = True
    await core.create("/", entry)
    await core.delete("/", "big")
    assert queued(store) == ["manifest:3,01637037d6"]


async def test_delete_root_recursive_empties_it(core: FilerCore, store: Any) -> None:
    await core.create("/a", file_entry("f", "3,01637037d6"))
    await core.delete("/", "", recursive=True)
    assert stored(store) == set()
    assert await core.list("/") == []
    assert logged(store)[-1].event_notification.old_entry.name == "a"
