"""A metadata event -> the row writes that make the standby match it; and a batch of events ->
the fewest writes with the same result. Pure (kelp_pb messages in, plain values out).

Event shapes (SubscribeMetadata): create = new entry only, update = old and new at the same place,
delete = old only, rename = old and new elsewhere (`directory` the old parent, `new_parent_path`
the new one). Each becomes: delete the old path (unless the new one is the same path), then write
the new entry at `new_parent_path/new name` - only for paths inside the backed-up tree. A row
write is an upsert of the entry's bytes and a delete removes one row, so applying an event twice,
or replaying a run of events already applied followed by the rest, leaves the same rows as
applying each once: the final state of a path is set by the last event that touched it.

A deleted directory also takes every row below it (TreeDelete). kelp's filer logs its children's
deletes first, so this usually removes nothing more, but a filer that logs only the directory
would otherwise leave orphans. Batches keep order around a tree delete: writes before it are
flushed first, so a later create below the directory survives it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from kelp_pb import weed_filer_pb2 as filer_pb

from controlplane.filer.backup.checkpoint import event_digest
from controlplane.filer.backup.errors import InvalidEvent

ROOT = "/"


@dataclass(frozen=True, slots=True)
class Upsert:
    directory: str
    name: str
    entry: bytes


@dataclass(frozen=True, slots=True)
class Delete:
    directory: str
    name: str


@dataclass(frozen=True, slots=True)
class TreeDelete:
    """Every row whose directory is `path` or below it."""

    path: str


RowOp = Upsert | Delete | TreeDelete


@dataclass(frozen=True, slots=True)
class Step:
    """One batch of row writes with no order among them (their keys are distinct)."""

    deletes: tuple[Delete, ...]
    upserts: tuple[Upsert, ...]
    tree_delete: TreeDelete | None = None  # runs after deletes and upserts of this step


def join(directory: str, name: str) -> str:
    if not name:
        return directory or ROOT
    return f"/{name}" if directory in ("", ROOT) else f"{directory.rstrip('/')}/{name}"


def is_within(path: str, root: str) -> bool:
    if root == ROOT:
        return True
    return path == root or path.startswith(root + "/")


def is_directory(entry: filer_pb.Entry) -> bool:
    return entry.is_directory or bool(entry.attributes.file_mode & (1 << 31))


def flatten(message: filer_pb.SubscribeMetadataResponse) -> Iterator[filer_pb.SubscribeMetadataResponse]:
    """The message and the events batched into it (`events`), in order."""
    yield message
    yield from message.events


def is_change(event: filer_pb.SubscribeMetadataResponse) -> bool:
    """False for progress markers and heartbeats (no entry at all)."""
    if not event.HasField("event_notification"):
        return False
    note = event.event_notification
    return bool(note.HasField("old_entry") or note.HasField("new_entry"))


def describe(event: filer_pb.SubscribeMetadataResponse) -> str:
    """One line for -v: the kind of change and its paths."""
    note = event.event_notification
    old = join(event.directory, note.old_entry.name) if note.HasField("old_entry") else ""
    new = ""
    if note.HasField("new_entry"):
        new = join(note.new_parent_path or event.directory, note.new_entry.name)
    if old and new:
        kind = "update" if old == new else "rename"
        where = old if old == new else f"{old} -> {new}"
    else:
        kind, where = ("create", new) if new else ("delete", old)
    return f"{kind} {where} ts_ns={event.ts_ns}"


def digest(event: filer_pb.SubscribeMetadataResponse) -> str:
    note = event.event_notification
    return event_digest(event.ts_ns, event.directory, note.old_entry.name,
                        note.new_parent_path, note.new_entry.name)


def row_ops(event: filer_pb.SubscribeMetadataResponse, root: str = ROOT) -> list[RowOp]:
    """The row writes of one event, for the tree under `root`."""
    note = event.event_notification
    old_path = new_path = ""
    if note.HasField("old_entry"):
        if not note.old_entry.name:
            raise InvalidEvent(event.ts_ns, "old_entry has no name")
        old_path = join(event.directory, note.old_entry.name)
    if note.HasField("new_entry"):
        if not note.new_entry.name:
            raise InvalidEvent(event.ts_ns, "new_entry has no name")
        new_path = join(note.new_parent_path or event.directory, note.new_entry.name)
    ops: list[RowOp] = []
    if old_path and old_path != new_path and is_within(old_path, root) and old_path != root:
        ops.append(Delete(event.directory or ROOT, note.old_entry.name))
        if is_directory(note.old_entry) and not new_path:
            ops.append(TreeDelete(old_path))
    if new_path and is_within(new_path, root) and new_path != root:
        ops.append(Upsert(note.new_parent_path or event.directory or ROOT, note.new_entry.name,
                          note.new_entry.SerializeToString()))
    return ops


def plan(ops: Iterable[RowOp]) -> list[Step]:
    """Coalesce ops applied in order into steps: within a step the last write of each path wins
    (so its writes are order-free); a tree delete ends its step."""
    steps: list[Step] = []
    last: dict[tuple[str, str], Upsert | Delete] = {}

    def close(tree: TreeDelete | None) -> None:
        if last or tree is not None:
            deletes = tuple(op for op in last.values() if isinstance(op, Delete))
            upserts = tuple(op for op in last.values() if isinstance(op, Upsert))
            steps.append(Step(deletes, upserts, tree))
            last.clear()

    for op in ops:
        if isinstance(op, TreeDelete):
            close(op)
        else:
            last[(op.directory, op.name)] = op
    close(None)
    return steps
