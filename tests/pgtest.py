"""PostgreSQL for tests: connection settings, throw-away databases, and the `pg_store_config` fixture.

Settings: KELP_PG_HOST (127.0.0.1), KELP_PG_PORT (5432), KELP_PG_USER (kelp), KELP_PG_PASSWORD
(kelp) - the role `bash ops/dev.sh postgres` creates - and KELP_PG_DB_PREFIX (kelp_test_), the
prefix of every database made here (parallel workers pass their own).

    def test_x(pg_store_config):            # a StoreConfig for an empty database; skips without a server
        store = open_store(pg_store_config)

- `pg_database` (module scope): one uniquely named database per test module, dropped after it.
- `pg_store_config` (per test): a StoreConfig for that database, emptied first (its public schema
  dropped and made again), so every test starts from nothing and open_store migrates it.
- `pg_store_config_factory` (per test): make() -> StoreConfig for one more fresh database each
  call (a second filer store, say a meta.backup standby), all dropped after the test.
- `filer_toml(config)`: the filer.toml text that selects a StoreConfig, for filer processes.

When no server answers, the first use tries `bash ops/dev.sh postgres` once (it starts the local
cluster if it is installed) and otherwise skips, saying why.
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from controlplane.filer.store import StoreConfig
from ops.localcluster import LocalCluster

REPO_ROOT = Path(__file__).resolve().parent.parent
PG_HOST = os.environ.get("KELP_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("KELP_PG_PORT", "5432"))
PG_USER = os.environ.get("KELP_PG_USER", "kelp")
PG_PASSWORD = os.environ.get("KELP_PG_PASSWORD", "kelp")
DB_PREFIX = os.environ.get("KELP_PG_DB_PREFIX", "kelp_test_")
CONNECT_TIMEOUT = 3


def admin_connection(database: str = "postgres") -> psycopg.Connection:
    return psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, password=PG_PASSWORD, dbname=database,
                           connect_timeout=CONNECT_TIMEOUT, autocommit=True)


def _try_connect() -> str | None:
    try:
        admin_connection().close()
    except psycopg.Error as err:
        return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return None


@functools.cache
def server_problem() -> str | None:
    """None if the test server answers (after trying to start it once), else why not."""
    problem = _try_connect()
    if problem is None:
        return None
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        subprocess.run(["bash", str(REPO_ROOT / "ops/dev.sh"), "postgres"], timeout=60, check=False,
                       stdin=subprocess.DEVNULL, capture_output=True)
    problem = _try_connect()
    if problem is None:
        return None
    return (f"PostgreSQL not usable at {PG_USER}@{PG_HOST}:{PG_PORT} ({problem}); "
            "run `bash ops/dev.sh postgres` or set KELP_PG_HOST/PORT/USER/PASSWORD")


def require_server() -> None:
    problem = server_problem()
    if problem is not None:
        pytest.skip(problem)


def create_database() -> str:
    name = f"{DB_PREFIX}{os.getpid()}_{secrets.token_hex(4)}"
    with admin_connection() as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name


def drop_database(name: str) -> None:
    with admin_connection() as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def empty_database(name: str) -> None:
    """Drop every table (and the Alembic version) by re-making the public schema."""
    with admin_connection(name) as connection:
        connection.execute("DROP SCHEMA IF EXISTS public CASCADE")
        connection.execute("CREATE SCHEMA public")


def store_config(database: str, **overrides: object) -> StoreConfig:
    fields: dict[str, object] = {"kind": "postgres", "host": PG_HOST, "port": PG_PORT, "user": PG_USER,
                                 "password": PG_PASSWORD, "database": database, "pool_size": 5}
    fields.update(overrides)
    return StoreConfig(**fields)  # type: ignore[arg-type]


def filer_toml(config: StoreConfig) -> str:
    """filer.toml text selecting config (PostgreSQL or SQLite)."""
    if config.kind == "sqlite":
        return f'[sqlite]\npath = "{config.path}"\n'
    return (f'[postgres]\nhost = "{config.host}"\nport = {config.port}\nuser = "{config.user}"\n'
            f'password = "{config.password}"\ndatabase = "{config.database}"\nsslmode = "{config.sslmode}"\n'
            f"pool_size = {config.pool_size}\n")


@contextlib.contextmanager
def filer_cluster(kind: str, *, filers: int = 1, filer_flags: tuple[str, ...] = ()) -> Iterator[LocalCluster]:
    """A started one-volume LocalCluster whose `filers` filers share SQLite (`kind` "sqlite",
    each its own file) or a fresh PostgreSQL database (dropped after); logs printed on failure."""
    database = store = ""
    if kind == "postgres":
        require_server()
        database = create_database()
        store = filer_toml(store_config(database))
    made = LocalCluster(1, filers=filers, filer_store=store, filer_flags=list(filer_flags))
    try:
        made.start()
        yield made
    except BaseException:
        print(made.logs())
        raise
    finally:
        made.stop()
        if database:
            drop_database(database)


@pytest.fixture(scope="module")
def pg_database() -> Iterator[str]:
    """A database for this test module (skips when PostgreSQL is not usable)."""
    require_server()
    name = create_database()
    try:
        yield name
    finally:
        drop_database(name)


@pytest.fixture
def pg_store_config(pg_database: str) -> StoreConfig:
    """A StoreConfig for an empty database (the module's, emptied for this test)."""
    empty_database(pg_database)
    return store_config(pg_database)


@pytest.fixture
def pg_store_config_factory() -> Iterator[Callable[[], StoreConfig]]:
    """make() -> StoreConfig of a new empty database; all of them dropped after the test."""
    require_server()
    made: list[str] = []

    def make() -> StoreConfig:
        made.append(create_database())
        return store_config(made[-1])

    try:
        yield make
    finally:
        for name in made:
            drop_database(name)
