"""Value types and seams of the master core's API: requests and results the
adapters build and read, the `VolumeAdmin` seam (volume-server admin calls,
implemented over gRPC by the adapter layer) and the `Clock` seam.

`core.py` re-exports everything here; adapters import from `core`.
Must not import grpc, kelp_http or pysyncobj.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

from controlplane.master.state import DataNode
from dataplane.volume.engine.types import ReplicaPlacement, Ttl


@dataclass(frozen=True, slots=True)
class AssignRequest:
    """`/dir/assign` (and `/vol/grow`, `/submit`) parameters, as text: the core parses and validates."""

    count: int = 1  # consecutive keys; < 1 is treated as 1
    collection: str = ""
    replication: str = ""  # "xyz"; "" = the master's default_replication
    ttl: str = ""  # "3m", "4h", ...; "" = none
    disk: str = ""  # disk type: "" (hdd), "ssd", or a tag
    data_center: str = ""  # preferred placement; "" = anywhere
    rack: str = ""
    data_node: str = ""  # "ip:port"
    writable_volume_count: int = 0  # volumes to grow if growth triggers; 0 = [master.volume_growth]
    preallocate: int = 0  # bytes to preallocate in new volumes


@dataclass(frozen=True, slots=True)
class Location:
    """Where a volume replica lives: a volume server."""

    url: str  # "ip:port" of its HTTP listener (= node id)
    public_url: str
    grpc_port: int
    data_center: str = ""
    rack: str = ""

    @classmethod
    def of(cls, node: DataNode) -> Location:
        return cls(node.node_id, node.public_url, node.grpc_port, node.data_center, node.rack)

    @property
    def grpc_address(self) -> str:
        """ "ip:grpcPort", for dialling the server's gRPC services."""
        host = self.url.rsplit(":", 1)[0]
        return f"{host}:{self.grpc_port}"


@dataclass(frozen=True, slots=True)
class AssignResult:
    fid: str  # "vid,keycookie"; keys fid .. fid_{count-1} are reserved for the caller
    url: str  # first replica's url
    public_url: str
    count: int
    grpc_port: int
    auth: str = ""  # JWT for the fid ("" when no signing key): HTTP sends it as `Authorization: Bearer`
    replicas: tuple[Location, ...] = ()  # every replica, first = url (the gRPC Assign reply lists them)


@dataclass(frozen=True, slots=True)
class Layout:
    """Volumes that can take the same writes: SeaweedFS's volume layout key."""

    collection: str
    replica_placement: ReplicaPlacement
    ttl: Ttl
    disk_type: str  # "" = hdd

    def key(self) -> tuple[str, int, int, str]:
        """As the state stores it: (collection, placement byte, ttl u16, disk type)."""
        return (self.collection, self.replica_placement.to_byte(), self.ttl.to_u16(), self.disk_type)


@dataclass(frozen=True, slots=True)
class Preference:
    """Where the caller would like the volume: `dataCenter`, `rack`, `dataNode` ("" = anywhere)."""

    data_center: str = ""
    rack: str = ""
    data_node: str = ""


@dataclass(frozen=True, slots=True)
class MasterStatistics:
    """A snapshot of one master's view, for tests, `/cluster/status` extensions and metrics."""

    is_leader: bool
    leader: str | None  # HTTP "host:port"
    term: int
    commit_index: int
    applied_index: int
    nodes_alive: int
    volumes: int
    max_volume_id: int
    sequence_ceiling: int  # no key at or above it was ever reserved
    keys_in_memory: int  # reserved keys this leader can still hand out
    keys_issued: int  # keys handed out by this process


class VolumeAdmin(Protocol):
    """Admin calls the master makes on volume servers (kelp.v1.VolumeAdmin over gRPC).

    Any exception means the call failed on that node; the core cleans up and
    reports it (growth deletes what it created).
    """

    async def allocate_volume(
        self,
        node: Location,
        volume_id: int,
        collection: str,
        replica_placement: ReplicaPlacement,
        ttl: Ttl,
        disk_type: str,
        preallocate: int,
    ) -> None: ...

    async def delete_volume(self, node: Location, volume_id: int) -> None: ...

    async def delete_collection(self, node: Location, collection: str) -> None: ...

    async def vacuum_check(self, node: Location, volume_id: int) -> float:
        """The replica's garbage ratio (0..1)."""
        ...

    async def vacuum(self, node: Location, volume_id: int) -> int:
        """Compact the replica; returns bytes reclaimed."""
        ...

    async def leader_changed(self, node: Location, leader: str, term: int) -> None:
        """Tell the server this master now leads (its heartbeat moves here at once)."""
        ...


class Clock(Protocol):
    def time(self) -> float:
        """Wall-clock seconds since the epoch."""
        ...


class SystemClock:
    def time(self) -> float:
        return time.time()
