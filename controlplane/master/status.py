"""JSON views of the master for `/dir/status`, `/vol/status`, `/cluster/status` and
`/collection/info`, shaped exactly as SeaweedFS answers (key names, nesting, omitted fields).

Pure functions over the replicated state, soft state and writable-volume index; the caller
holds the log's lock. Must not import grpc, kelp_http or pysyncobj.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from controlplane.master.state import DataNode, MasterState, VolumeRecord
from controlplane.master.topology import Topology
from dataplane.volume.engine.types import ReplicaPlacement, Ttl


def kelp_version() -> str:
    """The Version field: kelp's version (SeaweedFS's reads like "8000GB 4.48 pypi")."""
    try:
        return f"kelp {importlib.metadata.version('kelp')}"
    except importlib.metadata.PackageNotFoundError:
        return "kelp dev"


def compress_ids(ids: Iterable[int]) -> str:
    """ " 1-3 5 7-13": runs of consecutive ids, each preceded by a space."""
    out: list[str] = []
    run: list[int] = []
    for vid in sorted(ids):
        if run and vid == run[-1] + 1:
            run.append(vid)
            continue
        if run:
            out.append(f" {run[0]}-{run[-1]}" if len(run) > 1 else f" {run[0]}")
        run = [vid]
    if run:
        out.append(f" {run[0]}-{run[-1]}" if len(run) > 1 else f" {run[0]}")
    return "".join(out)


def placement_json(byte: int) -> dict[str, int]:
    rp = ReplicaPlacement.from_byte(byte)
    pairs = (("node", rp.same_rack), ("rack", rp.diff_rack), ("dc", rp.diff_data_center))
    return {k: v for k, v in pairs if v}


def ttl_json(u16: int) -> dict[str, int]:
    ttl = Ttl.from_u16(u16)
    return {"Count": ttl.count, "Unit": ttl.unit}


def _tree(state: MasterState) -> dict[str, dict[str, list[DataNode]]]:
    tree: dict[str, dict[str, list[DataNode]]] = {}
    for node in sorted(state.live_nodes(), key=lambda n: n.node_id):
        tree.setdefault(node.data_center, {}).setdefault(node.rack, []).append(node)
    return dict(sorted((dc, dict(sorted(racks.items()))) for dc, racks in tree.items()))


def _capacity(state: MasterState) -> tuple[int, int]:
    """(Max, Free) volume slots over live nodes."""
    total = sum(n.max_volume_count for n in state.live_nodes())
    used = sum(state.volume_count(n.node_id) for n in state.live_nodes())
    return total, max(0, total - used)


# writables(layout key) -> writable volume ids of that layout
Writables = Callable[[tuple[str, int, int, str]], list[int]]


def dir_status(
    state: MasterState, layout_keys: Iterable[tuple[str, int, int, str]], writables: Writables
) -> dict[str, Any]:
    total, free = _capacity(state)
    data_centers = []
    for dc, racks in _tree(state).items():
        rack_list = []
        for rack, nodes in racks.items():
            node_list = []
            for n in nodes:
                vids = [v.volume_id for v in state.volumes_on(n.node_id)]
                node_list.append(
                    {
                        "Url": n.node_id,
                        "PublicUrl": n.public_url,
                        "Volumes": len(vids),
                        "EcShards": 0,
                        "Max": n.max_volume_count,
                        "VolumeIds": compress_ids(vids),
                    }
                )
            rack_list.append({"Id": rack, "DataNodes": node_list})
        data_centers.append({"Id": dc, "Racks": rack_list})
    layouts = []
    for key in sorted(layout_keys):
        collection, rp, ttl, disk = key
        ids = writables(key)
        layouts.append(
            {
                "replication": str(ReplicaPlacement.from_byte(rp)),
                "ttl": str(Ttl.from_u16(ttl)),
                "writables": ids or None,
                "collection": collection,
                "diskType": disk or "hdd",
            }
        )
    return {
        "Topology": {"Max": total, "Free": free, "DataCenters": data_centers, "Layouts": layouts},
        "TopologyId": state.topology_id,
        "Version": kelp_version(),
    }


def _volume_info(v: VolumeRecord, node_id: str, state: MasterState, topology: Topology) -> dict[str, Any]:
    report = topology.report(node_id, v.volume_id)
    replica = v.replicas[node_id]
    return {
        "Collection": v.collection,
        "DiskType": v.disk_type,
        "RemoteStorageName": "",
        "ReplicaPlacement": placement_json(v.replica_placement),
        "Ttl": ttl_json(v.ttl),
        "Size": report.size if report else 0,
        "DeletedByteCount": report.deleted_byte_count if report else 0,
        "ModifiedAtSecond": report.modified_at_second if report else 0,
        "Id": v.volume_id,
        "DiskId": 0,
        "CompactRevision": report.compact_revision if report else 0,
        "FileCount": report.file_count if report else 0,
        "DeleteCount": report.delete_count if report else 0,
        "Version": v.version,
        "ReadOnly": replica.read_only,
        "ReadOnlyCanDelete": False,
    }


def vol_status(state: MasterState, topology: Topology) -> dict[str, Any]:
    total, free = _capacity(state)
    dcs: dict[str, Any] = {}
    for dc, racks in _tree(state).items():
        dcs[dc] = {
            rack: {
                n.node_id: [
                    _volume_info(v, n.node_id, state, topology)
                    for v in sorted(state.volumes_on(n.node_id), key=lambda v: v.volume_id)
                ]
                for n in nodes
            }
            for rack, nodes in racks.items()
        }
    return {"Version": kelp_version(), "Volumes": {"DataCenters": dcs, "Free": free, "Max": total}}


def cluster_status(
    *,
    is_leader: bool,
    leader: str | None,
    peers: list[str],
    max_volume_id: int,
    grpc_port_of: Callable[[str], int],
) -> dict[str, Any]:
    """Fields are omitted when empty, as SeaweedFS's: a lone master has no Peers, a follower no IsLeader."""
    out: dict[str, Any] = {}
    if is_leader:
        out["IsLeader"] = True
    if leader:
        out["Leader"] = f"{leader}.{grpc_port_of(leader)}"
    if peers:
        out["Peers"] = [f"{p}.{grpc_port_of(p)}" for p in peers]
    if max_volume_id:
        out["MaxVolumeId"] = max_volume_id
    return out


