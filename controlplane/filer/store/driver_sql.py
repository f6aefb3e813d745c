"""The store's hottest statements as plain driver SQL, run on the DBAPI cursor of a SQLAlchemy
connection, inside the transaction SQLAlchemy opened on it.

Why: a small PUT runs about ten single-row statements. Through `Connection.execute`, even with a
prebuilt statement, each costs ~14 µs of Python in SQLAlchemy (execution context, parameter
processing, result proxy) around a ~1.5 µs SQLite step; the cursor costs the step. That was a
quarter of the filer's CPU under small-file load. Everything else (listings, the change-log
readers, retention, migrations) stays on SQLAlchemy Core, where the cost does not matter.

The texts are written once here with `?` placeholders and given to psycopg with `%s`. Driver
errors are raised as SQLAlchemy's DBAPIError family (`DBAPIError.instance`), so the store's error
mapping (FilerStore._errors: conflicts, an unavailable database) sees them as it sees any other.

Imports SQLAlchemy only (and the driver's own connection through it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc

_STATEMENTS = {
    "find": "SELECT entry FROM filer_entries WHERE directory = ? AND name = ?",
    "find_for_update": "SELECT entry FROM filer_entries WHERE directory = ? AND name = ? FOR UPDATE",
    # ensure_directory's read of an existing parent: creates in one directory share it, a delete or
    # rename of that directory (FOR UPDATE) waits for them and they for it (core.py explains).
    "find_for_share": "SELECT entry FROM filer_entries WHERE directory = ? AND name = ? FOR SHARE",
    "insert": "INSERT INTO filer_entries (directory, name, entry) VALUES (?, ?, ?) "
              "ON CONFLICT (directory, name) DO NOTHING RETURNING name",
    "upsert": "INSERT INTO filer_entries (directory, name, entry) VALUES (?, ?, ?) "
              "ON CONFLICT (directory, name) DO UPDATE SET entry = excluded.entry",
    "delete": "DELETE FROM filer_entries WHERE directory = ? AND name = ?",
    # Tx.list without a prefix or locks (every listing page): after, or from, a name.
    "list_after": "SELECT name, entry FROM filer_entries WHERE directory = ? AND name > ? "
                  "ORDER BY name LIMIT ?",
    "list_from": "SELECT name, entry FROM filer_entries WHERE directory = ? AND name >= ? "
                 "ORDER BY name LIMIT ?",
    "finish_upload": "DELETE FROM filer_pending_uploads WHERE uploader = ? AND request = ? RETURNING fid",
    "record_upload": "INSERT INTO filer_pending_uploads (uploader, request, fid, created_ns) "
                     "VALUES (?, ?, ?, ?)",
    "renew_uploader": "INSERT INTO filer_uploaders (uploader, address, alive_until_ns) VALUES (?, ?, ?) "
                      "ON CONFLICT (uploader) DO UPDATE SET alive_until_ns = excluded.alive_until_ns, "
                      "address = excluded.address",
    "kv_put": "INSERT INTO filer_kv (key, value) VALUES (?, ?) "
              "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    "queue_chunk": "INSERT INTO filer_chunk_deletions (fid) VALUES (?)",
    # changelog.allocate_and_write: the seq row's UPDATE (last_ts_high only ever grows), the rows.
    "allocate": "UPDATE filer_change_state SET last_seq = last_seq + ?, "
                "last_ts_high = CASE WHEN last_ts_high >= ? THEN last_ts_high ELSE ? END "
                "WHERE id = ? RETURNING last_seq, last_ts_high",
    "insert_change": "INSERT INTO filer_changes (seq, ts_ns, ts_high, directory, payload) "
                     "VALUES (?, ?, ?, ?, ?)",
}
_POSTGRES = {name: text.replace("?", "%s") for name, text in _STATEMENTS.items()}


class DriverSql:
    """Statements by name on one connection's DBAPI cursor (made on first use)."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection
        self._dialect = connection.dialect
        self._texts = _POSTGRES if self._dialect.name == "postgresql" else _STATEMENTS
        self._cursor: Any = None

    def _ready(self) -> Any:
        if self._cursor is None:
            self._cursor = self._connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        return self._cursor

    def execute(self, name: str, params: Sequence[Any]) -> Any:
        """Run one statement; returns the cursor (fetchone/fetchall/rowcount)."""
        cursor = self._ready()
        text = self._texts[name]
        try:
            cursor.execute(text, params)
        except self._dialect.loaded_dbapi.Error as err:
            raise self._wrapped(text, params, err) from err
        return cursor

    def execute_many(self, name: str, rows: Sequence[Sequence[Any]]) -> None:
        cursor = self._ready()
        text = self._texts[name]
        try:
            cursor.executemany(text, rows)
        except self._dialect.loaded_dbapi.Error as err:
            raise self._wrapped(text, rows, err) from err

    def _wrapped(self, text: str, params: Any, err: Exception) -> exc.StatementError:
        return exc.DBAPIError.instance(text, params, err, self._dialect.loaded_dbapi.Error,
                                       dialect=self._dialect)
