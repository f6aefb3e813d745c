"""SeaweedFS wire views of the master's topology (`master_pb` messages): the VolumeList tree that
`weed shell volume.list` / `cluster.status` print, and the collection list.

Pure functions over the replicated state (which volumes live where, placement, read-only flags)
and the soft state (sizes, file counts: filled on the leader from heartbeats, zero elsewhere); the
caller holds the log's lock (`MasterCore.read_view`). Shapes follow the real master:

    TopologyInfo{id "topo"} -> DataCenterInfo{id} -> RackInfo{id} -> DataNodeInfo{id "ip:port"}
    each level with diskInfos keyed by disk type ("" = hdd) summing the level below;
    a data node's DiskInfo lists its volumes (VolumeInformationMessage).

Only live data nodes appear (a dead node has no replicas in the state). A node's free slots
(`max_volume_count`) belong to its own disk type; volumes of another type on it count without slots.

`stream_messages` splits a VolumeList answer into VolumeListStream messages: first the tree with
every counter but no volumes, then batches of one disk's volumes naming where they belong.

Must not import grpc, pysyncobj or kelp_http.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from kelp_pb import weed_master_pb2 as wpb

from controlplane.master.reconcile import DEFAULT_DATA_CENTER, DEFAULT_RACK
from controlplane.master.state import DataNode, EcVolumeRecord, MasterState, VolumeRecord
from controlplane.master.topology import Topology

TOPOLOGY_ID = "topo"  # the real master's TopologyInfo.id


def collection_names(state: MasterState) -> list[str]:
    """Collections holding volumes, sorted; the default collection is "" (listed like any other)."""
    return sorted(state.collections())


def volume_information(
    volume: VolumeRecord, node_id: str, topology: Topology
) -> wpb.VolumeInformationMessage:
    """One replica as VolumeList shows it: facts from the state, sizes from the last heartbeat."""
    replica = volume.replicas[node_id]
    info = wpb.VolumeInformationMessage(
        id=volume.volume_id,
        collection=volume.collection,
        read_only=replica.read_only,
        replica_placement=volume.replica_placement,
        version=volume.version,
        ttl=volume.ttl,
        disk_type=volume.disk_type,
    )
    report = topology.report(node_id, volume.volume_id)
    if report is not None:
        info.size = report.size
        info.file_count = report.file_count
        info.delete_count = report.delete_count
        info.deleted_byte_count = report.deleted_byte_count
        info.compact_revision = report.compact_revision
        info.modified_at_second = report.modified_at_second
        info.read_only = info.read_only or report.read_only
    return info


def _node_disks(node: DataNode, volumes: list[VolumeRecord], topology: Topology,
                ec_volumes: Iterable[EcVolumeRecord] = ()) -> dict[str, wpb.DiskInfo]:
    disks: dict[str, wpb.DiskInfo] = {node.disk_type: wpb.DiskInfo(type=node.disk_type)}
    for ec in sorted(ec_volumes, key=lambda v: v.volume_id):  # the EC shards it holds (issue 6)
        info = wpb.VolumeEcShardInformationMessage(
            id=ec.volume_id, collection=ec.collection, ec_index_bits=ec.shards[node.node_id],
            disk_type=ec.disk_type,
        )
        disks.setdefault(ec.disk_type, wpb.DiskInfo(type=ec.disk_type)).ec_shard_infos.append(info)
    for volume in sorted(volumes, key=lambda v: v.volume_id):
        disk = disks.setdefault(volume.disk_type, wpb.DiskInfo(type=volume.disk_type))
        info = volume_information(volume, node.node_id, topology)
        disk.volume_infos.append(info)
        disk.volume_count += 1
        if not info.read_only:
            disk.active_volume_count += 1
    for key, disk in disks.items():
        disk.max_volume_count = node.max_volume_count if key == node.disk_type else disk.volume_count
        disk.free_volume_count = max(0, disk.max_volume_count - disk.volume_count)
    return disks


def _sum_into(total: dict[str, wpb.DiskInfo], parts: Iterable[tuple[str, wpb.DiskInfo]]) -> None:
    """Add the counters of `parts` (not their volume lists) into `total`, by disk type."""
    for key, part in parts:
        disk = total.setdefault(key, wpb.DiskInfo(type=key))
        disk.volume_count += part.volume_count
        disk.max_volume_count += part.max_volume_count
        disk.free_volume_count += part.free_volume_count
        disk.active_volume_count += part.active_volume_count
        disk.remote_volume_count += part.remote_volume_count


def topology_info(state: MasterState, topology: Topology) -> wpb.TopologyInfo:
    by_node: dict[str, list[VolumeRecord]] = {}
    for volume in state.volumes.values():
        for node_id in volume.replicas:
            by_node.setdefault(node_id, []).append(volume)
    ec_by_node: dict[str, list[EcVolumeRecord]] = {}
    for ec in state.ec_volumes.values():
        for node_id in ec.shards:
            ec_by_node.setdefault(node_id, []).append(ec)
    tree: dict[str, dict[str, list[DataNode]]] = {}
    for node in state.live_nodes():
        dc = node.data_center or DEFAULT_DATA_CENTER
        tree.setdefault(dc, {}).setdefault(node.rack or DEFAULT_RACK, []).append(node)

    topo = wpb.TopologyInfo(id=TOPOLOGY_ID)
    topo_disks: dict[str, wpb.DiskInfo] = {}
    for dc_id in sorted(tree):
        dc = wpb.DataCenterInfo(id=dc_id)
        dc_disks: dict[str, wpb.DiskInfo] = {}
        for rack_id in sorted(tree[dc_id]):
            rack = wpb.RackInfo(id=rack_id)
            rack_disks: dict[str, wpb.DiskInfo] = {}
            for node in sorted(tree[dc_id][rack_id], key=lambda n: n.node_id):
                disks = _node_disks(node, by_node.get(node.node_id, []), topology,
                                    ec_by_node.get(node.node_id, ()))
                entry = wpb.DataNodeInfo(id=node.node_id, grpc_port=node.grpc_port, address=node.node_id)
                for key, disk in disks.items():
                    entry.diskInfos[key].CopyFrom(disk)
                rack.data_node_infos.append(entry)
                _sum_into(rack_disks, disks.items())
            for key, disk in rack_disks.items():
                rack.diskInfos[key].CopyFrom(disk)
            dc.rack_infos.append(rack)
            _sum_into(dc_disks, rack_disks.items())
        for key, disk in dc_disks.items():
            dc.diskInfos[key].CopyFrom(disk)
        topo.data_center_infos.append(dc)
        _sum_into(topo_disks, dc_disks.items())
    for key, disk in topo_disks.items():
        topo.diskInfos[key].CopyFrom(disk)
    return topo


def volume_list(state: MasterState, topology: Topology, volume_size_limit_mb: int) -> wpb.VolumeListResponse:
    return wpb.VolumeListResponse(
        topology_info=topology_info(state, topology), volume_size_limit_mb=volume_size_limit_mb
    )


def stream_messages(listing: wpb.VolumeListResponse, batch: int) -> Iterator[wpb.VolumeListStreamResponse]:
    """VolumeListStream messages for `listing`: the header (the tree without volume lists), then up
    to `batch` volumes of one data node's disk per message."""
    header = wpb.VolumeListResponse()
    header.CopyFrom(listing)
    batches: list[wpb.VolumeListStreamResponse] = []
    for dc in header.topology_info.data_center_infos:
        for rack in dc.rack_infos:
            for node in rack.data_node_infos:
                for key in sorted(node.diskInfos):
                    disk = node.diskInfos[key]
                    volumes = list(disk.volume_infos)
                    del disk.volume_infos[:]
                    for at in range(0, len(volumes), batch):
                        batches.append(
                            wpb.VolumeListStreamResponse(
                                data_center=dc.id,
                                rack=rack.id,
                                data_node=node.id,
                                disk_type=key,
                                volume_infos=volumes[at : at + batch],
                            )
                        )
    yield wpb.VolumeListStreamResponse(header=header)
    yield from batches
