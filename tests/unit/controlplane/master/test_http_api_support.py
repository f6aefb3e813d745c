"""Support for the master adapter tests (no tests here): a scriptable fake MasterCore, an
in-process kelp_http server running `MasterHttpApi` over it, a JSON request helper, and fake
volume servers (VolumeAdmin gRPC + heartbeat streams) for tests with the real core.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc
from kelp_pb import master_pb2, master_pb2_grpc, volume_pb2, volume_pb2_grpc

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

    def lookup_ec_shards(self, vid: int) -> list[tuple[int, Location]]:
        return []  # no EC volumes in these tests

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


class FakeVolumeNode(volume_pb2_grpc.VolumeAdminServicer):  # type: ignore[misc]  # generated, untyped
    """A volume server as the master sees it: a kelp.v1.VolumeAdmin gRPC servicer on a real
    loopback port that keeps an inventory, and a heartbeat stream the test drives with `beat()`.
    Its HTTP "ip:port" is only an identity here; nothing listens on it. RPCs the master never
    calls (the shell's) are the generated base's UNIMPLEMENTED ones."""

    def __init__(
        self, http_port: int, data_center: str = "dc1", rack: str = "r1", max_volumes: int = 8
    ) -> None:
        self.http_port = http_port
        self.data_center = data_center
        self.rack = rack
        self.max_volumes = max_volumes
        self.volumes: dict[int, volume_pb2.AllocateVolumeRequest] = {}
        self.allocations: list[volume_pb2.AllocateVolumeRequest] = []
        self.leaders_announced: list[str] = []
        self.grpc_port = 0
        self._server: grpc.aio.Server | None = None
        self._channel: grpc.aio.Channel | None = None
        self._stream: Any = None

    @property
    def node_id(self) -> str:
        return f"127.0.0.1:{self.http_port}"

    async def start(self) -> None:
        self._server = grpc.aio.server()
        volume_pb2_grpc.add_VolumeAdminServicer_to_server(self, self._server)
        self.grpc_port = self._server.add_insecure_port("127.0.0.1:0")
        await self._server.start()

    async def connect(self, master_grpc: str) -> master_pb2.HeartbeatResponse:
        """Open the heartbeat stream and send the first (full) heartbeat."""
        self._channel = grpc.aio.insecure_channel(master_grpc)
        self._stream = master_pb2_grpc.MasterStub(self._channel).Heartbeat()
        return await self.beat()

    async def beat(self) -> master_pb2.HeartbeatResponse:
        await self._stream.write(self.heartbeat())
        reply: master_pb2.HeartbeatResponse = await self._stream.read()
        return reply

    def heartbeat(self) -> master_pb2.HeartbeatRequest:
        return master_pb2.HeartbeatRequest(
            ip="127.0.0.1",
            port=self.http_port,
            public_url=self.node_id,
            grpc_port=self.grpc_port,
            data_center=self.data_center,
            rack=self.rack,
            max_volume_count=self.max_volumes,
            volumes=[
                master_pb2.VolumeReport(
                    id=v.volume_id,
                    collection=v.collection,
                    replica_placement=v.replica_placement,
                    ttl=v.ttl,
                    version=3,
                    size=8,
                    disk_type=v.disk_type,
                )
                for v in self.volumes.values()
            ],
        )

    async def disconnect(self) -> None:
        if self._stream is not None:
            await self._stream.done_writing()
            await self._stream.code()
            self._stream = None
        if self._channel is not None:
            await self._channel.close()
            self._channel = None

    async def stop(self) -> None:
        await self.disconnect()
        if self._server is not None:
            await self._server.stop(None)

    # -- kelp.v1.VolumeAdmin ----------------------------------------------------------------------

    async def LeaderChanged(
        self, request: volume_pb2.LeaderChangedRequest, context: object
    ) -> volume_pb2.LeaderChangedResponse:
        self.leaders_announced.append(request.leader)
        return volume_pb2.LeaderChangedResponse()

    async def AllocateVolume(self, request: Any, context: Any) -> volume_pb2.AllocateVolumeResponse:
        self.allocations.append(request)
        self.volumes[request.volume_id] = request
        return volume_pb2.AllocateVolumeResponse()

    async def DeleteVolume(self, request: Any, context: Any) -> volume_pb2.DeleteVolumeResponse:
        self.volumes.pop(request.volume_id, None)
        return volume_pb2.DeleteVolumeResponse()

    async def MarkReadOnly(self, request: Any, context: Any) -> volume_pb2.MarkReadOnlyResponse:
        return volume_pb2.MarkReadOnlyResponse()

    async def DeleteCollection(self, request: Any, context: Any) -> volume_pb2.DeleteCollectionResponse:
        for vid in [v for v, req in self.volumes.items() if req.collection == request.collection]:
            del self.volumes[vid]
        return volume_pb2.DeleteCollectionResponse()

    async def VacuumCheck(self, request: Any, context: Any) -> volume_pb2.VacuumCheckResponse:
        return volume_pb2.VacuumCheckResponse(garbage_ratio=0.0)

    async def Vacuum(self, request: Any, context: Any) -> volume_pb2.VacuumResponse:
        return volume_pb2.VacuumResponse()

    async def EncodeToEc(self, request: Any, context: Any) -> volume_pb2.EncodeToEcResponse:
        return volume_pb2.EncodeToEcResponse()  # the master never calls it (the shell does)


@asynccontextmanager
async def fake_nodes(*nodes: FakeVolumeNode) -> AsyncIterator[tuple[FakeVolumeNode, ...]]:
    try:
        for node in nodes:
            await node.start()
        yield nodes
    finally:
        for node in nodes:
            await node.stop()
