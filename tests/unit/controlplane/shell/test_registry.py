"""The command registry: every family's commands by name, close-name suggestions, flag parsing
through controlplane.shell.flags with the shell's own hints, and help text."""

from __future__ import annotations

import pytest

from controlplane.shell.env import ShellEnv
from controlplane.shell.errors import CommandUsageError, UnknownCommand
from controlplane.shell.flags import Flags, FlagSet, HelpRequested
from controlplane.shell.registry import FAMILIES, Command, Registry


class Echo(Command):
    name = "test.echo"
    summary = "print a word"

    def declare(self, flags: FlagSet) -> None:
        flags.string("word", "hi", "what to print")
        flags.boolean("force", False, "really")

    async def run(self, env: ShellEnv, flags: Flags) -> None:
        env.write(flags.text("word"))


def test_the_cluster_family_is_registered() -> None:
    registry = Registry.load()
    assert "controlplane.shell.cluster" in FAMILIES
    cluster = {"cluster.status", "cluster.raft.ps", "cluster.raft.add", "cluster.raft.remove"}
    assert cluster <= set(registry.names())


def test_a_name_registered_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        Registry([Echo(), Echo()])


@pytest.mark.parametrize(
    ("typed", "suggested"),
    [
        ("cluster.stauts", ["cluster.status"]),
        ("status", ["cluster.status"]),
        ("cluster.raft", ["cluster.raft.add", "cluster.raft.ps", "cluster.raft.remove"]),
        ("nonsense", []),
    ],
)
def test_unknown_names_get_close_suggestions(typed: str, suggested: list[str]) -> None:
    with pytest.raises(UnknownCommand) as caught:
        Registry.load().get(typed)
    assert sorted(caught.value.suggestions) == suggested
    hint = "did you mean" if suggested else 'type "help"'
    assert hint in str(caught.value)


def test_flags_parse_weed_style_and_errors_name_the_command() -> None:
    command = Echo()
    assert command.parse(["-word=yo"]).text("word") == "yo"
    assert command.parse(["--word", "yo", "-force"]).boolean("force")
    with pytest.raises(CommandUsageError) as caught:
        command.parse(["-wrod=yo"])
    assert str(caught.value) == "test.echo: unknown flag -wrod (did you mean -word?)"
    with pytest.raises(CommandUsageError) as caught:
        command.parse(["-zzz"])
    assert str(caught.value) == "test.echo: unknown flag -zzz (see test.echo --help)"
    with pytest.raises(HelpRequested):
        command.parse(["-h"])


def test_usage_shows_flags_without_the_kelp_prefix() -> None:
    text = Registry.load().get("cluster.raft.add").usage()
    assert text.startswith("Usage: cluster.raft.add [-flag=value ...]\n")
    assert "-address string" in text and "-id string" in text and "ignored" in text


def test_usage_of_a_command_without_flags() -> None:
    assert Registry.load().get("cluster.raft.ps").usage().startswith("Usage: cluster.raft.ps\n")
