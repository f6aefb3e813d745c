"""LmdbNeedleMap: a persistent NeedleMap in `<base>.ldb/`, kelp's answer to `-index=leveldb`.

The .idx stays the source of truth. The map records how many .idx bytes it covers (and the
last entry it applied, and the compaction revision), so opening a volume only replays the
.idx tail; any disagreement means it is rebuilt from the .idx.

Records (big-endian):
    key   8 bytes  needle id                  -> 12 bytes: offset word (8-byte units,
                                                  bit 63 = deleted), Size
    b"meta"                                   -> _META fields, then the last applied entry

Durability: LMDB is opened without fsync; a crash can lose recent map updates but not
.idx entries, and the covered length is committed with the updates it covers.
Not thread-safe: the owning Volume serializes access (hence LMDB's own lock is off).
No network imports.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import TypeVar

import lmdb
import numpy as np

from dataplane.volume.engine.idx import TOMBSTONE_SIZE, IdxFormat, IdxSummary, U32Array, U64Array
from dataplane.volume.engine.needle_map import DELETED_BIT, Entry

FORMAT_VERSION = 1
_META_KEY = b"meta"
# format version, covered .idx bytes, compaction revision, file_count, file_byte_count,
# delete_count, deleted_byte_count, max_key; the last applied entry follows.
_META = struct.Struct(">BQHQQQQQ")
_KEY = struct.Struct(">Q")
_VALUE = struct.Struct(">QI")
_OFFSET_MASK = DELETED_BIT - 1
# LMDB's map size is a reservation of address space, not disk; start small and double on
# MapFullError so thousands of volumes do not each reserve gigabytes.
_INITIAL_MAP_SIZE = 64 << 20

T = TypeVar("T")


class LmdbNeedleMap:
    def __init__(self, path: str, fmt: IdxFormat) -> None:
        self._fmt = fmt
        self._env = lmdb.open(path, map_size=_INITIAL_MAP_SIZE, subdir=True, sync=False,
                              metasync=False, lock=False, readahead=False, max_dbs=0)
        self.covered = 0
        self.compaction_revision = 0
        self.last_entry = b""
        self.file_count = 0
        self.file_byte_count = 0
        self.delete_count = 0
        self.deleted_byte_count = 0
        self.max_key = 0
        self._entries = 0
        self._entries = self._env.stat()["entries"]
        with self._env.begin() as txn:
            meta = txn.get(_META_KEY)
        if meta is not None and len(meta) >= _META.size and meta[0] == FORMAT_VERSION:
            (_, self.covered, self.compaction_revision, self.file_count, self.file_byte_count,
             self.delete_count, self.deleted_byte_count, self.max_key) = _META.unpack_from(meta)
            self.last_entry = bytes(meta[_META.size:])
            self._entries -= 1

    def matches(self, idx_length: int, entry_before_covered: bytes, compaction_revision: int) -> bool:
        """Whether this map is a prefix of the given .idx (of that length and revision)."""
        return (self.covered <= idx_length and self.compaction_revision == compaction_revision
                and entry_before_covered == self.last_entry)

    def rebuild(self, summary: IdxSummary, covered: int, last_entry: bytes, compaction_revision: int) -> None:
        """Replace the contents with a whole-.idx summary (sorted keys, so LMDB appends)."""
        words = summary.offsets | (summary.deleted.astype(np.uint64) << np.uint64(63))
        keys = summary.keys.astype(">u8").tobytes()
        values = np.empty(len(summary.keys), dtype=[("o", ">u8"), ("s", ">u4")])
        values["o"] = words
        values["s"] = summary.sizes
        raw_values = values.tobytes()
        count = len(summary.keys)
        self.file_count = summary.file_count
        self.file_byte_count = summary.file_byte_count
        self.delete_count = summary.delete_count
        self.deleted_byte_count = summary.deleted_byte_count
        self.max_key = summary.max_key
        self.covered = covered
        self.last_entry = last_entry
        self.compaction_revision = compaction_revision

        def write(txn: lmdb.Transaction) -> None:
            txn.drop(self._env.open_db(txn=txn), delete=False)
            pairs = ((keys[i * 8 : i * 8 + 8], raw_values[i * 12 : i * 12 + 12]) for i in range(count))
            with txn.cursor() as cur:
                cur.putmulti(pairs, append=True)
            txn.put(_META_KEY, self._meta())

        self._write(write)
        self._entries = count

    def replay(self, keys: U64Array, offsets: U64Array, sizes: U32Array, covered: int) -> None:
        """Apply .idx entries that follow `self.covered`, in order, in one transaction."""
        if len(keys) == 0:
            return

        def write(txn: lmdb.Transaction) -> None:
            for key, offset, size in zip(keys.tolist(), offsets.tolist(), sizes.tolist(), strict=True):
                if offset != 0 and size < 0x80000000:
                    self._put_in(txn, key, offset, size)
                else:
                    self._delete_in(txn, key)
            self.covered = covered
            self.last_entry = self._fmt.pack(int(keys[-1]), int(offsets[-1]), int(sizes[-1]))
            txn.put(_META_KEY, self._meta())

        self._write(write)

    def __len__(self) -> int:
        return self._entries

    def get(self, key: int) -> Entry | None:
        with self._env.begin() as txn:
            value = txn.get(_KEY.pack(key))
        if value is None:
            return None
        word, size = _VALUE.unpack(value)
        return word & _OFFSET_MASK, size, word >= DELETED_BIT

    def put(self, key: int, offset_units: int, size: int) -> None:
        def write(txn: lmdb.Transaction) -> None:
            self._put_in(txn, key, offset_units, size)
            self.covered += self._fmt.entry_size
            self.last_entry = self._fmt.pack(key, offset_units, size)
            txn.put(_META_KEY, self._meta())

        self._write(write)

    def delete(self, key: int, tombstone_offset_units: int) -> int | None:
        def write(txn: lmdb.Transaction) -> int | None:
            size = self._delete_in(txn, key)
            self.covered += self._fmt.entry_size
            self.last_entry = self._fmt.pack(key, tombstone_offset_units, TOMBSTONE_SIZE)
            txn.put(_META_KEY, self._meta())
            return size

        return self._write(write)

    def close(self) -> None:
        self._env.close()

    def _put_in(self, txn: lmdb.Transaction, key: int, offset_units: int, size: int) -> None:
        kb = _KEY.pack(key)
        old = txn.get(kb)
        if old is None:
            self._entries += 1
        else:
            word, old_size = _VALUE.unpack(old)
            if word < DELETED_BIT:
                self.delete_count += 1
                self.deleted_byte_count += old_size
        txn.put(kb, _VALUE.pack(offset_units, size))
        self.file_count += 1
        self.file_byte_count += size
        if key > self.max_key:
            self.max_key = key

    def _delete_in(self, txn: lmdb.Transaction, key: int) -> int | None:
        if key > self.max_key:
            self.max_key = key
        kb = _KEY.pack(key)
        old = txn.get(kb)
        if old is None:
            return None
        word, size = _VALUE.unpack(old)
        if word >= DELETED_BIT:
            return None
        txn.put(kb, _VALUE.pack(word | DELETED_BIT, size))
        self.delete_count += 1
        self.deleted_byte_count += size
        return int(size)

    def _meta(self) -> bytes:
        return _META.pack(FORMAT_VERSION, self.covered, self.compaction_revision & 0xFFFF, self.file_count,
                          self.file_byte_count, self.delete_count, self.deleted_byte_count,
                          self.max_key) + self.last_entry

    def _write(self, fn: Callable[[lmdb.Transaction], T]) -> T:
        """Run fn in a write transaction, doubling the map size when it fills."""
        saved = (self.covered, self.last_entry, self.file_count, self.file_byte_count, self.delete_count,
                 self.deleted_byte_count, self.max_key, self._entries)
        while True:
            try:
                with self._env.begin(write=True) as txn:
                    return fn(txn)
            except lmdb.MapFullError:
                (self.covered, self.last_entry, self.file_count, self.file_byte_count, self.delete_count,
                 self.deleted_byte_count, self.max_key, self._entries) = saved
                self._env.set_mapsize(self._env.info()["map_size"] * 2)
