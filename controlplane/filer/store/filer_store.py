"""FilerStore and open_store: the filer's metadata store over SQLAlchemy Core (synchronous; the
async core calls it through asyncio.to_thread).

- transaction(): one database transaction (a Tx); commit on a clean exit, rollback on an error.
  Changes logged in it are numbered and written as its last statements (changelog.py).
- Reads of the change log run in one snapshot (PostgreSQL REPEATABLE READ READ ONLY; SQLite a
  deferred BEGIN in WAL mode).
- wait_for_change(): woken by this store's own commits at once, by other filers' commits through
  PostgreSQL LISTEN/NOTIFY (notify.py), and by polling as a fallback (the only way on SQLite
  for commits of other processes).
- Driver errors leave as StoreUnavailable (cannot reach or use the database) or
  TransactionConflict (PostgreSQL aborted it; retry), never as SQLAlchemy exceptions.

Imports SQLAlchemy, psycopg (for the listener's connection info) and Alembic (through migrate.py);
no grpc, HTTP or kelp servers.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from psycopg.conninfo import make_conninfo
from sqlalchemy import exc
from sqlalchemy.dialects import postgresql, sqlite

from controlplane.filer.store import changelog, migrate
from controlplane.filer.store.changelog import ChangeRow
from controlplane.filer.store.config import StoreConfig
from controlplane.filer.store.driver_sql import DriverSql
from controlplane.filer.store.engine import READ_ONLY_OPTION, make_engine
from controlplane.filer.store.errors import SchemaNotCurrent, StoreUnavailable, TransactionConflict
from controlplane.filer.store.notify import ChangeSignal, PgListener
from controlplane.filer.store.tables import chunk_deletions, pending_uploads, uploaders
from controlplane.filer.store.tx import Tx

log = logging.getLogger(__name__)

# wait_for_change on SQLite: this process's commits wake waiters at once; another process's (a
# tool writing the same file) are only polled, so the poll need not be fast.
SQLITE_POLL_SECONDS = 0.5
PG_POLL_SECONDS = 1.0  # with LISTEN in place, polling is only a safety net
PG_UNLISTENED_POLL_SECONDS = 0.1  # while the listener reconnects
DELETE_BATCH = 500  # ids per DELETE ... IN (...) statement
LOG_READ_POOL_SIZE = 2  # connections reserved for change-log reads (see FilerStore.__init__)



def _renew_statement(dialect: Any) -> Any:
    """The uploader lease upsert, built once per dialect (values bound at execute)."""
    statement = dialect.insert(uploaders)
    return statement.on_conflict_do_update(
        index_elements=["uploader"], set_={"alive_until_ns": statement.excluded.alive_until_ns,
                                           "address": statement.excluded.address})


_RENEW_POSTGRES = _renew_statement(postgresql)
_RENEW_SQLITE = _renew_statement(sqlite)


class StoreLane:
    """One connection kept for a series of transactions that run one at a time (the core's group
    commit runs every batch of writes on one lane, and every batch of reads on another): checking a
    connection out of the pool and back cost about a tenth of a small PUT's CPU. Any error gives
    the connection back to the pool (it may be broken); the next transaction checks out another.
    Not for concurrent use."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self._held: sa.Connection | None = None

    @contextmanager
    def connection(self) -> Iterator[sa.Connection]:
        if self._held is None:
            self._held = self._engine.connect()
        try:
            yield self._held
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            held.close()


