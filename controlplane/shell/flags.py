"""weed-style command-line flags for the `kelp` subcommands.

Accepted spellings, as Go's `flag` package and weed take them, plus GNU's double dash:
`-port=9333`, `-port 9333`, `--port 9333`, `--port=9333`; a bare boolean `-x` means true and
`-x=false` turns it off (a boolean never takes the next argument, exactly as in Go). The same
flag given twice keeps the last value. `--` ends the flags.

Values are typed (string, int, float, bool, comma-separated lists of strings or ints) and
checked here, so a subcommand only ever sees good values. Every mistake raises `FlagError`,
whose text is ONE line naming the flag and what to fix; `parse_or_exit` prints it and exits 2.

Imports the standard library and pure value modules only: no kelp servers, grpc or asyncio.
"""

from __future__ import annotations

import difflib
import json
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, NoReturn

from dataplane.client.addresses import InvalidServerAddress, ServerAddress

FlagKind = Literal["string", "int", "float", "bool", "strings", "ints"]
FlagValue = str | int | float | bool | tuple[str, ...] | tuple[int, ...]
Check = Callable[[FlagValue], "str | None"]  # returns what is wrong with a value, or None

# The words Go's strconv.ParseBool accepts, which weed users already type.
TRUE_WORDS = frozenset({"1", "t", "T", "true", "TRUE", "True"})
FALSE_WORDS = frozenset({"0", "f", "F", "false", "FALSE", "False"})
HELP_WORDS = frozenset({"-h", "-help", "--help", "-?"})

_INT_RE = re.compile(r"[+-]?[0-9]+")
_KIND_WORDS: dict[FlagKind, str] = {
    "string": "string",
    "int": "int",
    "float": "float",
    "bool": "",
    "strings": "list",
    "ints": "ints",
}


class FlagError(Exception):
    """A wrong flag or value; str() is the one line printed to stderr."""

    def __init__(self, command: str, message: str) -> None:
        super().__init__(f"kelp {command}: {message}")
        self.command = command
        self.message = message


class HelpRequested(Exception):
    """`-h`/`--help` was given; `usage` is the text to print on stdout."""

    def __init__(self, usage: str) -> None:
        super().__init__("help requested")
        self.usage = usage


@dataclass(frozen=True, slots=True)
class Flag:
    name: str
    kind: FlagKind
    default: FlagValue
    doc: str  # one line, shown by --help
    choices: tuple[str, ...] = ()  # string flags only: the accepted words
    aliases: tuple[str, ...] = ()  # older names that set the same flag (-mserver for -master)
    minimum: int | None = None  # int flags: inclusive bounds
    maximum: int | None = None
    check: Check | None = None  # any further rule, e.g. "host:port" items


class Flags:
    """Parsed values, read through typed accessors so callers stay type-checked."""

    def __init__(self, values: dict[str, FlagValue], given: frozenset[str], args: tuple[str, ...]) -> None:
        self._values = values
        self._given = given
        self.args = args  # positional arguments (only when the FlagSet allows them)

    def given(self, name: str) -> bool:
        """True if the command line set this flag (under its name or an alias)."""
        return name in self._given

    def text(self, name: str) -> str:
        value = self._values[name]
        assert isinstance(value, str), name
        return value

    def integer(self, name: str) -> int:
        value = self._values[name]
        assert isinstance(value, int) and not isinstance(value, bool), name
        return value

    def number(self, name: str) -> float:
        value = self._values[name]
        assert isinstance(value, float), name
        return value

    def boolean(self, name: str) -> bool:
        value = self._values[name]
        assert isinstance(value, bool), name
        return value

    def texts(self, name: str) -> tuple[str, ...]:
        value = self._values[name]
        assert isinstance(value, tuple), name
        return tuple(str(v) for v in value)

    def integers(self, name: str) -> tuple[int, ...]:
        value = self._values[name]
        assert isinstance(value, tuple), name
        return tuple(int(v) for v in value)


