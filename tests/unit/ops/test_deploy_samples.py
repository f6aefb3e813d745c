"""ops/deploy's sample config files name every key kelp reads, with the defaults the code uses,
so the samples cannot drift from the loader."""

from __future__ import annotations

from pathlib import Path

from controlplane.master.config import VolumeGrowthConfig
from ops.cli.config_files import (
    MASTER_SCHEMA,
    SECURITY_SCHEMA,
    SecuritySettings,
    load_file,
    security_settings,
    volume_growth,
)

DEPLOY = Path(__file__).resolve().parents[3] / "ops" / "deploy"


def test_master_sample_has_every_key_with_its_default() -> None:
    loaded = load_file(DEPLOY / "master.toml", MASTER_SCHEMA)
    assert loaded.warnings == ()
    assert set(loaded.values) == set(MASTER_SCHEMA)
    assert volume_growth(loaded) == VolumeGrowthConfig()


def test_security_sample_has_every_key_with_its_default() -> None:
    loaded = load_file(DEPLOY / "security.toml", SECURITY_SCHEMA)
    assert loaded.warnings == ()
    assert set(loaded.values) == set(SECURITY_SCHEMA)
    assert security_settings(loaded) == SecuritySettings()


def test_filer_toml_sample_loads_without_warnings() -> None:
    from controlplane.filer.config import load_store_config

    settings = load_store_config(DEPLOY / "filer.toml")
    assert settings.warnings == ()
    assert settings.store.kind == "postgres" and settings.change_retention_seconds == 168 * 3600
