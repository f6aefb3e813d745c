"""kelp's rules in front of pysyncobj's append_entries handler: matching entries already
committed here are never truncated; a conflict below the applied index is reported."""

from __future__ import annotations

from typing import Any

from pysyncobj.journal import MemoryJournal

from controlplane.master.raft_replica import KelpReplica


def _replica(last: int, commit: int, applied: int) -> Any:
    r: Any = KelpReplica.__new__(KelpReplica)  # no network: only the message rewriting is used
    journal = MemoryJournal()
    for idx in range(1, last + 1):
        journal.add(b"c", idx, 1)
    r._SyncObj__raftLog = journal
    r._SyncObj__raftCommitIndex = commit
    r._SyncObj__raftLastApplied = applied
    r.kelp_diverged = 0
    return r


def _append(prev: int, entries: list[tuple[bytes, int, int]]) -> dict[str, Any]:
    return {"type": "append_entries", "term": 1, "commit_index": 10, "prevLogIdx": prev,
            "prevLogTerm": 1, "entries": entries}


def test_a_resent_matching_prefix_keeps_committed_entries() -> None:
    r = _replica(last=10, commit=8, applied=8)
    out = r._skip_matching(_append(3, [(b"c", 4, 1), (b"c", 5, 1)]))
    # pysyncobj truncates after prevLogIdx: now only the uncommitted 9..10 can go.
    assert out["prevLogIdx"] == 8 and out["entries"] == [] and out["prevLogTerm"] == 1


def test_new_entries_after_the_matching_ones_are_kept() -> None:
    r = _replica(last=5, commit=5, applied=5)
    out = r._skip_matching(_append(3, [(b"c", 4, 1), (b"c", 5, 1), (b"c", 6, 1)]))
    assert out["prevLogIdx"] == 5 and out["entries"] == [(b"c", 6, 1)]


def test_a_conflict_above_the_applied_index_is_left_to_pysyncobj() -> None:
    r = _replica(last=10, commit=6, applied=6)
    out = r._skip_matching(_append(6, [(b"d", 7, 2)]))
    assert out["prevLogIdx"] == 6 and out["entries"] == [(b"d", 7, 2)]
    assert r.kelp_diverged == 0


def test_a_conflict_at_an_applied_index_is_reported() -> None:
    r = _replica(last=10, commit=8, applied=8)
    r._skip_matching(_append(6, [(b"d", 7, 2)]))
    assert r.kelp_diverged == 1


def test_messages_without_a_tail_pass_unchanged() -> None:
    r = _replica(last=5, commit=5, applied=5)
    message = _append(5, [(b"c", 6, 1)])
    assert r._skip_matching(message) is message
