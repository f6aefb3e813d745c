"""Apply and check the filer schema's Alembic migrations (migrations/ at the repository root).

The directory is found through importlib: `migrations` is a package of kelp's distribution
(pyproject lists it, with its non-Python files as package data), so an installed kelp finds the
copy in site-packages and a checkout or editable install finds the repository's. A checkout whose
`migrations` cannot be imported (run with another sys.path) falls back to the repository path.

`upgrade(engine)` brings a database to head in one transaction; on PostgreSQL it first takes a
transaction-scoped advisory lock, so filers (or `kelp filer.migrate`) starting together on one
database migrate one after another instead of racing to create the same tables.

Imports SQLAlchemy and Alembic only.
"""

from __future__ import annotations

import importlib
from importlib import resources
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

MIGRATIONS_PACKAGE = "migrations"
# A checkout's migrations/, when the package cannot be imported.
CHECKOUT_MIGRATIONS_DIR = Path(__file__).resolve().parents[3] / "migrations"
VERSION_TABLE = "filer_alembic_version"  # the same name migrations/env.py gives Alembic
# pg_advisory_xact_lock key for "the filer schema is being migrated" (any fixed 64-bit number).
MIGRATION_LOCK_KEY = 0x6B656C7066696C72  # "kelpfilr"


class MigrationsMissing(Exception):
    """kelp's migrations/ directory is not where this build expects it."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"filer schema migrations not found at {path}")
        self.path = path


def migrations_dir() -> Path:
    """The directory of kelp's `migrations` package (Alembic needs a real directory: a zipped
    install is refused). Raises MigrationsMissing."""
    try:
        package = importlib.import_module(MIGRATIONS_PACKAGE)
    except ImportError:
        package = None
    if package is not None and getattr(package, "KELP_FILER_MIGRATIONS", False):
        found = resources.files(package)
        if isinstance(found, Path) and (found / "env.py").is_file():
            return found
        raise MigrationsMissing(Path(str(found)))
    if (CHECKOUT_MIGRATIONS_DIR / "env.py").is_file():  # another `migrations` or none importable
        return CHECKOUT_MIGRATIONS_DIR
    raise MigrationsMissing(CHECKOUT_MIGRATIONS_DIR)


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "migrations/versions has no revision"
    return head


def current_revision(connection: sa.Connection) -> str | None:
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Migrate to head; returns (revision before, revision after)."""
    config = alembic_config()
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        before = current_revision(connection)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        after = current_revision(connection)
    assert after is not None
    return before, after