class MemberView(Protocol):
    """What `raft_fields` reads of a member (raft.MemberStatus)."""

    @property
    def address(self) -> str: ...

    @property
    def raft_address(self) -> str: ...

    @property
    def role(self) -> str: ...

    @property
    def healthy(self) -> bool: ...

    @property
    def last_contact_seconds(self) -> float | None: ...


class RaftView(Protocol):
    """What `raft_fields` reads of the log's status (raft.LogStatus)."""

    @property
    def term(self) -> int: ...

    @property
    def commit_index(self) -> int: ...

    @property
    def applied_index(self) -> int: ...

    @property
    def member_status(self) -> tuple[MemberView, ...]: ...


def state_digest(state: MasterState) -> str:
    """sha256 hex of the folded state's canonical bytes: equal on masters that applied the
    same events (the caller holds the log's lock)."""
    return hashlib.sha256(state.to_bytes()).hexdigest()


def member_json(m: MemberView) -> dict[str, Any]:
    return {
        "Address": m.address,
        "Raft": m.raft_address,
        "Role": m.role,
        "Healthy": m.healthy,
        "LastContactSeconds": None if m.last_contact_seconds is None else round(m.last_contact_seconds, 3),
    }


def raft_fields(raft: RaftView, event_index: int, digest: str) -> dict[str, Any]:
    """kelp's keys of `/cluster/status`, added next to SeaweedFS's (always present)."""
    return {
        "Term": raft.term,
        "EventIndex": event_index,
        "StateDigest": digest,
        "CommitIndex": raft.commit_index,
        "AppliedIndex": raft.applied_index,
        "Members": [member_json(m) for m in raft.member_status],
    }


def _usage(volumes: list[VolumeRecord], topology: Topology, size_limit: int) -> dict[str, int]:
    files = used = 0
    for v in volumes:
        reports = [r for n in v.replicas if (r := topology.report(n, v.volume_id)) is not None]
        files += max((r.file_count - r.delete_count for r in reports), default=0)
        used += max((r.size for r in reports), default=0)
    return {"FileCount": files, "TotalSize": len(volumes) * size_limit, "UsedSize": used}


def collection_info(
    name: str, volumes: list[VolumeRecord], topology: Topology, size_limit: int, detail: bool
) -> dict[str, Any] | list[dict[str, Any]]:
    """`/collection/info`: totals of the collection's logical volumes (TotalSize = volumes x size
    limit), or with `detail` one object per layout."""
    if not detail:
        usage = _usage(volumes, topology, size_limit)
        return {
            "Collection": name,
            "FileCount": usage["FileCount"],
            "TotalSize": usage["TotalSize"],
            "UsedSize": usage["UsedSize"],
            "Version": kelp_version(),
            "VolumeCount": len(volumes),
        }
    by_layout: dict[tuple[int, int, str], list[VolumeRecord]] = {}
    for v in volumes:
        by_layout.setdefault((v.replica_placement, v.ttl, v.disk_type), []).append(v)
    out = []
    for (rp, ttl, disk), vs in sorted(by_layout.items()):
        out.append(
            {
                "Collection": name,
                "Replication": str(ReplicaPlacement.from_byte(rp)),
                "Ttl": str(Ttl.from_u16(ttl)),
                "DiskType": disk or "hdd",
                "VolumeCount": len(vs),
                **_usage(vs, topology, size_limit),
            }
        )
    return out
