"""The filer's metadata store (contract A): entries as opaque bytes keyed by (directory, name), a
change log written in the same transaction as every mutation and read by a cursor no late commit
can slip behind, a durable chunk-deletion queue and a key-value space; PostgreSQL (psycopg 3) or
SQLite, through synchronous SQLAlchemy Core, schema by Alembic (migrations/).

    store = open_store(StoreConfig(kind="sqlite", path="/var/lib/kelp/filer.db"))
    with store.transaction() as tx:
        tx.insert("/docs", "a.txt", entry_bytes)
        tx.log_change("/docs", ts_ns, event_bytes)

Must not import grpc, kelp_http, kelp_pb, ops or dataplane: the store knows bytes, not protobufs.
"""

from __future__ import annotations

from controlplane.filer.store.changelog import ChangeRow
from controlplane.filer.store.config import StoreConfig, StoreKind
from controlplane.filer.store.errors import (
    ChangesTrimmed,
    EntryExists,
    ReadOnlyTransaction,
    SchemaNotCurrent,
    StoreError,
    StoreUnavailable,
    TransactionConflict,
)
from controlplane.filer.store.filer_store import FilerStore, migrate_store, open_store
from controlplane.filer.store.tx import Tx, prefix_upper_bound

__all__ = [
    "ChangeRow",
    "ChangesTrimmed",
    "EntryExists",
    "FilerStore",
    "ReadOnlyTransaction",
    "SchemaNotCurrent",
    "StoreConfig",
    "StoreError",
    "StoreKind",
    "StoreUnavailable",
    "TransactionConflict",
    "Tx",
    "migrate_store",
    "open_store",
    "prefix_upper_bound",
]
