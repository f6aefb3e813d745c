"""Tx: one database transaction of the filer store (entries, change log, chunk deletion queue, kv).

Entries are opaque bytes keyed by (directory, name). `insert` and `upsert` use ON CONFLICT, so an
existing row never aborts the transaction (on PostgreSQL a failed statement would poison it):
EntryExists can be caught and the transaction carried on. Changes logged here are buffered and
numbered at commit (changelog.py explains why); chunk deletions and kv writes go to the database
at once, inside this transaction. `find(..., for_update=True)` locks the row on PostgreSQL for a
read-modify-write.

Imports SQLAlchemy only.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from controlplane.filer.store.changelog import ChangeRow, PendingChange
from controlplane.filer.store.driver_sql import DriverSql
from controlplane.filer.store.errors import EntryExists, ReadOnlyTransaction
from controlplane.filer.store.tables import entries, kv

MAX_CODE_POINT = 0x10FFFF
SURROGATES = range(0xD800, 0xE000)


def prefix_upper_bound(prefix: str) -> str | None:
    """The least string greater than every string that starts with prefix (None: no bound).
    Names compare in code point order (UTF-8 byte order), so `prefix <= name < bound` is exactly
    "name starts with prefix" and stays an index range scan."""
    chars = list(prefix)
    while chars:
        code = ord(chars.pop()) + 1
        if code in SURROGATES:
            code = SURROGATES.stop  # not storable as text; the next code point is
        if code <= MAX_CODE_POINT:
            return "".join(chars) + chr(code)
    return None


class Tx:
    """Use through FilerStore.transaction(); methods run in that one transaction."""

    def __init__(self, connection: sa.Connection, *, read_only: bool = False) -> None:
        self._connection = connection
        self._read_only = read_only
        dialect = connection.dialect.name
        self._insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        self.pending_changes: list[PendingChange] = []
        self.sql = DriverSql(connection)  # the hot single-row statements (driver_sql.py)
        # After a commit that logged changes: the seq of the last one, and the rows as committed
        # (the store sets both; the filer hands the rows to its local subscribers directly).
        self.last_seq: int | None = None
        self.committed: list[ChangeRow] = []

    @property
    def connection(self) -> sa.Connection:
        return self._connection

    def _writing(self, operation: str) -> None:
        if self._read_only:
            raise ReadOnlyTransaction(operation)

    # entries

    def find(
        self, directory: str, name: str, *, for_update: bool = False, for_share: bool = False
    ) -> bytes | None:
        """The entry's bytes or None. for_update=True (an addition to contract A) locks the row
        until this transaction ends (PostgreSQL SELECT ... FOR UPDATE), so a read-modify-write
        never works from an entry a concurrent transaction is replacing; a concurrent writer
        waits, then reads what this one committed. for_share=True (an addition) takes a shared
        lock (FOR SHARE): holders do not block each other, a FOR UPDATE of the row waits for
        them (a parent directory under creates). SQLite needs no lock: BEGIN IMMEDIATE already
        serializes writers."""
        statement = "find"
        if not self._read_only and self._connection.dialect.name == "postgresql":
            statement = "find_for_update" if for_update else "find_for_share" if for_share else "find"
        row = self.sql.execute(statement, (directory, name)).fetchone()
        return None if row is None else bytes(row[0])

    def _locking(self, query: sa.Select[Any], for_update: bool) -> sa.Select[Any]:
        if for_update and not self._read_only and self._connection.dialect.name == "postgresql":
            return query.with_for_update()
        return query

    def insert(self, directory: str, name: str, entry: bytes) -> None:
        """Add a new entry; raises EntryExists (leaving the transaction usable) if one is there."""
        self._writing("insert")
        if self.sql.execute("insert", (directory, name, entry)).fetchone() is None:
            raise EntryExists(directory, name)

    def upsert(self, directory: str, name: str, entry: bytes) -> None:
        self._writing("upsert")
        self.sql.execute("upsert", (directory, name, entry))

    def delete(self, directory: str, name: str) -> bool:
        self._writing("delete")
        return bool(self.sql.execute("delete", (directory, name)).rowcount)

    def list(self, directory: str, *, start: str = "", inclusive: bool = False, prefix: str = "",
             limit: int, for_update: bool = False) -> list[tuple[str, bytes]]:
        """Children of directory in name order: after `start` (or from it when inclusive), whose
        names start with `prefix`, at most `limit`; for_update locks the rows returned (as find)."""
        if limit <= 0:
            return []
        if not prefix and not for_update:  # every listing page: driver SQL (driver_sql.py)
            statement = "list_from" if inclusive else "list_after"
            rows = self.sql.execute(statement, (directory, start, limit)).fetchall()
            return [(row[0], bytes(row[1])) for row in rows]
        e = entries.c
        query = sa.select(e.name, e.entry).where(e.directory == directory)
        if start:
            query = query.where(e.name >= start if inclusive else e.name > start)
        if prefix:
            query = query.where(e.name >= prefix)
            bound = prefix_upper_bound(prefix)
            if bound is not None:
                query = query.where(e.name < bound)
        rows = self._connection.execute(self._locking(query.order_by(e.name).limit(limit), for_update)).all()
        return [(row[0], bytes(row[1])) for row in rows]

    def has_children(self, directory: str) -> bool:
        e = entries.c
        return self._connection.execute(
            sa.select(sa.literal(1)).where(e.directory == directory).limit(1)
        ).first() is not None

    # change log, chunk deletions

    def log_change(self, directory: str, ts_ns: int, payload: bytes) -> None:
        """Log one event in this transaction; its seq is assigned at commit, in commit order."""
        self._writing("log_change")
        self.pending_changes.append(PendingChange(directory, ts_ns, bytes(payload)))

    def queue_chunk_deletions(self, fids: Iterable[str]) -> None:
        self._writing("queue_chunk_deletions")
        rows = [(fid,) for fid in fids]
        if rows:
            self.sql.execute_many("queue_chunk", rows)

    # pending uploads (see controlplane/filer/uploads.py)

    def finish_upload(self, uploader: str, request: int) -> builtins.list[str]:
        """Remove the pending-upload rows of one request in this transaction; returns their fids.
        The entry's commit calls it (fewer rows than recorded: a sweep took them, so their
        chunks are being deleted and the commit must not go on); a failed request queues what
        it returns for deletion."""
        self._writing("finish_upload")
        rows = self.sql.execute("finish_upload", (uploader, request)).fetchall()
        return [str(row[0]) for row in rows]

    # kv

    def kv_get(self, key: bytes, *, for_update: bool = False) -> bytes | None:
        """for_update locks the row as find does (hard link counters are read-modify-write)."""
        query = self._locking(sa.select(kv.c.value).where(kv.c.key == key), for_update)
        found = self._connection.execute(query).scalar()
        return None if found is None else bytes(found)

    def kv_put(self, key: bytes, value: bytes) -> None:
        self._writing("kv_put")
        self.sql.execute("kv_put", (key, value))

    def kv_delete(self, key: bytes) -> bool:
        self._writing("kv_delete")
        return bool(self._connection.execute(kv.delete().where(kv.c.key == key)).rowcount)
