"""`.ecx` built from `.idx` (live entries, sorted), binary search, the `.ecj` journal."""

from __future__ import annotations

from pathlib import Path

import pytest

from dataplane.volume.engine.ec.errors import CorruptEcIndex
from dataplane.volume.engine.ec.index import EcIndex, Journal, apply_journal, read_journal, write_ecx_from_idx
from dataplane.volume.engine.idx import TOMBSTONE_SIZE, IdxFormat


def test_ecx_holds_the_last_live_entry_of_each_key_sorted(tmp_path: Path, fmt: IdxFormat) -> None:
    entries = [(9, 1, 100), (3, 20, 50), (9, 40, 70),  # 9 overwritten
               (5, 60, 10), (5, 62, TOMBSTONE_SIZE),  # 5 deleted
               (7, 0, 30),  # zero offset removes (a remote-tier delete)
               (1, 70, 0),  # an empty needle is live
               (2**63 + 5, 80, 5)]  # keys compare unsigned
    (tmp_path / "v.idx").write_bytes(b"".join(fmt.pack(*e) for e in entries) + b"\x01\x02")  # torn tail
    count = write_ecx_from_idx(str(tmp_path / "v.idx"), str(tmp_path / "v.ecx"), fmt)
    raw = (tmp_path / "v.ecx").read_bytes()
    assert count == 4 and len(raw) == 4 * fmt.entry_size
    assert [fmt.unpack(raw, i * fmt.entry_size) for i in range(4)] == [
        (1, 70, 0), (3, 20, 50), (9, 40, 70), (2**63 + 5, 80, 5)]
    with EcIndex(str(tmp_path / "v.ecx"), fmt) as index:
        assert index.find(9) == (40, 70) and index.find(2**63 + 5) == (80, 5) and index.find(1) == (70, 0)
        assert index.find(5) is None and index.find(0) is None and index.find(2**64 - 1) is None


def test_journal_append_reload_and_torn_tail(tmp_path: Path) -> None:
    path = str(tmp_path / "v.ecj")
    assert read_journal(path) == set()
    j = Journal(path)
    j.append(0x6A)
    j.append(7)
    j.close()
    assert (tmp_path / "v.ecj").read_bytes()[:8] == bytes.fromhex("000000000000006a")
    with open(path, "ab") as f:
        f.write(b"\x00\x01")  # a crash mid-append
    assert read_journal(path) == {0x6A, 7}
    j = Journal(path)  # cuts the torn bytes so the next entry is aligned
    j.append(9)
    j.close()
    assert read_journal(path) == {0x6A, 7, 9} and (tmp_path / "v.ecj").stat().st_size == 24


def test_apply_journal_marks_ecx_and_removes_ecj(tmp_path: Path, fmt: IdxFormat) -> None:
    ecx, ecj = tmp_path / "v.ecx", tmp_path / "v.ecj"
    ecx.write_bytes(b"".join(fmt.pack(k, k * 2, 10) for k in (1, 2, 3)))
    j = Journal(str(ecj))
    for key in (2, 99):  # 99 is not in the index: ignored
        j.append(key)
    j.close()
    assert apply_journal(str(ecx), str(ecj), fmt) == 1
    assert not ecj.exists()
    with EcIndex(str(ecx), fmt) as index:
        assert index.find(2) == (4, TOMBSTONE_SIZE) and index.find(1) == (2, 10)
    assert apply_journal(str(ecx), str(ecj), fmt) == 0  # no journal: nothing to do


def test_ecx_of_partial_entries_is_corrupt(tmp_path: Path) -> None:
    (tmp_path / "v.ecx").write_bytes(b"\x00" * 20)
    with pytest.raises(CorruptEcIndex):
        EcIndex(str(tmp_path / "v.ecx"), IdxFormat(True))
