"""The master's replicated state: the fold of the Raft log's events (kelp.v1 `Event`).

`MasterState.apply(event)` is the only way the state changes, on every master alike.
It is deterministic: it reads no clock, network or disk; every input is in the event.
Soft state (sizes, counts, heartbeat times) is not here: see `topology.py`.

Folding rules (the invariants the rest of the master relies on):
- nodes are never forgotten: NodeLeft marks a node dead and drops its replicas; a NodeJoined
  for a known node revives/updates it;
- a volume exists while it has at least one replica; its collection exists while it has a volume;
- the sequence ceiling and the max volume id only grow (relative reservations are computed
  here, at apply time, so ranges are disjoint whatever the appender believed);
- an EC volume exists while some live node holds one of its shards: EcShardsMounted ORs shard
  bits into a node's set, EcShardsUnmounted clears them, NodeLeft drops the node's shards (as
  it drops its replicas), CollectionDeleted drops the collection's EC volumes;
- an admin lock's token only grows: AdminLockLeased with a higher token is a new grant, with the
  current token a renewal of a held lock (never moving `lock_ts_ns` back), with a lower one
  ignored (a grant a newer one already replaced); AdminLockReleased counts only with the current
  token. A released lock keeps its token, so the next grant is above it. Expiry is not folded (it
  needs a clock): readers compare `lock_ts_ns + lease_ns` with their own clock (`admin_lock.py`).

Snapshot format: `kelp.v1.StateSnapshot` (version 1), the events that rebuild the state.

Must not import grpc, asyncio, pysyncobj or kelp_http: `kelp_pb.events_pb2` is its only
protobuf, because those events are the persisted log format.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from kelp_pb import events_pb2

from controlplane.master.maintenance_state import MaintenanceLog

SNAPSHOT_VERSION = 1
FIRST_KEY = 1  # key 0 formats to a fid that cannot be parsed, so it is never issued


class SnapshotVersionUnknown(ValueError):
    def __init__(self, version: int) -> None:
        super().__init__(f"state snapshot version {version} is not known (newest {SNAPSHOT_VERSION})")
        self.version = version


@dataclass(slots=True)
class DataNode:
    node_id: str  # "ip:port" of the volume server's HTTP listener
    public_url: str
    grpc_port: int
    data_center: str
    rack: str
    max_volume_count: int
    disk_type: str = ""
    alive: bool = True
    joined_ns: int = 0
    left_ns: int = 0


@dataclass(slots=True)
class Replica:
    read_only: bool = False
    full: bool = False


@dataclass(slots=True)
class AdminLock:
    """The last grant of one named admin lock (`held` is False once released)."""

    lock_name: str
    token: int
    client_name: str
    lock_ts_ns: int  # leader's clock at grant or last renewal
    lease_ns: int
    message: str
    term: int  # Raft term of the leader that granted or renewed it
    held: bool = True

    def leased_event(self) -> events_pb2.AdminLockLeased:
        """The grant as an event: folding it (again) restores this lock as held."""
        return events_pb2.AdminLockLeased(
            lock_name=self.lock_name,
            token=self.token,
            client_name=self.client_name,
            lock_ts_ns=self.lock_ts_ns,
            lease_ns=self.lease_ns,
            message=self.message,
            term=self.term,
        )


@dataclass(slots=True)
class VolumeRecord:
    volume_id: int
    collection: str
    replica_placement: int  # superblock byte 100x+10y+z
    ttl: int  # u16: count << 8 | unit
    version: int
    disk_type: str
    replicas: dict[str, Replica] = field(default_factory=dict)  # node id -> flags


@dataclass(slots=True)
class EcVolumeRecord:
    """An erasure-coded volume: which shards (bit i = shard i) each node holds."""

    volume_id: int
    collection: str
    disk_type: str = ""
    shards: dict[str, int] = field(default_factory=dict)  # node id -> shard bits

    def holders(self) -> dict[int, list[str]]:
        """Shard id -> node ids holding it (sorted), for the shards some node holds."""
        out: dict[int, list[str]] = {}
        for node_id in sorted(self.shards):
            bits = self.shards[node_id]
            for shard in range(32):
                if bits >> shard & 1:
                    out.setdefault(shard, []).append(node_id)
        return dict(sorted(out.items()))


class MasterState:
    """Nodes, volumes and counters: everything the log says is a fact."""

    def __init__(self) -> None:
        self.nodes: dict[str, DataNode] = {}
        self.volumes: dict[int, VolumeRecord] = {}
        self.ec_volumes: dict[int, EcVolumeRecord] = {}
        self.max_volume_id = 0
        self.sequence_ceiling = FIRST_KEY  # keys >= this were never reserved
        self.topology_id = ""  # set once, by the first leader
        self.admin_locks: dict[str, AdminLock] = {}  # by lock name
        self.maintenance = MaintenanceLog()  # [master.maintenance] and its runs (maintenance_state.py)
        self.revision = 0  # events applied by this process: lets readers cache derived views
        # Log position: the index of the last event folded in. Events are numbered 1, 2, ... in log
        # order, identically on every master (a snapshot carries it), so control subscribers can
        # resume "after index N" on any master.
        self.event_index = 0

    def replace_with(self, other: MasterState) -> None:
        """Become `other` (a loaded snapshot), keeping this object's identity."""
        self.nodes = other.nodes
        self.volumes = other.volumes
        self.ec_volumes = other.ec_volumes
        self.max_volume_id = other.max_volume_id
        self.sequence_ceiling = other.sequence_ceiling
        self.topology_id = other.topology_id
        self.admin_locks = other.admin_locks
        self.maintenance = other.maintenance
        self.event_index = other.event_index
        self.revision += 1

    # -- folding -----------------------------------------------------------------

    def apply(self, event: events_pb2.Event) -> int | None:
        """Fold one event. Returns the first id of a relative reservation, else None."""
        self.revision += 1
        self.event_index += 1
        kind = event.WhichOneof("kind")
        if kind == "node_joined":
            self._node_joined(event.node_joined)
        elif kind == "node_left":
            self._node_left(event.node_left)
        elif kind == "volume_added":
            self._volume_added(event.volume_added)
        elif kind == "volume_removed":
            self._drop_replica(event.volume_removed.volume_id, event.volume_removed.node_id)
        elif kind == "volume_state_changed":
            self._volume_state_changed(event.volume_state_changed)
        elif kind == "sequence_reserved":
            return self._sequence_reserved(event.sequence_reserved)
        elif kind == "max_volume_id_advanced":
            return self._max_volume_id_advanced(event.max_volume_id_advanced)
        elif kind == "collection_deleted":
            name = event.collection_deleted.name
            for vid in [v.volume_id for v in self.volumes.values() if v.collection == name]:
                del self.volumes[vid]
            for vid in [v.volume_id for v in self.ec_volumes.values() if v.collection == name]:
                del self.ec_volumes[vid]
        elif kind == "topology_id_set":
            self.topology_id = self.topology_id or event.topology_id_set.topology_id
        elif kind == "admin_lock_leased":
            self._admin_lock_leased(event.admin_lock_leased)
        elif kind == "admin_lock_released":
            self._admin_lock_released(event.admin_lock_released)
        elif kind is not None and kind.startswith("maintenance_"):
            self.maintenance.apply(event)
        elif kind == "ec_shards_mounted":
            self._ec_shards_mounted(event.ec_shards_mounted)
        elif kind == "ec_shards_unmounted":
            e = event.ec_shards_unmounted
            self._drop_ec_shards(e.volume_id, e.node_id, e.shard_bits)
        # An unknown kind (a newer master's event) is skipped: it was a fact this version
        # cannot hold, and skipping keeps every master of this version folding alike.
        return None

    def apply_all(self, events: Iterable[events_pb2.Event]) -> list[int | None]:
        return [self.apply(e) for e in events]

    def _node_joined(self, e: events_pb2.NodeJoined) -> None:
        node = self.nodes.get(e.node_id)
        if node is None:
            node = DataNode(e.node_id, "", 0, "", "", 0)
            self.nodes[e.node_id] = node
        node.public_url = e.public_url
        node.grpc_port = e.grpc_port
        node.data_center = e.data_center
        node.rack = e.rack
        node.max_volume_count = e.max_volume_count
        node.disk_type = e.disk_type
        node.alive = True
        node.joined_ns = e.time_ns
        node.left_ns = 0

    def _node_left(self, e: events_pb2.NodeLeft) -> None:
        node = self.nodes.get(e.node_id)
        if node is None:
            return
        node.alive = False
        node.left_ns = e.time_ns
        for vid in [v.volume_id for v in self.volumes.values() if e.node_id in v.replicas]:
            self._drop_replica(vid, e.node_id)
        for vid in [v.volume_id for v in self.ec_volumes.values() if e.node_id in v.shards]:
            self._drop_ec_shards(vid, e.node_id, 0xFFFFFFFF)

    def _ec_shards_mounted(self, e: events_pb2.EcShardsMounted) -> None:
        if not e.shard_bits:
            return
        volume = self.ec_volumes.get(e.volume_id)
        if volume is None:
            volume = self.ec_volumes[e.volume_id] = EcVolumeRecord(e.volume_id, e.collection, e.disk_type)
        volume.collection = e.collection
        volume.disk_type = e.disk_type
        volume.shards[e.node_id] = volume.shards.get(e.node_id, 0) | e.shard_bits
        self.max_volume_id = max(self.max_volume_id, e.volume_id)

    def _drop_ec_shards(self, vid: int, node_id: str, bits: int) -> None:
        volume = self.ec_volumes.get(vid)
        if volume is None or node_id not in volume.shards:
            return
        left = volume.shards[node_id] & ~bits
        if left:
            volume.shards[node_id] = left
        else:
            del volume.shards[node_id]
            if not volume.shards:
                del self.ec_volumes[vid]

    def _volume_added(self, e: events_pb2.VolumeAdded) -> None:
        volume = self.volumes.get(e.volume_id)
        if volume is None:
            volume = VolumeRecord(
                e.volume_id, e.collection, e.replica_placement, e.ttl, e.version, e.disk_type
            )
            self.volumes[e.volume_id] = volume
        else:
            volume.collection = e.collection
            volume.replica_placement = e.replica_placement
            volume.ttl = e.ttl
            volume.version = e.version
            volume.disk_type = e.disk_type
        replica = volume.replicas.setdefault(e.node_id, Replica())
        replica.read_only = e.read_only
        self.max_volume_id = max(self.max_volume_id, e.volume_id)

    def _drop_replica(self, vid: int, node_id: str) -> None:
        volume = self.volumes.get(vid)
        if volume is None:
            return
        volume.replicas.pop(node_id, None)
        if not volume.replicas:
            del self.volumes[vid]

    def _volume_state_changed(self, e: events_pb2.VolumeStateChanged) -> None:
        volume = self.volumes.get(e.volume_id)
        replica = volume.replicas.get(e.node_id) if volume is not None else None
        if replica is None:
            return
        replica.read_only = e.read_only
        replica.full = e.full

    def _admin_lock_leased(self, e: events_pb2.AdminLockLeased) -> None:
        current = self.admin_locks.get(e.lock_name)
        if current is None or e.token > current.token:
            self.admin_locks[e.lock_name] = AdminLock(
                e.lock_name, e.token, e.client_name, e.lock_ts_ns, e.lease_ns, e.message, e.term
            )
        elif e.token == current.token and current.held and e.lock_ts_ns >= current.lock_ts_ns:
            # A renewal; one stamped earlier than the last (a late duplicate) never shortens it.
            current.client_name = e.client_name
            current.lock_ts_ns = e.lock_ts_ns
            current.lease_ns = e.lease_ns
            current.message = e.message
            current.term = e.term

    def _admin_lock_released(self, e: events_pb2.AdminLockReleased) -> None:
        current = self.admin_locks.get(e.lock_name)
        if current is not None and current.token == e.token:
            current.held = False

    def _sequence_reserved(self, e: events_pb2.SequenceReserved) -> int | None:
        if e.count == 0:
            self.sequence_ceiling = max(self.sequence_ceiling, e.up_to)
            return None
        start: int = max(self.sequence_ceiling, e.at_least, FIRST_KEY)
        self.sequence_ceiling = start + e.count
        return start

    def _max_volume_id_advanced(self, e: events_pb2.MaxVolumeIdAdvanced) -> int | None:
        if e.count == 0:
            self.max_volume_id = max(self.max_volume_id, e.max_volume_id)
            return None
        start = self.max_volume_id + 1
        self.max_volume_id += e.count
        return start

    # -- queries -----------------------------------------------------------------

    def collections(self) -> set[str]:
        return {v.collection for v in self.volumes.values()}

    def live_nodes(self) -> Iterator[DataNode]:
        return (n for n in self.nodes.values() if n.alive)

    def volumes_on(self, node_id: str) -> list[VolumeRecord]:
        return [v for v in self.volumes.values() if node_id in v.replicas]

    def volume_count(self, node_id: str) -> int:
        return sum(1 for v in self.volumes.values() if node_id in v.replicas)

    def ec_volumes_on(self, node_id: str) -> list[EcVolumeRecord]:
        return [v for v in self.ec_volumes.values() if node_id in v.shards]

    # -- snapshots ---------------------------------------------------------------

    def snapshot_events(self) -> list[events_pb2.Event]:
        """Events that fold into an equal state, in a deterministic order."""
        out: list[events_pb2.Event] = []
        for node in sorted(self.nodes.values(), key=lambda n: n.node_id):
            out.append(
                events_pb2.Event(
                    node_joined=events_pb2.NodeJoined(
                        node_id=node.node_id,
                        public_url=node.public_url,
                        grpc_port=node.grpc_port,
                        data_center=node.data_center,
                        rack=node.rack,
                        max_volume_count=node.max_volume_count,
                        time_ns=node.joined_ns,
                        disk_type=node.disk_type,
                    )
                )
            )
            if not node.alive:
                out.append(
                    events_pb2.Event(
                        node_left=events_pb2.NodeLeft(node_id=node.node_id, time_ns=node.left_ns)
                    )
                )
        for vid in sorted(self.volumes):
            v = self.volumes[vid]
            for node_id in sorted(v.replicas):
                r = v.replicas[node_id]
                out.append(
                    events_pb2.Event(
                        volume_added=events_pb2.VolumeAdded(
                            volume_id=vid,
                            node_id=node_id,
                            collection=v.collection,
                            replica_placement=v.replica_placement,
                            ttl=v.ttl,
                            version=v.version,
                            read_only=r.read_only,
                            disk_type=v.disk_type,
                        )
                    )
                )
                if r.full:
                    out.append(
                        events_pb2.Event(
                            volume_state_changed=events_pb2.VolumeStateChanged(
                                volume_id=vid, node_id=node_id, read_only=r.read_only, full=True
                            )
                        )
                    )
        for vid in sorted(self.ec_volumes):
            ec = self.ec_volumes[vid]
            for node_id in sorted(ec.shards):
                out.append(
                    events_pb2.Event(
                        ec_shards_mounted=events_pb2.EcShardsMounted(
                            volume_id=vid, node_id=node_id, collection=ec.collection,
                            shard_bits=ec.shards[node_id], disk_type=ec.disk_type,
                        )
                    )
                )
        out.append(
            events_pb2.Event(
                max_volume_id_advanced=events_pb2.MaxVolumeIdAdvanced(max_volume_id=self.max_volume_id)
            )
        )
        out.append(
            events_pb2.Event(sequence_reserved=events_pb2.SequenceReserved(up_to=self.sequence_ceiling))
        )
        if self.topology_id:
            out.append(
                events_pb2.Event(topology_id_set=events_pb2.TopologyIdSet(topology_id=self.topology_id))
            )
        for name in sorted(self.admin_locks):
            lock = self.admin_locks[name]
            out.append(events_pb2.Event(admin_lock_leased=lock.leased_event()))
            if not lock.held:
                out.append(
                    events_pb2.Event(
                        admin_lock_released=events_pb2.AdminLockReleased(lock_name=name, token=lock.token)
                    )
                )
        return out

    def snapshot_events_with_maintenance(self) -> list[events_pb2.Event]:
        return self.snapshot_events() + self.maintenance.snapshot_events()

    def snapshot(self) -> events_pb2.StateSnapshot:
        return events_pb2.StateSnapshot(
            version=SNAPSHOT_VERSION, events=self.snapshot_events_with_maintenance(),
            event_index=self.event_index
        )

    def to_bytes(self) -> bytes:
        data: bytes = self.snapshot().SerializeToString(deterministic=True)
        return data

    @classmethod
    def from_bytes(cls, data: bytes) -> MasterState:
        snap = events_pb2.StateSnapshot.FromString(data)
        if snap.version != SNAPSHOT_VERSION:
            raise SnapshotVersionUnknown(snap.version)
        return cls.from_snapshot(snap)

    @classmethod
    def from_snapshot(cls, snap: events_pb2.StateSnapshot) -> MasterState:
        if snap.version != SNAPSHOT_VERSION:
            raise SnapshotVersionUnknown(snap.version)
        state = cls()
        state.apply_all(snap.events)
        state.event_index = snap.event_index  # replaying a snapshot is not new log positions
        return state

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MasterState):
            return NotImplemented
        return (
            self.nodes == other.nodes
            and self.volumes == other.volumes
            and self.ec_volumes == other.ec_volumes
            and self.max_volume_id == other.max_volume_id
            and self.sequence_ceiling == other.sequence_ceiling
            and self.topology_id == other.topology_id
            and self.admin_locks == other.admin_locks
            and self.maintenance == other.maintenance
            and self.event_index == other.event_index
        )

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value
