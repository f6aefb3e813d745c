"""An error inside a transaction leaves nothing behind: no entry, change, queued chunk or kv
write, and the change log's numbering goes on without a gap."""

from __future__ import annotations

import pytest

from controlplane.filer.store import FilerStore


class Boom(Exception):
    pass


def test_error_rolls_everything_back(store: FilerStore) -> None:
    with store.transaction() as tx:
        tx.insert("/", "kept", b"k")
        tx.log_change("/", 10, b"kept")
    assert store.last_seq() == 1

    with pytest.raises(Boom), store.transaction() as tx:
        tx.insert("/", "lost", b"x")
        tx.upsert("/", "kept", b"overwritten")
        tx.log_change("/", 11, b"lost")
        tx.queue_chunk_deletions(["3,0144", "3,0255"])
        tx.kv_put(b"lost", b"x")
        raise Boom

    with store.transaction(read_only=True) as tx:
        assert tx.find("/", "lost") is None
        assert tx.find("/", "kept") == b"k"
        assert tx.kv_get(b"lost") is None
    assert store.last_seq() == 1
    assert [row.payload for row in store.changes_after(0)] == [b"kept"]
    assert store.pending_chunk_deletions() == 0
    assert store.take_chunk_deletions(10) == []

    with store.transaction() as tx:
        tx.log_change("/", 12, b"next")
    assert [(row.seq, row.payload) for row in store.changes_after(0)] == [(1, b"kept"), (2, b"next")]
