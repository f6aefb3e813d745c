"""A progress bar for long shell commands (volume copies, balance moves, EC encodes and
rebuilds), drawn in place on a terminal and silent otherwise (scripts and maintenance runs get
the per-step lines instead).

Standard library only.
"""

from __future__ import annotations

from typing import TextIO

BAR_WIDTH = 30


class Progress:
    """`step(line)` after each unit of work prints its line (above the bar on a terminal) and
    advances the bar; `note(line)` prints a line without advancing; `done()` once at the end
    clears the bar."""

    def __init__(self, stream: TextIO, total: int, what: str) -> None:
        isatty = getattr(stream, "isatty", None)
        self._stream = stream
        self._on = bool(isatty and isatty()) and total > 0
        self._total = total
        self._what = what
        self.count = 0

    def step(self, line: str = "") -> None:
        self.count += 1
        self.note(line)

    def note(self, line: str) -> None:
        self._clear()
        if line:
            self._stream.write(line.rstrip("\n") + "\n")
        if self._on:
            filled = BAR_WIDTH * min(self.count, self._total) // self._total
            bar = "#" * filled + "." * (BAR_WIDTH - filled)
            self._stream.write(f"[{bar}] {self.count}/{self._total} {self._what}")
        self._stream.flush()

    def done(self) -> None:
        self._clear()
        self._stream.flush()

    def _clear(self) -> None:
        if self._on:
            self._stream.write("\r\033[K")  # carriage return, erase to end of line
