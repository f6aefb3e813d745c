"""SeaweedFS-named TOML config files (`master.toml`, `security.toml`) read once at start-up.

Each file is found the way weed finds it (`-config.dir` if given, else `.`, `~/.seaweedfs`,
`/usr/local/etc/seaweedfs`, `/etc/seaweedfs`, first hit wins), parsed with `tomllib`, checked
against a schema of known keys, and turned into typed values; a key kelp does not use is named
in a warning so a typo never passes silently. Only typed values leave this module.

Must not import kelp servers, grpc or asyncio: it runs before anything is started.
"""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from controlplane.master.config import VolumeGrowthConfig
from controlplane.shell.flags import exit_with_error

log = logging.getLogger(__name__)

# weed's search order for config files (weed/util/config.go's list of places).
CONFIG_SEARCH_DIRS = (".", "~/.seaweedfs", "/usr/local/etc/seaweedfs", "/etc/seaweedfs")

TomlValue = str | int | float | bool
T = TypeVar("T")


class ConfigFileError(Exception):
    """A config file that cannot be used: unreadable, not TOML, or a key of the wrong type."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclass(frozen=True, slots=True)
class SecuritySettings:
    """`security.toml`: the JWT keys (an empty key disables that check)."""

    jwt_signing_key: str = ""  # [jwt.signing] key: signs and verifies volume writes/deletes
    jwt_expires_after_seconds: int = 10  # [jwt.signing] expires_after_seconds
    jwt_read_key: str = ""  # [jwt.signing.read] key: when set, reads need a token too
    jwt_read_expires_after_seconds: int = 60  # [jwt.signing.read] expires_after_seconds
    # The filer's own keys (reference §5.8): clients sign their tokens; kelp only verifies them,
    # so the expiry settings are accepted for weed's sake and not used.
    jwt_filer_signing_key: str = ""  # [jwt.filer_signing] key: filer writes need a token
    jwt_filer_expires_after_seconds: int = 10  # [jwt.filer_signing] expires_after_seconds
    jwt_filer_read_key: str = ""  # [jwt.filer_signing.read] key: filer reads need a token
    jwt_filer_read_expires_after_seconds: int = 60  # [jwt.filer_signing.read] expires_after_seconds


@dataclass(frozen=True, slots=True)
class LoadedFile:
    """What a file gave: its typed values by dotted key, and one warning per unused key."""

    path: Path | None
    values: dict[str, TomlValue]
    warnings: tuple[str, ...]


SECURITY_SCHEMA: dict[str, type] = {
    "jwt.signing.key": str,
    "jwt.signing.expires_after_seconds": int,
    "jwt.signing.read.key": str,
    "jwt.signing.read.expires_after_seconds": int,
    "jwt.filer_signing.key": str,
    "jwt.filer_signing.expires_after_seconds": int,
    "jwt.filer_signing.read.key": str,
    "jwt.filer_signing.read.expires_after_seconds": int,
}

MASTER_SCHEMA: dict[str, type] = {
    "master.volume_growth.copy_1": int,
    "master.volume_growth.copy_2": int,
    "master.volume_growth.copy_3": int,
    "master.volume_growth.copy_other": int,
    "master.maintenance.scripts": str,
    "master.maintenance.sleep_minutes": int,
    "master.maintenance.sleep_seconds": int,  # kelp: a test's interval
}


def find_config_file(name: str, config_dir: str = "") -> Path | None:
    """The file weed would read: in config_dir only when given, else the first search hit."""
    places = (config_dir,) if config_dir else CONFIG_SEARCH_DIRS
    for place in places:
        candidate = Path(place).expanduser() / name
        if candidate.is_file():
            return candidate
    return None


def load_file(path: Path | None, schema: dict[str, type]) -> LoadedFile:
    """Parse one TOML file against schema; a missing file (None) gives no values."""
    if path is None:
        return LoadedFile(None, {}, ())
    try:
        with path.open("rb") as f:
            document = tomllib.load(f)
    except OSError as err:
        raise ConfigFileError(path, f"cannot read: {err.strerror}") from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigFileError(path, f"not valid TOML: {err}") from err
    values: dict[str, TomlValue] = {}
    warnings: list[str] = []
    for key, value in _flatten(document):
        expected = schema.get(key)
        if expected is None:
            warnings.append(f"{path}: ignoring key {key} (kelp does not use it)")
            continue
        # bool is an int in Python; a TOML `true` where a number belongs is still a mistake.
        wrong_type = not isinstance(value, expected) or (expected is int and isinstance(value, bool))
        if wrong_type or not isinstance(value, str | int | float | bool):
            raise ConfigFileError(path, f"{key} must be {_TYPE_WORDS[expected]}, got {value!r}")
        values[key] = value
    return LoadedFile(path, values, tuple(warnings))


def security_settings(loaded: LoadedFile) -> SecuritySettings:
    defaults = SecuritySettings()
    return SecuritySettings(
        jwt_signing_key=_get(loaded, "jwt.signing.key", str, defaults.jwt_signing_key),
        jwt_expires_after_seconds=_get(
            loaded, "jwt.signing.expires_after_seconds", int, defaults.jwt_expires_after_seconds
        ),
        jwt_read_key=_get(loaded, "jwt.signing.read.key", str, defaults.jwt_read_key),
        jwt_read_expires_after_seconds=_get(
            loaded, "jwt.signing.read.expires_after_seconds", int, defaults.jwt_read_expires_after_seconds
        ),
        jwt_filer_signing_key=_get(loaded, "jwt.filer_signing.key", str, defaults.jwt_filer_signing_key),
        jwt_filer_expires_after_seconds=_get(
            loaded, "jwt.filer_signing.expires_after_seconds", int, defaults.jwt_filer_expires_after_seconds
        ),
        jwt_filer_read_key=_get(loaded, "jwt.filer_signing.read.key", str, defaults.jwt_filer_read_key),
        jwt_filer_read_expires_after_seconds=_get(
            loaded, "jwt.filer_signing.read.expires_after_seconds", int,
            defaults.jwt_filer_read_expires_after_seconds,
        ),
    )


def volume_growth(loaded: LoadedFile) -> VolumeGrowthConfig:
    defaults = VolumeGrowthConfig()
    prefix = "master.volume_growth."
    return VolumeGrowthConfig(
        copy_1=_get(loaded, prefix + "copy_1", int, defaults.copy_1),
        copy_2=_get(loaded, prefix + "copy_2", int, defaults.copy_2),
        copy_3=_get(loaded, prefix + "copy_3", int, defaults.copy_3),
        copy_other=_get(loaded, prefix + "copy_other", int, defaults.copy_other),
    )


_TYPE_WORDS = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}


def _get(loaded: LoadedFile, key: str, kind: type[T], default: T) -> T:
    value = loaded.values.get(key, default)
    assert isinstance(value, kind), key  # load_file checked the type against the schema
    return value


def _flatten(table: dict[str, object], prefix: str = "") -> list[tuple[str, object]]:
    """Dotted keys of every leaf; nested tables ([jwt.signing.read]) become deeper keys."""
    leaves: list[tuple[str, object]] = []
    for key, value in table.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            leaves.extend(_flatten(value, dotted + "."))
        else:
            leaves.append((dotted, value))
    return leaves


@dataclass(frozen=True, slots=True)
class MaintenanceSettings:
    """`[master.maintenance]`: the scripts the leader runs and the sleep between runs."""

    scripts: str
    sleep_seconds: float


def maintenance(loaded: LoadedFile) -> MaintenanceSettings | None:
    """None when master.toml has no [master.maintenance] keys."""
    prefix = "master.maintenance."
    if not any(key.startswith(prefix) for key in loaded.values):
        return None
    minutes = _get(loaded, prefix + "sleep_minutes", int, 17)
    seconds = _get(loaded, prefix + "sleep_seconds", int, 0)
    if minutes < 1 or seconds < 0:
        raise ConfigFileError(loaded.path or Path("master.toml"), "master.maintenance sleep must be positive")
    return MaintenanceSettings(_get(loaded, prefix + "scripts", str, ""), float(seconds or minutes * 60))


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """Everything a server subcommand takes from config files, with the warnings to log."""

    growth: VolumeGrowthConfig
    security: SecuritySettings
    warnings: tuple[str, ...]
    maintenance: MaintenanceSettings | None = None


def load_settings(config_dir: str, *, with_master_toml: bool) -> ServerSettings:
    """security.toml always; master.toml too for a master. Raises ConfigFileError."""
    security = load_file(find_config_file("security.toml", config_dir), SECURITY_SCHEMA)
    master = LoadedFile(None, {}, ())
    if with_master_toml:
        master = load_file(find_config_file("master.toml", config_dir), MASTER_SCHEMA)
    return ServerSettings(
        growth=volume_growth(master),
        security=security_settings(security),
        warnings=security.warnings + master.warnings,
        maintenance=maintenance(master),
    )


def load_settings_or_exit(command: str, config_dir: str, *, with_master_toml: bool) -> ServerSettings:
    """Read the config files once, logging a warning per unused key; a bad file is a
    one-line usage error (exit 2)."""
    try:
        settings = load_settings(config_dir, with_master_toml=with_master_toml)
    except ConfigFileError as err:
        exit_with_error(f"kelp {command}: {err}")
    for warning in settings.warnings:
        log.warning("%s", warning)
    return settings