class FlagSet:
    """The flags of one subcommand, with its one-line summary for `kelp help`."""

    def __init__(self, command: str, summary: str, *, example: str = "", allow_args: bool = False,
                 program: str = "kelp") -> None:
        self.command = command
        # What a user types before the command in hints and usage ("kelp"; "" for shell commands).
        self.invocation = f"{program} {command}".strip()
        self.summary = summary
        self.example = example
        self.allow_args = allow_args
        self._flags: dict[str, Flag] = {}
        self._by_alias: dict[str, str] = {}

    # -- declaring ---------------------------------------------------------------------------

    def add(self, flag: Flag) -> None:
        for name in (flag.name, *flag.aliases):
            if name in self._flags or name in self._by_alias:
                raise ValueError(f"flag -{name} declared twice in {self.invocation}")
        _check_value(self.command, flag, flag.default)
        self._flags[flag.name] = flag
        for alias in flag.aliases:
            self._by_alias[alias] = flag.name

    def string(self, name: str, default: str, doc: str, *, choices: Sequence[str] = (),
               aliases: Sequence[str] = (), check: Check | None = None) -> None:
        self.add(Flag(name, "string", default, doc, choices=tuple(choices), aliases=tuple(aliases),
                      check=check))

    def integer(self, name: str, default: int, doc: str, *, minimum: int | None = None,
                maximum: int | None = None) -> None:
        self.add(Flag(name, "int", default, doc, minimum=minimum, maximum=maximum))

    def port(self, name: str, default: int, doc: str) -> None:
        self.integer(name, default, doc, minimum=0, maximum=65535)

    def number(self, name: str, default: float, doc: str, *, check: Check | None = None) -> None:
        self.add(Flag(name, "float", float(default), doc, check=check))

    def boolean(self, name: str, default: bool, doc: str) -> None:
        self.add(Flag(name, "bool", default, doc))

    def strings(self, name: str, default: Sequence[str], doc: str, *, aliases: Sequence[str] = (),
                check: Check | None = None) -> None:
        self.add(Flag(name, "strings", tuple(default), doc, aliases=tuple(aliases), check=check))

    def integers(self, name: str, default: Sequence[int], doc: str, *, minimum: int | None = None) -> None:
        self.add(Flag(name, "ints", tuple(default), doc, minimum=minimum))

    def flags(self) -> list[Flag]:
        return sorted(self._flags.values(), key=lambda f: f.name.lower())

    # -- parsing -----------------------------------------------------------------------------

    def parse(self, argv: Sequence[str]) -> Flags:
        """Parse argv (without the subcommand); raises FlagError or HelpRequested."""
        values: dict[str, FlagValue] = {f.name: f.default for f in self._flags.values()}
        given: set[str] = set()
        args: list[str] = []
        first_arg_at = -1
        i = 0
        while i < len(argv):
            arg = argv[i]
            i += 1
            if arg in HELP_WORDS:
                raise HelpRequested(self.usage())
            if arg == "--":
                if not args and i < len(argv):
                    first_arg_at = i
                args.extend(argv[i:])
                break
            if not arg.startswith("-") or arg == "-":
                if not args:
                    first_arg_at = i - 1
                args.append(arg)
                continue
            body = arg[2:] if arg.startswith("--") else arg[1:]
            name, has_value, raw = body.partition("=")
            if not name or name.startswith("-"):
                raise FlagError(self.command, f"bad flag syntax: {arg}")
            flag = self._lookup(name)
            if not has_value:
                if flag.kind == "bool":
                    raw = "true"
                elif i < len(argv):
                    raw = argv[i]
                    i += 1
                else:
                    raise FlagError(self.command, f"-{name} needs a value (e.g. -{name}={_example(flag)})")
            values[flag.name] = _convert(self.command, flag, raw)
            given.add(flag.name)
        if args and not self.allow_args:
            raise FlagError(self.command, self._unexpected(argv, first_arg_at))
        return Flags(values, frozenset(given), tuple(args))

    def _lookup(self, name: str) -> Flag:
        canonical = self._by_alias.get(name, name)
        flag = self._flags.get(canonical)
        if flag is not None:
            return flag
        known = [*self._flags, *self._by_alias]
        lowered = {k.lower(): k for k in known}
        guess = lowered.get(name.lower())
        if guess is None:
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            guess = close[0] if close else None
        hint = f" (did you mean -{guess}?)" if guess else f" (see {self.invocation} --help)"
        raise FlagError(self.command, f"unknown flag -{name}{hint}")

    def _unexpected(self, argv: Sequence[str], index: int) -> str:
        arg = argv[index]
        message = f"unexpected argument {_quote(arg)}"
        if index > 0 and (arg in TRUE_WORDS or arg in FALSE_WORDS):
            previous = argv[index - 1].lstrip("-")
            if previous in self._flags or previous in self._by_alias:
                return f"{message} (a boolean flag takes its value after '=': -{previous}={arg})"
        return f"{message} (flags start with '-'; see {self.invocation} --help)"

    # -- help --------------------------------------------------------------------------------

    def usage(self) -> str:
        lines = [f"Usage: {self.invocation} [-flag=value ...]", f"  {self.summary}"]
        if self.example:
            lines.append(f"Example: {self.example}")
        lines.append("")
        lines.append("Flags (-flag=value, -flag value and --flag value all work):")
        heads = []
        for flag in self.flags():
            head = f"-{flag.name}"
            if _KIND_WORDS[flag.kind]:
                head += f" {_KIND_WORDS[flag.kind]}"
            heads.append((head, flag))
        width = max((len(h) for h, _ in heads), default=0)
        for head, flag in heads:
            extras = [f"default {_show_default(flag)}"]
            if flag.choices:
                extras.append("one of " + "|".join(flag.choices))
            if flag.aliases:
                extras.append("alias " + ", ".join(f"-{a}" for a in flag.aliases))
            lines.append(f"  {head.ljust(width)}  {flag.doc} ({'; '.join(extras)})")
        return "\n".join(lines) + "\n"


