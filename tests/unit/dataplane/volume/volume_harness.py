"""Shared set-up for the volume-server unit tests: a real Store on tmp_path behind the real
HTTP and gRPC adapters, a FakeMaster, and a small HTTP client.

Test support only; not a test module.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from dataplane.volume.config import VolumeServerConfig
from dataplane.volume.engine.types import ReplicaPlacement, Ttl, VolumeId
from dataplane.volume.server import RunningVolumeServer, serve
from kelp_http import ClientResponse, HttpClient
from tests.unit.dataplane.client.fake_master import FakeMaster, wait_for
from tests.unit.dataplane.client.fake_master import run as run  # re-exported for the test modules

FID = "3,01637037d6"  # volume 3, key 0x01, cookie 0x637037d6
FID_KEY = 0x01
FID_COOKIE = 0x637037D6
REQUEST_TIMEOUT_SECONDS = 20.0  # one request to an in-process server; generous on a shared machine


@asynccontextmanager
async def fake_master() -> AsyncIterator[FakeMaster]:
    master = FakeMaster()
    await master.start()
    try:
        yield master
    finally:
        await master.stop()


@asynccontextmanager
async def volume_server(
    tmp_path: Path, master: FakeMaster | None = None, name: str = "v1", **overrides: Any
) -> AsyncIterator[RunningVolumeServer]:
    data_dir = tmp_path / name
    data_dir.mkdir(parents=True, exist_ok=True)
    config = VolumeServerConfig(
        dirs=(str(data_dir),),
        max_volumes=(8,),
        port=0,
        masters=(master.address if master is not None else "127.0.0.1:1.1",),
        pulse_seconds=0.5,
        heartbeat_max_backoff_seconds=0.2,
        lookup_ttl_seconds=0.5,
    )
    config = dataclasses.replace(config, **overrides)
    server = await serve(config)
    try:
        yield server
    finally:
        await server.stop()


async def allocate(
    server: RunningVolumeServer, vid: int, *, collection: str = "", replication: str = "000", ttl: str = ""
) -> None:
    rp, life = ReplicaPlacement.parse(replication), Ttl.parse(ttl)
    await asyncio.to_thread(server.store.allocate_volume, VolumeId(vid), collection, rp, life)
    server.heartbeat.notify_nowait()


async def known_to(master: FakeMaster, server: RunningVolumeServer, *vids: int) -> None:
    """Wait until `master` has heard that `server` holds every one of `vids`."""
    await wait_for(lambda: set(vids) <= set(master.volumes_of(server.url)), f"{server.url} holds {vids}")


class Http:
    """Requests to one server, keep-alive."""

    def __init__(self, server: RunningVolumeServer) -> None:
        self.hostport = f"127.0.0.1:{server.http_port}"
        self.client = HttpClient()

    async def __call__(
        self, method: str, path: str, body: bytes = b"", headers: Iterable[tuple[str, str]] = ()
    ) -> ClientResponse:
        return await self.client.request(
            method, self.hostport, path, headers=list(headers), body=body, timeout=REQUEST_TIMEOUT_SECONDS
        )

    async def close(self) -> None:
        await self.client.close()


@asynccontextmanager
async def one_server(
    tmp_path: Path, *vids: int, **overrides: Any
) -> AsyncIterator[tuple[RunningVolumeServer, Http]]:
    """A volume server (no master reachable) holding empty volumes `vids` (default: 3)."""
    async with volume_server(tmp_path, **overrides) as server:
        for vid in vids or (3,):
            await allocate(server, vid)
        http = Http(server)
        try:
            yield server, http
        finally:
            await http.close()


def multipart(
    data: bytes, filename: str = "blob.bin", content_type: str = "", extra: Iterable[tuple[str, str]] = ()
) -> tuple[bytes, list[tuple[str, str]]]:
    """A one-file multipart/form-data body and its request headers."""
    boundary = "kelptestboundary"
    head = f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
    if content_type:
        head += f"Content-Type: {content_type}\r\n"
    for k, v in extra:
        head += f"{k}: {v}\r\n"
    body = head.encode() + b"\r\n" + data + f"\r\n--{boundary}--\r\n".encode()
    return body, [("Content-Type", f"multipart/form-data; boundary={boundary}")]
