"""An in-process filer gRPC server (loopback, port 0) over a real FilerCore on SQLite with fake
volume servers, and a client stub for it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
from kelp_pb import weed_filer_pb2_grpc

from controlplane.filer.core import FilerCore
from controlplane.filer.grpc_api import (
    FilerGrpcSettings,
    FilerServicer,
    UsageSource,
    VolumeUsage,
    register_grpc,
)
from controlplane.filer.store import FilerStore
from tests.unit.controlplane.filer.fake_volumes import FakeVolumes
from tests.unit.controlplane.filer.subscribe_helpers import FILER_SIGNATURE, sqlite_store

SETTINGS = FilerGrpcSettings(masters=("127.0.0.1:9333",), max_mb=4)


@dataclass
class GrpcFiler:
    stub: weed_filer_pb2_grpc.SeaweedFilerStub
    core: FilerCore
    store: FilerStore
    servicer: FilerServicer
    volumes: FakeVolumes


async def _usage(request: object) -> VolumeUsage:
    return VolumeUsage(total_size=1 << 40, used_size=1 << 20, file_count=3)


@contextlib.asynccontextmanager
async def grpc_filer(tmp_path: Path, usage: UsageSource = _usage) -> AsyncIterator[GrpcFiler]:
    store = sqlite_store(tmp_path)
    volumes = FakeVolumes()
    core = FilerCore(store, volumes, signature=FILER_SIGNATURE)
    server = grpc.aio.server()
    servicer = register_grpc(server, core, settings=SETTINGS, usage=usage)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    background = asyncio.create_task(servicer.run())
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield GrpcFiler(weed_filer_pb2_grpc.SeaweedFilerStub(channel), core, store, servicer, volumes)
    finally:
        await channel.close()
        background.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await background
        await server.stop(None)
        store.close()
