"""filer.toml: [postgres] / [sqlite] / [changelog], weed's postgres2 key names, `enabled`,
defaults, warnings for unused keys and one-line errors for wrong types or two stores."""

from __future__ import annotations

from pathlib import Path

import pytest

from controlplane.filer.config import (
    DEFAULT_RETENTION_HOURS,
    FilerConfigError,
    find_filer_toml,
    load_store_config,
)
from controlplane.filer.store import StoreConfig


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "filer.toml"
    path.write_text(text)
    return path


def test_no_file_is_sqlite_in_the_default_dir(tmp_path: Path) -> None:
    settings = load_store_config(None, default_dir=str(tmp_path))
    assert settings.store == StoreConfig(kind="sqlite", path=str(tmp_path / "filer.db"))
    assert settings.change_retention_seconds == DEFAULT_RETENTION_HOURS * 3600
    assert settings.warnings == ()


def test_postgres_section(tmp_path: Path) -> None:
    path = write(tmp_path, """
[postgres]
hostname = "db.local"
port = 5433
username = "filer"
password = "pw"
database = "kelp"
sslmode = "require"
pool_size = 20
schema = "x"

[sqlite]
enabled = false
path = "/ignored"

[changelog]
retention_hours = 0

[leveldb2]
enabled = true
""")
    settings = load_store_config(path, default_dir="/data")
    store = settings.store
    assert (store.kind, store.host, store.port, store.user, store.password, store.database, store.sslmode,
            store.pool_size) == ("postgres", "db.local", 5433, "filer", "pw", "kelp", "require", 20)
    assert settings.change_retention_seconds is None
    assert len(settings.warnings) == 2
    assert "postgres.schema" in settings.warnings[0] and "[leveldb2]" in settings.warnings[1]
    assert "pw" not in store.target()


def test_sqlite_section(tmp_path: Path) -> None:
    path = write(tmp_path, '[sqlite]\npath = "/var/lib/kelp/f.db"\nsynchronous = "FULL"\n'
                           '[changelog]\nretention_hours = 1.5\n')
    settings = load_store_config(path)
    assert settings.store.path == "/var/lib/kelp/f.db"
    assert settings.store.sqlite_synchronous == "FULL"
    assert settings.change_retention_seconds == 5400
    default_path = load_store_config(write(tmp_path, "[sqlite]\n"), default_dir="/d").store.path
    assert default_path == "/d/filer.db"


@pytest.mark.parametrize(("text", "says"), [
    ("[postgres]\nport = \"5432\"\n", "postgres.port must be an integer"),
    ("[postgres]\npool_size = 0\n", "pool_size must be 1..200"),
    ("[postgres]\nsslmode = \"sometimes\"\n", "sslmode must be one of"),
    ("[sqlite]\nenabled = \"yes\"\n", "sqlite.enabled must be true or false"),
    ("[postgres]\n[sqlite]\n", "both [postgres] and [sqlite] are enabled"),
    ("[changelog]\nretention_hours = -1\n", "must be >= 0"),
    ("[sqlite]\npath = \n", "not valid TOML"),
])
def test_bad_files(tmp_path: Path, text: str, says: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(FilerConfigError) as caught:
        load_store_config(path)
    assert says in str(caught.value)
    assert str(path) in str(caught.value)


def test_find_in_config_dir_only(tmp_path: Path) -> None:
    assert find_filer_toml(str(tmp_path)) is None
    path = write(tmp_path, "")
    assert find_filer_toml(str(tmp_path)) == path
