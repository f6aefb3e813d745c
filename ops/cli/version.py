"""`kelp version`: print kelp's version and the SeaweedFS release whose interfaces it speaks.

Standard library only.
"""

from __future__ import annotations

import importlib.metadata
import platform
import sys
import tomllib
from pathlib import Path

from controlplane.shell.flags import FlagSet, parse_or_exit

SUMMARY = "print the kelp version"
# The SeaweedFS release whose HTTP API and volume format kelp is checked against.
SEAWEEDFS_COMPATIBLE = "4.48"
_PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def kelp_version() -> str:
    """The installed distribution's version, or pyproject's when run from a plain checkout."""
    try:
        return importlib.metadata.version("kelp")
    except importlib.metadata.PackageNotFoundError:
        with _PYPROJECT.open("rb") as f:
            return str(tomllib.load(f)["project"]["version"])


def main(argv: list[str]) -> int:
    parse_or_exit(FlagSet("version", SUMMARY), argv)
    python = platform.python_version()
    sys.stdout.write(
        f"kelp {kelp_version()} (SeaweedFS {SEAWEEDFS_COMPATIBLE} compatible) "
        f"python {python} {sys.platform}/{platform.machine()}\n"
    )
    return 0
