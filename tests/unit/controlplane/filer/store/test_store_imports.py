"""The store's layering (controlplane/filer/store/__init__.py): it imports no grpc, HTTP, kelp_pb,
ops or dataplane code, checked on the source with ast so nothing is imported."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

STORE = Path(__file__).resolve().parents[5] / "controlplane" / "filer" / "store"
FORBIDDEN = ("grpc", "kelp_http", "kelp_pb", "ops", "dataplane", "aiohttp", "asyncio")


def imported(source: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted(STORE.glob("*.py")), ids=lambda p: p.name)
def test_store_module_imports(path: Path) -> None:
    for name in imported(path.read_text()):
        top = name.split(".")[0]
        assert top not in FORBIDDEN, f"{path.name} imports {name}"
        if top == "controlplane":
            assert name.startswith("controlplane.filer.store"), f"{path.name} imports {name}"


def test_store_modules_found() -> None:
    assert (STORE / "filer_store.py").is_file()
