"""FilerCore rename: files, whole trees in one transaction, one event per moved entry, conflicts."""

from __future__ import annotations

from typing import Any

import pytest

from controlplane.filer.core import FilerCore
from controlplane.filer.errors import (
    DirectoryNotEmpty,
    EntryNotFound,
    ExistingIsDirectory,
    InvalidRename,
)
from tests.unit.controlplane.filer.conftest import file_entry, queued, stored


async def test_rename_tree_parent_first_with_full_entries(core: FilerCore, store: Any) -> None:
    await core.create("/src/sub", file_entry("a", "3,01637037d6"))
    await core.create("/src", file_entry("b", "3,02637037d6"))
    events = await core.rename("/", "src", "/dst/deep", "moved", signatures=[3])
    shape = [(e.directory, e.event_notification.old_entry.name, e.event_notification.new_parent_path,
              e.event_notification.new_entry.name) for e in events]
    # the parent /dst/deep is created first (create events), then one rename per moved entry
    renames = [s for s in shape if s[1]]
    assert renames == [
        ("/", "src", "/dst/deep", "moved"),
        ("/src", "b", "/dst/deep/moved", "b"),
        ("/src", "sub", "/dst/deep/moved", "sub"),
        ("/src/sub", "a", "/dst/deep/moved/sub", "a"),
    ]
    assert events[-1].event_notification.old_entry.chunks[0].file_id == "3,01637037d6"
    assert (await core.lookup("/dst/deep/moved/sub", "a")).chunks[0].file_id == "3,01637037d6"
    assert await core.find("/src") is None
    assert {d for (d, _) in stored(store)} == {"/", "/dst", "/dst/deep", "/dst/deep/moved",
                                                      "/dst/deep/moved/sub"}
    assert queued(store) == []


async def test_file_replaces_file_and_its_chunks_are_queued(core: FilerCore, store: Any) -> None:
    await core.create("/", file_entry("a", "3,01637037d6"))
    await core.create("/", file_entry("b", "3,02637037d6"))
    events = await core.rename("/", "a", "/", "b")
    assert [bool(e.event_notification.HasField("new_entry")) for e in events] == [False, True]
    assert queued(store) == ["3,02637037d6"]
    assert (await core.lookup("/", "b")).chunks[0].file_id == "3,01637037d6"


async def test_conflicts(core: FilerCore, store: Any) -> None:
    await core.create("/", file_entry("f", "3,01637037d6"))
    await core.create("/full", file_entry("x", "3,02637037d6"))
    await core.create("/d", file_entry("y", "3,03637037d6"))
    with pytest.raises(EntryNotFound):
        await core.rename("/", "nope", "/", "x")
    with pytest.raises(ExistingIsDirectory):
        await core.rename("/", "f", "/", "full")
    with pytest.raises(DirectoryNotEmpty):
        await core.rename("/", "d", "/", "full")
    with pytest.raises(InvalidRename, match="into itself"):
        await core.rename("/", "d", "/d/inner", "d")
    with pytest.raises(InvalidRename):
        await core.rename("/", "", "/", "x")
    assert await core.rename("/", "f", "/", "f") == []
    assert queued(store) == []
