"""The change log: rows written in the mutating transaction, numbered so that no reader skips one.

The problem. Transactions commit out of order. If a row took its number when it was written
(a sequence or autoincrement), T1 could write seq 5, T2 seq 6, T2 commit, a reader see 6 and
remember "after 6" - and then T1 commit 5 behind the reader's back, skipped forever.

The design: seqs are allocated at commit, in commit order, gap-free.
- `Tx.log_change` only buffers the row in memory.
- When the transaction body has finished, its LAST statements are `allocate` (one UPDATE of the
  single row `filer_change_state`: last_seq += n, RETURNING the new value) and the INSERT of the
  buffered rows with seqs last_seq-n+1 .. last_seq; then COMMIT.
- The UPDATE takes that row's lock and holds it until the transaction ends. PostgreSQL makes a
  committing transaction visible to new snapshots before it releases its locks, so when T2's UPDATE
  gets the row (reading T1's committed last_seq, under READ COMMITTED), T1 is already visible to
  every later snapshot. Hence seq order = commit order: any snapshot that sees seq s sees every
  seq < s, and the committed seqs always form a contiguous run 1..last_seq (a rolled-back
  transaction rolls its UPDATE back too, so no gap is ever left). "changes after S" read from any
  snapshot is therefore complete: no later commit can add a seq <= the highest one seen.
- SQLite has one writer at a time (BEGIN IMMEDIATE takes the write lock), so the same statements
  give the same order there.
The cost is that committing writers queue on one row lock for their final UPDATE+INSERT+COMMIT
(not for the rest of the transaction). tests/unit/controlplane/filer/store prove the order on
PostgreSQL with two concurrent transactions and a reader between their commits.

Time and retention. Each row keeps its event's ts_ns and `ts_high`, the largest ts_ns of the log up
to and including its transaction, non-decreasing in seq (ts_ns alone need not be: clocks of
several filers, and a transaction that took its time before another committed). So a time maps to
a seq by one index probe, and retention (trim) removes a seq prefix, recording the highest removed
seq and its ts_high in filer_change_state so a reader behind it gets ChangesTrimmed instead of a
silent jump.

Imports SQLAlchemy only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from controlplane.filer.store.driver_sql import DriverSql
from controlplane.filer.store.errors import ChangesTrimmed
from controlplane.filer.store.tables import STATE_ROW_ID, change_state, changes

NOTIFY_CHANNEL = "kelp_filer_changes"  # PostgreSQL LISTEN/NOTIFY channel; payload = new last_seq
TRIM_BATCH = 10_000  # rows removed per retention transaction, so no writer waits long on it


@dataclass(frozen=True, slots=True)
class ChangeRow:
    """One committed change: its seq, the event's time, directory and opaque payload
    (a serialized filer_pb.SubscribeMetadataResponse)."""

    seq: int
    ts_ns: int
    directory: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class PendingChange:
    """A change buffered by Tx.log_change until its transaction commits."""

    directory: str
    ts_ns: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class LogState:
    last_seq: int
    last_ts_high: int
    trimmed_seq: int
    trimmed_ts_high: int


_NOTIFY = sa.select(sa.func.pg_notify(NOTIFY_CHANNEL, sa.bindparam("payload", type_=sa.Text)))


def allocate_and_write(connection: sa.Connection, pending: Sequence[PendingChange], sql: DriverSql) -> int:
    """Number the pending rows and insert them; returns the new last_seq. Must be the last thing
    the transaction does before COMMIT (it holds the allocation lock from here to the end).
    `sql`: the transaction's driver statements (driver_sql.py): single-row statements without
    SQLAlchemy's per-statement cost."""
    batch_max_ts = max(change.ts_ns for change in pending)
    row = sql.execute("allocate", (len(pending), batch_max_ts, batch_max_ts, STATE_ROW_ID)).fetchone()
    last_seq, ts_high = int(row[0]), int(row[1])
    first = last_seq - len(pending) + 1
    # Every row of one transaction gets the transaction's ts_high: still >= its own ts_ns and
    # non-decreasing in seq, and known without reading the previous row.
    sql.execute_many("insert_change", [
        (first + i, change.ts_ns, ts_high, change.directory, change.payload)
        for i, change in enumerate(pending)
    ])
    if connection.dialect.name == "postgresql":
        # Delivered to listeners only when (and if) this transaction commits.
        connection.execute(_NOTIFY, {"payload": str(last_seq)})
    return last_seq


