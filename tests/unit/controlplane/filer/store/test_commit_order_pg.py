"""The proof that no reader skips a late-committing transaction, on PostgreSQL (where transactions
really run concurrently), in the two interleavings that matter:

A. T1 starts first, writes and logs, and holds; T2 logs and commits; a reader in between. T1's change
   has no seq yet, so the reader sees T2 at seq 1; T1 then commits as seq 2, after the reader's
   position: read once, never skipped.
B. T1 holds at its very commit, after its seq was allocated and its row written; T2 must then wait
   for T1 to end, and a reader in between sees neither. After both: T1 then T2, each once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from controlplane.filer.store import FilerStore, StoreConfig, open_store

DEADLINE = 10.0


@pytest.fixture
def pg_store(pg_store_config: StoreConfig) -> Iterator[FilerStore]:
    store = open_store(pg_store_config)
    try:
        yield store
    finally:
        store.close()


def _committing(store: FilerStore, name: str, payload: bytes) -> None:
    with store.transaction() as tx:
        tx.insert("/", name, b"")
        tx.log_change("/", time.time_ns(), payload)


def test_reader_between_a_held_and_a_committed_transaction(pg_store: FilerStore) -> None:
    logged, release = threading.Event(), threading.Event()

    def t1() -> None:
        with pg_store.transaction() as tx:
            tx.insert("/", "t1", b"")
            tx.log_change("/", time.time_ns(), b"T1")
            logged.set()
            assert release.wait(DEADLINE)

    holder = threading.Thread(target=t1)
    holder.start()
    try:
        assert logged.wait(DEADLINE)
        _committing(pg_store, "t2", b"T2")
        between = pg_store.changes_after(0)
        assert [(r.seq, r.payload) for r in between] == [(1, b"T2")]
        cursor = between[-1].seq
    finally:
        release.set()
        holder.join(DEADLINE)
    assert [(r.seq, r.payload) for r in pg_store.changes_after(cursor)] == [(2, b"T1")]
    assert [(r.seq, r.payload) for r in pg_store.changes_after(0)] == [(1, b"T2"), (2, b"T1")]


def _lock_waiters(store: FilerStore) -> int:
    with store.engine.connect() as connection:
        return int(connection.execute(sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'")).scalar_one())


def test_reader_while_the_first_holds_its_commit(pg_store: FilerStore) -> None:
    at_commit, release = threading.Event(), threading.Event()
    holder_ident: list[int] = []

    @event.listens_for(pg_store.engine, "commit")
    def hold_t1(_connection: sa.Connection) -> None:  # runs just before COMMIT is sent
        if holder_ident and threading.get_ident() == holder_ident[0]:
            at_commit.set()
            assert release.wait(DEADLINE)

    def t1() -> None:
        holder_ident.append(threading.get_ident())
        _committing(pg_store, "t1", b"T1")

    holder = threading.Thread(target=t1)
    second = threading.Thread(target=_committing, args=(pg_store, "t2", b"T2"))
    holder.start()
    try:
        assert at_commit.wait(DEADLINE)  # T1 has seq 1 allocated and written, uncommitted
        second.start()
        deadline = time.monotonic() + DEADLINE
        while _lock_waiters(pg_store) == 0:  # T2 queues on the allocation row lock
            assert time.monotonic() < deadline, "T2 never waited for T1"
            time.sleep(0.01)
        assert second.is_alive()
        assert pg_store.changes_after(0) == []
        assert pg_store.last_seq() == 0
    finally:
        release.set()
        holder.join(DEADLINE)
        second.join(DEADLINE)
    assert not holder.is_alive() and not second.is_alive()
    assert [(r.seq, r.payload) for r in pg_store.changes_after(0)] == [(1, b"T1"), (2, b"T2")]
