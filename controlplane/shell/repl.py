"""The interactive `kelp shell`: prompt "> ", history across sessions, tab completion of
command names (and of a command's flags after its name), `exit`/`quit`/EOF to leave.

Uses the standard library's `readline` when the terminal has it (GNU readline or libedit);
without it the loop still works, without history or completion. A failed command prints its
one line and the prompt comes back; Ctrl-C cancels the running command, not the shell.

Standard library only.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TextIO

from controlplane.shell.errors import UnknownCommand
from controlplane.shell.registry import Registry
from controlplane.shell.session import ExitRequested, Session

PROMPT = "> "
HISTORY_LENGTH = 1000  # lines kept in the history file: months of typical admin use, a few KiB
# Only these end a word for completion, so "cluster.raft.a" and "-address=" complete whole.
COMPLETER_DELIMS = " \t\n;"

RunCoroutine = Callable[[Coroutine[Any, Any, bool]], bool]


def completions(
    line: str, text: str, names: Sequence[str], flags_of: Callable[[str], list[str]]
) -> list[str]:
    """What `text` (the word being typed; `line` is the line up to the cursor) can become.

    The first word of a command completes to a command name plus a space; a word starting
    with "-" after a command name completes to that command's flags ("-address=", or "-force "
    for a boolean)."""
    current = line.rsplit(";", 1)[-1]
    before = current[: len(current) - len(text)] if text else current
    words = before.split()
    if not words:
        return [f"{name} " for name in sorted(names) if name.startswith(text)]
    if text.startswith("-"):
        return [flag for flag in flags_of(words[0]) if flag.startswith(text)]
    return []


def command_flags(registry: Registry) -> Callable[[str], list[str]]:
    """`flags_of` for `completions`: a command's flags as they are typed."""

    def flags_of(name: str) -> list[str]:
        try:
            command = registry.get(name)
        except UnknownCommand:
            return []
        return [f"-{f.name} " if f.kind == "bool" else f"-{f.name}=" for f in command.flag_set().flags()]

    return flags_of


class Repl:
    """Read a line, run it, repeat. `run` runs a coroutine on the session's event loop."""

    def __init__(
        self,
        session: Session,
        run: RunCoroutine,
        *,
        history_path: str = "",
        read_line: Callable[[str], str] = input,
        err: TextIO,
    ) -> None:
        self.session = session
        self.run = run
        self.history_path = os.path.expanduser(history_path) if history_path else ""
        self.read_line = read_line
        self.err = err

    def loop(self) -> None:
        """Until exit, quit or end of input."""
        save_history = self._install_readline()
        try:
            while True:
                try:
                    line = self.read_line(PROMPT)
                except EOFError:
                    self.err.write("\n")
                    return
                except KeyboardInterrupt:
                    self.err.write("\n")
                    continue
                if not line.strip():
                    continue
                try:
                    self.run(self.session.run_script(line))
                except ExitRequested:
                    return
                except KeyboardInterrupt:
                    self.err.write("interrupted\n")
        finally:
            save_history()

    def _install_readline(self) -> Callable[[], None]:
        """Completion and history when `readline` exists and we read the terminal; returns
        what saves the history at the end."""
        if self.read_line is not input:
            return lambda: None
        try:
            import readline
        except ImportError:
            return lambda: None
        names = self.session.names
        flags_of = command_flags(self.session.registry)
        matches: list[str] = []

        def complete(text: str, state: int) -> str | None:
            if state == 0:
                matches[:] = completions(readline.get_line_buffer()[: readline.get_endidx()], text,
                                         names, flags_of)
            return matches[state] if state < len(matches) else None

        readline.set_completer_delims(COMPLETER_DELIMS)
        readline.set_completer(complete)
        # libedit (macOS) spells the binding differently
        if "libedit" in (readline.__doc__ or ""):
            readline.parse_and_bind("bind ^I rl_complete")
        else:
            readline.parse_and_bind("tab: complete")
        if not self.history_path:
            return lambda: None
        readline.set_history_length(HISTORY_LENGTH)
        with contextlib.suppress(OSError):
            readline.read_history_file(self.history_path)
        path = self.history_path

        def save() -> None:
            with contextlib.suppress(OSError):
                readline.write_history_file(path)

        return save
