"""filer.toml: which store the filer opens, and how long its change log is kept.

Found the way weed finds it (`-config.dir` if given, else `.`, `~/.seaweedfs`,
`/usr/local/etc/seaweedfs`, `/etc/seaweedfs`; first hit wins) and parsed with tomllib:

    [postgres]                  # or [sqlite]; a section with `enabled = false` is skipped
    host = "localhost"          # weed's postgres2 names `hostname`, `username` are accepted too
    port = 5432
    user = "kelp"
    password = "secret"
    database = "kelp"
    sslmode = "disable"
    pool_size = 10              # connections per filer, bounded (1..200)

    [sqlite]
    path = "/var/lib/kelp/filer.db"
    synchronous = "NORMAL"      # or FULL to fsync every commit

    [changelog]
    retention_hours = 168       # changes older than this are trimmed; 0 keeps them forever

No file, or neither section enabled: SQLite at `<-dir or defaultStoreDir>/filer.db`. A key kelp
does not use is named in a warning (returned, for the caller to log), so a typo never passes
silently; a wrong type or value is a FilerConfigError naming the file and key.

Imports the standard library and the store's StoreConfig only (no servers, grpc or ops).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controlplane.filer.store.config import StoreConfig

CONFIG_SEARCH_DIRS = (".", "~/.seaweedfs", "/usr/local/etc/seaweedfs", "/etc/seaweedfs")
FILER_TOML = "filer.toml"
SQLITE_FILE = "filer.db"
DEFAULT_RETENTION_HOURS = 168.0  # a week: a subscriber (meta.backup, a mount) may be down that long

# Keys per section -> (StoreConfig field, accepted types); aliases are weed's postgres2 names.
_POSTGRES_KEYS: dict[str, tuple[str, tuple[type, ...]]] = {
    "host": ("host", (str,)), "hostname": ("host", (str,)),
    "port": ("port", (int,)),
    "user": ("user", (str,)), "username": ("user", (str,)),
    "password": ("password", (str,)),
    "database": ("database", (str,)),
    "sslmode": ("sslmode", (str,)),
    "pool_size": ("pool_size", (int,)),
    "connect_timeout_seconds": ("connect_timeout_seconds", (int,)),
    "pool_timeout_seconds": ("pool_timeout_seconds", (int, float)),
}
_SQLITE_KEYS: dict[str, tuple[str, tuple[type, ...]]] = {
    "path": ("path", (str,)),
    "synchronous": ("sqlite_synchronous", (str,)),
    "busy_timeout_seconds": ("busy_timeout_seconds", (int, float)),
    "pool_size": ("pool_size", (int,)),
}
_CHANGELOG_KEYS: dict[str, tuple[type, ...]] = {"retention_hours": (int, float)}


class FilerConfigError(Exception):
    """filer.toml cannot be used: unreadable, not TOML, a wrong type or value, or two stores."""

    def __init__(self, path: Path | None, message: str) -> None:
        super().__init__(f"{path or FILER_TOML}: {message}")
        self.path = path
        self.message = message


@dataclass(frozen=True, slots=True)
class FilerStoreSettings:
    """What filer.toml gave: the store, the change-log retention, and a warning per unused key."""

    store: StoreConfig
    change_retention_seconds: float | None  # None: keep the change log forever
    path: Path | None = None  # the file read (None: none found, defaults)
    warnings: tuple[str, ...] = ()


def find_filer_toml(config_dir: str = "") -> Path | None:
    """The filer.toml weed would read: in config_dir only when given, else the first search hit."""
    places = (config_dir,) if config_dir else CONFIG_SEARCH_DIRS
    for place in places:
        candidate = Path(place).expanduser() / FILER_TOML
        if candidate.is_file():
            return candidate
    return None


def default_store_config(default_dir: str) -> StoreConfig:
    return StoreConfig(kind="sqlite", path=str(Path(default_dir or ".") / SQLITE_FILE))


def load_store_config(path: Path | None, *, default_dir: str = ".") -> FilerStoreSettings:
    """Parse filer.toml at path (None: defaults). Raises FilerConfigError."""
    if path is None:
        return FilerStoreSettings(default_store_config(default_dir), DEFAULT_RETENTION_HOURS * 3600)
    try:
        with path.open("rb") as f:
            document = tomllib.load(f)
    except OSError as err:
        raise FilerConfigError(path, f"cannot read: {err.strerror}") from err
    except tomllib.TOMLDecodeError as err:
        raise FilerConfigError(path, f"not valid TOML: {err}") from err
    return parse_filer_toml(document, path=path, default_dir=default_dir)


def parse_filer_toml(document: dict[str, Any], *, path: Path | None = None,
                     default_dir: str = ".") -> FilerStoreSettings:
    warnings: list[str] = []
    where = str(path or FILER_TOML)
    stores: list[StoreConfig] = []
    retention_hours = DEFAULT_RETENTION_HOURS
    for section, table in document.items():
        if not isinstance(table, dict):
            warnings.append(f"{where}: ignoring key {section} (kelp does not use it)")
            continue
        if not _enabled(table, section, path):
            continue
        if section == "postgres":
            stores.append(_store(table, section, _POSTGRES_KEYS, {"kind": "postgres"}, path, warnings))
        elif section == "sqlite":
            base = {"kind": "sqlite", "path": str(Path(default_dir or ".") / SQLITE_FILE)}
            stores.append(_store(table, section, _SQLITE_KEYS, base, path, warnings))
        elif section == "changelog":
            for key, value in table.items():
                if key not in _CHANGELOG_KEYS:
                    warnings.append(f"{where}: ignoring key changelog.{key} (kelp does not use it)")
                    continue
                _check_type(value, _CHANGELOG_KEYS[key], f"changelog.{key}", path)
                if value < 0:
                    raise FilerConfigError(path, f"changelog.{key} must be >= 0, got {value!r}")
                retention_hours = float(value)
        else:
            warnings.append(f"{where}: ignoring section [{section}] "
                            "(kelp reads [postgres], [sqlite] and [changelog])")
    if len(stores) > 1:
        raise FilerConfigError(path, "both [postgres] and [sqlite] are enabled: keep one "
                                     "(or set enabled = false in the other)")
    store = stores[0] if stores else default_store_config(default_dir)
    retention = retention_hours * 3600 if retention_hours > 0 else None
    return FilerStoreSettings(store, retention, path, tuple(warnings))


def _enabled(table: dict[str, Any], section: str, path: Path | None) -> bool:
    enabled = table.get("enabled", True)
    if not isinstance(enabled, bool):
        raise FilerConfigError(path, f"{section}.enabled must be true or false, got {enabled!r}")
    return enabled


def _store(table: dict[str, Any], section: str, keys: dict[str, tuple[str, tuple[type, ...]]],
           base: dict[str, Any], path: Path | None, warnings: list[str]) -> StoreConfig:
    fields = dict(base)
    for key, value in table.items():
        if key == "enabled":
            continue
        known = keys.get(key)
        if known is None:
            warnings.append(f"{path or FILER_TOML}: ignoring key {section}.{key} (kelp does not use it)")
            continue
        field, types = known
        _check_type(value, types, f"{section}.{key}", path)
        fields[field] = value
    try:
        return StoreConfig(**fields)
    except ValueError as err:
        raise FilerConfigError(path, f"[{section}]: {err}") from err


_TYPE_WORDS = {str: "a string", int: "an integer", float: "a number"}


def _check_type(value: object, types: tuple[type, ...], key: str, path: Path | None) -> None:
    # bool is an int in Python; a TOML `true` where a number belongs is still a mistake.
    if isinstance(value, bool) or not isinstance(value, types):
        words = " or ".join(_TYPE_WORDS[t] for t in types)
        raise FilerConfigError(path, f"{key} must be {words}, got {value!r}")
