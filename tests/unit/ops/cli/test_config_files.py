"""ops.cli.config_files: master.toml and security.toml become typed settings; unused keys are
named; a key of the wrong type or a broken file is an error naming the file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from controlplane.master.config import VolumeGrowthConfig
from ops.cli.config_files import ConfigFileError, MaintenanceSettings, find_config_file, load_settings

MASTER_TOML = """
[master.volume_growth]
copy_1 = 5
copy_2 = 4
copy_3 = 2
copy_other = 1
threshold = 0.9

[master.maintenance]
sleep_minutes = 17
"""

SECURITY_TOML = """
[jwt.signing]
key = "write-secret"
expires_after_seconds = 30

[jwt.signing.read]
key = "read-secret"
expires_after_seconds = 90
"""


def test_master_and_security_values_are_read(tmp_path: Path) -> None:
    (tmp_path / "master.toml").write_text(MASTER_TOML)
    (tmp_path / "security.toml").write_text(SECURITY_TOML)
    settings = load_settings(str(tmp_path), with_master_toml=True)
    assert settings.growth == VolumeGrowthConfig(copy_1=5, copy_2=4, copy_3=2, copy_other=1)
    assert settings.security.jwt_signing_key == "write-secret"
    assert settings.security.jwt_expires_after_seconds == 30
    assert settings.security.jwt_read_key == "read-secret"
    assert settings.security.jwt_read_expires_after_seconds == 90


def test_unused_keys_are_named_in_warnings(tmp_path: Path) -> None:
    (tmp_path / "master.toml").write_text(MASTER_TOML)
    settings = load_settings(str(tmp_path), with_master_toml=True)
    assert len(settings.warnings) == 1
    assert "master.volume_growth.threshold" in settings.warnings[0]
    # [master.maintenance] is read (issue 6): a section without scripts schedules nothing.
    assert settings.maintenance == MaintenanceSettings(scripts="", sleep_seconds=17 * 60.0)


def test_missing_files_give_defaults(tmp_path: Path) -> None:
    settings = load_settings(str(tmp_path), with_master_toml=True)
    assert settings.growth == VolumeGrowthConfig()
    assert settings.security.jwt_signing_key == ""
    assert settings.warnings == ()


def test_volume_servers_do_not_read_master_toml(tmp_path: Path) -> None:
    (tmp_path / "master.toml").write_text("[master.volume_growth]\ncopy_1 = 'broken'\n")
    settings = load_settings(str(tmp_path), with_master_toml=False)
    assert settings.growth == VolumeGrowthConfig()


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[master.volume_growth]\ncopy_1 = 'x'\n", "master.volume_growth.copy_1 must be an integer, got 'x'"),
        ("[master.volume_growth]\ncopy_2 = true\n", "copy_2 must be an integer, got True"),
        ("[master.volume_growth\n", "not valid TOML"),
    ],
)
def test_bad_files_name_the_file_and_key(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "master.toml"
    path.write_text(text)
    with pytest.raises(ConfigFileError) as caught:
        load_settings(str(tmp_path), with_master_toml=True)
    assert caught.value.path == path
    assert fragment in str(caught.value)


def test_config_dir_is_the_only_place_searched_when_given(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "security.toml").write_text(SECURITY_TOML)
    elsewhere = tmp_path / "conf"
    elsewhere.mkdir()
    assert find_config_file("security.toml") == Path("security.toml")
    assert find_config_file("security.toml", str(elsewhere)) is None
