"""The `kelp` command as a user runs it: a wrong flag or value exits 2 with ONE line saying what
to fix, and --help lists every flag. No servers are started."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ops.cli import master, server, volume
from ops.localcluster import REPO_ROOT

# A cold interpreter start on a loaded two-core machine; --help and flag errors import no server.
COMMAND_SECONDS = 30.0


def kelp(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "proto")]))
    return subprocess.run(
        [sys.executable, "-m", "ops.cli.main", *args],
        capture_output=True, text=True, timeout=COMMAND_SECONDS, env=env, cwd=cwd or REPO_ROOT,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["volume", "-prot=8080"], "kelp volume: unknown flag -prot (did you mean -port?)"),
        (["master", "-port=abc"], 'kelp master: -port: "abc" is not an integer'),
        (["master", "--port", "abc"], 'kelp master: -port: "abc" is not an integer'),
        (["server", "-volume.max=x"], 'kelp server: -volume.max: "x" in "x" is not an integer'),
        (["volume", "-index=lsm"], 'kelp volume: -index: "lsm" is not one of memory, leveldb, leveldbMedium, '
                                   "leveldbLarge"),
        (["volume", "-master=localhost"], 'kelp volume: -master: "localhost" is not host:port '
                                          "(e.g. 127.0.0.1:9333)"),
        (["master", "-defaultReplication=4x"], 'kelp master: -defaultReplication: "4x" is not a replication '
                                               "string (three digits xyz, e.g. 000 or 001)"),
        (["mastr"], 'kelp: unknown command "mastr" (did you mean master?)'),
    ],
)
def test_a_wrong_flag_exits_2_with_one_line(args: list[str], line: str) -> None:
    done = kelp(*args)
    assert done.returncode == 2
    assert done.stderr == line + "\n"
    assert done.stdout == ""


def test_a_bad_config_file_exits_2_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "master.toml").write_text("[master.volume_growth]\ncopy_1 = 'seven'\n")
    done = kelp("master", f"-config.dir={tmp_path}", f"-mdir={tmp_path / 'm'}")
    assert done.returncode == 2
    assert done.stderr.strip().endswith("master.volume_growth.copy_1 must be an integer, got 'seven'")
    assert done.stderr.count("\n") == 1


@pytest.mark.parametrize("module", [master, volume, server])
def test_help_lists_every_flag_with_its_default(module: object) -> None:
    flag_set = module.flag_set()  # type: ignore[attr-defined]  # each subcommand module has one
    done = kelp(flag_set.command, "--help")
    assert done.returncode == 0
    for flag in flag_set.flags():
        assert f"  -{flag.name}" in done.stdout, flag.name
    assert done.stdout.count("(default ") == len(flag_set.flags())


def test_kelp_help_lists_the_subcommands() -> None:
    done = kelp("help")
    assert done.returncode == 0
    for name in ("master", "volume", "server", "benchmark", "version"):
        assert f"  {name} " in done.stdout
