"""Alembic environment for the filer schema; run by `alembic`, never imported by kelp.

Placeholder until the filer issue: it will set `target_metadata` to the filer's SQLAlchemy Core
`MetaData` (controlplane/filer/tables.py) and read the database URL from filer.toml.
"""

from __future__ import annotations

from alembic import context

# The filer's tables; None until controlplane/filer/tables.py exists.
target_metadata = None


def run_migrations_offline() -> None:
    """Emit SQL for the configured URL without connecting."""
    context.configure(url=context.config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Apply migrations over a live connection."""
    from sqlalchemy import engine_from_config, pool

    connectable = engine_from_config(context.config.get_section(context.config.config_ini_section) or {},
                                     prefix="sqlalchemy.", poolclass=pool.NullPool)
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