def read_state(connection: sa.Connection) -> LogState:
    s = change_state.c
    row = connection.execute(
        sa.select(s.last_seq, s.last_ts_high, s.trimmed_seq, s.trimmed_ts_high).where(s.id == STATE_ROW_ID)
    ).one()
    return LogState(int(row[0]), int(row[1]), int(row[2]), int(row[3]))


def read_after(connection: sa.Connection, after_seq: int, limit: int) -> list[ChangeRow]:
    """Committed rows with seq > after_seq in seq order; raises ChangesTrimmed when retention has
    removed rows the caller has not read. Run it in one snapshot (a read-only transaction)."""
    c = changes.c
    rows = connection.execute(
        sa.select(c.seq, c.ts_ns, c.directory, c.payload)
        .where(c.seq > after_seq).order_by(c.seq).limit(limit)
    ).all()
    trimmed = read_state(connection).trimmed_seq
    if after_seq < trimmed:
        raise ChangesTrimmed(after_seq, trimmed)
    return [ChangeRow(int(r[0]), int(r[1]), r[2], bytes(r[3])) for r in rows]


def first_seq_at_or_after(connection: sa.Connection, ts_ns: int) -> int | None:
    """The lowest retained seq whose ts_high >= ts_ns: every row with ts_ns >= ts_ns has a seq at
    or above it (it may also be preceded by rows whose own ts_ns is smaller). None: no such row."""
    c = changes.c
    found = connection.execute(
        sa.select(c.seq).where(c.ts_high >= ts_ns).order_by(c.ts_high, c.seq).limit(1)
    ).scalar()
    return None if found is None else int(found)


def cursor_for_time(connection: sa.Connection, ts_ns: int) -> int:
    """The position (an after_seq for read_after) from which every change with ts_ns >= ts_ns is
    read; raises ChangesTrimmed when retention may have removed some of them. One snapshot."""
    state = read_state(connection)
    if state.trimmed_seq > 0 and state.trimmed_ts_high >= ts_ns:
        raise ChangesTrimmed(None, state.trimmed_seq, since_ns=ts_ns)
    first = first_seq_at_or_after(connection, ts_ns)
    return state.last_seq if first is None else first - 1


def oldest_seq(connection: sa.Connection) -> int | None:
    found = connection.execute(sa.select(sa.func.min(changes.c.seq))).scalar()
    return None if found is None else int(found)


def trim_batch(connection: sa.Connection, older_than_ns: int) -> int:
    """Remove up to TRIM_BATCH of the oldest rows whose ts_high < older_than_ns (a seq prefix,
    as ts_high is non-decreasing) and record the highest removed; returns how many went."""
    c = changes.c
    bound = connection.execute(
        sa.select(c.seq, c.ts_high).where(c.ts_high < older_than_ns).order_by(c.seq)
        .offset(TRIM_BATCH - 1).limit(1)
    ).first()
    if bound is None:  # fewer than a batch: all of them
        bound = connection.execute(
            sa.select(c.seq, c.ts_high).where(c.ts_high < older_than_ns).order_by(c.seq.desc()).limit(1)
        ).first()
    if bound is None:
        return 0
    top_seq, top_ts_high = int(bound[0]), int(bound[1])
    removed = connection.execute(changes.delete().where(c.seq <= top_seq)).rowcount
    s = change_state.c
    connection.execute(
        change_state.update().where(s.id == STATE_ROW_ID)
        .values(trimmed_seq=sa.case((s.trimmed_seq >= top_seq, s.trimmed_seq), else_=top_seq),
                trimmed_ts_high=sa.case((s.trimmed_ts_high >= top_ts_high, s.trimmed_ts_high),
                                        else_=top_ts_high))
    )
    return int(removed)
