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

from controlplane.filer.backup.checkpoint import CHECKPOINT_KEY, Checkpoint
from controlplane.filer.backup.events import ROOT, Step, Upsert
from controlplane.filer.store import FilerStore, Tx, prefix_upper_bound
from controlplane.filer.store.tables import entries

_E = entries.c


class Standby:
    """The standby filer store, as the backup writes and reads it."""

    def __init__(self, store: FilerStore) -> None:
        self.store = store
        # apply() runs one batch at a time: one kept connection (FilerStore.lane) saves a pool
        # checkout per batch, most of a one-event batch's cost besides its round trips.
        self._lane = store.lane()

    def checkpoint(self) -> Checkpoint | None:
        """The stored checkpoint; None when there is none. Raises BadCheckpoint."""
        with self.store.transaction(read_only=True) as tx:
            raw = tx.kv_get(CHECKPOINT_KEY)
        return None if raw is None else Checkpoint.decode(raw)

    def apply(self, steps: Sequence[Step], checkpoint: Checkpoint | None) -> None:
        """Apply the steps in order and store the checkpoint (when given), in one transaction."""
        with self.store.transaction(lane=self._lane) as tx:
            for step in steps:
                _run_step(tx, step)
            if checkpoint is not None:
                tx.kv_put(CHECKPOINT_KEY, checkpoint.encode())

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
    # Driver SQL (store/driver_sql.py): the same statements as Tx.delete and Tx.upsert, batched.
    if len(step.deletes) == 1:  # one row: a plain execute (executemany costs more than it saves)
        tx.sql.execute("delete", (step.deletes[0].directory, step.deletes[0].name))
    elif step.deletes:
        tx.sql.execute_many("delete", [(op.directory, op.name) for op in step.deletes])
    if len(step.upserts) == 1:
        tx.sql.execute("upsert", (step.upserts[0].directory, step.upserts[0].name, step.upserts[0].entry))
    elif step.upserts:
        tx.sql.execute_many("upsert", [(op.directory, op.name, op.entry) for op in step.upserts])
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
