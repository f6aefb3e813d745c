"""Fakes for master-core tests: a volume-server fleet behind the VolumeAdmin seam, a clock,
heartbeat builders and a core wired to an in-memory log."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from kelp_pb import master_pb2

from controlplane.master.config import MasterConfig
from controlplane.master.core import MasterCore
from controlplane.master.raft import MemoryLog
from controlplane.master.types import Location
from dataplane.volume.engine.types import ReplicaPlacement, Ttl


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


@dataclass
class FakeServer:
    ip: str
    port: int
    data_center: str = "dc1"
    rack: str = "r1"
    max_volume_count: int = 8
    volumes: dict[int, master_pb2.VolumeReport] = field(default_factory=dict)
    fail_allocate: bool = False
    garbage: float = 0.0
    disk_type: str = ""

    @property
    def node_id(self) -> str:
        return f"{self.ip}:{self.port}"

    def heartbeat(self, max_file_key: int = 0) -> master_pb2.HeartbeatRequest:
        return master_pb2.HeartbeatRequest(
            ip=self.ip,
            port=self.port,
            public_url=self.node_id,
            grpc_port=self.port + 10000,
            data_center=self.data_center,
            rack=self.rack,
            max_volume_count=self.max_volume_count,
            max_file_key=max_file_key,
            volumes=list(self.volumes.values()),
            disk_type=self.disk_type,
        )


class FakeVolumeAdmin:
    """Volume servers by node id; records every call."""

    def __init__(self, servers: list[FakeServer]) -> None:
        self.servers = {s.node_id: s for s in servers}
        self.calls: list[tuple[str, str, object]] = []
        self.announced: list[tuple[str, str, int]] = []

    async def allocate_volume(
        self,
        node: Location,
        volume_id: int,
        collection: str,
        replica_placement: ReplicaPlacement,
        ttl: Ttl,
        disk_type: str,
        preallocate: int,
    ) -> None:
        self.calls.append(("allocate", node.url, volume_id))
        server = self.servers[node.url]
        if server.fail_allocate:
            raise OSError("disk on fire")
        server.volumes[volume_id] = master_pb2.VolumeReport(
            id=volume_id,
            collection=collection,
            replica_placement=replica_placement.to_byte(),
            ttl=ttl.to_u16(),
            version=3,
            size=8,
            disk_type=disk_type,
        )

    async def delete_volume(self, node: Location, volume_id: int) -> None:
        self.calls.append(("delete", node.url, volume_id))
        self.servers[node.url].volumes.pop(volume_id, None)

    async def delete_collection(self, node: Location, collection: str) -> None:
        self.calls.append(("delete_collection", node.url, collection))
        server = self.servers[node.url]
        for vid in [v.id for v in server.volumes.values() if v.collection == collection]:
            del server.volumes[vid]

    async def vacuum_check(self, node: Location, volume_id: int) -> float:
        self.calls.append(("vacuum_check", node.url, volume_id))
        return self.servers[node.url].garbage

    async def vacuum(self, node: Location, volume_id: int) -> int:
        self.calls.append(("vacuum", node.url, volume_id))
        return 100

    async def leader_changed(self, node: Location, leader: str, term: int) -> None:
        # Kept apart from `calls`: announcements happen on every election, beside what a test drives.
        self.announced.append((node.url, leader, term))


def four_servers() -> list[FakeServer]:
    """2 data centers; dc1 has racks r1 (2 servers) and r2 (1), dc2 has r1 (1)."""
    return [
        FakeServer("10.0.0.1", 8080, "dc1", "r1"),
        FakeServer("10.0.0.2", 8080, "dc1", "r1"),
        FakeServer("10.0.0.3", 8080, "dc1", "r2"),
        FakeServer("10.0.0.4", 8080, "dc2", "r1"),
    ]


def make_core(
    servers: list[FakeServer], *, seed: int = 7, **config: object
) -> tuple[MasterCore, FakeVolumeAdmin, MemoryLog, FakeClock]:
    admin = FakeVolumeAdmin(servers)
    event_log = MemoryLog()
    clock = FakeClock()
    cfg = MasterConfig(port=9333, **config)  # type: ignore[arg-type]
    core = MasterCore(cfg, admin, clock=clock, rng=random.Random(seed), log=event_log)
    return core, admin, event_log, clock


async def heartbeat_all(core: MasterCore, admin: FakeVolumeAdmin) -> None:
    for server in admin.servers.values():
        await core.heartbeat(server.heartbeat())
