"""wait_for_change: true at once when the log is already past the position, false after the
timeout when nothing comes, woken by this store's own commit; and on PostgreSQL, a commit through
one FilerStore wakes a waiter on another (two filers, one database) through LISTEN/NOTIFY, within a
second, with polling turned off so nothing else could wake it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from controlplane.filer.store import FilerStore, StoreConfig, filer_store, open_store

DEADLINE = 10.0


def commit_one(store: FilerStore) -> None:
    with store.transaction() as tx:
        tx.log_change("/", time.time_ns(), b"x")


def test_past_position_and_timeout(store: FilerStore) -> None:
    commit_one(store)
    assert store.wait_for_change(0, 5.0) is True
    started = time.monotonic()
    assert store.wait_for_change(1, 0.2) is False
    assert 0.2 <= time.monotonic() - started < 2.0


class Waiter:
    """Runs wait_for_change in a thread; `checking` is set once its first look at the log is done,
    so a commit after that can only be seen through a wake-up."""

    def __init__(self, store: FilerStore, monkeypatch: pytest.MonkeyPatch, after_seq: int) -> None:
        self.checking = threading.Event()
        self.result: list[tuple[bool, float]] = []
        original = store.last_seq

        def last_seq() -> int:
            value = original()
            self.checking.set()
            return value

        monkeypatch.setattr(store, "last_seq", last_seq)
        self.thread = threading.Thread(target=self._run, args=(store, after_seq))
        self.thread.start()
        assert self.checking.wait(DEADLINE)

    def _run(self, store: FilerStore, after_seq: int) -> None:
        woke = store.wait_for_change(after_seq, DEADLINE)
        self.result.append((woke, time.monotonic()))

    def woke_within(self, committed_at: float) -> float:
        self.thread.join(DEADLINE)
        woke, at = self.result[0]
        assert woke
        return at - committed_at


def test_own_commit_wakes_at_once(store: FilerStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(filer_store, "SQLITE_POLL_SECONDS", 30.0)
    monkeypatch.setattr(filer_store, "PG_POLL_SECONDS", 30.0)
    waiter = Waiter(store, monkeypatch, 0)
    commit_one(store)
    assert waiter.woke_within(time.monotonic()) < 1.0


@pytest.fixture
def two_filers(pg_store_config: StoreConfig) -> Iterator[tuple[FilerStore, FilerStore]]:
    first = open_store(pg_store_config)
    second = open_store(pg_store_config)
    try:
        yield first, second
    finally:
        first.close()
        second.close()


def test_notify_wakes_the_other_filer(two_filers: tuple[FilerStore, FilerStore],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(filer_store, "PG_POLL_SECONDS", 30.0)  # only NOTIFY can wake it in time
    writer, reader = two_filers
    for after_seq, (one, other) in enumerate([(writer, reader), (reader, writer)]):
        waiter = Waiter(other, monkeypatch, after_seq)
        commit_one(one)
        assert waiter.woke_within(time.monotonic()) < 1.0
    assert writer.last_seq() == reader.last_seq() == 2
