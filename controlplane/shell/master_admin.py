"""The shell's seam to one master: the calls cluster.* commands make, and the values they return.

`MasterAdmin` is a Protocol so commands and the leader-following `MasterPool` are tested with an
in-memory fake; `grpc_master_admin.GrpcMasterAdmin` is the real one (kelp.v1.MasterAdmin).
Every call raises `MasterGone` (no answer: try another master), `MasterNotLeader` (only the
leader does this; carries its hint) or `MasterRefused` (an answer another master would repeat).
Issue 6 grows this Protocol (volume lists, the admin lock) rather than adding a second client.

Standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

Role = Literal["leader", "follower", "unknown"]


@dataclass(frozen=True, slots=True)
class Member:
    """One master in the Raft configuration, as the answering master sees it."""

    address: str  # HTTP "host:port", the name operators use
    raft_address: str  # "host:raftPort"
    role: Role
    healthy: bool
    last_contact_seconds: float | None  # since the leader last heard from it; None if unknown


@dataclass(frozen=True, slots=True)
class TopologyCounts:
    """How much the cluster holds, from the replicated state."""

    data_centers: int
    racks: int
    nodes: int  # volume servers
    volumes: int


@dataclass(frozen=True, slots=True)
class ClusterStatus:
    """A master's view of the master cluster."""

    answered_by: str  # HTTP "host:port" of the master that answered
    is_leader: bool  # the answering master is the leader
    leader: str  # the leader's HTTP "host:port" ("" while none is known)
    term: int
    event_index: int  # index of the last folded event, the same on every master
    state_digest: str  # sha256 hex of the folded state: equal on masters that agree
    commit_index: int  # Raft log indexes (they count pysyncobj's own entries too)
    applied_index: int
    max_volume_id: int
    members: tuple[Member, ...]


@dataclass(frozen=True, slots=True)
class VolumeReport:
    """One volume replica as its server reports it (master_pb VolumeInformationMessage)."""

    volume_id: int
    collection: str
    size: int
    file_count: int
    delete_count: int
    deleted_bytes: int
    read_only: bool
    replication: str  # "xyz"
    disk_type: str
    modified_at_second: int = 0  # last write (ec.encode -quietFor)


@dataclass(frozen=True, slots=True)
class EcShards:
    """The shards of one erasure-coded volume a server holds (VolumeEcShardInformationMessage)."""

    volume_id: int
    collection: str
    shard_bits: int  # bit i: shard i

    @property
    def shard_ids(self) -> tuple[int, ...]:
        return tuple(i for i in range(32) if self.shard_bits >> i & 1)


@dataclass(frozen=True, slots=True)
class ServerReport:
    """One volume server: where it is, its slots and its volumes."""

    address: str
    data_center: str
    rack: str
    max_volumes: int
    volumes: tuple[VolumeReport, ...]
    grpc_port: int = 0  # 0: the HTTP port + 10000
    ec_shards: tuple[EcShards, ...] = ()


@dataclass(frozen=True, slots=True)
class MaintenanceCommand:
    command: str
    ok: bool
    output: str
    time_ns: int
    lock_token: int


@dataclass(frozen=True, slots=True)
class MaintenanceRunReport:
    run_id: int
    term: int
    leader: str
    started_ns: int
    finished_ns: int  # 0 while open
    ok: bool
    abandoned: bool
    reason: str
    commands: tuple[MaintenanceCommand, ...]


@dataclass(frozen=True, slots=True)
class MaintenanceHistory:
    """`[master.maintenance]` as replicated, and its recent runs (oldest first)."""

    configured: bool
    commands: tuple[str, ...]
    interval_seconds: float
    runs: tuple[MaintenanceRunReport, ...]
    next_due_ns: int  # 0: none scheduled


class MasterAdmin(Protocol):
    """Calls to one master. `address` is its HTTP "host:port"."""

    @property
    def address(self) -> str: ...

    async def cluster_status(self) -> ClusterStatus: ...

    async def list_cluster_servers(self) -> tuple[Member, ...]: ...

    async def topology_counts(self) -> TopologyCounts:
        """Counts of the volume-server topology (the leader's is freshest)."""

    async def add_server(self, address: str) -> tuple[Member, ...]:
        """Leader only: make the master at HTTP `address` a voting member; the members after."""

    async def remove_server(self, address: str) -> tuple[Member, ...]:
        """Leader only: take the master at HTTP `address` out of the configuration; the members
        after."""

    async def volume_topology(self) -> tuple[ServerReport, ...]:
        """Every volume server and its volumes (master_pb VolumeList), data center and rack order."""

    async def volume_size_limit_mb(self) -> int:
        """The cluster's volume size limit in MB (ec.encode -fullPercent)."""

    async def maintenance_history(self) -> MaintenanceHistory:
        """The maintenance schedule and its runs (kelp.v1.MasterAdmin/MaintenanceHistory)."""

    async def lease_admin_lock(
        self, lock_name: str, previous_token: int, client_name: str, message: str
    ) -> tuple[int, int]:
        """Take (previous_token 0) or renew the cluster admin lock (master_pb LeaseAdminToken);
        returns (token, lock_ts_ns). MasterRefused when another client holds it."""

    async def release_admin_lock(self, lock_name: str, token: int) -> None:
        """Give the lock back (master_pb ReleaseAdminToken)."""

    async def close(self) -> None: ...
