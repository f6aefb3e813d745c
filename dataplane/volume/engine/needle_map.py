"""NeedleMap: key -> (offset, Size) for one volume, and the compact in-memory implementation.

A dict of tuples costs ~100 bytes per needle. CompactNeedleMap keeps three packed parallel
arrays sorted by key (8 + 8 + 4 bytes a needle, plus array.array's ~6% growth slack): keys
come from the master's sequencer, so nearly every put is an append. The rare key below the
largest one goes to a small overflow dict, merged into the arrays once it grows past a
fraction of them. Lookups bisect the arrays in C.

A deleted key keeps its last put's offset and Size with DELETED_BIT set on the offset, so
`readDeleted` can still serve it until vacuum, as SeaweedFS does.

Not thread-safe: the owning Volume serializes access. No file or network I/O.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from array import array
from bisect import bisect_left
from collections.abc import Callable
from typing import Protocol

import numpy as np

from dataplane.volume.engine.idx import IdxSummary

DELETED_BIT = 1 << 63
_OFFSET_MASK = DELETED_BIT - 1
# Overflow entries cost ~100 B each (a dict slot and two ints); merging once the overflow
# passes 1/64 of the arrays bounds that to ~1.6 B a needle, and keeps merge work amortized
# to O(64) element moves per out-of-order put. The floor avoids merging tiny maps constantly.
_MERGE_FRACTION_SHIFT = 6
_MERGE_MIN = 1024
# A merge of a big map frees several array-sized temporaries; hand them back to the OS.
_TRIM_AFTER_MERGE_OF = 1 << 17

Entry = tuple[int, int, bool]  # offset in 8-byte units, Size, deleted


def _load_malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    return trim


_malloc_trim = _load_malloc_trim()


def release_freed_memory() -> None:
    """Return freed heap pages to the OS.

    Building a map from a large .idx allocates and frees tens of megabytes of NumPy
    temporaries; glibc keeps those pages mapped (measured: 94 MB retained for a 1M-needle
    volume whose map is 22 MB), which would count against the server's RSS forever.
    """
    if _malloc_trim is not None:
        _malloc_trim(0)


class NeedleMap(Protocol):
    """What a Volume needs from its index. Counters follow SeaweedFS's: every put counts a
    file; a put later overwritten or deleted counts one deletion of its Size."""

    file_count: int
    file_byte_count: int
    delete_count: int
    deleted_byte_count: int
    max_key: int

    def get(self, key: int) -> Entry | None:
        """The key's entry, deleted ones included; None if never put."""
        ...

    def put(self, key: int, offset_units: int, size: int) -> None: ...

    def delete(self, key: int, tombstone_offset_units: int) -> int | None:
        """Mark deleted; return the Size it had, or None if it was not live."""
        ...

    def __len__(self) -> int: ...

    def close(self) -> None: ...


