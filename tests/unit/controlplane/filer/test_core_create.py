"""FilerCore create/update: implicit parents, modes, overwrite semantics, events and dropped chunks."""

from __future__ import annotations

from typing import Any

import pytest
from kelp_pb import weed_filer_pb2 as filer_pb

from controlplane.filer import entry as entries
from controlplane.filer.core import FilerCore
from controlplane.filer.errors import (
    EntryExists,
    EntryNotFound,
    ExistingIsDirectory,
    ExistingIsFile,
    ParentIsFile,
)
from tests.unit.controlplane.filer.conftest import SIGNATURE, file_entry, logged, queued, stored
from tests.unit.controlplane.filer.fake_store import FakeStore


async def test_create_makes_parents_with_implicit_mode_and_logs_each(
    core: FilerCore, store: Any
) -> None:
    event = await core.create("/a/b", file_entry("f.txt", "3,01637037d6"), signatures=[7])
    a = await core.lookup("/", "a")
    b = await core.lookup("/a", "b")
    assert a.is_directory and a.attributes.file_mode == entries.IMPLICIT_DIR_MODE == 2147484153
    assert b.attributes.file_mode == entries.IMPLICIT_DIR_MODE
    assert (await core.lookup("/a/b", "f.txt")).chunks[0].file_id == "3,01637037d6"
    events = logged(store)
    assert [(e.directory, e.event_notification.new_entry.name) for e in events] == [
        ("/", "a"), ("/a", "b"), ("/a/b", "f.txt")]
    for e in events:
        assert e.event_notification.new_parent_path == e.directory
        assert not e.event_notification.HasField("old_entry")
    assert list(event.event_notification.signatures) == [7, SIGNATURE]
    stamps = [e.ts_ns for e in events]
    assert stamps == sorted(set(stamps))


async def test_mkdir_mode_and_conflict(core: FilerCore) -> None:
    await core.mkdir("/d")
    assert (await core.lookup("/", "d")).attributes.file_mode == entries.MKDIR_MODE == 2147484080
    with pytest.raises(EntryExists, match="dir /d already exists"):
        await core.mkdir("/d")


async def test_parent_that_is_a_file(core: FilerCore, store: Any) -> None:
    await core.create("/", file_entry("a.txt", "3,01637037d6"))
    before = len(logged(store))
    with pytest.raises(ParentIsFile):
        await core.create("/a.txt", file_entry("child", "3,02637037d6"))
    with pytest.raises(ParentIsFile):
        await core.create("/a.txt/x/y", file_entry("child", "3,02637037d6"))
    assert len(logged(store)) == before
    assert not (await core.lookup("/", "a.txt")).is_directory


async def test_overwrite_queues_only_chunks_no_longer_referenced(core: FilerCore, store: Any) -> None:
    await core.create("/", file_entry("f", "3,01637037d6", "3,02637037d6"))
    first = await core.lookup("/", "f")
    event = await core.create("/", file_entry("f", "3,02637037d6", "4,03637037d6"))
    assert queued(store) == ["3,01637037d6"]
    assert event.event_notification.old_entry.name == "f"
    assert event.event_notification.delete_chunks
    again = await core.lookup("/", "f")
    assert again.attributes.inode == first.attributes.inode  # identity survives an overwrite


async def test_o_excl_and_type_changes(core: FilerCore) -> None:
    await core.create("/", file_entry("f", "3,01637037d6"))
    await core.mkdir("/d")
    with pytest.raises(EntryExists):
        await core.create("/", file_entry("f", "3,02637037d6"), o_excl=True)
    with pytest.raises(ExistingIsDirectory):
        await core.create("/", file_entry("d", "3,02637037d6"))
    with pytest.raises(ExistingIsFile):
        await core.create("/", entries.new_directory("f", entries.MKDIR_MODE, 1))


async def test_root_is_always_there_and_creating_it_is_a_no_op(core: FilerCore, store: Any) -> None:
    root = await core.lookup("/", "")
    assert root.is_directory and root.attributes.file_mode & entries.MODE_DIR
    event = await core.create("/", entries.new_directory("", 0o777, 1))
    assert not event.HasField("event_notification")
    assert logged(store) == []


async def test_update_requires_entry_and_drops_chunks(core: FilerCore, store: Any) -> None:
    with pytest.raises(EntryNotFound, match="filer: no entry is found in filer store"):
        await core.update("/", file_entry("nope", "3,01637037d6"))
    await core.create("/", file_entry("f", "3,01637037d6", "3,02637037d6"))
    truncated = file_entry("f", "3,01637037d6")
    event = await core.update("/", truncated, signatures=[9])
    assert queued(store) == ["3,02637037d6"]
    n = event.event_notification
    assert n.old_entry.name == n.new_entry.name == "f" and n.new_parent_path == "/"


async def test_chunk_given_by_fid_message_only_gets_its_string_form(core: FilerCore) -> None:
    entry = filer_pb.Entry(name="g")
    chunk = entry.chunks.add(size=5)
    chunk.fid.volume_id, chunk.fid.file_key, chunk.fid.cookie = 3, 0xCF, 0x39A08686
    await core.create("/", entry)
    assert (await core.lookup("/", "g")).chunks[0].file_id == "3,cf39a08686"


async def test_failed_commit_leaves_nothing(core: FilerCore, store: Any) -> None:
    if not isinstance(store, FakeStore):
        pytest.skip("failing a commit on purpose needs the fake store")
    store.fail_next_commit = OSError("disk gone")
    with pytest.raises(OSError):
        await core.create("/x/y", file_entry("f", "3,01637037d6"))
    assert stored(store) == set() and logged(store) == []


async def test_write_chunks_appends_and_writes_at_offsets(core: FilerCore, store: Any) -> None:
    template = file_entry("log")
    first = [entries.make_chunk("3,01637037d6", 0, 4, 0, b"\x02" * 16)]
    entry, event = await core.write_chunks("/ap/log", first, template=template)
    assert entry.attributes.file_size == 4 and not event.event_notification.HasField("old_entry")
    second = [entries.make_chunk("3,02637037d6", 0, 3, 0, b"\x03" * 16)]
    entry, event = await core.write_chunks("/ap/log", second, template=template)
    assert [c.offset for c in entry.chunks] == [0, 4] and entry.attributes.file_size == 7
    assert event.event_notification.HasField("old_entry")
    over = [entries.make_chunk("3,03637037d6", 0, 2, 0, b"\x04" * 16)]
    entry, _ = await core.write_chunks("/ap/log", over, template=template, at=2)
    assert entry.chunks[-1].offset == 2 and entry.attributes.file_size == 7
    assert entry.chunks[-1].modified_ts_ns > entry.chunks[0].modified_ts_ns
    assert not entry.attributes.md5
    assert queued(store) == []


async def test_commit_listeners_hear_each_logged_commit(core: FilerCore) -> None:
    heard: list[list[int]] = []
    core.commit_listeners.append(lambda rows: heard.append([row.seq for row in rows]))
    await core.create("/a", file_entry("f", "3,01637037d6"))
    await core.create("/", entries.new_directory("", 0o777, 1))  # the root: nothing logged
    with pytest.raises(EntryNotFound):
        await core.update("/", file_entry("nope", "3,01637037d6"))
    assert heard == [[1, 2]]  # one commit: the implicit /a and the file, as committed rows
