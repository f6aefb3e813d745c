"""Hard links through FilerCore (hardlinks.py), on the fake store and SQLite: weed mount's link
steps (UpdateEntry of the source with an id, CreateEntry of the new name), reads of any name, writes
through one name, unlink counting, rename, overwrite by an unlinked entry, recursive delete."""

from __future__ import annotations

import os
from typing import Any

import pytest
from kelp_pb import weed_filer_pb2 as filer_pb

from controlplane.filer import hardlinks
from controlplane.filer.core import FilerCore
from controlplane.filer.errors import EntryNotFound
from tests.unit.controlplane.filer.conftest import file_entry, logged, queued

LINK_ID = os.urandom(16) + hardlinks.MARKER


async def link(core: FilerCore, src_dir: str, src: str, dst_dir: str, dst: str) -> filer_pb.Entry:
    """What weed mount's Link does: the source gets the id (counter + 1), the new name a copy."""
    source = await core.lookup(src_dir, src)
    if not source.hard_link_id:
        source.hard_link_id, source.hard_link_counter = LINK_ID, 1
    source.hard_link_counter += 1
    await core.update(src_dir, source)
    made = filer_pb.Entry()
    made.CopyFrom(source)
    made.name = dst
    await core.create(dst_dir, made, skip_parent_check=True)
    return await core.lookup(dst_dir, dst)


def kv(store: Any, key: bytes) -> filer_pb.Entry | None:
    with store.transaction(read_only=True) as tx:
        blob = tx.kv_get(key)
    return None if blob is None else filer_pb.Entry.FromString(blob)


def fids(entry: filer_pb.Entry) -> list[str]:
    return [c.file_id for c in entry.chunks]


async def test_link_shares_content_and_counts(core: FilerCore, store: Any) -> None:
    await core.create("/d", file_entry("a", "3,01637037d6"))
    b = await link(core, "/d", "a", "/d", "b")
    a = await core.lookup("/d", "a")
    assert fids(a) == fids(b) == ["3,01637037d6"]
    assert a.hard_link_id == b.hard_link_id == LINK_ID
    assert a.hard_link_counter == b.hard_link_counter == 2
    assert a.attributes.inode == b.attributes.inode
    listed = {e.name: e.hard_link_counter for e in await core.list("/d")}
    assert listed == {"a": 2, "b": 2}
    shared = kv(store, LINK_ID)
    assert shared is not None and shared.name == "" and shared.hard_link_counter == 2
    # the create event carries the counted entry (a mount applies it to its cache)
    assert logged(store)[-1].event_notification.new_entry.hard_link_counter == 2


async def test_write_through_one_name_reads_through_the_other(core: FilerCore, store: Any) -> None:
    await core.create("/d", file_entry("a", "3,01637037d6"))
    b = await link(core, "/d", "a", "/d", "b")
    rewritten = file_entry("b", "4,02637037d6", size=20)
    rewritten.hard_link_id, rewritten.hard_link_counter = b.hard_link_id, 1  # a stale counter
    await core.create("/d", rewritten)
    a = await core.lookup("/d", "a")
    assert fids(a) == ["4,02637037d6"] and a.attributes.file_size == 20
    assert a.hard_link_counter == 2  # counted by the filer, not taken from the client
    assert queued(store) == ["3,01637037d6"]  # no name holds the old content any more


async def test_unlink_counts_down_and_the_last_frees(core: FilerCore, store: Any) -> None:
    await core.create("/d", file_entry("a", "3,01637037d6"))
    await link(core, "/d", "a", "/d", "b")
    await link(core, "/d", "b", "/e", "c")
    assert (await core.lookup("/d", "a")).hard_link_counter == 3
    await core.delete("/d", "a")
    assert queued(store) == []
    assert (await core.lookup("/e", "c")).hard_link_counter == 2
    await core.delete("/e", "c")
    b = await core.lookup("/d", "b")
    assert fids(b) == ["3,01637037d6"] and b.hard_link_counter == 1 and queued(store) == []
    await core.delete("/d", "b")
    assert queued(store) == ["3,01637037d6"]
    assert kv(store, LINK_ID) is None


async def test_rename_keeps_the_link(core: FilerCore, store: Any) -> None:
    await core.create("/d", file_entry("a", "3,01637037d6"))
    await link(core, "/d", "a", "/d", "b")
    await core.rename("/d", "b", "/x", "moved")
    moved = await core.lookup("/x", "moved")
    assert moved.hard_link_counter == 2 and fids(moved) == ["3,01637037d6"]
    with pytest.raises(EntryNotFound):
        await core.lookup("/d", "b")
    await core.delete("/d", "a")
    assert queued(store) == [] and (await core.lookup("/x", "moved")).hard_link_counter == 1
    await core.delete("/x", "moved")
    assert queued(store) == ["3,01637037d6"]


async def test_overwrite_by_an_unlinked_entry_leaves_the_others(core: FilerCore, store: Any) -> None:
    await core.create("/d", file_entry("a", "3,01637037d6"))
    await link(core, "/d", "a", "/d", "b")
    await core.create("/d", file_entry("a", "5,03637037d6"))  # e.g. an HTTP PUT
    a, b = await core.lookup("/d", "a"), await core.lookup("/d", "b")
    assert not a.hard_link_id and fids(a) == ["5,03637037d6"]
    assert fids(b) == ["3,01637037d6"] and b.hard_link_counter == 1
    assert queued(store) == []


async def test_delete_without_data_still_counts(core: FilerCore, store: Any) -> None:
    await core.create("/d", file_entry("a", "3,01637037d6"))
    await link(core, "/d", "a", "/d", "b")
    await core.delete("/d", "a", delete_data=False)
    await core.delete("/d", "b", delete_data=False)
    assert queued(store) == [] and kv(store, LINK_ID) is None


async def test_recursive_delete_of_one_side(core: FilerCore, store: Any) -> None:
    await core.create("/d", file_entry("a", "3,01637037d6"))
    await link(core, "/d", "a", "/keep", "b")
    await core.delete("/", "d", recursive=True)
    b = await core.lookup("/keep", "b")
    assert fids(b) == ["3,01637037d6"] and b.hard_link_counter == 1 and queued(store) == []


async def test_append_through_a_link_is_seen_by_the_other(core: FilerCore, store: Any) -> None:
    await core.create("/d", file_entry("a", "3,01637037d6"))
    await link(core, "/d", "a", "/d", "b")
    extra = file_entry("b", "6,04637037d6").chunks
    await core.write_chunks("/d/b", extra, template=filer_pb.Entry(name="b"))
    a = await core.lookup("/d", "a")
    assert fids(a) == ["3,01637037d6", "6,04637037d6"] and a.hard_link_counter == 2
    assert queued(store) == []
