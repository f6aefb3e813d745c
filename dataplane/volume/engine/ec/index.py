"""The EC volume's index files: `.ecx` (sealed, sorted needle index) and `.ecj` (deletion journal).

* `.ecx`: the `.idx` needle map at encode time, live entries only, sorted by key ascending,
  in the `.idx` entry format (16 or 17 bytes). Looked up by binary search. Sealed: the only
  change ever made in place is overwriting an entry's Size with 0xFFFFFFFF when the journal is
  folded in (`apply_journal`, before a rebuild or decode).
* `.ecj`: one 8-byte big-endian needle id appended (and fsynced) per delete. Loaded into a
  set at open; folded into `.ecx` and removed by `apply_journal`.

File I/O on the index files only; no network imports.
"""

from __future__ import annotations

import os
import struct
import threading
import uuid

import numpy as np

from dataplane.volume.engine.ec.errors import CorruptEcIndex
from dataplane.volume.engine.files import fsync_dir, unlink_if_exists, write_all
from dataplane.volume.engine.idx import TOMBSTONE_SIZE, IdxFormat, is_deleted_size, summarize
from dataplane.volume.engine.needle import CHECKSUM_SIZE, HEADER_SIZE, PADDING, TIMESTAMP_SIZE, VERSION_3
from dataplane.volume.engine.superblock import SUPER_BLOCK_SIZE

JOURNAL_ENTRY_SIZE = 8
_KEY = struct.Struct(">Q")
_SIZE = struct.Struct(">I")


def write_ecx_from_idx(idx_path: str, ecx_path: str, fmt: IdxFormat) -> int:
    """Write the sorted live entries of `.idx` to `.ecx` (atomically); return the entry count.

    Walk rule as the volume's: the last entry of a key wins; a zero offset or deleted Size
    removes it. The `.idx` is read whole, as opening the volume does."""
    with open(idx_path, "rb") as f:
        raw = f.read()
    whole = len(raw) - len(raw) % fmt.entry_size
    summary = summarize(*fmt.decode_all(memoryview(raw)[:whole]))
    live = ~summary.deleted
    body = fmt.encode_all(summary.keys[live], summary.offsets[live], summary.sizes[live])
    _write_atomically(ecx_path, body)
    return int(live.sum())


def _write_atomically(path: str, body: bytes) -> None:
    tmp = f"{path}.{uuid.uuid4().hex[:8]}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        write_all(fd, body, 0)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        unlink_if_exists(tmp)
        raise
    os.close(fd)
    os.replace(tmp, path)
    fsync_dir(os.path.dirname(path))


class EcIndex:
    """An open `.ecx`: binary-search lookups by key (thread-safe; reads are preads)."""

    def __init__(self, path: str, fmt: IdxFormat, *, writable: bool = False) -> None:
        self.path = path
        self.fmt = fmt
        self._fd = os.open(path, os.O_RDWR if writable else os.O_RDONLY)
        size = os.fstat(self._fd).st_size
        if size % fmt.entry_size:
            os.close(self._fd)
            raise CorruptEcIndex(path, f"{size} bytes is not a whole number of {fmt.entry_size}-byte entries")
        self.count = size // fmt.entry_size
        self._lock = threading.Lock()

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def _entry(self, i: int) -> tuple[int, int, int]:
        buf = os.pread(self._fd, self.fmt.entry_size, i * self.fmt.entry_size)
        if len(buf) != self.fmt.entry_size:
            raise CorruptEcIndex(self.path, f"short read of entry {i}")
        return self.fmt.unpack(buf)

    def _search(self, key: int) -> tuple[int, int, int] | None:
        """(position, offset units, Size) of key's entry, or None."""
        lo, hi = 0, self.count
        while lo < hi:
            mid = (lo + hi) // 2
            k, offset, size = self._entry(mid)
            if k == key:
                return mid, offset, size
            if k < key:
                lo = mid + 1
            else:
                hi = mid
        return None

    def find(self, key: int) -> tuple[int, int] | None:
        """(offset in 8-byte units, Size) of the key, or None if absent. A Size that
        is_deleted_size() marks a needle deleted when the journal was folded in."""
        found = self._search(key)
        return None if found is None else (found[1], found[2])

    def mark_deleted(self, key: int) -> bool:
        """Overwrite the key's Size with the tombstone value; False if the key is absent."""
        with self._lock:
            found = self._search(key)
            if found is None:
                return False
            at = found[0] * self.fmt.entry_size + self.fmt.entry_size - 4
            write_all(self._fd, _SIZE.pack(TOMBSTONE_SIZE), at)
            return True

    def sync(self) -> None:
        os.fsync(self._fd)

    def read_all(self) -> bytes:
        return os.pread(self._fd, self.count * self.fmt.entry_size, 0)

    def live_extent(self, version: int) -> int:
        """End of the furthest live record: the `.dat` length a decode must restore."""
        _, offsets, sizes = self.fmt.decode_all(self.read_all())
        live = sizes < 0x80000000
        if not live.any():
            return SUPER_BLOCK_SIZE
        tail = CHECKSUM_SIZE + (TIMESTAMP_SIZE if version == VERSION_3 else 0)
        unpadded = HEADER_SIZE + sizes[live].astype(np.int64) + tail
        ends = (offsets[live].astype(np.int64) << 3) + unpadded + PADDING - unpadded % PADDING
        return max(SUPER_BLOCK_SIZE, int(ends.max()))

    def __enter__(self) -> EcIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_journal(path: str) -> set[int]:
    """The needle ids in a `.ecj` (an absent file is an empty journal). A torn last entry
    (a crash mid-append, never acknowledged) is ignored."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return set()
    whole = len(raw) - len(raw) % JOURNAL_ENTRY_SIZE
    return {int(k) for k in np.frombuffer(raw, dtype=">u8", count=whole // JOURNAL_ENTRY_SIZE)}


class Journal:
    """An open `.ecj` for appends (created on first use). Appends are fsynced before they
    return, so an acknowledged delete survives a crash."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        size = os.fstat(self._fd).st_size
        self._end = size - size % JOURNAL_ENTRY_SIZE
        if self._end != size:  # torn append from a crash: cut it so the next one is aligned
            os.ftruncate(self._fd, self._end)
        self._lock = threading.Lock()

    def append(self, key: int) -> None:
        with self._lock:
            try:
                write_all(self._fd, _KEY.pack(key), self._end)
                os.fdatasync(self._fd)
            except OSError:
                os.ftruncate(self._fd, self._end)
                raise
            self._end += JOURNAL_ENTRY_SIZE

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def apply_journal(ecx_path: str, ecj_path: str, fmt: IdxFormat) -> int:
    """Fold `.ecj` into `.ecx` (mark each journaled key's Size deleted), fsync, then remove
    `.ecj`; return how many entries were marked. No journal: nothing to do."""
    if not os.path.exists(ecj_path):
        return 0
    keys = read_journal(ecj_path)
    marked = 0
    with EcIndex(ecx_path, fmt, writable=True) as index:
        for key in sorted(keys):
            found = index.find(key)
            if found is not None and not is_deleted_size(found[1]) and index.mark_deleted(key):
                marked += 1
        index.sync()
    # Only once the tombstones are durable may the journal go, or a crash would resurrect.
    os.unlink(ecj_path)
    fsync_dir(os.path.dirname(ecj_path))
    return marked
