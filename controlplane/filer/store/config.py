"""StoreConfig: which database the filer store opens and how (a frozen value; filer.toml parsing
lives in controlplane/filer/config.py). Imports SQLAlchemy's URL type only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy.engine import URL

StoreKind = Literal["sqlite", "postgres"]
SQLITE_SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")
SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
MAX_POOL_SIZE = 200  # a sanity bound: each pooled connection is a PostgreSQL backend process


@dataclass(frozen=True, slots=True)
class StoreConfig:
    """The filer store's database. `kind` picks the fields that matter."""

    kind: StoreKind = "sqlite"
    # sqlite
    path: str = "filer.db"  # the database file; its directory is created when missing
    # NORMAL in WAL mode survives a kill -9 of the filer (a power loss may drop the last commits);
    # FULL also syncs every commit.
    sqlite_synchronous: str = "NORMAL"
    busy_timeout_seconds: float = 30.0  # how long a SQLite writer waits for another's lock
    # postgres
    host: str = "localhost"
    port: int = 5432
    user: str = "postgres"
    password: str = ""
    database: str = "seaweedfs"
    sslmode: str = "disable"
    connect_timeout_seconds: int = 10
    # both: connections kept open; the pool never grows past it (requests wait pool_timeout)
    pool_size: int = 10
    pool_timeout_seconds: float = 30.0

    def __post_init__(self) -> None:
        if self.kind not in ("sqlite", "postgres"):
            raise ValueError(f"store kind must be sqlite or postgres, not {self.kind!r}")
        if not 1 <= self.pool_size <= MAX_POOL_SIZE:
            raise ValueError(f"pool_size must be 1..{MAX_POOL_SIZE}, not {self.pool_size}")
        if self.sqlite_synchronous.upper() not in SQLITE_SYNCHRONOUS:
            raise ValueError(f"sqlite synchronous must be one of {', '.join(SQLITE_SYNCHRONOUS)}")
        if self.sslmode not in SSLMODES:
            raise ValueError(f"sslmode must be one of {', '.join(SSLMODES)}, not {self.sslmode!r}")

    def url(self) -> URL:
        """The SQLAlchemy URL (psycopg 3 for PostgreSQL, the standard sqlite3 module for SQLite)."""
        if self.kind == "sqlite":
            return URL.create("sqlite+pysqlite", database=self.path)
        return URL.create("postgresql+psycopg", username=self.user, password=self.password or None,
                          host=self.host, port=self.port, database=self.database,
                          query={"sslmode": self.sslmode})

    def target(self) -> str:
        """The database named for messages and logs, never with its password."""
        if self.kind == "sqlite":
            return f"sqlite:{self.path}"
        return f"postgres://{self.user}@{self.host}:{self.port}/{self.database}"
