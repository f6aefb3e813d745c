"""The filer store's errors: exception classes with data attributes, no SQL types in them.

Callers (the filer core) map these to HTTP/gRPC statuses; nothing here imports SQLAlchemy.
"""

from __future__ import annotations


class StoreError(Exception):
    """Base class of every error the filer store raises on purpose."""


class EntryExists(StoreError):
    """Tx.insert found a row at (directory, name) already."""

    def __init__(self, directory: str, name: str) -> None:
        super().__init__(f"entry already exists: {directory!r} {name!r}")
        self.directory = directory
        self.name = name


class StoreUnavailable(StoreError):
    """The database cannot be reached or used now (connection refused or lost, pool exhausted,
    SQLite locked past its busy timeout, schema not migrated). `target` names the database
    without its password; `reason` is the driver's one-line message."""

    def __init__(self, target: str, reason: str) -> None:
        super().__init__(f"filer store {target} unavailable: {reason}")
        self.target = target
        self.reason = reason


class SchemaNotCurrent(StoreUnavailable):
    """open_store(migrate=False) found the schema at another revision than this build's head."""

    def __init__(self, target: str, current: str | None, head: str) -> None:
        super().__init__(target, f"schema at revision {current or 'none'}, this kelp needs {head}: "
                                 "run `kelp filer.migrate`")
        self.current = current
        self.head = head


class TransactionConflict(StoreError):
    """PostgreSQL aborted the transaction (deadlock or serialization failure, SQLSTATE 40xxx):
    nothing of it was written and running it again may succeed."""

    def __init__(self, sqlstate: str, reason: str) -> None:
        super().__init__(f"transaction conflict ({sqlstate}): {reason}")
        self.sqlstate = sqlstate
        self.reason = reason


class ChangesTrimmed(StoreError):
    """A change-log position fell out of the retained log: changes just after it were removed by
    retention, so reading on would silently skip them. `after_seq` is the position asked for
    (None when a time was asked for: `since_ns`); `trimmed_seq` is the highest seq retention
    removed (the retained log starts after it)."""

    def __init__(self, after_seq: int | None, trimmed_seq: int, since_ns: int | None = None) -> None:
        asked = (f"change log position {after_seq}" if after_seq is not None
                 else f"changes since {since_ns} ns")
        super().__init__(f"{asked} fell out of the retained log "
                         f"(retention removed everything up to seq {trimmed_seq})")
        self.after_seq = after_seq
        self.trimmed_seq = trimmed_seq
        self.since_ns = since_ns


class ReadOnlyTransaction(StoreError):
    """A write was attempted in a transaction opened with read_only=True (a programming error)."""

    def __init__(self, operation: str) -> None:
        super().__init__(f"{operation} in a read-only filer store transaction")
        self.operation = operation
