"""ops.cli.main: the dispatcher lists, finds and refuses subcommands."""

from __future__ import annotations

import importlib

import pytest

from ops.cli.main import SUBCOMMANDS, run


def test_help_lists_every_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["help"]) == 0
    out = capsys.readouterr().out
    for name in ("master", "volume", "server", "benchmark", "version"):
        assert f"  {name} " in out


def test_no_arguments_prints_usage_to_stderr_with_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run([]) == 2
    assert "Usage: kelp <command>" in capsys.readouterr().err


def test_unknown_command_suggests_the_closest(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        run(["mastr"])
    assert caught.value.code == 2
    assert capsys.readouterr().err == 'kelp: unknown command "mastr" (did you mean master?)\n'


def test_help_for_a_subcommand_shows_its_flags(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        run(["help", "volume"])
    assert caught.value.code == 0
    assert "-mserver" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["master", "volume", "server", "version"])
def test_module_summaries_match_the_listing(name: str) -> None:
    module_name, summary = SUBCOMMANDS[name]
    assert summary == importlib.import_module(module_name).SUMMARY


def test_version_prints_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["version"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("kelp ") and out.count("\n") == 1
