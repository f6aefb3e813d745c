"""`.idx` entries: the append-only log of puts and deletes that indexes a `.dat`.

    standard (4-byte offsets), 16 bytes      large disk (5-byte offsets), 17 bytes
    0   8  key                               0   8  key
    8   4  offset / 8                        8   4  low 32 bits of offset / 8
    12  4  Size                              12  1  high byte of offset / 8 (after the low 4)
                                             13  4  Size

Offsets are in 8-byte units. A delete entry has Size 0xFFFFFFFF and the offset of the
tombstone record. Walk rule: entries apply in file order and the last one wins; an entry
with offset 0 or a negative (as int32) Size removes the key.

Pure plus NumPy (bulk decoding); no file or network I/O.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

TOMBSTONE_SIZE = 0xFFFFFFFF
OFFSET_UNIT = 8
ENTRY_SIZE_STANDARD = 16
ENTRY_SIZE_LARGE = 17
# Highest byte offset a record may end at: 2^32 (or 2^40) units of 8 bytes.
MAX_VOLUME_SIZE_STANDARD = (1 << 32) * OFFSET_UNIT
MAX_VOLUME_SIZE_LARGE = (1 << 40) * OFFSET_UNIT

_STANDARD = struct.Struct(">QII")
_LARGE = struct.Struct(">QIBI")

_DTYPE_STANDARD = np.dtype([("key", ">u8"), ("offset", ">u4"), ("size", ">u4")])
_DTYPE_LARGE = np.dtype({"names": ["key", "offset", "high", "size"],
                         "formats": [">u8", ">u4", "u1", ">u4"],
                         "offsets": [0, 8, 12, 13], "itemsize": 17})

U64Array = npt.NDArray[np.uint64]
U32Array = npt.NDArray[np.uint32]


def is_deleted_size(size: int) -> bool:
    """A Size that marks a deletion: negative when read as int32, as SeaweedFS reads it."""
    return size >= 0x80000000


@dataclass(frozen=True, slots=True)
class IdxFormat:
    """One of the two entry layouts."""

    large_disk: bool

    @property
    def entry_size(self) -> int:
        return ENTRY_SIZE_LARGE if self.large_disk else ENTRY_SIZE_STANDARD

    @property
    def offset_bytes(self) -> int:
        """The .vif's bytesOffset: 5 for large disk, 4 otherwise."""
        return 5 if self.large_disk else 4

    @property
    def max_volume_size(self) -> int:
        return MAX_VOLUME_SIZE_LARGE if self.large_disk else MAX_VOLUME_SIZE_STANDARD

    def pack(self, key: int, offset_units: int, size: int) -> bytes:
        if self.large_disk:
            return _LARGE.pack(key, offset_units & 0xFFFFFFFF, offset_units >> 32, size)
        return _STANDARD.pack(key, offset_units, size)

    def unpack(self, buf: bytes, at: int = 0) -> tuple[int, int, int]:
        """(key, offset in 8-byte units, Size) of the entry at byte `at`."""
        if self.large_disk:
            key, low, high, size = _LARGE.unpack_from(buf, at)
            return key, high << 32 | low, size
        key, offset, size = _STANDARD.unpack_from(buf, at)
        return key, offset, size

    def encode_all(self, keys: U64Array, offset_units: U64Array, sizes: U32Array) -> bytes:
        """Entries for parallel arrays, in one buffer."""
        out = np.zeros(len(keys), dtype=_DTYPE_LARGE if self.large_disk else _DTYPE_STANDARD)
        out["key"] = keys
        out["offset"] = (offset_units & np.uint64(0xFFFFFFFF)).astype(np.uint32)
        if self.large_disk:
            out["high"] = (offset_units >> np.uint64(32)).astype(np.uint8)
        out["size"] = sizes
        return out.tobytes()

    def decode_all(self, buf: bytes | memoryview) -> tuple[U64Array, U64Array, U32Array]:
        """Every whole entry in `buf` as native arrays (keys, offsets in units, sizes)."""
        dtype: Any = _DTYPE_LARGE if self.large_disk else _DTYPE_STANDARD
        count = len(buf) // self.entry_size
        raw = np.frombuffer(buf, dtype=dtype, count=count)
        keys = raw["key"].astype(np.uint64)
        offsets = raw["offset"].astype(np.uint64)
        if self.large_disk:
            offsets |= raw["high"].astype(np.uint64) << np.uint64(32)
        sizes = raw["size"].astype(np.uint32)
        return keys, offsets, sizes


@dataclass(frozen=True, slots=True)
class IdxSummary:
    """The state an .idx walk leaves, computed in bulk.

    `keys` is sorted and unique. A key whose last entry is a delete is kept, flagged in
    `deleted`, with the offset and Size of its last put (so deleted data stays readable until
    vacuum); keys that were only ever deleted are dropped.
    """

    keys: U64Array
    offsets: U64Array
    sizes: U32Array
    deleted: npt.NDArray[np.bool_]
    file_count: int
    file_byte_count: int
    delete_count: int
    deleted_byte_count: int
    max_key: int


def summarize(keys: U64Array, offsets: U64Array, sizes: U32Array) -> IdxSummary:
    """Apply the walk rule to decoded entries without a Python loop.

    Counters match a sequential replay: every put counts as a file; a put later overwritten
    or deleted counts once as a deletion of its Size.
    """
    is_put = (offsets != 0) & (sizes < 0x80000000)
    # Last entry of each key: np.unique on the reversed arrays finds first occurrences there.
    rev_keys = keys[::-1]
    uniq, last_rev = np.unique(rev_keys, return_index=True)
    last = len(keys) - 1 - last_rev
    live = is_put[last]
    put_idx = np.flatnonzero(is_put)
    put_keys = keys[put_idx]
    put_uniq, last_put_rev = np.unique(put_keys[::-1], return_index=True)
    last_put = put_idx[len(put_idx) - 1 - last_put_rev]
    # Every key with a put, with its last put; deleted if its very last entry is not a put.
    pos = np.searchsorted(uniq, put_uniq)
    deleted = ~live[pos]
    out_offsets = offsets[last_put]
    out_sizes = sizes[last_put]
    put_sizes = sizes[put_idx].astype(np.int64)
    live_sizes = out_sizes[~deleted].astype(np.int64)
    file_byte_count = int(put_sizes.sum())
    live_bytes = int(live_sizes.sum())
    return IdxSummary(
        keys=put_uniq.astype(np.uint64),
        offsets=out_offsets.astype(np.uint64),
        sizes=out_sizes.astype(np.uint32),
        deleted=deleted,
        file_count=len(put_idx),
        file_byte_count=file_byte_count,
        delete_count=len(put_idx) - len(live_sizes),
        deleted_byte_count=file_byte_count - live_bytes,
        max_key=int(keys.max()) if len(keys) else 0,
    )
