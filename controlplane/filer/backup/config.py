"""backup_filer.toml: the standby store of filer.meta.backup.

The same sections as filer.toml name the store ([sqlite] path = ..., or [postgres] host, port,
user, password, database, ...), so the file can become the promoted filer's filer.toml as it is.
Unlike filer.toml there is no default: a backup into a store nobody named is a mistake.

Imports the filer's config parser and the store config only.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from controlplane.filer.backup.errors import BackupConfigError
from controlplane.filer.config import FilerConfigError, parse_filer_toml
from controlplane.filer.store import StoreConfig

STORE_SECTIONS = ("sqlite", "postgres")


@dataclass(frozen=True, slots=True)
class BackupConfig:
    store: StoreConfig
    path: Path
    warnings: tuple[str, ...] = ()


def load_backup_config(path: str | Path) -> BackupConfig:
    """Parse backup_filer.toml; raises BackupConfigError saying what to fix."""
    where = Path(path)
    try:
        with where.open("rb") as f:
            document = tomllib.load(f)
    except FileNotFoundError as err:
        raise BackupConfigError(str(where), "no such file (write one with a [sqlite] or [postgres] "
                                            "section naming the standby store)") from err
    except OSError as err:
        raise BackupConfigError(str(where), f"cannot read: {err.strerror}") from err
    except tomllib.TOMLDecodeError as err:
        raise BackupConfigError(str(where), f"not valid TOML: {err}") from err
    named = [s for s in STORE_SECTIONS
             if isinstance(document.get(s), dict) and document[s].get("enabled", True) is not False]
    if not named:
        raise BackupConfigError(str(where), "names no standby store: add a [sqlite] section with "
                                            "path = \"...\" or a [postgres] section")
    # The parser refuses a path-less SQLite default silently; here the path must be given.
    if named == ["sqlite"] and "path" not in document["sqlite"]:
        raise BackupConfigError(str(where), "[sqlite] needs path = \"/where/standby.db\"")
    try:
        settings = parse_filer_toml(document, path=where)
    except FilerConfigError as err:
        raise BackupConfigError(str(where), err.message) from err
    return BackupConfig(settings.store, where, settings.warnings)
