"""Shell commands and the registry that finds them by name.

A command is a `Command` subclass named `area.verb` (SeaweedFS's names: cluster.status,
volume.list, ec.encode). It declares its flags on an `controlplane.shell.flags.FlagSet` (so `-flag=value`,
`-flag value` and `--flag value` all work, with the same one-line errors as `kelp` itself) and
runs as a coroutine on the session's event loop. Each command family is one module listing its
commands in `COMMANDS`; `FAMILIES` names those modules, so adding a family is adding a module and
one line here (issue 6: volume, ec, fs, lock).

Imports the standard library and controlplane.shell.flags only; families are imported by `load()`.
"""

from __future__ import annotations

import difflib
import importlib
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, ClassVar

from controlplane.shell.errors import CommandUsageError, UnknownCommand
from controlplane.shell.flags import FlagError, Flags, FlagSet

if TYPE_CHECKING:
    from controlplane.shell.env import ShellEnv

FAMILIES: tuple[str, ...] = (
    "controlplane.shell.cluster", "controlplane.shell.fs_configure", "controlplane.shell.lock",
    "controlplane.shell.volume", "controlplane.shell.fs", "controlplane.shell.volume_repair",
    "controlplane.shell.maintenance",
    "controlplane.shell.ec",
)
MAX_SUGGESTIONS = 3
SUGGESTION_SPREAD = 0.1  # a suggestion may be this much less similar than the best one


class Command(ABC):
    """One shell command. Subclasses set the class attributes and implement `run`."""

    name: ClassVar[str]  # "area.verb"
    summary: ClassVar[str]  # one line for `help`
    details: ClassVar[str] = ""  # more lines for `help <name>` (what it prints, weed differences)
    example: ClassVar[str] = ""
    # Changes the cluster: calls `env.before_mutation` before acting (the admin lock's hook).
    mutating: ClassVar[bool] = False
    takes_args: ClassVar[bool] = False  # positional arguments besides flags (fs.ls <path>)

    def declare(self, flags: FlagSet) -> None:  # noqa: B027 (optional hook: most commands have flags)
        """Add this command's flags (none by default)."""

    @abstractmethod
    async def run(self, env: ShellEnv, flags: Flags) -> None:
        """Do the work, printing through `env`; raise a ShellError to fail."""

    def flag_set(self) -> FlagSet:
        flags = FlagSet(self.name, self.summary, example=self.example, program="", allow_args=self.takes_args)
        self.declare(flags)
        return flags

    def parse(self, args: Sequence[str]) -> Flags:
        """Parse arguments; raises CommandUsageError, or controlplane.shell.flags.HelpRequested for -h."""
        try:
            return self.flag_set().parse(args)
        except FlagError as err:
            raise CommandUsageError(self.name, err.message) from None

    def usage(self) -> str:
        """The text `help <name>` prints."""
        flags = self.flag_set()
        if flags.flags():
            text = flags.usage()
        else:
            text = f"Usage: {self.name}\n  {self.summary}\n"
            if self.example:
                text += f"Example: {self.example}\n"
        if self.details:
            text += "\n" + self.details.strip("\n") + "\n"
        return text


class Registry:
    """Every command of a session, by name."""

    def __init__(self, commands: Iterable[Command]) -> None:
        self._commands: dict[str, Command] = {}
        for command in commands:
            if command.name in self._commands:
                raise ValueError(f"shell command {command.name} registered twice")
            self._commands[command.name] = command

    @classmethod
    def load(cls, families: Sequence[str] = FAMILIES) -> Registry:
        """The commands of every family module (each lists its command classes in COMMANDS)."""
        commands: list[Command] = []
        for module_name in families:
            module = importlib.import_module(module_name)
            commands.extend(command_class() for command_class in module.COMMANDS)
        return cls(commands)

    def __iter__(self) -> Iterator[Command]:
        return iter(sorted(self._commands.values(), key=lambda c: c.name))

    def __contains__(self, name: object) -> bool:
        return name in self._commands

    def names(self) -> list[str]:
        return sorted(self._commands)

    def get(self, name: str) -> Command:
        """The command called `name`; raises UnknownCommand with close names."""
        command = self._commands.get(name)
        if command is None:
            raise UnknownCommand(name, self.suggest(name))
        return command

    def suggest(self, name: str, extra: Iterable[str] = ()) -> list[str]:
        """Names close to `name`: spelling neighbours, then names `name` begins or ends."""
        names = [*self._commands, *extra]
        close = difflib.get_close_matches(name, names, n=MAX_SUGGESTIONS, cutoff=0.6)
        # Only the nearest: "cluster.stauts" shares "cluster." with every cluster.* command.
        best = max((_similarity(name, c) for c in close), default=0.0)
        found = [c for c in close if _similarity(name, c) >= best - SUGGESTION_SPREAD]
        lowered = name.lower()
        for candidate in sorted(names):
            if len(found) >= MAX_SUGGESTIONS or not lowered:
                break
            parts = candidate.lower().split(".")
            if candidate not in found and (candidate.lower().startswith(lowered) or lowered in parts):
                found.append(candidate)
        return found


def _similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b).ratio()
