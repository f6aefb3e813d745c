"""A shell session runs commands in order, stops a script at the first failure, reports every
failure as exactly one line on the error stream, and answers help/exit itself."""

from __future__ import annotations

import asyncio
import io

import pytest

from controlplane.shell.env import ShellEnv
from controlplane.shell.errors import CommandFailed
from controlplane.shell.flags import Flags
from controlplane.shell.master_pool import MasterPool
from controlplane.shell.registry import Command, Registry
from controlplane.shell.session import ExitRequested, Session
from tests.unit.controlplane.shell.fake_masters import FakeCluster

ran: list[str] = []


class Good(Command):
    name = "test.good"
    summary = "succeeds"

    async def run(self, env: ShellEnv, flags: Flags) -> None:
        ran.append(self.name)
        env.write("good")


class Bad(Command):
    name = "test.bad"
    summary = "fails"

    async def run(self, env: ShellEnv, flags: Flags) -> None:
        ran.append(self.name)
        raise CommandFailed(self.name, "it went wrong\nover two lines")


class Buggy(Command):
    name = "test.buggy"
    summary = "has a bug"

    async def run(self, env: ShellEnv, flags: Flags) -> None:
        raise KeyError("oops")


@pytest.fixture
def session() -> Session:
    ran.clear()
    masters = MasterPool(["m1:9333"], FakeCluster(["m1:9333"], leader="m1:9333").connect)
    return Session(Registry([Good(), Bad(), Buggy()]), ShellEnv(masters, io.StringIO()), err=io.StringIO())


def out(session: Session) -> str:
    return session.env.out.getvalue()  # type: ignore[attr-defined]  # a StringIO in these tests


def err(session: Session) -> str:
    return session.err.getvalue()  # type: ignore[attr-defined]  # a StringIO in these tests


def test_a_script_runs_every_command_in_order(session: Session) -> None:
    assert asyncio.run(session.run_script("test.good; test.good")) is True
    assert ran == ["test.good", "test.good"]
    assert out(session) == "good\ngood\n" and err(session) == ""


def test_a_script_stops_at_the_first_failure_with_one_line(session: Session) -> None:
    assert asyncio.run(session.run_script("test.good; test.bad; test.good")) is False
    assert ran == ["test.good", "test.bad"]
    assert err(session) == "test.bad: it went wrong over two lines\n"


def test_an_unknown_command_is_one_line_with_suggestions(session: Session) -> None:
    assert asyncio.run(session.run_script("test.god")) is False
    assert err(session) == 'unknown command "test.god" (did you mean test.good?)\n'
    assert asyncio.run(session.run_script("hlep")) is False
    assert err(session).splitlines()[-1] == 'unknown command "hlep" (did you mean help?)'


def test_a_bad_flag_is_one_line_naming_the_command(session: Session) -> None:
    assert asyncio.run(session.run_script("test.good -x=1")) is False
    assert err(session) == "test.good: unknown flag -x (see test.good --help)\n"


def test_a_syntax_error_runs_nothing(session: Session) -> None:
    assert asyncio.run(session.run_script("test.good; test.good 'open")) is False
    assert ran == [] and err(session).startswith("cannot parse ")


def test_a_bug_in_a_command_is_reported_and_the_session_lives_on(session: Session) -> None:
    assert asyncio.run(session.run_script("test.buggy")) is False
    assert err(session) == "test.buggy: unexpected KeyError: 'oops'\n"
    assert asyncio.run(session.run_script("test.good")) is True


def test_help_lists_commands_and_builtins(session: Session) -> None:
    assert asyncio.run(session.run_script("help")) is True
    listing = out(session)
    for name in ("test.good", "test.bad", "help", "exit", "quit"):
        assert f"  {name} " in listing


def test_help_for_one_command_and_dash_h(session: Session) -> None:
    assert asyncio.run(session.run_script("help test.good; test.bad -h")) is True
    assert "Usage: test.good\n" in out(session) and "Usage: test.bad\n" in out(session)
    assert ran == []  # -h shows help instead of running


def test_exit_stops_the_script(session: Session) -> None:
    with pytest.raises(ExitRequested):
        asyncio.run(session.run_script("test.good; exit; test.good"))
    assert ran == ["test.good"]
