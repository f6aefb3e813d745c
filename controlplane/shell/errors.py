"""Errors of the admin shell. Each is one line for the user (str()) and keeps its data as
attributes, so the session and tests never parse message text.

Standard library only.
"""

from __future__ import annotations

from collections.abc import Sequence


class ShellError(Exception):
    """Base of every error a shell command or the session reports as one line."""


class ScriptSyntaxError(ShellError):
    """A command line that cannot be split (an unclosed quote, a trailing backslash)."""

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(f"cannot parse {text!r}: {reason}")
        self.text = text
        self.reason = reason


class UnknownCommand(ShellError):
    """No command of that name; `suggestions` are close names, best first."""

    def __init__(self, name: str, suggestions: Sequence[str]) -> None:
        if suggestions:
            hint = "did you mean " + " or ".join(suggestions) + "?"
        else:
            hint = 'type "help" for the list of commands'
        super().__init__(f'unknown command "{name}" ({hint})')
        self.name = name
        self.suggestions = tuple(suggestions)


class CommandUsageError(ShellError):
    """A wrong flag or value given to a command."""

    def __init__(self, command: str, message: str) -> None:
        super().__init__(f"{command}: {message}")
        self.command = command
        self.message = message


class CommandFailed(ShellError):
    """A command ran and could not do what was asked."""

    def __init__(self, command: str, reason: str) -> None:
        super().__init__(f"{command}: {reason}")
        self.command = command
        self.reason = reason


class MasterCallError(ShellError):
    """Base of the errors a `MasterAdmin` call raises; `address` is the master's "host:port"."""

    def __init__(self, address: str, reason: str) -> None:
        super().__init__(f"master {address}: {reason}")
        self.address = address
        self.reason = reason


class MasterGone(MasterCallError):
    """The master did not answer (refused, reset, timed out): another master may."""


class MasterNotLeader(MasterCallError):
    """The master answered that only the leader does this; `leader` is its hint ("" if none)."""

    def __init__(self, address: str, leader: str) -> None:
        super().__init__(address, f"not the leader (leader: {leader or 'unknown'})")
        self.leader = leader


class MasterRefused(MasterCallError):
    """The master answered with an error that asking another master would not change."""


class NoMasterAvailable(ShellError):
    """No master answered, or none knows a leader when the call needs one."""

    def __init__(self, masters: Sequence[str], reason: str) -> None:
        super().__init__(f"no master available ({', '.join(masters) or 'none given'}): {reason}")
        self.masters = tuple(masters)
        self.reason = reason
