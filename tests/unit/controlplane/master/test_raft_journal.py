"""kelp's Raft journal: entries survive a reopen, truncation from either end sticks, a torn or
garbled tail is cut at the last good record, pysyncobj's own journal files read back, and the
saved commit index never exceeds the journal."""

from __future__ import annotations

import os
import struct
from pathlib import Path

from pysyncobj.journal import FileJournal

from controlplane.master.raft_journal import END_OFFSET_AT, KelpJournal


def _fill(j: KelpJournal, first: int, last: int, term: int = 1) -> None:
    for idx in range(first, last + 1):
        j.add(f"cmd{idx}".encode(), idx, term)


def test_write_and_reopen(tmp_path: Path) -> None:
    path = str(tmp_path / "raft.journal")
    j = KelpJournal(path, fsync=True)
    _fill(j, 1, 50)
    j.setCurrentTerm(3, "127.0.0.1:42001")
    j.setRaftCommitIndex(40)
    j.onOneSecondTimer()
    j.sync()
    j._destroy()
    again = KelpJournal(path)
    assert len(again) == 50
    assert again[0] == (b"cmd1", 1, 1) and again[-1] == (b"cmd50", 50, 1)
    assert [e[1] for e in again[10:12]] == [11, 12]
    assert again.getCurrentTerm() == 3 and again.getVotedForNodeId() == "127.0.0.1:42001"
    assert again.getRaftCommitIndex() == 40


def test_truncate_from_and_to_survive_reopen(tmp_path: Path) -> None:
    path = str(tmp_path / "raft.journal")
    j = KelpJournal(path)
    _fill(j, 1, 30)
    j.deleteEntriesFrom(20)  # keeps indexes 1..20
    _fill(j, 21, 25, term=2)  # a new leader's entries replace the tail
    j.deleteEntriesTo(5)  # compaction: drops indexes 1..5
    assert [e[1] for e in j[:]] == list(range(6, 26))
    j._destroy()
    again = KelpJournal(path)
    assert [e[1] for e in again[:]] == list(range(6, 26))
    assert again[-1] == (b"cmd25", 25, 2)
    assert not os.path.exists(path + ".tmp")


def test_a_torn_tail_is_cut_at_the_last_good_record(tmp_path: Path) -> None:
    path = str(tmp_path / "raft.journal")
    j = KelpJournal(path)
    _fill(j, 1, 10)
    j._destroy()
    size = os.path.getsize(path)
    with open(path, "r+b") as f:  # the header says more than reached the disk
        f.seek(END_OFFSET_AT)
        f.write(struct.pack("<I", size + 4096))
        f.seek(size - 10)
        f.write(b"\xff" * 10)  # and the last record is garbled
    again = KelpJournal(path)
    assert [e[1] for e in again[:]] == list(range(1, 10))
    again.setRaftCommitIndex(10)  # a commit index saved before the loss
    assert again.getRaftCommitIndex() == 9
    _fill(again, 10, 12)
    again._destroy()
    assert [e[1] for e in KelpJournal(path)[:]] == list(range(1, 13))


def test_reads_pysyncobj_journals_and_pysyncobj_reads_ours(tmp_path: Path) -> None:
    theirs = str(tmp_path / "theirs.journal")
    f = FileJournal(theirs)
    for idx in range(1, 6):
        f.add(b"x" * idx, idx, 7)
    f.setCurrentTerm(7, None)
    f._destroy()
    ours = KelpJournal(theirs)
    assert [(e[1], e[2], len(e[0])) for e in ours[:]] == [(i, 7, i) for i in range(1, 6)]
    assert ours.getCurrentTerm() == 7
    _fill(ours, 6, 8, term=8)
    ours._destroy()
    back = FileJournal(theirs)
    assert [e[1] for e in back[:]] == list(range(1, 9)) and back[-1][2] == 8
    back._destroy()
