"""Rendered listing entries: the JSON of an entry as a listing shows it, kept by what it was made of.

Directories are listed again and again (a mount re-reading a folder, clients paging through a
bucket), and rendering an entry's JSON is nearly all of a listing's CPU: ~5 us of protobuf reads
and dict building per entry in Python. The rendering is a pure function of the entry's full path
and its stored bytes, so those two are the key: a changed entry has other bytes and simply misses,
and nothing ever needs invalidating. Entries whose content comes from elsewhere (hard links,
resolved from their group) are not stored here; the caller passes no bytes for them.

Bounded by bytes (keys and values), least recently used first out. Not thread-safe: the HTTP
handlers use it on the event loop.

Must not import kelp_http, grpc or SQL.
"""

from __future__ import annotations

from collections import OrderedDict

DEFAULT_BUDGET_BYTES = 32 << 20
_OVERHEAD = 120  # bytes per item besides its key and value (dict slot, tuple, bytes headers)


class RenderedEntries:
    def __init__(self, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        self._items: OrderedDict[tuple[str, bytes], bytes] = OrderedDict()
        self._budget = budget_bytes
        self._used = 0
        self.hits = 0
        self.misses = 0

    def get(self, full_path: str, stored: bytes) -> bytes | None:
        key = (full_path, stored)
        found = self._items.get(key)
        if found is None:
            self.misses += 1
            return None
        self._items.move_to_end(key)
        self.hits += 1
        return found

    def put(self, full_path: str, stored: bytes, rendered: bytes) -> None:
        size = len(full_path) + len(stored) + len(rendered) + _OVERHEAD
        if size > self._budget:
            return
        key = (full_path, stored)
        old = self._items.pop(key, None)
        if old is not None:
            self._used -= len(full_path) + len(stored) + len(old) + _OVERHEAD
        self._items[key] = rendered
        self._used += size
        while self._used > self._budget:
            (path, blob), value = self._items.popitem(last=False)
            self._used -= len(path) + len(blob) + len(value) + _OVERHEAD
