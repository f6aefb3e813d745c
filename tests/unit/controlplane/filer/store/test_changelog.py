"""The change log on one connection at a time: gap-free seqs in commit order, paging with limit,
time -> seq mapping with out-of-order ts_ns, retention and the explicit ChangesTrimmed."""

from __future__ import annotations

import pytest

from controlplane.filer.store import ChangesTrimmed, FilerStore, changelog


def log(store: FilerStore, *events: tuple[int, bytes], directory: str = "/") -> int | None:
    with store.transaction() as tx:
        for ts_ns, payload in events:
            tx.log_change(directory, ts_ns, payload)
    return tx.last_seq


def test_empty_log(store: FilerStore) -> None:
    assert store.last_seq() == 0
    assert store.oldest_seq() is None
    assert store.trimmed_seq() == 0
    assert store.changes_after(0) == []
    assert store.first_seq_at_or_after(0) is None
    assert store.cursor_for_time(0) == 0
    assert store.trim_changes(1 << 62) == 0


def test_seqs_are_dense_in_commit_order(store: FilerStore) -> None:
    assert log(store, (5, b"a")) == 1
    assert log(store, (6, b"b"), (7, b"c"), (8, b"d")) == 4
    with store.transaction() as tx:
        tx.insert("/", "no-change", b"")
    assert tx.last_seq is None  # nothing logged, nothing numbered
    assert log(store, (9, b"e"), directory="/sub") == 5
    rows = store.changes_after(0)
    assert [(r.seq, r.ts_ns, r.payload) for r in rows] == [
        (1, 5, b"a"), (2, 6, b"b"), (3, 7, b"c"), (4, 8, b"d"), (5, 9, b"e")]
    assert rows[-1].directory == "/sub"
    assert [r.seq for r in store.changes_after(1, limit=2)] == [2, 3]
    assert store.changes_after(5) == []
    assert store.last_seq() == 5 and store.oldest_seq() == 1


def test_time_maps_to_a_seq_no_later_than_any_row_at_that_time(store: FilerStore) -> None:
    # A transaction that stamped its time early but committed late (seq 2, ts 50) follows one
    # with a later time: ts_ns is not monotonic in seq, the mapping must still miss nothing.
    log(store, (100, b"1"))
    log(store, (50, b"2"))
    log(store, (200, b"3"))
    log(store, (150, b"4"))
    rows = store.changes_after(0)
    for ts in (0, 49, 50, 51, 100, 101, 150, 199, 200, 201):
        first = store.first_seq_at_or_after(ts)
        wanted = [r.seq for r in rows if r.ts_ns >= ts]
        if first is None:
            assert wanted == []
        else:
            assert all(seq >= first for seq in wanted)
        cursor = store.cursor_for_time(ts)
        assert {r.seq for r in store.changes_after(cursor)} >= set(wanted)
    assert store.first_seq_at_or_after(60) == 1
    assert store.first_seq_at_or_after(101) == 3
    assert store.first_seq_at_or_after(201) is None
    assert store.cursor_for_time(201) == 4  # nothing that recent yet: start after the last


def test_retention_trims_a_prefix_and_says_so(store: FilerStore) -> None:
    log(store, (100, b"1"))
    log(store, (90, b"2"))   # ts_high stays 100
    log(store, (200, b"3"))
    assert store.trim_changes(150) == 2
    assert store.oldest_seq() == 3 and store.trimmed_seq() == 2 and store.last_seq() == 3
    assert [r.seq for r in store.changes_after(2)] == [3]
    for behind in (0, 1):
        with pytest.raises(ChangesTrimmed) as caught:
            store.changes_after(behind)
        assert (caught.value.after_seq, caught.value.trimmed_seq) == (behind, 2)
    with pytest.raises(ChangesTrimmed) as by_time:
        store.cursor_for_time(100)  # a trimmed row had ts_high 100
    assert by_time.value.since_ns == 100
    assert store.cursor_for_time(101) == 2

    assert store.trim_changes(1000) == 1
    assert store.oldest_seq() is None and store.last_seq() == 3
    assert store.changes_after(3) == []
    with pytest.raises(ChangesTrimmed):
        store.changes_after(2)
    assert log(store, (300, b"4")) == 4  # numbering goes on after the trimmed seqs
    assert [r.payload for r in store.changes_after(3)] == [b"4"]


def test_trim_in_batches(store: FilerStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(changelog, "TRIM_BATCH", 3)
    log(store, *[(i, b"x") for i in range(10)])
    log(store, (100, b"keep"))
    assert store.trim_changes(50) == 10
    assert [r.payload for r in store.changes_after(10)] == [b"keep"]
