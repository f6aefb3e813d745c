"""LmdbNeedleMap: persistence, the covered-.idx bookkeeping, rebuild and replay, map growth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dataplane.volume.engine import needle_map_lmdb
from dataplane.volume.engine.idx import TOMBSTONE_SIZE, IdxFormat, summarize
from dataplane.volume.engine.needle_map_lmdb import LmdbNeedleMap

FMT = IdxFormat(True)


def test_entries_and_counters_persist(tmp_path: Path) -> None:
    path = str(tmp_path / "1.ldb")
    m = LmdbNeedleMap(path, FMT)
    m.put(1, 10, 100)
    m.put(2, 20, 200)
    m.put(1, 30, 150)
    assert m.delete(2, 40) == 200
    assert m.delete(2, 41) is None
    m.close()
    m = LmdbNeedleMap(path, FMT)
    assert m.get(1) == (30, 150, False) and m.get(2) == (20, 200, True) and m.get(3) is None
    assert (m.file_count, m.file_byte_count, m.delete_count, m.deleted_byte_count) == (3, 450, 2, 300)
    assert m.covered == 5 * FMT.entry_size  # every put and delete is one .idx entry
    assert m.last_entry == FMT.pack(2, 41, TOMBSTONE_SIZE)
    assert len(m) == 2
    m.close()


def test_matches_only_a_prefix_of_the_same_idx(tmp_path: Path) -> None:
    m = LmdbNeedleMap(str(tmp_path / "1.ldb"), FMT)
    m.put(1, 10, 100)
    entry = FMT.pack(1, 10, 100)
    assert m.matches(FMT.entry_size, entry, 0)
    assert m.matches(10 * FMT.entry_size, entry, 0)  # an .idx that grew since: replay its tail
    assert not m.matches(0, b"", 0)  # the .idx is shorter than what the map covers
    assert not m.matches(FMT.entry_size, FMT.pack(1, 11, 100), 0)  # different history
    assert not m.matches(FMT.entry_size, entry, 1)  # vacuumed since
    m.close()


def test_rebuild_then_replay_equals_the_walk(tmp_path: Path) -> None:
    entries = [(5, 1, 100), (3, 20, 50), (5, 40, 60), (3, 50, TOMBSTONE_SIZE)]
    tail = [(8, 60, 7), (5, 70, TOMBSTONE_SIZE)]
    raw = b"".join(FMT.pack(*e) for e in entries)
    m = LmdbNeedleMap(str(tmp_path / "1.ldb"), FMT)
    m.rebuild(summarize(*FMT.decode_all(raw)), len(raw), FMT.pack(*entries[-1]), 4)
    tail_raw = b"".join(FMT.pack(*e) for e in tail)
    m.replay(*FMT.decode_all(tail_raw), covered=len(raw) + len(tail_raw))
    whole = summarize(*FMT.decode_all(raw + tail_raw))
    for key, offset, size, deleted in zip(whole.keys.tolist(), whole.offsets.tolist(), whole.sizes.tolist(),
                                          whole.deleted.tolist(), strict=True):
        assert m.get(key) == (offset, size, deleted)
    assert (m.file_count, m.delete_count, m.deleted_byte_count) == (
        whole.file_count, whole.delete_count, whole.deleted_byte_count)
    assert m.covered == len(raw) + len(tail_raw) and m.compaction_revision == 4
    m.close()


def test_map_grows_past_its_initial_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(needle_map_lmdb, "_INITIAL_MAP_SIZE", 64 << 10)
    path = str(tmp_path / "1.ldb")
    m = LmdbNeedleMap(path, FMT)
    keys = np.arange(1, 20001, dtype=np.uint64)
    raw = FMT.encode_all(keys, keys * np.uint64(4), np.full(len(keys), 9, dtype=np.uint32))
    m.rebuild(summarize(*FMT.decode_all(raw)), len(raw), raw[-FMT.entry_size :], 0)
    for k in range(20001, 21001):
        m.put(k, k * 4, 9)
    m.close()
    m = LmdbNeedleMap(path, FMT)
    assert m.get(1) == (4, 9, False) and m.get(21000) == (84000, 9, False) and len(m) == 21000
    m.close()