def parse_or_exit(flag_set: FlagSet, argv: Sequence[str]) -> Flags:
    """Parse, or print help (exit 0) or the one-line error (exit 2)."""
    try:
        return flag_set.parse(argv)
    except HelpRequested as help_:
        sys.stdout.write(help_.usage)
        raise SystemExit(0) from None
    except FlagError as err:
        exit_with_error(str(err))


def exit_with_error(line: str) -> NoReturn:
    """Print one line to stderr and exit 2, the status for a usage mistake."""
    sys.stderr.write(line.rstrip("\n") + "\n")
    raise SystemExit(2)


def _convert(command: str, flag: Flag, raw: str) -> FlagValue:
    value = _parse_value(command, flag, raw)
    _check_value(command, flag, value)
    return value


def _parse_value(command: str, flag: Flag, raw: str) -> FlagValue:
    def bad(what: str) -> FlagError:
        return FlagError(command, f"-{flag.name}: {_quote(raw)} is not {what}")

    if flag.kind == "string":
        return raw
    if flag.kind == "bool":
        if raw in TRUE_WORDS:
            return True
        if raw in FALSE_WORDS:
            return False
        raise bad("a boolean (use true or false)")
    if flag.kind == "int":
        if not _INT_RE.fullmatch(raw):
            raise bad("an integer")
        return int(raw)
    if flag.kind == "float":
        try:
            number = float(raw)
        except ValueError:
            raise bad("a number") from None
        if raw.strip() != raw or number != number or number in (float("inf"), float("-inf")):
            raise bad("a finite number")
        return number
    items = [] if raw == "" else [item.strip() for item in raw.split(",")]
    if any(item == "" for item in items):
        hint = "separate values with single commas"
        raise FlagError(command, f"-{flag.name}: empty item in {_quote(raw)} ({hint})")
    if flag.kind == "strings":
        return tuple(items)
    for item in items:
        if not _INT_RE.fullmatch(item):
            raise FlagError(command, f"-{flag.name}: {_quote(item)} in {_quote(raw)} is not an integer")
    return tuple(int(item) for item in items)


def _check_value(command: str, flag: Flag, value: FlagValue) -> None:
    if flag.choices and value not in flag.choices:
        words = ", ".join(flag.choices)
        raise FlagError(command, f"-{flag.name}: {_quote(str(value))} is not one of {words}")
    numbers: Sequence[object] = value if isinstance(value, tuple) else (value,)
    for number in numbers:
        if not isinstance(number, int) or isinstance(number, bool):
            continue
        if flag.minimum is not None and number < flag.minimum:
            raise FlagError(command, f"-{flag.name}: {number} is below the minimum {flag.minimum}")
        if flag.maximum is not None and number > flag.maximum:
            raise FlagError(command, f"-{flag.name}: {number} is above the maximum {flag.maximum}")
    problem = flag.check(value) if flag.check is not None else None
    if problem:
        raise FlagError(command, f"-{flag.name}: {problem}")


def positive(value: FlagValue) -> str | None:
    """Check for numbers that must be above zero (intervals, sizes)."""
    assert isinstance(value, int | float)
    return None if value > 0 else f"{value} must be greater than 0"


def host_ports(value: FlagValue) -> str | None:
    """Check for lists of server addresses: "host:port", or weed's "host:port.grpcPort"."""
    items = value if isinstance(value, tuple) else (value,)
    for item in items:
        try:
            ServerAddress.parse(str(item))
        except InvalidServerAddress:
            return f"{_quote(str(item))} is not host:port (e.g. 127.0.0.1:9333)"
    return None


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _show_default(flag: Flag) -> str:
    if isinstance(flag.default, tuple):
        return _quote(",".join(str(v) for v in flag.default))
    if isinstance(flag.default, bool):
        return "true" if flag.default else "false"
    if isinstance(flag.default, str):
        return _quote(flag.default)
    return str(flag.default)


def _example(flag: Flag) -> str:
    if flag.choices:
        return flag.choices[0]
    examples = {"string": "x", "int": "1", "float": "1.5", "bool": "true", "strings": "a,b", "ints": "1,2"}
    return examples[flag.kind]
