"""SQLAlchemy engines for the filer store, with each backend's connection settings.

SQLite: WAL (readers never block the writer), a busy timeout for writers, `synchronous` from the
config, foreign keys on. pysqlite's own transaction handling is switched off so the store decides:
a write transaction starts with BEGIN IMMEDIATE (it takes the write lock at once, so two writers
never deadlock upgrading read locks), a read-only one with a plain (deferred) BEGIN, which in WAL
mode reads one snapshot. PostgreSQL: psycopg 3 with a bounded pool (pool_size, no overflow),
pre-ping so a restarted server costs one failed check rather than a failed request.

Imports SQLAlchemy only.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

from controlplane.filer.store.config import StoreConfig

# Execution option a read-only transaction sets on its connection before BEGIN (see _begin).
READ_ONLY_OPTION = "kelp_read_only"


def make_engine(config: StoreConfig) -> Engine:
    if config.kind == "sqlite":
        return _sqlite_engine(config)
    return sa.create_engine(
        config.url(),
        pool_size=config.pool_size,
        max_overflow=0,
        pool_timeout=config.pool_timeout_seconds,
        pool_pre_ping=True,
        connect_args={"connect_timeout": config.connect_timeout_seconds, "application_name": "kelp-filer"},
    )


def _sqlite_engine(config: StoreConfig) -> Engine:
    Path(config.path).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        config.url(),
        pool_size=config.pool_size,
        max_overflow=0,
        pool_timeout=config.pool_timeout_seconds,
        # Connections move between asyncio.to_thread workers; the pool hands each to one at a time.
        connect_args={"timeout": config.busy_timeout_seconds, "check_same_thread": False},
    )
    synchronous = config.sqlite_synchronous.upper()

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # no implicit BEGIN/COMMIT from pysqlite
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA synchronous={synchronous}")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY_OPTION, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine
