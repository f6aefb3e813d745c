"""`store_config` / `store`: every test here runs on SQLite and, when a server is usable, on
PostgreSQL (tests/pgtest.py's pg_store_config; skipped with its reason otherwise)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from controlplane.filer.store import FilerStore, StoreConfig, open_store


@pytest.fixture(params=["sqlite", "postgres"])
def store_config(request: pytest.FixtureRequest, tmp_path: Path) -> StoreConfig:
    if request.param == "sqlite":
        return StoreConfig(kind="sqlite", path=str(tmp_path / "filer.db"))
    config: StoreConfig = request.getfixturevalue("pg_store_config")
    return config


@pytest.fixture
def store(store_config: StoreConfig) -> Iterator[FilerStore]:
    opened = open_store(store_config)
    try:
        yield opened
    finally:
        opened.close()
