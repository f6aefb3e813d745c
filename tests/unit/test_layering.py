"""The layering rules of ARCHITECTURE.md, checked on the source with `ast` (so they hold before
every module exists, and nothing is imported):

- storage engines and pure state machines (dataplane/volume/engine/**, controlplane/master/
  {state,placement,sequence}.py) reach no network, server or SQL code, directly or through the
  kelp modules they import, and start no asyncio servers or connections;
- the engine imports no kelp code outside itself except generated *_pb2 messages (persisted
  formats such as .vif);
- dataplane never imports controlplane, and controlplane never imports ops;
- controlplane imports from dataplane only dataplane.client and the engine's value modules
  (dataplane.volume.engine.types and .errors).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KELP_PACKAGES = ("controlplane", "dataplane", "ops", "kelp_http", "kelp_pb")

ENGINE = "dataplane.volume.engine"
PURE_MODULES = sorted(
    [*ROOT.glob("dataplane/volume/engine/**/*.py")]
    + [ROOT / "controlplane/master" / f"{name}.py" for name in ("state", "placement", "sequence")]
)

# Modules (and their submodules) a pure module must not reach, with the reason.
FORBIDDEN_IN_PURE = {
    "grpc": "gRPC belongs in grpc_api.py adapters",
    "kelp_http": "HTTP belongs in http_api.py adapters",
    "aiohttp": "HTTP belongs in adapters",
    "httptools": "HTTP belongs in adapters",
    "http": "HTTP belongs in adapters",
    "urllib.request": "network I/O belongs in adapters",
    "requests": "network I/O belongs in adapters",
    "socket": "network I/O belongs in adapters",
    "socketserver": "network I/O belongs in adapters",
    "ssl": "network I/O belongs in adapters",
    "selectors": "event loops belong in servers",
    "uvloop": "event loops belong in servers",
    "sqlalchemy": "SQL belongs in the filer store",
    "psycopg": "SQL belongs in the filer store",
    "sqlite3": "SQL belongs in the filer store",
    "pysyncobj": "only controlplane/master/raft.py touches pysyncobj",
}

# asyncio itself is allowed (a pure core may define awaitable seams); serving or dialing is not.
ASYNCIO_NETWORK_CALLS = frozenset({
    "start_server", "start_unix_server", "create_server", "create_unix_server", "open_connection",
    "open_unix_connection", "create_connection", "create_unix_connection", "create_datagram_endpoint",
})

CONTROLPLANE_MAY_IMPORT = (
    "dataplane.client",
    "dataplane.volume.engine.types",
    "dataplane.volume.engine.errors",
)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(source: str, module: str, *, is_package: bool = False) -> list[tuple[str, ...]]:
    """Every import statement anywhere in a module, as a tuple of what it may load: `import a.b`
    gives ("a.b",); `from m import x` gives ("m", "m.x") since x may be a submodule. Relative
    imports are resolved against `module`."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    found: list[tuple[str, ...]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend((alias.name,) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package[: len(package) - node.level + 1]
                base = ".".join([*parent, node.module] if node.module else parent)
            found.append((base, *(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")))
    return found


def imports_of_file(path: Path) -> list[tuple[str, ...]]:
    return imports_of(path.read_text(), module_name(path), is_package=path.name == "__init__.py")


def within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_the_pure_modules_are_found() -> None:
    # Guards the globs: a moved engine directory must not make the layering tests vacuous.
    assert any("dataplane/volume/engine/" in rel(p) for p in PURE_MODULES if p.exists())


def kelp_source(module: str) -> Path | None:
    """The file of a kelp module, if the name is one (kelp_pb lives under proto/)."""
    if not any(within(module, package) for package in KELP_PACKAGES):
        return None
    base = ROOT / "proto" if within(module, "kelp_pb") else ROOT
    stem = base.joinpath(*module.split("."))
    for candidate in (stem.with_suffix(".py"), stem / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def reachable_imports(path: Path) -> dict[str, str]:
    """Every module a file imports, directly or through the kelp modules (and their packages'
    __init__) it imports, each with the chain that reaches it."""
    chains: dict[str, str] = {}
    queue = [(path, rel(path))]
    seen = {path}
    while queue:
        current, chain = queue.pop()
        for statement in imports_of_file(current):
            for module in statement:
                chains.setdefault(module, f"{chain} -> {module}")
                parts = module.split(".")
                for depth in range(1, len(parts) + 1):
                    source = kelp_source(".".join(parts[:depth]))
                    if source is not None and source not in seen:
                        seen.add(source)
                        queue.append((source, f"{chain} -> {'.'.join(parts[:depth])}"))
    return chains


@pytest.mark.parametrize("path", PURE_MODULES, ids=rel)
def test_pure_modules_reach_no_network_server_or_sql_code(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"{rel(path)} is not written yet")
    problems = set()
    for module, chain in reachable_imports(path).items():
        if module.split(".")[-1].endswith("_pb2_grpc"):
            problems.add(f"{chain}: gRPC stubs belong in grpc_api.py adapters")
        problems.update(f"{chain}: {reason}" for forbidden, reason in FORBIDDEN_IN_PURE.items()
                        if within(module, forbidden))
    assert not problems, "\n".join(sorted(problems))


@pytest.mark.parametrize("path", PURE_MODULES, ids=rel)
def test_pure_modules_start_no_asyncio_servers_or_connections(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"{rel(path)} is not written yet")
    tree = ast.parse(path.read_text())
    used = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    used |= {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    assert not used & ASYNCIO_NETWORK_CALLS, f"{rel(path)} uses {sorted(used & ASYNCIO_NETWORK_CALLS)}"


def engine_import_allowed(statement: tuple[str, ...]) -> bool:
    """Anything not kelp's, the engine itself, or generated messages (persisted formats)."""
    module, *names = statement
    if within(module, ENGINE) or not any(within(module, package) for package in KELP_PACKAGES):
        return True
    if within(module, "kelp_pb"):
        return all(name.endswith("_pb2") for name in names or [module])
    return False


@pytest.mark.parametrize("path", sorted(ROOT.glob("dataplane/volume/engine/**/*.py")), ids=rel)
def test_the_engine_imports_no_kelp_code_outside_itself(path: Path) -> None:
    bad = [statement[0] for statement in imports_of_file(path) if not engine_import_allowed(statement)]
    assert not bad, f"{rel(path)} imports {bad}"


@pytest.mark.parametrize("path", sorted(ROOT.glob("dataplane/**/*.py")), ids=rel)
def test_dataplane_never_imports_controlplane(path: Path) -> None:
    bad = [statement[0] for statement in imports_of_file(path) if within(statement[0], "controlplane")]
    assert not bad, f"{rel(path)} imports {bad}"


@pytest.mark.parametrize("path", sorted(ROOT.glob("controlplane/**/*.py")), ids=rel)
def test_controlplane_never_imports_ops(path: Path) -> None:
    """ops (the CLI, benchmarks, deploy tools) stands on controlplane, never the reverse: the
    master runs the admin shell's commands itself (maintenance), so the shell lives here."""
    bad = [statement[0] for statement in imports_of_file(path) if within(statement[0], "ops")]
    assert not bad, f"{rel(path)} imports {bad}"


def controlplane_import_allowed(statement: tuple[str, ...]) -> bool:
    """Not from dataplane at all, or only from the client and the engine's value modules."""
    module, *names = statement
    if not within(module, "dataplane"):
        return True
    if any(within(module, ok) for ok in CONTROLPLANE_MAY_IMPORT):
        return True
    return bool(names) and all(any(within(name, ok) for ok in CONTROLPLANE_MAY_IMPORT) for name in names)


@pytest.mark.parametrize("path", sorted(ROOT.glob("controlplane/**/*.py")), ids=rel)
def test_controlplane_imports_only_the_client_and_engine_values_from_dataplane(path: Path) -> None:
    bad = [statement[0] for statement in imports_of_file(path) if not controlplane_import_allowed(statement)]
    assert not bad, f"{rel(path)} imports {bad}"


def test_the_checker_sees_relative_nested_and_from_imports() -> None:
    source = "from . import needle\nfrom ..http_api import handler\ndef f():\n    import grpc.aio\n"
    found = imports_of(source, "dataplane.volume.engine.volume")
    assert found == [
        ("dataplane.volume.engine", "dataplane.volume.engine.needle"),
        ("dataplane.volume.http_api", "dataplane.volume.http_api.handler"),
        ("grpc.aio",),
    ]


def test_controlplane_rule_allows_value_modules_and_refuses_the_rest() -> None:
    assert controlplane_import_allowed(("dataplane.volume.engine", "dataplane.volume.engine.types"))
    assert controlplane_import_allowed(("dataplane.client.lookup", "dataplane.client.lookup.Lookup"))
    assert not controlplane_import_allowed(("dataplane.volume.engine", "dataplane.volume.engine.store"))
    assert not controlplane_import_allowed(("dataplane.volume.http_api",))


def test_engine_rule_allows_messages_and_refuses_servers() -> None:
    assert engine_import_allowed(("kelp_pb", "kelp_pb.volume_pb2"))
    assert engine_import_allowed(("dataplane.volume.engine.types", "dataplane.volume.engine.types.Ttl"))
    assert engine_import_allowed(("numpy",))
    assert not engine_import_allowed(("kelp_pb", "kelp_pb.volume_pb2_grpc"))
    assert not engine_import_allowed(("dataplane.volume.http_api", "dataplane.volume.http_api.x"))


def test_reachable_imports_follow_kelp_modules() -> None:
    chains = reachable_imports(ROOT / "ops/cli/main.py")
    assert chains["dataplane.client.addresses"].startswith("ops/cli/main.py -> controlplane.shell.flags")
