"""Schema migrations: open_store migrates an empty database, migrate=False refuses one not at
head, migrating twice changes nothing, filers migrating one PostgreSQL at once all succeed (advisory
lock), and an unreachable server is StoreUnavailable, fast."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from controlplane.filer.store import (
    SchemaNotCurrent,
    StoreConfig,
    StoreUnavailable,
    migrate_store,
    open_store,
)
from controlplane.filer.store.migrate import head_revision


def test_migrate_then_open_without_migrating(store_config: StoreConfig) -> None:
    with pytest.raises(SchemaNotCurrent) as caught:
        open_store(store_config, migrate=False)
    assert (caught.value.current, caught.value.head) == (None, head_revision())
    assert "kelp filer.migrate" in str(caught.value)
    assert migrate_store(store_config) == (None, head_revision())
    assert migrate_store(store_config) == (head_revision(), head_revision())
    store = open_store(store_config, migrate=False)
    try:
        with store.transaction() as tx:
            tx.insert("/", "x", b"1")
    finally:
        store.close()
    store = open_store(store_config)  # migrating an up-to-date schema keeps the data
    try:
        with store.transaction(read_only=True) as tx:
            assert tx.find("/", "x") == b"1"
    finally:
        store.close()


def test_filers_migrating_together(pg_store_config: StoreConfig) -> None:
    results: list[object] = []

    def migrate() -> None:
        try:
            results.append(migrate_store(pg_store_config)[1])
        except Exception as err:
            results.append(err)

    threads = [threading.Thread(target=migrate) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results == [head_revision()] * 3


def test_unreachable_postgres_is_unavailable() -> None:
    # A port of this helper's range where nothing listens: connection refused.
    config = StoreConfig(kind="postgres", host="127.0.0.1", port=22999, user="kelp", database="none",
                         connect_timeout_seconds=2)
    started = time.monotonic()
    with pytest.raises(StoreUnavailable) as caught:
        open_store(config)
    assert time.monotonic() - started < 5
    assert caught.value.target == "postgres://kelp@127.0.0.1:22999/none"
    assert "secret" not in str(caught.value)


def test_unusable_sqlite_path_is_unavailable(tmp_path: Path) -> None:
    (tmp_path / "filer.db").mkdir()  # a directory where the database file should be
    with pytest.raises(StoreUnavailable):
        open_store(StoreConfig(kind="sqlite", path=str(tmp_path / "filer.db")))
