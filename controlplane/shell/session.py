"""Running shell commands: the built-ins (help, exit, quit), the registry's commands, and the
rule that every failure is ONE line on the error stream.

`run_script` runs commands in order and stops at the first failure (for `kelp shell -c` and
piped scripts); the REPL calls it per line and carries on with the next line after a failure. `exit` and
`quit` raise `ExitRequested`, which ends either.

Standard library only (commands bring their own clients through the env).
"""

from __future__ import annotations

import logging
from typing import TextIO

from controlplane.shell.env import ShellEnv
from controlplane.shell.errors import (
    CommandFailed,
    CommandUsageError,
    ScriptSyntaxError,
    ShellError,
    UnknownCommand,
)
from controlplane.shell.flags import HelpRequested
from controlplane.shell.registry import Registry
from controlplane.shell.script import Invocation, parse_script
from controlplane.shell.table import render_table

log = logging.getLogger(__name__)

BUILTINS: dict[str, str] = {
    "help": "list the commands, or show one command's flags: help <command>",
    "exit": "leave the shell",
    "quit": "leave the shell",
}
# Errors whose text already names what failed; any other error is prefixed with the command.
_SELF_NAMING = (CommandFailed, CommandUsageError, ScriptSyntaxError, UnknownCommand)


class ExitRequested(Exception):
    """`exit` or `quit` was given."""


class Session:
    """Commands of one shell session, run against one env."""

    def __init__(self, registry: Registry, env: ShellEnv, *, err: TextIO) -> None:
        self.registry = registry
        self.env = env
        self.err = err

    @property
    def names(self) -> list[str]:
        """Every name a user may type first: commands and built-ins."""
        return sorted([*self.registry.names(), *BUILTINS])

    async def run_script(self, text: str) -> bool:
        """Run every command in `text` in order; stop at the first failure. True if none
        failed. Raises ExitRequested at `exit`."""
        try:
            invocations = parse_script(text)
        except ScriptSyntaxError as err:
            self._report(err, None)
            return False
        for invocation in invocations:
            if not await self.run_one(invocation):
                return False
        return True

    async def run_one(self, invocation: Invocation) -> bool:
        """Run one command; report a failure as one line and return False."""
        try:
            await self.execute(invocation)
        except (ExitRequested, KeyboardInterrupt):
            raise
        except ShellError as err:
            self._report(err, invocation)
            return False
        except Exception as err:  # a bug or an unmapped client error: keep the session alive
            log.debug("command failed command=%s", invocation.text, exc_info=True)
            self._report(CommandFailed(invocation.name, f"unexpected {type(err).__name__}: {err}"), None)
            return False
        finally:
            self.env.out.flush()
        return True

    async def execute(self, invocation: Invocation) -> None:
        """Run one command, raising its ShellError."""
        name = invocation.name
        if name == "help":
            self.env.write(self.help_text(invocation.args))
            return
        if name in ("exit", "quit"):
            raise ExitRequested
        command = self.registry.get(name)
        try:
            flags = command.parse(invocation.args)
        except HelpRequested:
            self.env.write(command.usage())
            return
        await command.run(self.env, flags)

    def help_text(self, args: tuple[str, ...]) -> str:
        if args:
            if args[0] in BUILTINS:
                return f"{args[0]}: {BUILTINS[args[0]]}\n"
            return self.registry.get(args[0]).usage()
        rows = [[command.name, command.summary] for command in self.registry]
        rows += [[name, summary] for name, summary in BUILTINS.items()]
        return (
            "Commands (type 'help <command>' or '<command> -h' for its flags):\n"
            + render_table(["COMMAND", "WHAT IT DOES"], rows, indent="  ")
        )

    def _report(self, err: ShellError, invocation: Invocation | None) -> None:
        if isinstance(err, UnknownCommand):
            # suggest built-ins too ("hlep" -> help)
            err = UnknownCommand(err.name, self.registry.suggest(err.name, BUILTINS))
        text = str(err)
        if invocation is not None and not isinstance(err, _SELF_NAMING):
            text = f"{invocation.name}: {text}"
        self.err.write(" ".join(text.split()) + "\n")  # one line, whatever the message held
        self.err.flush()
