"""The leader's diff of a heartbeat inventory against the replicated state: a list of events.

Every heartbeat carries the node's full inventory, so the diff is complete: a node that is
new, dead in the state or changed (address, location, capacity) gets NodeJoined; a replica
the state lacks gets VolumeAdded; one the state has but the node no longer reports gets
VolumeRemoved; a replica whose read-only flag or fullness changed gets VolumeStateChanged;
a volume id above the state's maximum gets MaxVolumeIdAdvanced. EC shards likewise: shard bits
the node reports and the state lacks get EcShardsMounted, bits the state has and the node no
longer reports get EcShardsUnmounted. Only changes of fact become
events: an unchanged inventory yields none. "Full" means size >= the volume size limit.

Pure: reads the state (the caller holds the log's lock), no clock, no I/O.
Must not import pysyncobj, grpc or kelp_http.
"""

from __future__ import annotations

from collections.abc import Set
from typing import Any

from kelp_pb import events_pb2, master_pb2

from controlplane.master.state import MasterState

DEFAULT_DATA_CENTER = "DefaultDataCenter"  # SeaweedFS's names for a server that gives none
DEFAULT_RACK = "DefaultRack"


def node_joined(hb: master_pb2.HeartbeatRequest, time_ns: int) -> events_pb2.NodeJoined:
    node_id = f"{hb.ip}:{hb.port}"
    return events_pb2.NodeJoined(
        node_id=node_id,
        public_url=hb.public_url or node_id,
        grpc_port=hb.grpc_port or hb.port + 10000,
        data_center=hb.data_center or DEFAULT_DATA_CENTER,
        rack=hb.rack or DEFAULT_RACK,
        max_volume_count=hb.max_volume_count,
        time_ns=time_ns,
        disk_type="" if hb.disk_type == "hdd" else hb.disk_type,
    )


def _identity(n: Any) -> tuple[object, ...]:
    """What a NodeJoined says about a node (state nodes carry the same attributes)."""
    return (n.public_url, n.grpc_port, n.data_center, n.rack, n.max_volume_count, n.disk_type)


def reconcile(
    state: MasterState,
    hb: master_pb2.HeartbeatRequest,
    *,
    time_ns: int,
    volume_size_limit: int,
    fresh: Set[int] = frozenset(),
) -> list[events_pb2.Event]:
    """Events that make the state agree with the heartbeat. `fresh` lists volumes growth just
    created on this node, which an older inventory may not show yet (not removed)."""
    joined = node_joined(hb, time_ns)
    node_id = joined.node_id
    out: list[events_pb2.Event] = []
    node = state.nodes.get(node_id)
    if (
        node is None
        or not node.alive
        or _identity(node) != _identity(joined)
    ):
        out.append(events_pb2.Event(node_joined=joined))
    # A node that was dead lost its replicas in the state; its whole inventory is new again.
    rejoining = node is None or not node.alive

    reported: set[int] = set()
    for v in hb.volumes:
        reported.add(v.id)
        full = v.size >= volume_size_limit
        record = None if rejoining else state.volumes.get(v.id)
        replica = record.replicas.get(node_id) if record is not None else None
        if (
            record is None
            or replica is None
            or (record.collection, record.replica_placement, record.ttl, record.version, record.disk_type)
            != (v.collection, v.replica_placement, v.ttl, v.version, v.disk_type)
        ):
            out.append(
                events_pb2.Event(
                    volume_added=events_pb2.VolumeAdded(
                        volume_id=v.id,
                        node_id=node_id,
                        collection=v.collection,
                        replica_placement=v.replica_placement,
                        ttl=v.ttl,
                        version=v.version,
                        read_only=v.read_only,
                        disk_type=v.disk_type,
                    )
                )
            )
            if full:
                out.append(_state_changed(v.id, node_id, v.read_only, full))
        elif (replica.read_only, replica.full) != (v.read_only, full):
            out.append(_state_changed(v.id, node_id, v.read_only, full))

    if not rejoining:
        for record in state.volumes_on(node_id):
            if record.volume_id not in reported and record.volume_id not in fresh:
                out.append(
                    events_pb2.Event(
                        volume_removed=events_pb2.VolumeRemoved(volume_id=record.volume_id, node_id=node_id)
                    )
                )

    out.extend(_ec_diff(state, hb, node_id, rejoining))
    highest = max(reported | {e.id for e in hb.ec_shards}, default=0)
    if highest > state.max_volume_id:
        out.append(
            events_pb2.Event(max_volume_id_advanced=events_pb2.MaxVolumeIdAdvanced(max_volume_id=highest))
        )
    return out


def _state_changed(vid: int, node_id: str, read_only: bool, full: bool) -> events_pb2.Event:
    return events_pb2.Event(
        volume_state_changed=events_pb2.VolumeStateChanged(
            volume_id=vid, node_id=node_id, read_only=read_only, full=full
        )
    )


def _ec_diff(
    state: MasterState, hb: master_pb2.HeartbeatRequest, node_id: str, rejoining: bool
) -> list[events_pb2.Event]:
    out: list[events_pb2.Event] = []
    held: dict[int, int] = {}
    if not rejoining:
        held = {v.volume_id: v.shards[node_id] for v in state.ec_volumes_on(node_id)}
    reported: set[int] = set()
    for e in hb.ec_shards:
        reported.add(e.id)
        current = held.get(e.id, 0)
        record = state.ec_volumes.get(e.id)
        added = e.shard_bits & ~current
        if added or (current and record is not None and record.collection != e.collection):
            out.append(events_pb2.Event(ec_shards_mounted=events_pb2.EcShardsMounted(
                volume_id=e.id, node_id=node_id, collection=e.collection,
                shard_bits=added or e.shard_bits, disk_type=e.disk_type)))
        gone = current & ~e.shard_bits
        if gone:
            out.append(events_pb2.Event(ec_shards_unmounted=events_pb2.EcShardsUnmounted(
                volume_id=e.id, node_id=node_id, shard_bits=gone)))
    for vid, bits in sorted(held.items()):
        if vid not in reported:
            out.append(events_pb2.Event(ec_shards_unmounted=events_pb2.EcShardsUnmounted(
                volume_id=vid, node_id=node_id, shard_bits=bits)))
    return out
