"""standby.py on a real store (SQLite; PostgreSQL when a server is there): steps and checkpoint
commit together or not at all, tree deletes stay inside their directory, reset clears both."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from controlplane.filer.backup.checkpoint import Checkpoint
from controlplane.filer.backup.events import Delete, Step, TreeDelete, Upsert
from controlplane.filer.backup.standby import Standby
from controlplane.filer.store import StoreConfig, open_store
from tests.pgtest import pg_database, pg_store_config  # noqa: F401  (fixtures)


@pytest.fixture(params=["sqlite", "postgres"])
def standby(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Standby]:
    if request.param == "sqlite":
        config = StoreConfig(kind="sqlite", path=str(tmp_path / "standby.db"))
    else:
        config = request.getfixturevalue("pg_store_config")
    store = open_store(config)
    try:
        yield Standby(store)
    finally:
        store.close()


def rows(standby: Standby, directory: str) -> list[str]:
    return [name for name, _ in standby.list(directory, "", 1000)]


def point(ts: int) -> Checkpoint:
    return Checkpoint(ts_ns=ts, filer_path="/", traversal_start_ns=1)


def test_steps_and_checkpoint_commit_together(standby: Standby) -> None:
    standby.apply([Step((), (Upsert("/", "a", b"1"), Upsert("/a", "x", b"2")))], point(10))
    assert rows(standby, "/") == ["a"] and standby.checkpoint() == point(10)

    class Boom(Exception):
        pass

    class Unwritable(Checkpoint):
        def encode(self) -> bytes:  # fails inside the transaction, after the rows went in
            raise Boom()

    with pytest.raises(Boom):
        standby.apply([Step((), (Upsert("/", "b", b"3"),))], Unwritable(20, "/", 1))
    assert rows(standby, "/") == ["a"] and standby.checkpoint() == point(10)


def test_tree_delete_stays_inside_and_reset_clears(standby: Standby) -> None:
    upserts = tuple(Upsert(d, n, b"x") for d, n in [("/", "a"), ("/", "ab"), ("/a", "x"), ("/a/x", "y"),
                                                     ("/ab", "z"), ("/a0", "w")])
    standby.apply([Step((), upserts)], point(5))
    standby.apply([Step((Delete("/", "a"),), (), TreeDelete("/a"))], point(6))
    assert rows(standby, "/") == ["ab"] and rows(standby, "/a") == [] and rows(standby, "/a/x") == []
    assert rows(standby, "/ab") == ["z"] and rows(standby, "/a0") == ["w"]
    standby.reset("/ab")
    assert rows(standby, "/ab") == [] and rows(standby, "/") == ["ab"] and standby.checkpoint() is None
    standby.reset("/")
    assert rows(standby, "/") == [] and rows(standby, "/a0") == []
