"""Hard links: several names sharing one content, by SeaweedFS's `hard_link_id` scheme.

Facts carried over from SeaweedFS (weed mount's `ln` and the filer store wrapper):
- a linked entry carries `hard_link_id` (16 random bytes + a 0x01 marker, made by the client)
  and `hard_link_counter` (how many names share it);
- the shared content lives in the filer's key/value table under the id itself as key: a
  serialized `filer_pb.Entry` without a name (attributes, chunks, extended, content, counter).
  Every name's own row is a full entry too, but readers take the shared one (`resolve`), so a
  write through one name is what every other name reads;
- weed mount links by UpdateEntry of the source (id set, counter + 1) and CreateEntry of the new
  name with the same id; unlink is a plain DeleteEntry.

Where kelp differs: the counter is counted here, not taken from clients. A name that starts to
carry an id adds one, a name that stops (deleted, or replaced by an entry without that id) takes
one away, and an update that keeps the id keeps the count. A mount's cached counter can be
stale (another mount linked meanwhile); SeaweedFS stores whatever the client sent. And only the
release of the last name frees the content: SeaweedFS frees the old chunks when one linked name
is overwritten by an unlinked entry, though the other names still list them.

All of this runs inside the core's transaction (the caller's `LinkStore`, the store's Tx), so the
counter, the entry rows and the chunk deletion queue change together. The shared row is read
for update: two filers unlinking sibling names on PostgreSQL serialize on it.

Pure over the LinkStore protocol: imports kelp_pb messages and entry.py only.
"""

from __future__ import annotations

from typing import Protocol

from kelp_pb import weed_filer_pb2 as filer_pb

from controlplane.filer import entry as entries

MARKER = b"\x01"  # the last byte of every id weed mount makes


class LinkStore(Protocol):
    """The key/value part of a store transaction."""

    def kv_get(self, key: bytes, *, for_update: bool = False) -> bytes | None: ...
    def kv_put(self, key: bytes, value: bytes) -> None: ...
    def kv_delete(self, key: bytes) -> bool: ...


def link_id(entry: filer_pb.Entry | None) -> bytes:
    """The entry's hard link id, or b"" (directories never link)."""
    if entry is None or not entry.hard_link_id or entries.is_directory(entry):
        return b""
    return bytes(entry.hard_link_id)


def shared_blob(entry: filer_pb.Entry) -> bytes:
    """What the key/value row holds for a link group: the entry without its name."""
    shared = filer_pb.Entry()
    shared.CopyFrom(entry)
    shared.ClearField("name")
    return bytes(shared.SerializeToString())


def _load(store: LinkStore, key: bytes, *, for_update: bool) -> filer_pb.Entry | None:
    blob = store.kv_get(key, for_update=for_update)
    return None if blob is None else filer_pb.Entry.FromString(blob)


def resolve(store: LinkStore, entry: filer_pb.Entry) -> None:
    """Replace a linked entry's content by its group's shared one, in place (the name stays).
    An entry whose group row is missing reads as stored."""
    key = link_id(entry)
    if not key:
        return
    shared = _load(store, key, for_update=False)
    if shared is None:
        return
    shared.name = entry.name
    entry.CopyFrom(shared)


def settle(store: LinkStore, old: filer_pb.Entry | None, new: filer_pb.Entry | None) -> bool:
    """Book the name that held `old` (resolved, or None) now holding `new` (None: the name goes).
    Sets `new.hard_link_counter` and stores its content as its group's; releases old's group when
    the name leaves it. Returns False when another name still holds old's content (its chunks must
    stay), True when they are only this name's (the caller drops what `new` does not list)."""
    old_key, new_key = link_id(old), link_id(new)
    if new is not None and new_key:
        group = _load(store, new_key, for_update=True)
        if group is None:
            new.hard_link_counter = 1
        elif old_key == new_key:
            new.hard_link_counter = max(1, group.hard_link_counter)
        else:
            new.hard_link_counter = max(0, group.hard_link_counter) + 1
        store.kv_put(new_key, shared_blob(new))
    if old is None or not old_key or old_key == new_key:
        return True
    return release(store, old_key, stored_counter=old.hard_link_counter)


def release(store: LinkStore, key: bytes, *, stored_counter: int = 1) -> bool:
    """One name left the group `key`: True when it was the last (the group row is gone and its
    chunks are free). A group without its row counts by the name's stored counter."""
    group = _load(store, key, for_update=True)
    if group is None:
        return stored_counter <= 1
    group.hard_link_counter -= 1
    if group.hard_link_counter <= 0:
        store.kv_delete(key)
        return True
    store.kv_put(key, group.SerializeToString())
    return False
