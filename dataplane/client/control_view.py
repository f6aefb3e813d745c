"""Where volumes live, folded from the master's control events (kelp.v1 `Event`).

A `LocationView` is what a control subscriber (`control.py`) keeps: the live volume servers and
the volume ids each holds, rebuilt from the event stream of `kelp.v1.Control/Subscribe`. Every
change it makes is reported as `NodeDelta`s, the (node, volume id) pairs that appeared or went,
so a consumer holding such pairs (a location cache, SeaweedFS's KeepConnected stream) stays exact
by applying them.

Folding rules: the same as the master's own fold (controlplane/master/state.py), restricted to
locations, so that `locations(vid)` equals the master's lookup answer at the same index:
- NodeJoined adds or revives a node (its info may change); replicas recorded for it while it was
  unknown or dead become live;
- NodeLeft marks a known node dead and drops its replicas; an unknown node's NodeLeft does nothing;
- VolumeAdded records a replica (whatever its node's state) and the volume's collection and
  placement; VolumeRemoved drops one; a volume without replicas is gone;
- CollectionDeleted drops every volume of that collection;
- every other kind (counters, locks, kinds newer than this client) only advances the index.

Deltas are the difference of the live view before and after: a node whose info changed is
reported as its old info losing its volumes and its new info gaining them; nodes without
volumes produce no delta.

Pure: no network, no asyncio, no server code; `kelp_pb.events_pb2` is its only protobuf.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kelp_pb import events_pb2

from dataplane.client.errors import ClientError

SNAPSHOT_VERSION = 1  # the master's StateSnapshot versions this view can read


class EventOutOfOrder(ClientError, ValueError):
    """An event whose index is not the one after the last applied: a gap or a duplicate."""

    def __init__(self, expected: int, got: int) -> None:
        super().__init__(f"control event {got} out of order: expected {expected}")
        self.expected = expected
        self.got = got


class SnapshotVersionUnknown(ClientError, ValueError):
    def __init__(self, version: int) -> None:
        super().__init__(f"state snapshot version {version} is not known (newest {SNAPSHOT_VERSION})")
        self.version = version


@dataclass(frozen=True, slots=True, order=True)
class NodeInfo:
    """A volume server as the control events describe it."""

    url: str  # "ip:port" of its HTTP listener (the master's node id)
    public_url: str
    grpc_port: int
    data_center: str
    rack: str


@dataclass(frozen=True, slots=True)
class NodeDelta:
    """Volume ids that became live on `node` (`added`) or stopped being live there (`removed`)."""

    node: NodeInfo
    added: tuple[int, ...]
    removed: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class VolumeInfo:
    volume_id: int
    collection: str
    replica_placement: int  # superblock byte 100x+10y+z


@dataclass(slots=True)
class _Node:
    info: NodeInfo
    alive: bool = True


@dataclass(slots=True)
class _Volume:
    collection: str
    replica_placement: int
    # Node ids in the order their replicas were first recorded: the master's lookup order.
    replicas: dict[str, None] = field(default_factory=dict)


# A node's live part: its info and the volume ids it holds (None: not live).
_Live = tuple[NodeInfo, frozenset[int]] | None


class LocationView:
    def __init__(self) -> None:
        self.index = 0  # index of the last event applied (0: nothing yet)
        self._nodes: dict[str, _Node] = {}
        self._volumes: dict[int, _Volume] = {}
        self._held: dict[str, set[int]] = {}  # node id -> volume ids with a replica there (any state)

    # -- folding -----------------------------------------------------------------------

    def apply_event(self, index: int, event: events_pb2.Event) -> list[NodeDelta]:
        """Fold the event numbered `index`, which must be `self.index + 1` (else EventOutOfOrder,
        and the view is unchanged)."""
        if index != self.index + 1:
            raise EventOutOfOrder(self.index + 1, index)
        touched = self._touched_by(event)
        before = {node_id: self._live(node_id) for node_id in touched}
        self._fold(event)
        self.index = index
        return _diff(before, {node_id: self._live(node_id) for node_id in touched})

    def load_snapshot(self, snapshot: events_pb2.StateSnapshot) -> list[NodeDelta]:
        """Replace the whole view by the snapshot's state; continue after `snapshot.event_index`."""
        if snapshot.version != SNAPSHOT_VERSION:
            raise SnapshotVersionUnknown(snapshot.version)
        fresh = LocationView()
        for event in snapshot.events:
            fresh._fold(event)
        touched = self._nodes.keys() | fresh._nodes.keys()
        before = {node_id: self._live(node_id) for node_id in touched}
        self._nodes, self._volumes, self._held = fresh._nodes, fresh._volumes, fresh._held
        self.index = snapshot.event_index
        return _diff(before, {node_id: self._live(node_id) for node_id in touched})

    def _touched_by(self, event: events_pb2.Event) -> set[str]:
        kind = event.WhichOneof("kind")
        if kind == "node_joined":
            return {event.node_joined.node_id}
        if kind == "node_left":
            return {event.node_left.node_id}
        if kind == "volume_added":
            return {event.volume_added.node_id}
        if kind == "volume_removed":
            return {event.volume_removed.node_id}
        if kind == "collection_deleted":
            name = event.collection_deleted.name
            return {n for v in self._volumes.values() if v.collection == name for n in v.replicas}
        return set()

    def _fold(self, event: events_pb2.Event) -> None:
        kind = event.WhichOneof("kind")
        if kind == "node_joined":
            e = event.node_joined
            info = NodeInfo(e.node_id, e.public_url, e.grpc_port, e.data_center, e.rack)
            self._nodes[e.node_id] = _Node(info)
        elif kind == "node_left":
            node = self._nodes.get(event.node_left.node_id)
            if node is not None:
                node.alive = False
                for vid in sorted(self._held.get(node.info.url, ())):
                    self._drop_replica(vid, node.info.url)
        elif kind == "volume_added":
            a = event.volume_added
            volume = self._volumes.get(a.volume_id)
            if volume is None:
                volume = self._volumes[a.volume_id] = _Volume(a.collection, a.replica_placement)
            volume.collection = a.collection
            volume.replica_placement = a.replica_placement
            volume.replicas.setdefault(a.node_id, None)
            self._held.setdefault(a.node_id, set()).add(a.volume_id)
        elif kind == "volume_removed":
            self._drop_replica(event.volume_removed.volume_id, event.volume_removed.node_id)
        elif kind == "collection_deleted":
            name = event.collection_deleted.name
            for vid in [vid for vid, v in self._volumes.items() if v.collection == name]:
                for node_id in list(self._volumes[vid].replicas):
                    self._drop_replica(vid, node_id)

    def _drop_replica(self, vid: int, node_id: str) -> None:
        volume = self._volumes.get(vid)
        if volume is None:
            return
        volume.replicas.pop(node_id, None)
        held = self._held.get(node_id)
        if held is not None:
            held.discard(vid)
            if not held:
                del self._held[node_id]
        if not volume.replicas:
            del self._volumes[vid]

    def _live(self, node_id: str) -> _Live:
        node = self._nodes.get(node_id)
        if node is None or not node.alive:
            return None
        return node.info, frozenset(self._held.get(node_id, ()))

    # -- queries -----------------------------------------------------------------------

    def nodes(self) -> list[tuple[NodeInfo, tuple[int, ...]]]:
        """Live nodes sorted by url, each with its volume ids (sorted)."""
        return [
            (node.info, tuple(sorted(self._held.get(node_id, ()))))
            for node_id, node in sorted(self._nodes.items())
            if node.alive
        ]

    def locations(self, volume_id: int) -> list[NodeInfo]:
        """The live replicas of a volume, in the master's lookup order ([] if none)."""
        volume = self._volumes.get(volume_id)
        if volume is None:
            return []
        out = []
        for node_id in volume.replicas:
            node = self._nodes.get(node_id)
            if node is not None and node.alive:
                out.append(node.info)
        return out

    def volume(self, volume_id: int) -> VolumeInfo | None:
        """The volume's collection and placement while any replica is recorded (live or not)."""
        volume = self._volumes.get(volume_id)
        if volume is None:
            return None
        return VolumeInfo(volume_id, volume.collection, volume.replica_placement)

    def volume_ids(self) -> list[int]:
        """Every volume with a live replica, sorted."""
        return sorted(vid for vid in self._volumes if self.locations(vid))


def _diff(before: dict[str, _Live], after: dict[str, _Live]) -> list[NodeDelta]:
    deltas: list[NodeDelta] = []
    for node_id in sorted(before.keys() | after.keys()):
        old, new = before.get(node_id), after.get(node_id)
        if old == new:
            continue
        if old is not None and new is not None and old[0] == new[0]:
            added, removed = new[1] - old[1], old[1] - new[1]
            deltas.append(NodeDelta(new[0], tuple(sorted(added)), tuple(sorted(removed))))
            continue
        # Gone, appeared, or its info changed: the old pairs go, the new ones come.
        if old is not None and old[1]:
            deltas.append(NodeDelta(old[0], (), tuple(sorted(old[1]))))
        if new is not None and new[1]:
            deltas.append(NodeDelta(new[0], tuple(sorted(new[1])), ()))
    return deltas
