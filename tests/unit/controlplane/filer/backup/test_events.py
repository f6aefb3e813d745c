"""events.py: event -> row writes, and batches coalesced without changing the result."""

from __future__ import annotations

import random

import pytest
from kelp_pb import weed_filer_pb2 as filer_pb

from controlplane.filer.backup.errors import InvalidEvent
from controlplane.filer.backup.events import Delete, TreeDelete, Upsert, describe, is_change, plan, row_ops


def event(directory: str, old: str | None = None, new: str | None = None, new_parent: str = "",
          *, old_dir: bool = False, content: bytes = b"", ts: int = 1) -> filer_pb.SubscribeMetadataResponse:
    message = filer_pb.SubscribeMetadataResponse(directory=directory, ts_ns=ts)
    note = message.event_notification
    if old is not None:
        note.old_entry.name = old
        note.old_entry.is_directory = old_dir
    if new is not None:
        note.new_entry.name = new
        note.new_entry.content = content
        note.new_parent_path = new_parent or directory
    return message


def test_create_update_delete_rename() -> None:
    created = row_ops(event("/a", new="x", content=b"1"))
    assert [type(op) for op in created] == [Upsert] and created[0].directory == "/a"
    updated = row_ops(event("/a", old="x", new="x", content=b"2"))
    assert [type(op) for op in updated] == [Upsert]  # same place: no delete first
    assert row_ops(event("/a", old="x")) == [Delete("/a", "x")]
    moved = row_ops(event("/a", old="x", new="y", new_parent="/b"))
    assert moved[0] == Delete("/a", "x") and isinstance(moved[1], Upsert) and moved[1].directory == "/b"


def test_directory_delete_takes_the_tree_and_root_filter() -> None:
    assert row_ops(event("/", old="a", old_dir=True)) == [Delete("/", "a"), TreeDelete("/a")]
    # renamed out of the backed-up tree: only the delete; renamed in: only the write
    out = row_ops(event("/keep", old="x", new="x", new_parent="/other"), "/keep")
    assert out == [Delete("/keep", "x")]
    into = row_ops(event("/other", old="x", new="x", new_parent="/keep"), "/keep")
    assert [type(op) for op in into] == [Upsert]
    assert row_ops(event("/", new="keep"), "/keep") == []  # the root itself is not a child row
    assert row_ops(event("/", new="keeper"), "/keep") == []  # a sibling sharing the prefix


def test_markers_are_not_changes_and_nameless_entries_are_refused() -> None:
    assert not is_change(filer_pb.SubscribeMetadataResponse(ts_ns=5))
    empty = filer_pb.SubscribeMetadataResponse(ts_ns=5, event_notification=filer_pb.EventNotification())
    assert not is_change(empty)
    with pytest.raises(InvalidEvent):
        row_ops(event("/a", new=""))
    assert describe(event("/a", old="x", new="y", new_parent="/b", ts=9)) == "rename /a/x -> /b/y ts_ns=9"


def apply_in_order(state: dict[tuple[str, str], bytes], ops: list) -> None:
    for op in ops:
        if isinstance(op, Upsert):
            state[(op.directory, op.name)] = op.entry
        elif isinstance(op, Delete):
            state.pop((op.directory, op.name), None)
        else:
            for key in [k for k in state if k[0] == op.path or k[0].startswith(op.path + "/")]:
                del state[key]


def apply_plan(state: dict[tuple[str, str], bytes], ops: list) -> None:
    for step in plan(ops):
        for d in step.deletes:
            state.pop((d.directory, d.name), None)
        for u in step.upserts:
            state[(u.directory, u.name)] = u.entry
        if step.tree_delete is not None:
            apply_in_order(state, [step.tree_delete])


def test_plan_gives_the_same_rows_as_applying_in_order() -> None:
    rng = random.Random(3)
    names = ["a", "b", "c"]
    dirs = ["/", "/a", "/a/b", "/c"]
    for _ in range(300):
        ops: list = []
        for _ in range(rng.randint(1, 12)):
            roll = rng.random()
            d, n = rng.choice(dirs), rng.choice(names)
            if roll < 0.5:
                ops.append(Upsert(d, n, bytes([rng.randint(0, 9)])))
            elif roll < 0.85:
                ops.append(Delete(d, n))
            else:
                ops.append(TreeDelete(rng.choice(dirs[1:])))
        start = {(d, n): b"s" for d in dirs for n in names}
        expected, got = dict(start), dict(start)
        apply_in_order(expected, ops)
        apply_plan(got, ops)
        assert got == expected, ops


def test_replaying_an_applied_suffix_changes_nothing() -> None:
    rng = random.Random(5)
    events = []
    for i in range(200):
        d, n = rng.choice(["/", "/a"]), rng.choice("xyz")
        roll = rng.random()
        if roll < 0.4:
            events.append(event(d, new=n, content=bytes([i % 250]), ts=i))
        elif roll < 0.6:
            events.append(event(d, old=n, new=n, content=bytes([i % 250]), ts=i))
        elif roll < 0.8:
            events.append(event(d, old=n, ts=i))
        else:
            events.append(event(d, old=n, new=rng.choice("xyz"), new_parent=rng.choice(["/", "/a"]),
                                content=bytes([i % 250]), ts=i))
    once: dict[tuple[str, str], bytes] = {}
    apply_in_order(once, [op for e in events for op in row_ops(e)])
    for cut in (0, 50, 150, 199):
        twice = dict(once)
        apply_plan(twice, [op for e in events[cut:] for op in row_ops(e)])
        assert twice == once
