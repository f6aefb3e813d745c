"""Fixtures for filer core tests: a FilerCore over the in-memory fake store, and event decoding."""

from __future__ import annotations

import asyncio
import inspect
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kelp_pb import weed_filer_pb2 as filer_pb

from controlplane.filer import entry as entries
from controlplane.filer.core import FilerCore
from controlplane.filer.store import StoreConfig, open_store
from tests.unit.controlplane.filer.fake_store import FakeStore

SIGNATURE = 4242


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run `async def` tests in a fresh event loop (no asyncio plugin in this venv)."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    kwargs: dict[str, Any] = {name: pyfuncitem.funcargs[name] for name in names}
    asyncio.run(pyfuncitem.obj(**kwargs))
    return True


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """The in-memory fake, and the real store on SQLite (contract A) for the same tests."""
    if request.param == "memory":
        yield FakeStore()
        return
    real = open_store(StoreConfig(kind="sqlite", path=str(tmp_path / "filer.db")))
    try:
        yield real
    finally:
        real.close()


@pytest.fixture
def core(store: FakeStore) -> FilerCore:
    ticks = itertools.count(1_700_000_000_000_000_123, 1000)  # a fraction of a second, as real stamps have
    return FilerCore(store, signature=SIGNATURE, clock=lambda: next(ticks))


def logged(store: Any) -> list[filer_pb.SubscribeMetadataResponse]:
    """Every logged event, in log order (through the store's own reader)."""
    if isinstance(store, FakeStore):
        return [filer_pb.SubscribeMetadataResponse.FromString(row[3]) for row in store.state.changes]
    rows = store.changes_after(0, 100_000)
    return [filer_pb.SubscribeMetadataResponse.FromString(row.payload) for row in rows]


def queued(store: Any) -> list[str]:
    """The chunk deletion queue, in order (taken with a zero lease, so nothing stays held)."""
    return [fid for _, fid in store.take_chunk_deletions(100_000, lease_seconds=0)]


def stored(store: Any) -> set[tuple[str, str]]:
    """Every (directory, name) row, found by walking the tree from the root."""
    out: set[tuple[str, str]] = set()
    with store.transaction() as tx:
        pending = ["/"]
        while pending:
            directory = pending.pop()
            for name, _ in tx.list(directory, limit=100_000):
                out.add((directory, name))
                pending.append(f"{directory.rstrip('/')}/{name}")
    return out


def file_entry(name: str, *fids: str, size: int = 10) -> filer_pb.Entry:
    entry = filer_pb.Entry(name=name)
    entry.attributes.file_mode = entries.DEFAULT_FILE_MODE
    for i, fid in enumerate(fids):
        entry.chunks.append(entries.make_chunk(fid, i * size, size, 1, b"\x01" * 16))
    entry.attributes.file_size = size * len(fids)
    return entry