class CompactNeedleMap:
    __slots__ = ("_keys", "_offsets", "_overflow", "_sizes", "delete_count", "deleted_byte_count",
                 "file_byte_count", "file_count", "max_key")

    def __init__(self) -> None:
        self._keys = array("Q")
        self._offsets = array("Q")  # 8-byte units, DELETED_BIT for deleted keys
        self._sizes = array("I")
        if self._sizes.itemsize != 4:  # pragma: no cover - every supported platform has 4-byte int
            raise RuntimeError("array('I') is not 32 bits on this platform")
        self._overflow: dict[int, tuple[int, int]] = {}  # key -> (offset word, Size)
        self.file_count = 0
        self.file_byte_count = 0
        self.delete_count = 0
        self.deleted_byte_count = 0
        self.max_key = 0

    @classmethod
    def from_summary(cls, summary: IdxSummary) -> CompactNeedleMap:
        m = cls()
        offsets = summary.offsets | (summary.deleted.astype(np.uint64) << np.uint64(63))
        m._keys.frombytes(_as_bytes(summary.keys))
        m._offsets.frombytes(_as_bytes(np.ascontiguousarray(offsets)))
        m._sizes.frombytes(_as_bytes(summary.sizes))
        m.file_count = summary.file_count
        m.file_byte_count = summary.file_byte_count
        m.delete_count = summary.delete_count
        m.deleted_byte_count = summary.deleted_byte_count
        m.max_key = summary.max_key
        return m

    def __len__(self) -> int:
        return len(self._keys) + len(self._overflow)

    def get(self, key: int) -> Entry | None:
        hit = self._overflow.get(key)
        if hit is not None:
            word, size = hit
        else:
            keys = self._keys
            i = bisect_left(keys, key)
            if i == len(keys) or keys[i] != key:
                return None
            word, size = self._offsets[i], self._sizes[i]
        return word & _OFFSET_MASK, size, word >= DELETED_BIT

    def put(self, key: int, offset_units: int, size: int) -> None:
        self.file_count += 1
        self.file_byte_count += size
        if key > self.max_key:
            self.max_key = key
        keys = self._keys
        if not keys or key > keys[-1]:
            # The common case: a fresh key above every other one.
            keys.append(key)
            self._offsets.append(offset_units)
            self._sizes.append(size)
            return
        i = bisect_left(keys, key)
        if keys[i] == key:
            self._count_replaced(self._offsets[i], self._sizes[i])
            self._offsets[i] = offset_units
            self._sizes[i] = size
            return
        old = self._overflow.get(key)
        if old is not None:
            self._count_replaced(*old)
        self._overflow[key] = (offset_units, size)
        if len(self._overflow) > max(_MERGE_MIN, len(keys) >> _MERGE_FRACTION_SHIFT):
            self._merge()

    def delete(self, key: int, tombstone_offset_units: int) -> int | None:
        if key > self.max_key:
            self.max_key = key
        hit = self._overflow.get(key)
        if hit is not None:
            word, size = hit
            if word >= DELETED_BIT:
                return None
            self._overflow[key] = (word | DELETED_BIT, size)
        else:
            keys = self._keys
            i = bisect_left(keys, key)
            if i == len(keys) or keys[i] != key:
                return None
            word, size = self._offsets[i], self._sizes[i]
            if word >= DELETED_BIT:
                return None
            self._offsets[i] = word | DELETED_BIT
        self.delete_count += 1
        self.deleted_byte_count += size
        return size

    def close(self) -> None:
        self._overflow.clear()

    def _count_replaced(self, word: int, size: int) -> None:
        if word < DELETED_BIT:
            self.delete_count += 1
            self.deleted_byte_count += size

    def _merge(self) -> None:
        """Fold the overflow into the sorted arrays (overflow keys are never in them)."""
        extra = sorted(self._overflow.items())
        add_keys = np.fromiter((k for k, _ in extra), dtype=np.uint64, count=len(extra))
        add_offsets = np.fromiter((v[0] for _, v in extra), dtype=np.uint64, count=len(extra))
        add_sizes = np.fromiter((v[1] for _, v in extra), dtype=np.uint32, count=len(extra))
        keys = np.frombuffer(self._keys, dtype=np.uint64)
        at = np.searchsorted(keys, add_keys)
        new_keys = np.insert(keys, at, add_keys)
        new_offsets = np.insert(np.frombuffer(self._offsets, dtype=np.uint64), at, add_offsets)
        new_sizes = np.insert(np.frombuffer(self._sizes, dtype=np.uint32), at, add_sizes)
        del keys  # release the buffer views before replacing the arrays
        self._keys = array("Q")
        self._keys.frombytes(_as_bytes(new_keys))
        self._offsets = array("Q")
        self._offsets.frombytes(_as_bytes(new_offsets))
        self._sizes = array("I")
        self._sizes.frombytes(_as_bytes(new_sizes))
        self._overflow.clear()
        if len(self._keys) >= _TRIM_AFTER_MERGE_OF:
            release_freed_memory()


def _as_bytes(values: np.ndarray) -> bytes:
    """A NumPy array's native bytes (array.frombytes wants a byte-format buffer)."""
    return values.tobytes()
