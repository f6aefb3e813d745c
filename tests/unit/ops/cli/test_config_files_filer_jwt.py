"""ops.cli.config_files: security.toml's [jwt.filer_signing] and [jwt.filer_signing.read] tables
are known keys (no warning) and become the filer's JWT settings."""

from __future__ import annotations

from pathlib import Path

from ops.cli.config_files import SecuritySettings, load_settings

SECURITY_TOML = """
[jwt.signing]
key = "volume-secret"

[jwt.filer_signing]
key = "filer-write"
expires_after_seconds = 15

[jwt.filer_signing.read]
key = "filer-read"
expires_after_seconds = 45
"""


def test_filer_keys_are_read_without_warnings(tmp_path: Path) -> None:
    (tmp_path / "security.toml").write_text(SECURITY_TOML)
    settings = load_settings(str(tmp_path), with_master_toml=False)
    assert settings.warnings == ()
    assert settings.security == SecuritySettings(
        jwt_signing_key="volume-secret",
        jwt_filer_signing_key="filer-write", jwt_filer_expires_after_seconds=15,
        jwt_filer_read_key="filer-read", jwt_filer_read_expires_after_seconds=45,
    )


def test_filer_keys_default_to_off(tmp_path: Path) -> None:
    security = load_settings(str(tmp_path), with_master_toml=False).security
    assert security.jwt_filer_signing_key == "" and security.jwt_filer_read_key == ""
