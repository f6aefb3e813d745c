"""Regenerate proto/kelp_pb/*_pb2*.py from the .proto sources: `python -m ops.protogen`.

`--check` regenerates into a temporary directory and exits 1 if the committed
modules differ, so a stale generated module fails the test suite.
"""

from __future__ import annotations

import filecmp
import sys
import tempfile
from pathlib import Path

PROTO_ROOT = Path(__file__).resolve().parent.parent / "proto"
PACKAGE = "kelp_pb"


def proto_sources() -> list[Path]:
    return sorted((PROTO_ROOT / PACKAGE).glob("*.proto"))


def generate(out_dir: Path) -> list[Path]:
    """Run protoc (from grpcio-tools) into out_dir; return the generated files."""
    from grpc_tools import protoc  # only needed by developers, not at run time

    out_dir.mkdir(parents=True, exist_ok=True)
    sources = [str(p.relative_to(PROTO_ROOT)) for p in proto_sources()]
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *sources,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed: see the message above")
    return sorted((out_dir / PACKAGE).glob("*_pb2*.py*"))


def stale_modules() -> list[str]:
    """Names of generated modules that differ from what the sources produce now."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = generate(Path(tmp))
        stale = []
        for f in fresh:
            committed = PROTO_ROOT / PACKAGE / f.name
            if not committed.exists() or not filecmp.cmp(f, committed, shallow=False):
                stale.append(f.name)
        return stale


def main() -> None:
    if "--check" in sys.argv[1:]:
        stale = stale_modules()
        if stale:
            print(f"stale generated modules: {', '.join(stale)}; run python -m ops.protogen")
            raise SystemExit(1)
        return
    generate(PROTO_ROOT)


if __name__ == "__main__":
    main()