class FilerStore:
    def __init__(self, config: StoreConfig, engine: sa.Engine) -> None:
        self.config = config
        self.engine = engine
        # Change-log reads (subscribers, the notifier) get connections of their own: otherwise a
        # burst of writers, each holding a pooled connection while it queues on the seq row's
        # lock, makes every subscriber wait for one, and a change reaches other filers seconds late.
        self._log_engine = make_engine(dataclasses.replace(config, pool_size=LOG_READ_POOL_SIZE))
        self._signal = ChangeSignal()
        self._lanes: list[StoreLane] = []
        self._record_lane = self.lane()  # record_uploads's (see there)
        self._record_lane_free = threading.Lock()
        self._sqlite_writer = threading.RLock() if config.kind == "sqlite" else None
        self._listener: PgListener | None = None
        if config.kind == "postgres":
            self._listener = PgListener(_conninfo(config), changelog.NOTIFY_CHANNEL, self._signal)
            self._listener.start()

    @property
    def kind(self) -> str:
        return self.config.kind

    def lane(self) -> StoreLane:
        """A connection for a series of one-at-a-time transactions (`transaction(lane=...)`);
        close() gives it back."""
        lane = StoreLane(self.engine)
        self._lanes.append(lane)
        return lane

    # transactions

    @contextmanager
    def transaction(self, *, read_only: bool = False, lane: StoreLane | None = None) -> Iterator[Tx]:
        """One database transaction. read_only=True (an addition to contract A): a snapshot that
        refuses writes and, on SQLite, does not take the write lock, so reads never queue behind
        writers. `lane`: run it on that lane's connection instead of a pooled one."""
        connect = self.engine.connect() if lane is None else lane.connection()
        with self._errors(), self._writer(read_only), connect as connection:
            if read_only:
                connection.execution_options(**self._read_options())
            tx = Tx(connection, read_only=read_only)
            with connection.begin():
                yield tx
                if tx.pending_changes:
                    tx.last_seq = changelog.allocate_and_write(connection, tx.pending_changes, tx.sql)
        if tx.last_seq is not None:
            first = tx.last_seq - len(tx.pending_changes) + 1
            tx.committed = [ChangeRow(first + i, change.ts_ns, change.directory, change.payload)
                            for i, change in enumerate(tx.pending_changes)]
            self._signal.bump()

    @contextmanager
    def _snapshot(self) -> Iterator[sa.Connection]:
        with self._errors(), self.engine.connect() as connection:
            connection.execution_options(**self._read_options())
            with connection.begin():
                yield connection

    @contextmanager
    def _log_snapshot(self) -> Iterator[sa.Connection]:
        with self._errors(), self._log_engine.connect() as connection:
            connection.execution_options(**self._read_options())
            with connection.begin():
                yield connection

    @contextmanager
    def _write(self, lane: StoreLane | None = None) -> Iterator[sa.Connection]:
        connect = self.engine.connect() if lane is None else lane.connection()
        with self._errors(), self._writer(False), connect as connection, connection.begin():
            yield connection

    def _writer(self, read_only: bool) -> contextlib.AbstractContextManager[object]:
        """SQLite has one writer at a time: writers of this process queue on a lock here rather
        than in SQLite's busy handler, which sleeps and retries (a p99 of ~0.5 s at 16 writers)."""
        if read_only or self._sqlite_writer is None:
            return contextlib.nullcontext()
        return self._sqlite_writer

    def _read_options(self) -> dict[str, object]:
        if self.kind == "postgres":
            return {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
        return {READ_ONLY_OPTION: True}

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except exc.TimeoutError as err:  # the pool: every connection busy for pool_timeout
            raise StoreUnavailable(self.config.target(), f"no free connection: {err}") from err
        except exc.DBAPIError as err:
            sqlstate = getattr(err.orig, "sqlstate", None) or ""
            reason = _first_line(err)
            if sqlstate.startswith("40"):
                raise TransactionConflict(sqlstate, reason) from err
            if isinstance(err, exc.OperationalError | exc.InterfaceError) or err.connection_invalidated:
                raise StoreUnavailable(self.config.target(), reason) from err
            raise

    # change log

    def changes_after(self, seq: int, limit: int = 1000) -> list[ChangeRow]:
        """Committed changes with seq > `seq`, in seq order, at most `limit`. Raises ChangesTrimmed
        when retention removed changes after `seq` (an addition to contract A: never a silent jump)."""
        with self._log_snapshot() as connection:
            return changelog.read_after(connection, seq, limit)

    def first_seq_at_or_after(self, ts_ns: int) -> int | None:
        """The lowest retained seq at or after which every change with ts_ns >= `ts_ns` lies;
        None when no retained change is that recent. (Changes with smaller ts_ns may follow it.)"""
        with self._log_snapshot() as connection:
            return changelog.first_seq_at_or_after(connection, ts_ns)

    def cursor_for_time(self, ts_ns: int) -> int:
        """Addition: the after_seq from which changes_after returns every change with ts_ns >=
        `ts_ns`, read in one snapshot (no race with commits, unlike first_seq_at_or_after then
        last_seq). Raises ChangesTrimmed when retention may have removed some of them."""
        with self._log_snapshot() as connection:
            return changelog.cursor_for_time(connection, ts_ns)

    def oldest_seq(self) -> int | None:
        with self._log_snapshot() as connection:
            return changelog.oldest_seq(connection)

    def last_seq(self) -> int:
        with self._log_snapshot() as connection:
            return changelog.read_state(connection).last_seq

    def trimmed_seq(self) -> int:
        """Addition: the highest seq retention has removed (0: none). A reader at position
        p < trimmed_seq() has fallen out of the log."""
        with self._log_snapshot() as connection:
            return changelog.read_state(connection).trimmed_seq

    def trim_changes(self, older_than_ns: int) -> int:
        """Retention: remove changes whose ts_high < older_than_ns (a seq prefix), in batches of
        their own transactions; returns how many were removed."""
        removed = 0
        while True:
            with self._write() as connection:
                count = changelog.trim_batch(connection, older_than_ns)
            removed += count
            if count < changelog.TRIM_BATCH:
                return removed

    def wait_for_change(self, after_seq: int, timeout: float) -> bool:
        """Block until last_seq() > after_seq (True) or timeout seconds pass (False)."""
        deadline = time.monotonic() + timeout
        while True:
            generation = self._signal.generation()
            if self.last_seq() > after_seq:
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._signal.wait(generation, min(left, self._poll_seconds()))

    def _poll_seconds(self) -> float:
        if self._listener is None:
            return SQLITE_POLL_SECONDS
        return PG_POLL_SECONDS if self._listener.healthy.is_set() else PG_UNLISTENED_POLL_SECONDS

    # chunk deletion queue

    def take_chunk_deletions(self, limit: int, *, lease_seconds: float = 60.0) -> list[tuple[int, str]]:
        """Up to `limit` queued (id, fid) in queue order that no other worker holds. Taking leases
        them for lease_seconds (an addition): a worker that dies before done_chunk_deletions
        leaves them to be taken again after that, so nothing leaks."""
        if limit <= 0:
            return []
        c = chunk_deletions.c
        with self._write() as connection:
            now = time.time_ns()
            query = sa.select(c.id, c.fid).where(c.lease_until_ns < now).order_by(c.id).limit(limit)
            if self.kind == "postgres":
                query = query.with_for_update(skip_locked=True)
            rows = [(int(row[0]), str(row[1])) for row in connection.execute(query).all()]
            if rows:
                ids = [row_id for row_id, _ in rows]
                connection.execute(chunk_deletions.update().where(c.id.in_(ids))
                                   .values(lease_until_ns=now + int(lease_seconds * 1e9)))
        return rows

    def done_chunk_deletions(self, ids: Iterable[int]) -> None:
        """Remove deleted chunks from the queue."""
        pending = list(ids)
        with self._write() as connection:
            for start in range(0, len(pending), DELETE_BATCH):
                batch = pending[start:start + DELETE_BATCH]
                connection.execute(chunk_deletions.delete().where(chunk_deletions.c.id.in_(batch)))

    def pending_chunk_deletions(self) -> int:
        """Addition: how many chunk deletions are queued (leased or not)."""
        with self._snapshot() as connection:
            count = sa.select(sa.func.count()).select_from(chunk_deletions)
            return int(connection.execute(count).scalar_one())

    # pending uploads (additions; the protocol is described in controlplane/filer/uploads.py)

    def record_uploads(self, uploader: str, address: str, alive_until_ns: int,
                       rows: Iterable[tuple[int, str]]) -> None:
        """In one transaction: renew `uploader`'s lease and record (request, fid) rows, each
        before its chunk is uploaded."""
        now = time.time_ns()
        values = [(uploader, request, fid, now) for request, fid in rows]
        # On every small PUT's path: a kept connection when no other record is using it (each
        # journal records one batch at a time, so nearly always), and driver SQL.
        lane = self._record_lane if self._record_lane_free.acquire(blocking=False) else None
        try:
            with self._write(lane) as connection:
                sql = DriverSql(connection)
                sql.execute("renew_uploader", (uploader, address, alive_until_ns))
                if values:
                    sql.execute_many("record_upload", values)
        finally:
            if lane is not None:
                self._record_lane_free.release()

    def renew_uploader(self, uploader: str, address: str, alive_until_ns: int) -> None:
        with self._write() as connection:
            self._renew(connection, uploader, address, alive_until_ns)

    def _renew(self, connection: sa.Connection, uploader: str, address: str, alive_until_ns: int) -> None:
        statement = _RENEW_POSTGRES if self.kind == "postgres" else _RENEW_SQLITE
        connection.execute(statement, {"uploader": uploader, "address": address,
                                       "alive_until_ns": alive_until_ns})

    def reclaim_uploads(self, uploader: str, address: str, now_ns: int | None = None) -> list[str]:
        """Move the pending uploads of dead uploaders to the chunk-deletion queue, in one
        transaction; returns their fids. Dead: a lease that ran out, no uploader row at all, or
        another process at this caller's own address (`address`, when not empty: only one
        process can listen there, so an older one is gone). `uploader` itself is never dead."""
        now = time.time_ns() if now_ns is None else now_ns
        u, p = uploaders.c, pending_uploads.c
        alive = u.alive_until_ns >= now
        if address:
            alive = alive & (u.address != address)
        live = sa.select(u.uploader).where(alive | (u.uploader == uploader))
        with self._write() as connection:
            taken = connection.execute(pending_uploads.delete().where(p.uploader.not_in(live))
                                       .returning(p.fid)).all()
            connection.execute(uploaders.delete().where(u.uploader.not_in(live)))
            fids = [str(row[0]) for row in taken]
            for start in range(0, len(fids), DELETE_BATCH):
                connection.execute(chunk_deletions.insert(),
                                   [{"fid": fid} for fid in fids[start:start + DELETE_BATCH]])
        return fids

    def pending_upload_fids(self) -> list[str]:
        """Addition: every fid recorded as pending (tests and diagnostics)."""
        with self._snapshot() as connection:
            p = pending_uploads.c
            return [str(row[0]) for row in connection.execute(sa.select(p.fid).order_by(p.id)).all()]

    def close(self) -> None:
        if self._listener is not None:
            self._listener.stop(wake=self._notify_listeners)
        for lane in self._lanes:  # before dispose: a held connection would outlive the pool
            lane.close()
        self.engine.dispose()
        self._log_engine.dispose()

    def _notify_listeners(self) -> None:
        with self.engine.begin() as connection:
            connection.execute(sa.select(sa.func.pg_notify(changelog.NOTIFY_CHANNEL, "")))


def open_store(config: StoreConfig, *, migrate: bool = True) -> FilerStore:
    """Open the store; with migrate=True first bring the schema to head (Alembic), else refuse a
    database whose schema is not at head (SchemaNotCurrent). Raises StoreUnavailable."""
    engine = make_engine(config)
    try:
        if migrate:
            before, after = _upgrade(engine)
            if before != after:
                log.info("filer store %s: schema migrated %s -> %s", config.target(), before or "none", after)
        else:
            _check_head(engine, config)
        return FilerStore(config, engine)
    except exc.TimeoutError as err:
        engine.dispose()
        raise StoreUnavailable(config.target(), str(err)) from err
    except exc.DBAPIError as err:
        engine.dispose()
        raise StoreUnavailable(config.target(), _first_line(err)) from err
    except BaseException:
        engine.dispose()
        raise


def migrate_store(config: StoreConfig) -> tuple[str | None, str]:
    """Addition: bring the schema to head and close; returns (revision before, after)."""
    engine = make_engine(config)
    try:
        return _upgrade(engine)
    except exc.DBAPIError as err:
        raise StoreUnavailable(config.target(), _first_line(err)) from err
    finally:
        engine.dispose()


def _upgrade(engine: sa.Engine) -> tuple[str | None, str]:
    return migrate.upgrade(engine)


def _check_head(engine: sa.Engine, config: StoreConfig) -> None:
    head = migrate.head_revision()
    with engine.connect() as connection:
        current = migrate.current_revision(connection)
    if current != head:
        raise SchemaNotCurrent(config.target(), current, head)


def _conninfo(config: StoreConfig) -> str:
    return make_conninfo(host=config.host, port=config.port, user=config.user,
                         password=config.password or None, dbname=config.database, sslmode=config.sslmode,
                         connect_timeout=config.connect_timeout_seconds, application_name="kelp-filer-listen")


def _first_line(err: exc.DBAPIError) -> str:
    text = str(err.orig).strip()
    return text.splitlines()[0] if text else type(err.orig).__name__
