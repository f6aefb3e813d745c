"""`.idx` entries in both layouts, bulk decoding, and the last-entry-wins walk."""

from __future__ import annotations

import random

import numpy as np
import pytest

from dataplane.volume.engine.idx import (
    MAX_VOLUME_SIZE_LARGE,
    MAX_VOLUME_SIZE_STANDARD,
    TOMBSTONE_SIZE,
    IdxFormat,
    summarize,
)
from dataplane.volume.engine.needle_map import CompactNeedleMap

LARGE = IdxFormat(True)
STANDARD = IdxFormat(False)


def test_standard_entry_is_16_bytes() -> None:
    raw = STANDARD.pack(0x0102030405060708, 1, 0x4D)
    assert raw.hex() == "0102030405060708" "00000001" "0000004d"
    assert STANDARD.unpack(raw) == (0x0102030405060708, 1, 0x4D)
    assert STANDARD.max_volume_size == MAX_VOLUME_SIZE_STANDARD == 32 << 30


def test_large_entry_puts_the_high_offset_byte_after_the_low_four() -> None:
    assert LARGE.pack(1, 1, 0x4D).hex() == "0000000000000001" "00000001" "00" "0000004d"
    raw = LARGE.pack(7, (0xAB << 32) | 0x01020304, TOMBSTONE_SIZE)
    assert raw.hex() == "0000000000000007" "01020304" "ab" "ffffffff"
    assert LARGE.unpack(raw) == (7, (0xAB << 32) | 0x01020304, TOMBSTONE_SIZE)
    assert LARGE.entry_size == 17 and LARGE.max_volume_size == MAX_VOLUME_SIZE_LARGE == 8 << 40
    assert (LARGE.offset_bytes, STANDARD.offset_bytes) == (5, 4)


@pytest.mark.parametrize("fmt", [LARGE, STANDARD], ids=["large", "standard"])
def test_bulk_decode_and_encode_agree_with_single_entries(fmt: IdxFormat) -> None:
    high = 0x12 << 32 if fmt.large_disk else 0
    entries = [(1, 1, 10), (2**64 - 1, high | 0xFFFFFFFF, 0), (5, 9, TOMBSTONE_SIZE)]
    raw = b"".join(fmt.pack(*e) for e in entries) + b"\x01\x02"  # a partial trailing entry is ignored
    keys, offsets, sizes = fmt.decode_all(raw)
    assert list(zip(keys.tolist(), offsets.tolist(), sizes.tolist(), strict=True)) == entries
    assert fmt.encode_all(keys, offsets, sizes) == raw[:-2]


def test_walk_last_entry_wins_and_keeps_deleted_data_offsets() -> None:
    e = [(5, 1, 100), (3, 20, 50), (5, 40, 60), (3, 50, TOMBSTONE_SIZE), (9, 60, TOMBSTONE_SIZE),
         (7, 0, 10), (8, 70, 0)]
    keys, offsets, sizes = LARGE.decode_all(b"".join(LARGE.pack(*x) for x in e))
    s = summarize(keys, offsets, sizes)
    assert s.keys.tolist() == [3, 5, 8]  # 9 was only deleted; offset 0 is not a put
    assert s.offsets.tolist() == [20, 40, 70] and s.sizes.tolist() == [50, 60, 0]
    assert s.deleted.tolist() == [True, False, False]
    # Puts: 5, 3, 5, 8 -> 4 files; 5's first put (100) and 3 (50) are gone.
    assert (s.file_count, s.file_byte_count, s.delete_count, s.deleted_byte_count) == (4, 210, 2, 150)
    assert s.max_key == 9


def test_walk_of_nothing() -> None:
    s = summarize(*LARGE.decode_all(b""))
    assert len(s.keys) == 0 and (s.file_count, s.delete_count, s.max_key) == (0, 0, 0)


def test_bulk_walk_matches_one_by_one_replay() -> None:
    rng = random.Random(7)
    entries = []
    for i in range(5000):
        key = rng.randrange(1, 400)
        if rng.random() < 0.25:
            entries.append((key, i + 1, TOMBSTONE_SIZE))
        else:
            entries.append((key, i + 1, rng.randrange(0, 5000)))
    keys = np.array([e[0] for e in entries], dtype=np.uint64)
    offsets = np.array([e[1] for e in entries], dtype=np.uint64)
    sizes = np.array([e[2] for e in entries], dtype=np.uint32)
    s = summarize(keys, offsets, sizes)
    m = CompactNeedleMap()
    for key, offset, size in entries:
        if size == TOMBSTONE_SIZE:
            m.delete(key, offset)
        else:
            m.put(key, offset, size)
    bulk = CompactNeedleMap.from_summary(s)
    for key in range(1, 400):
        assert bulk.get(key) == m.get(key), key
    for attr in ("file_count", "file_byte_count", "delete_count", "deleted_byte_count", "max_key"):
        assert getattr(bulk, attr) == getattr(m, attr), attr
