"""Support for the master adapter tests (no tests here): a scriptable fake MasterCore, an
in-process kelp_http server running `MasterHttpApi` over it, and a JSON request helper.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from kelp_pb import master_pb2

from controlplane.master.core import AssignRequest, AssignResult, Location, VolumeNotFound
from controlplane.master.http_api import MasterHttpApi
from kelp_http import Headers, HttpClient, start_server

T = TypeVar("T")

# Bounds every scenario so a hang fails the test instead of stalling the suite.
SCENARIO_TIMEOUT_SECONDS = 20.0


def run(coro: Coroutine[Any, Any, T]) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(coro, SCENARIO_TIMEOUT_SECONDS)

    return asyncio.run(bounded())


@dataclass
class FakeCore:
    """Records every call; answers from its fields, or raises `fail[method]` when set."""

    leader_flag: bool = True
    leader_address: str | None = "127.0.0.1:9333"
    volumes: dict[int, list[Location]] = field(default_factory=dict)
    assign_result: AssignResult = field(
        default_factory=lambda: AssignResult("3,01637037d6", "127.0.0.1:8080", "127.0.0.1:8080", 1, 18080)
    )
    grow_result: int = 0
    fail: dict[str, BaseException] = field(default_factory=dict)
    calls: list[tuple[str, Any]] = field(default_factory=list)
    token: str = ""

    def _call(self, name: str, arg: Any) -> None:
        self.calls.append((name, arg))
        if name in self.fail:
            raise self.fail[name]

    def args(self, name: str) -> list[Any]:
        return [arg for n, arg in self.calls if n == name]

    async def assign(self, req: AssignRequest) -> AssignResult:
        self._call("assign", req)
        return self.assign_result

    async def grow(self, req: AssignRequest, count: int) -> int:
        self._call("grow", (req, count))
        return self.grow_result

    async def delete_collection(self, name: str) -> None:
        self._call("delete_collection", name)

    async def vacuum(self, garbage_threshold: float) -> None:
        self._call("vacuum", garbage_threshold)

    async def heartbeat(self, hb: master_pb2.HeartbeatRequest) -> master_pb2.HeartbeatResponse:
        self._call("heartbeat", hb)
        return master_pb2.HeartbeatResponse(volume_size_limit=len(self.args("heartbeat")), pulse_seconds=5)

    async def node_disconnected(self, node_id: str) -> None:
        self._call("node_disconnected", node_id)

    def lookup(self, vid: int, collection: str = "") -> list[Location]:
        self._call("lookup", (vid, collection))
        if vid not in self.volumes:
            raise VolumeNotFound(vid)
        return self.volumes[vid]

    def lookup_token(self, fid: str, read: bool = False) -> str:
        self._call("lookup_token", (fid, read))
        return self.token

    def dir_status(self) -> dict[str, Any]:
        self._call("dir_status", None)
        return {"Topology": {"Max": 8, "Free": 7}, "Version": "test"}

    def vol_status(self) -> dict[str, Any]:
        self._call("vol_status", None)
        return {"Version": "test", "Volumes": {"DataCenters": {}, "Free": 0, "Max": 0}}

    def cluster_status(self) -> dict[str, Any]:
        self._call("cluster_status", None)
        return {"IsLeader": True, "Leader": "127.0.0.1:9333.19333", "MaxVolumeId": 3}

    def collection_info(self, name: str, detail: bool = False) -> dict[str, Any]:
        self._call("collection_info", (name, detail))
        return {"Collection": name, "VolumeCount": 1}

    def is_leader(self) -> bool:
        return self.leader_flag

    def leader(self) -> str | None:
        return self.leader_address


@dataclass
class Reply:
    status: int
    headers: Headers
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Api:
    """A running `MasterHttpApi` over a core, and a client to call it."""

    def __init__(self, hostport: str, client: HttpClient) -> None:
        self.hostport = hostport
        self.client = client

    async def call(
        self, path: str, method: str = "GET", *, body: bytes = b"", headers: tuple[tuple[str, str], ...] = ()
    ) -> Reply:
        r = await self.client.request(method, self.hostport, path, headers=headers, body=body, timeout=10.0)
        return Reply(r.status, r.headers, r.body)


@asynccontextmanager
async def serving(core: Any) -> AsyncIterator[Api]:
    client = HttpClient()
    api = MasterHttpApi(core, client)
    server = await start_server(api.handle, "127.0.0.1", 0)
    try:
        yield Api(f"127.0.0.1:{server.port}", client)
    finally:
        await server.close()
        await client.close()
