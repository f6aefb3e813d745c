"""Splitting shell input into commands: separators, quoting, comments, and syntax errors."""

from __future__ import annotations

import pytest

from controlplane.shell.errors import ScriptSyntaxError
from controlplane.shell.script import Invocation, parse_script


def names_and_args(text: str) -> list[tuple[str, ...]]:
    return [(i.name, *i.args) for i in parse_script(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cluster.status", [("cluster.status",)]),
        ("  cluster.status  ", [("cluster.status",)]),
        ("a; b", [("a",), ("b",)]),
        ("a;b;;  ;", [("a",), ("b",)]),
        ("a -x=1\nb -y 2", [("a", "-x=1"), ("b", "-y", "2")]),
        ("a -m='hello; world'", [("a", "-m=hello; world")]),
        ('a -m="say \\"hi\\""', [("a", '-m=say "hi"')]),
        ('a -m="back\\\\slash \\n"', [("a", "-m=back\\slash \\n")]),
        ("a one\\ word", [("a", "one word")]),
        ("a '' \"\"", [("a", "", "")]),
        ("# a comment\na -x=1 # trailing; not a command\nb", [("a", "-x=1"), ("b",)]),
        ("fs.ls -path=/a#b", [("fs.ls", "-path=/a#b")]),
        ("", []),
        ("# only a comment", []),
    ],
)
def test_commands_and_words(text: str, expected: list[tuple[str, ...]]) -> None:
    assert names_and_args(text) == expected


def test_each_command_keeps_its_own_text() -> None:
    assert parse_script("a -x=1 ;  b\n") == [Invocation("a", ("-x=1",), "a -x=1"), Invocation("b", (), "b")]


@pytest.mark.parametrize(("text", "reason"), [("a 'open", "unclosed '"), ('a "open', 'unclosed "'),
                                              ("a \\", "a backslash at the end has nothing to escape")])
def test_unparsable_input_is_a_syntax_error(text: str, reason: str) -> None:
    with pytest.raises(ScriptSyntaxError) as caught:
        parse_script(text)
    assert caught.value.reason == reason
