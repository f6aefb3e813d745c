"""The `kelp` command: `kelp <subcommand> [-flag=value ...]`, one module per subcommand.

Subcommand modules are imported only when chosen, so `kelp --help` and `kelp version` never
load grpc, pysyncobj or a server. Each module has `main(argv) -> int` (argv without the
subcommand's name); the status it returns is the process's.
"""

from __future__ import annotations

import difflib
import importlib
import sys
from collections.abc import Callable, Sequence

from controlplane.shell.flags import exit_with_error

# name -> (module, one-line summary). Summaries live here so `kelp help` imports nothing.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "master": ("ops.cli.master", "start a master server: volume id -> location map and file id assignment"),
    "volume": ("ops.cli.volume", "start a volume server: stores needles and serves them over HTTP"),
    "server": ("ops.cli.server", "start a master, a volume server and a filer in one process"),
    "benchmark": ("ops.cli.benchmark", "write then read many small files over the HTTP API, weed-style"),
    "filer": ("ops.cli.filer", "start a filer: directories and files over the volume servers"),
    "filer.migrate": ("ops.cli.filer_migrate", "apply the filer store's schema migrations and exit"),
    "filer.meta.backup": ("ops.cli.filer_meta_backup", "back filer metadata up into a standby store"),
    "filer.meta.verify": ("ops.cli.filer_meta_verify", "compare filer metadata with its standby store"),
    "shell": ("ops.cli.shell", 'run admin commands: an interactive prompt, or -c "cmd; cmd" for scripts'),
    "version": ("ops.cli.version", "print the kelp version"),
}
HELP_WORDS = frozenset({"help", "-h", "-help", "--help", "-?"})


def usage() -> str:
    width = max(len(name) for name in SUBCOMMANDS)
    lines = [
        "kelp: a distributed blob store speaking SeaweedFS's interfaces",
        "",
        "Usage: kelp <command> [-flag=value ...]",
        "",
        "Commands:",
        *(f"  {name.ljust(width)}  {summary}" for name, (_, summary) in SUBCOMMANDS.items()),
        "",
        'Use "kelp help <command>" or "kelp <command> --help" for its flags.',
    ]
    return "\n".join(lines) + "\n"


def subcommand_main(name: str) -> Callable[[list[str]], int]:
    module_name, _ = SUBCOMMANDS[name]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name != module_name:
            raise
        exit_with_error(f"kelp: the {name} command is not part of this build yet")
    entry: Callable[[list[str]], int] = module.main
    return entry


def run(argv: Sequence[str]) -> int:
    if not argv:
        sys.stderr.write(usage())
        return 2
    name, rest = argv[0], list(argv[1:])
    if name in HELP_WORDS:
        if rest and rest[0] in SUBCOMMANDS:
            return subcommand_main(rest[0])(["--help"])
        sys.stdout.write(usage())
        return 0
    if name not in SUBCOMMANDS:
        close = difflib.get_close_matches(name, list(SUBCOMMANDS), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]}?)" if close else ' (run "kelp help" for the list)'
        exit_with_error(f'kelp: unknown command "{name}"{hint}')
    return subcommand_main(name)(rest)


def main() -> None:
    """Console-script entry point (pyproject: kelp = "ops.cli.main:main")."""
    raise SystemExit(run(sys.argv[1:]))


if __name__ == "__main__":
    main()
