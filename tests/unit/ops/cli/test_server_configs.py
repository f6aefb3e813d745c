"""ops.cli.{master,volume,server}: weed's flags map onto MasterConfig and VolumeServerConfig."""

from __future__ import annotations

from pathlib import Path

import pytest

from controlplane.shell.flags import FlagError
from ops.cli import master, server, volume


def test_kelp_server_puts_master_data_under_dir_and_shares_ip(tmp_path: Path) -> None:
    (tmp_path / "security.toml").write_text('[jwt.signing]\nkey = "k1"\n[jwt.signing.read]\nkey = "k2"\n')
    (tmp_path / "master.toml").write_text("[master.volume_growth]\ncopy_1 = 2\n")
    flags = server.flag_set().parse([
        f"-dir={tmp_path}", "-ip=10.0.0.5", "-master.port=9400", "-volume.port=8100",
        "-volume.max=3", "-master.volumeSizeLimitMB=64", "-master.defaultReplication=001",
        "-dataCenter=dc1", "-rack=r2", "-volume.index=leveldbLarge", f"-config.dir={tmp_path}",
    ])
    master_config, volume_config = server.configs(flags)
    assert master_config.mdir == str(tmp_path / "master")
    assert (master_config.ip, master_config.bind_ip, master_config.port) == ("10.0.0.5", "10.0.0.5", 9400)
    assert master_config.volume_size_limit_mb == 64
    assert master_config.default_replication == "001"
    assert volume_config.dirs == (str(tmp_path),)
    assert volume_config.max_volumes == (3,)
    assert (volume_config.port, volume_config.ip) == (8100, "10.0.0.5")
    assert (volume_config.data_center, volume_config.rack) == ("dc1", "r2")
    assert volume_config.index == "leveldb"
    assert (master_config.jwt_signing_key, master_config.jwt_read_key) == ("k1", "k2")
    assert (volume_config.jwt_signing_key, volume_config.jwt_read_key) == ("k1", "k2")
    assert master_config.growth.copy_1 == 2


def test_one_max_applies_to_every_dir() -> None:
    assert volume.max_per_dir("volume", "max", ("/a", "/b", "/c"), (4,)) == (4, 4, 4)
    assert volume.max_per_dir("volume", "max", ("/a", "/b"), (4, 5)) == (4, 5)


def test_max_count_must_match_dirs(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        volume.max_per_dir("volume", "max", ("/a", "/b", "/c"), (4, 5))
    assert caught.value.code == 2
    assert capsys.readouterr().err == "kelp volume: -max has 2 values for 3 directories (give 1 or 3)\n"


def test_peers_none_means_a_single_master() -> None:
    flags = master.flag_set().parse(["-peers=none"])
    assert master.peers(flags.texts("peers")) == ()
    flags = master.flag_set().parse(["-peers=a:9333,b:9333.19444"])
    assert master.peers(flags.texts("peers")) == ("a:9333", "b:9333.19444")


def test_bad_replication_is_refused_at_the_flag() -> None:
    with pytest.raises(FlagError, match=r'-defaultReplication: "0x1" is not a replication string'):
        master.flag_set().parse(["-defaultReplication=0x1"])


def test_volume_accepts_the_older_mserver_alias() -> None:
    flags = volume.flag_set().parse(["-mserver=m1:9333,m2:9333", "-largeDisk=false"])
    assert flags.texts("master") == ("m1:9333", "m2:9333")
    assert flags.boolean("largeDisk") is False


def test_server_accepts_weed_filer_flags() -> None:
    flags = server.flag_set().parse(["-filer", "-filer.port=8889"])
    assert flags.boolean("filer") and flags.integer("filer.port") == 8889
