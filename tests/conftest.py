"""Shared pytest set-up for every tier: kelp's packages importable from a plain checkout."""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

# An editable install puts these on sys.path already; a plain checkout needs them added
# (proto/ holds the generated kelp_pb package).
for path in (REPO_ROOT, REPO_ROOT / "proto"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

# PostgreSQL fixtures for any tier (tests/pgtest.py): pg_database, pg_store_config, pg_store_config_factory.
from tests.pgtest import pg_database, pg_store_config, pg_store_config_factory  # noqa: E402

__all__ = ["pg_database", "pg_store_config", "pg_store_config_factory"]
