"""Alembic environment for the filer schema; run by Alembic (from kelp's open_store or by hand),
never imported by kelp modules.

kelp passes its own open connection in `config.attributes["connection"]` and runs the upgrade in
that connection's transaction (PostgreSQL has transactional DDL; open_store holds an advisory lock
so filers starting together migrate one at a time). Run by hand, the database comes from
filer.toml (`-x config_dir=DIR`, else kelp's search) or, without one, alembic.ini's URL.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine, pool

from controlplane.filer.store.tables import metadata

target_metadata = metadata
# Not Alembic's default name: the filer's tables may share a database with other software.
VERSION_TABLE = "filer_alembic_version"


def _url() -> str:
    from controlplane.filer.config import find_filer_toml, load_store_config

    config_dir = context.get_x_argument(as_dictionary=True).get("config_dir", "")
    toml = find_filer_toml(config_dir)
    if toml is None:
        return str(context.config.get_main_option("sqlalchemy.url"))
    store = load_store_config(toml, default_dir=".").store
    return store.url().render_as_string(hide_password=False)


def run_migrations_offline() -> None:
    """Emit SQL for the configured URL without connecting (`alembic upgrade head --sql`)."""
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True,
                      version_table=VERSION_TABLE)
    with context.begin_transaction():
        context.run_migrations()


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, version_table=VERSION_TABLE)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    given = context.config.attributes.get("connection")
    if given is not None:
        _run(given)
        return
    engine = create_engine(_url(), poolclass=pool.NullPool)
    try:
        with engine.begin() as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
