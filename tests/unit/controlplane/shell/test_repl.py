"""The interactive loop: runs each line, carries on after a failure, leaves on exit/quit/EOF,
survives Ctrl-C; and tab completion of command names and flags."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator

from controlplane.shell.env import ShellEnv
from controlplane.shell.master_pool import MasterPool
from controlplane.shell.registry import Registry
from controlplane.shell.repl import PROMPT, Repl, command_flags, completions
from controlplane.shell.session import Session
from tests.unit.controlplane.shell.fake_masters import FakeCluster

M1 = "m1:9333"


def repl_over(lines: list[str | BaseException]) -> tuple[Repl, io.StringIO, list[str]]:
    out, err = io.StringIO(), io.StringIO()
    cluster = FakeCluster([M1], leader=M1)
    session = Session(Registry.load(), ShellEnv(MasterPool([M1], cluster.connect), out), err=err)
    prompts: list[str] = []
    feed: Iterator[str | BaseException] = iter(lines)

    def read_line(prompt: str) -> str:
        prompts.append(prompt)
        item = next(feed, EOFError())
        if isinstance(item, BaseException):
            raise item
        return item

    runner = asyncio.Runner()
    repl = Repl(session, runner.run, read_line=read_line, err=err)
    repl.loop()
    runner.close()
    return repl, out, prompts


def test_a_failed_line_does_not_end_the_loop() -> None:
    repl, out, prompts = repl_over(["nonsense", "", "cluster.raft.ps"])
    assert 'unknown command "nonsense"' in repl.err.getvalue()  # type: ignore[attr-defined]
    assert "ADDRESS" in out.getvalue()
    assert prompts == [PROMPT] * 4  # three lines, then end of input


def test_exit_and_quit_leave_at_once() -> None:
    for word in ("exit", "quit"):
        _, out, prompts = repl_over([word, "cluster.raft.ps"])
        assert out.getvalue() == "" and len(prompts) == 1


def test_ctrl_c_at_the_prompt_gives_a_new_prompt() -> None:
    _, out, prompts = repl_over([KeyboardInterrupt(), "cluster.raft.ps"])
    assert "ADDRESS" in out.getvalue() and len(prompts) == 3


NAMES = ["cluster.raft.add", "cluster.raft.ps", "cluster.raft.remove", "cluster.status", "exit", "help",
         "quit"]


def flags_of(name: str) -> list[str]:
    return command_flags(Registry.load())(name)


def test_completion_of_command_names() -> None:
    assert completions("clu", "clu", NAMES, flags_of) == [
        "cluster.raft.add ", "cluster.raft.ps ", "cluster.raft.remove ", "cluster.status "
    ]
    assert completions("cluster.raft.r", "cluster.raft.r", NAMES, flags_of) == ["cluster.raft.remove "]
    assert completions("cluster.status; he", "he", NAMES, flags_of) == ["help "]
    assert completions("", "", NAMES, flags_of) == [f"{n} " for n in NAMES]


def test_completion_of_a_commands_flags() -> None:
    assert completions("cluster.raft.add -a", "-a", NAMES, flags_of) == ["-address="]
    assert completions("cluster.raft.add -", "-", NAMES, flags_of) == ["-address=", "-id=", "-voter "]
    assert completions("nonsense -", "-", NAMES, flags_of) == []
    assert completions("cluster.raft.add x", "x", NAMES, flags_of) == []
