"""Fixtures for filer core tests: a FilerCore over the in-memory fake store, and event decoding."""

from __future__ import annotations

import asyncio
import inspect
import itertools
from typing import Any

import pytest
from kelp_pb import weed_filer_pb2 as filer_pb

from controlplane.filer import entry as entries
from controlplane.filer.core import FilerCore
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


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def core(store: FakeStore) -> FilerCore:
    ticks = itertools.count(1_700_000_000_000_000_000, 1000)
    return FilerCore(store, signature=SIGNATURE, clock=lambda: next(ticks))


def logged(store: FakeStore) -> list[filer_pb.SubscribeMetadataResponse]:
    return [filer_pb.SubscribeMetadataResponse.FromString(row[3]) for row in store.state.changes]


def queued(store: FakeStore) -> list[str]:
    return [fid for _, fid in store.state.deletions]


def file_entry(name: str, *fids: str, size: int = 10) -> filer_pb.Entry:
    entry = filer_pb.Entry(name=name)
    entry.attributes.file_mode = entries.DEFAULT_FILE_MODE
    for i, fid in enumerate(fids):
        entry.chunks.append(entries.make_chunk(fid, i * size, size, 1, b"\x01" * 16))
    entry.attributes.file_size = size * len(fids)
    return entry
