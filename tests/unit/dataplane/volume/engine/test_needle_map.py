"""CompactNeedleMap: appends, out-of-order keys and merges, overwrites, deletes, counters."""

from __future__ import annotations

import random

from dataplane.volume.engine.needle_map import _MERGE_MIN, CompactNeedleMap


def test_put_get_overwrite_delete() -> None:
    m = CompactNeedleMap()
    assert m.get(1) is None
    m.put(1, 10, 100)
    m.put(2, 20, 200)
    assert m.get(1) == (10, 100, False)
    m.put(1, 30, 150)  # overwrite: the old Size counts as deleted
    assert m.get(1) == (30, 150, False)
    assert m.delete(2, 40) == 200
    assert m.get(2) == (20, 200, True)  # data stays addressable for readDeleted
    assert m.delete(2, 41) is None and m.delete(99, 42) is None
    assert (m.file_count, m.file_byte_count, m.delete_count, m.deleted_byte_count) == (3, 450, 2, 300)
    m.put(2, 50, 5)  # re-put after delete: no second deletion
    assert m.get(2) == (50, 5, False) and m.delete_count == 2
    assert len(m) == 2 and m.max_key == 99


def test_out_of_order_keys_survive_merges() -> None:
    rng = random.Random(1)
    keys = list(range(1, 3 * _MERGE_MIN + 500))
    rng.shuffle(keys)
    m = CompactNeedleMap()
    for k in keys:
        m.put(k, k * 2, k % 1000)
    for k in keys[::3]:
        assert m.delete(k, 1) == k % 1000
    deleted = set(keys[::3])
    for k in range(1, 3 * _MERGE_MIN + 500):
        assert m.get(k) == (k * 2, k % 1000, k in deleted)
    assert m.get(0) is None and m.get(10**9) is None
    assert len(m) == len(keys)


def test_large_offsets_and_sizes_fit() -> None:
    m = CompactNeedleMap()
    m.put(2**64 - 1, (1 << 40) - 1, 0x7FFFFFFF)
    assert m.get(2**64 - 1) == ((1 << 40) - 1, 0x7FFFFFFF, False)
