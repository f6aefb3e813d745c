"""The chunk deletion queue: queued in the mutating transaction, taken in order with a lease
(a second taker gets nothing until the lease ends), removed by done_chunk_deletions."""

from __future__ import annotations

from controlplane.filer.store import FilerStore


def test_take_lease_and_done(store: FilerStore) -> None:
    with store.transaction() as tx:
        tx.queue_chunk_deletions(["1,01", "1,02"])
        tx.queue_chunk_deletions([])
    with store.transaction() as tx:
        tx.queue_chunk_deletions(["2,03"])
    assert store.pending_chunk_deletions() == 3

    first = store.take_chunk_deletions(2)
    assert [fid for _, fid in first] == ["1,01", "1,02"]
    second = store.take_chunk_deletions(10)
    assert [fid for _, fid in second] == ["2,03"]  # the first two are leased
    assert store.take_chunk_deletions(10) == []
    assert store.take_chunk_deletions(0) == []

    store.done_chunk_deletions([row_id for row_id, _ in first])
    assert store.pending_chunk_deletions() == 1


def test_expired_lease_is_taken_again(store: FilerStore) -> None:
    with store.transaction() as tx:
        tx.queue_chunk_deletions(["5,0a"])
    taken = store.take_chunk_deletions(10, lease_seconds=0)  # a worker that died at once
    again = store.take_chunk_deletions(10)
    assert taken == again and [fid for _, fid in again] == ["5,0a"]
    store.done_chunk_deletions([row_id for row_id, _ in again])
    assert store.pending_chunk_deletions() == 0
