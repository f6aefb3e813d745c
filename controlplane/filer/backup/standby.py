"""The standby store's writes: a batch of row steps plus the checkpoint, in ONE transaction.

Rows go in with executemany (one round trip per statement kind on PostgreSQL's pipelined
executemany, one prepared statement on SQLite), not one statement per event: that is what makes
a traversal of tens of thousands of entries and a catch-up after downtime fast. The checkpoint is
the transaction's last write, so a kill -9 leaves both or neither. The standby's own change log
is not written: a filer promoted on this store starts a new log of its own.

Imports the filer store (its tables for the batched statements) and this package's pure modules.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from controlplane.filer.backup.checkpoint import CHECKPOINT_KEY, Checkpoint
from controlplane.filer.backup.events import ROOT, Step, Upsert
from controlplane.filer.store import FilerStore, Tx, prefix_upper_bound
from controlplane.filer.store.tables import entries, kv

_E = entries.c
_DELETE_ROW = entries.delete().where(_E.directory == sa.bindparam("d"), _E.name == sa.bindparam("n"))


def _upsert(dialect: object) -> sa.Insert:
    statement = dialect.insert(entries)  # type: ignore[attr-defined]
    upsert: sa.Insert = statement.on_conflict_do_update(index_elements=["directory", "name"],
                                                        set_={"entry": statement.excluded.entry})
    return upsert


def _kv_upsert(dialect: object) -> sa.Insert:
    statement = dialect.insert(kv)  # type: ignore[attr-defined]
    upsert: sa.Insert = statement.on_conflict_do_update(index_elements=["key"],
                                                        set_={"value": statement.excluded.value})
    return upsert


_UPSERT = {"postgresql": _upsert(postgresql), "sqlite": _upsert(sqlite)}
# Built once: Tx.kv_put builds its statement per call, which cost 0.8 ms of a 1.2 ms one-event
# batch on PostgreSQL (most of the backup's own share of the lag).
_PUT_CHECKPOINT = {"postgresql": _kv_upsert(postgresql), "sqlite": _kv_upsert(sqlite)}


class Standby:
    """The standby filer store, as the backup writes and reads it."""

    def __init__(self, store: FilerStore) -> None:
        self.store = store

    def checkpoint(self) -> Checkpoint | None:
        """The stored checkpoint; None when there is none. Raises BadCheckpoint."""
        with self.store.transaction(read_only=True) as tx:
            raw = tx.kv_get(CHECKPOINT_KEY)
        return None if raw is None else Checkpoint.decode(raw)

    def apply(self, steps: Sequence[Step], checkpoint: Checkpoint | None) -> None:
        """Apply the steps in order and store the checkpoint (when given), in one transaction."""
        with self.store.transaction() as tx:
            for step in steps:
                _run_step(tx, step)
            if checkpoint is not None:
                connection = tx.connection
                connection.execute(_PUT_CHECKPOINT[connection.dialect.name],
                                   {"key": CHECKPOINT_KEY, "value": checkpoint.encode()})

    def write_entries(self, rows: Sequence[Upsert], checkpoint: Checkpoint | None = None) -> None:
        """Traversal pages: upsert rows (and, with the last page, the checkpoint)."""
        self.apply([Step((), tuple(rows))], checkpoint)

    def reset(self, root: str) -> None:
        """Before a traversal: drop every row under `root` and the checkpoint, in one transaction,
        so rows deleted on the primary while the backup was away do not linger, and a traversal
        killed half way is started again rather than resumed from a checkpoint it never earned."""
        with self.store.transaction() as tx:
            _delete_tree(tx, root)
            tx.kv_delete(CHECKPOINT_KEY)

    def list(self, directory: str, start: str, limit: int) -> list[tuple[str, bytes]]:
        with self.store.transaction(read_only=True) as tx:
            return tx.list(directory, start=start, limit=limit)


def _run_step(tx: Tx, step: Step) -> None:
    connection = tx.connection
    if step.deletes:
        connection.execute(_DELETE_ROW, [{"d": op.directory, "n": op.name} for op in step.deletes])
    if step.upserts:
        rows = [{"directory": op.directory, "name": op.name, "entry": op.entry} for op in step.upserts]
        # One row: a plain execute (executemany's batching costs more than it saves here).
        connection.execute(_UPSERT[connection.dialect.name], rows[0] if len(rows) == 1 else rows)
    if step.tree_delete is not None:
        _delete_tree(tx, step.tree_delete.path)


def _delete_tree(tx: Tx, path: str) -> None:
    """Every row whose directory is `path` or below it (an index range scan on directory)."""
    connection = tx.connection
    if path == ROOT:
        connection.execute(entries.delete())
        return
    below = path + "/"
    condition = _E.directory == path
    bound = prefix_upper_bound(below)
    in_range = _E.directory >= below
    if bound is not None:
        in_range = sa.and_(in_range, _E.directory < bound)
    connection.execute(entries.delete().where(sa.or_(condition, in_range)))
