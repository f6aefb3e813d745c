"""Splitting shell input into commands: `cluster.raft.add -address=h:1; cluster.raft.ps`.

Rules (a small, predictable subset of POSIX shell quoting):
- `;` and newlines end a command; empty commands are skipped;
- words are separated by blanks; `'...'` is literal, `"..."` allows `\\"` and `\\\\`, and a
  backslash outside quotes takes the next character literally;
- `#` at the start of a word starts a comment that runs to the end of the line (so a
  maintenance script can carry comments; `-path=a#b` keeps its `#`).

Pure and standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass

from controlplane.shell.errors import ScriptSyntaxError

_BLANKS = frozenset(" \t\r\f\v")
_ENDS = frozenset(";\n")


@dataclass(frozen=True, slots=True)
class Invocation:
    """One command as typed: its name, its arguments, and its text for messages."""

    name: str
    args: tuple[str, ...]
    text: str


def parse_script(text: str) -> list[Invocation]:
    """Every command in `text`, in order. Raises ScriptSyntaxError."""
    invocations: list[Invocation] = []
    words: list[str] = []
    word: list[str] = []
    in_word = False  # a word has started (it may be empty: "" is an argument)
    start = 0  # where the current command's text begins
    i = 0

    def end_word() -> None:
        nonlocal in_word
        if in_word:
            words.append("".join(word))
            word.clear()
            in_word = False

    def end_command(stop: int) -> None:
        nonlocal start
        end_word()
        if words:
            invocations.append(Invocation(words[0], tuple(words[1:]), text[start:stop].strip()))
            words.clear()
        start = stop + 1

    while i < len(text):
        ch = text[i]
        if ch in _ENDS:
            end_command(i)
        elif ch in _BLANKS:
            end_word()
        elif ch == "#" and not in_word:
            newline = text.find("\n", i)
            end_command(i)
            if newline < 0:
                start = len(text)
                break
            i = newline
            start = newline + 1
        elif ch == "\\":
            if i + 1 >= len(text):
                raise ScriptSyntaxError(text, "a backslash at the end has nothing to escape")
            word.append(text[i + 1])
            in_word = True
            i += 1
        elif ch == "'":
            close = text.find("'", i + 1)
            if close < 0:
                raise ScriptSyntaxError(text, "unclosed '")
            word.append(text[i + 1 : close])
            in_word = True
            i = close
        elif ch == '"':
            i = _double_quoted(text, i, word)
            in_word = True
        else:
            word.append(ch)
            in_word = True
        i += 1
    end_command(len(text))
    return invocations


def _double_quoted(text: str, opening: int, word: list[str]) -> int:
    """Append the body of the "..." starting at `opening`; return the closing quote's index."""
    i = opening + 1
    while i < len(text):
        ch = text[i]
        if ch == '"':
            return i
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in '"\\':
            i += 1
            ch = text[i]
        word.append(ch)
        i += 1
    raise ScriptSyntaxError(text, 'unclosed "')
