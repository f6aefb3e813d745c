"""`MasterAdmin` over gRPC: kelp.v1.MasterAdmin for status and membership, master_pb.Seaweed's
VolumeList for the topology counts (the call `weed shell cluster.status` makes too).

One `grpc.aio` channel per master, opened on first use, with kelp's channel options. gRPC errors
become the shell's: UNAVAILABLE and DEADLINE_EXCEEDED are `MasterGone` (ask another master),
FAILED_PRECONDITION with "leader=host:port" in its details is `MasterNotLeader`, anything else
is `MasterRefused`.

The only controlplane.shell module that imports grpc and kelp_pb.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Iterable
from typing import TypeVar, cast

import grpc
from kelp_pb import master_admin_pb2, master_admin_pb2_grpc, weed_master_pb2, weed_master_pb2_grpc

from controlplane.shell.errors import MasterCallError, MasterGone, MasterNotLeader, MasterRefused
from controlplane.shell.master_admin import (
    ClusterStatus,
    EcShards,
    MaintenanceCommand,
    MaintenanceHistory,
    MaintenanceRunReport,
    Member,
    Role,
    ServerReport,
    TopologyCounts,
    VolumeReport,
)
from dataplane.client.addresses import GRPC_CHANNEL_OPTIONS, ServerAddress

# Status is read from memory on the master: a master that takes longer is as good as gone.
STATUS_TIMEOUT_SECONDS = 5.0
# A membership change is one replicated entry plus, for an add, the new member catching up
# with the log; generous, because a stuck call is better reported than cut short.
MEMBERSHIP_TIMEOUT_SECONDS = 60.0
# The whole volume-server tree: grows with the cluster, still one in-memory walk.
TOPOLOGY_TIMEOUT_SECONDS = 15.0

_GONE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})
# A follower's refusal of a leader-only call names the leader as "leader=host:port" ("leader="
# while none is known), per kelp_pb/master_admin.proto.
_LEADER_HINT = re.compile(r"leader=([^\s,;]*)")
_ROLES: frozenset[str] = frozenset({"leader", "follower", "unknown"})
_R = TypeVar("_R")


class GrpcMasterAdmin:
    """Implements `controlplane.shell.master_admin.MasterAdmin` for one master."""

    def __init__(self, address: ServerAddress) -> None:
        self._address = address
        self._channel = grpc.aio.insecure_channel(address.grpc, options=GRPC_CHANNEL_OPTIONS)
        self._admin = master_admin_pb2_grpc.MasterAdminStub(self._channel)
        self._seaweed = weed_master_pb2_grpc.SeaweedStub(self._channel)

    @property
    def address(self) -> str:
        return self._address.http

    async def cluster_status(self) -> ClusterStatus:
        reply = await self._call(
            self._admin.ClusterStatus(master_admin_pb2.ClusterStatusRequest(), timeout=STATUS_TIMEOUT_SECONDS)
        )
        return ClusterStatus(
            answered_by=reply.self or self.address,
            is_leader=reply.is_leader,
            leader=reply.leader,
            term=reply.term,
            event_index=reply.event_index,
            state_digest=reply.state_digest,
            commit_index=reply.commit_index,
            applied_index=reply.applied_index,
            max_volume_id=reply.max_volume_id,
            members=members_of(reply.members),
        )

    async def list_cluster_servers(self) -> tuple[Member, ...]:
        request = master_admin_pb2.RaftListClusterServersRequest()
        reply = await self._call(self._admin.RaftListClusterServers(request, timeout=STATUS_TIMEOUT_SECONDS))
        return members_of(reply.members)

    async def topology_counts(self) -> TopologyCounts:
        request = weed_master_pb2.VolumeListRequest()
        reply = await self._call(self._seaweed.VolumeList(request, timeout=TOPOLOGY_TIMEOUT_SECONDS))
        return topology_counts_of(reply.topology_info)

    async def add_server(self, address: str) -> tuple[Member, ...]:
        request = master_admin_pb2.RaftAddServerRequest(address=address)
        reply = await self._call(self._admin.RaftAddServer(request, timeout=MEMBERSHIP_TIMEOUT_SECONDS))
        return members_of(reply.members)

    async def remove_server(self, address: str) -> tuple[Member, ...]:
        request = master_admin_pb2.RaftRemoveServerRequest(address=address)
        reply = await self._call(self._admin.RaftRemoveServer(request, timeout=MEMBERSHIP_TIMEOUT_SECONDS))
        return members_of(reply.members)

    async def volume_topology(self) -> tuple[ServerReport, ...]:
        request = weed_master_pb2.VolumeListRequest()
        reply = await self._call(self._seaweed.VolumeList(request, timeout=TOPOLOGY_TIMEOUT_SECONDS))
        return servers_of(reply.topology_info)

    async def volume_size_limit_mb(self) -> int:
        """The cluster's volume size limit (VolumeList's volume_size_limit_mb)."""
        request = weed_master_pb2.VolumeListRequest()
        reply = await self._call(self._seaweed.VolumeList(request, timeout=TOPOLOGY_TIMEOUT_SECONDS))
        return int(reply.volume_size_limit_mb)

    async def maintenance_history(self) -> MaintenanceHistory:
        request = master_admin_pb2.MaintenanceHistoryRequest()
        reply = await self._call(self._admin.MaintenanceHistory(request, timeout=STATUS_TIMEOUT_SECONDS))
        return maintenance_history_of(reply)

    async def lease_admin_lock(
        self, lock_name: str, previous_token: int, client_name: str, message: str
    ) -> tuple[int, int]:
        request = weed_master_pb2.LeaseAdminTokenRequest(
            previous_token=previous_token, lock_name=lock_name, client_name=client_name, message=message)
        reply = await self._call(self._seaweed.LeaseAdminToken(request, timeout=STATUS_TIMEOUT_SECONDS))
        return reply.token, reply.lock_ts_ns

    async def release_admin_lock(self, lock_name: str, token: int) -> None:
        request = weed_master_pb2.ReleaseAdminTokenRequest(previous_token=token, lock_name=lock_name)
        await self._call(self._seaweed.ReleaseAdminToken(request, timeout=STATUS_TIMEOUT_SECONDS))

    async def close(self) -> None:
        await self._channel.close(None)

    async def _call(self, call: Awaitable[_R]) -> _R:
        try:
            return await call
        except grpc.aio.AioRpcError as err:
            raise call_error(self.address, err.code(), err.details() or "") from err


def call_error(address: str, code: grpc.StatusCode, details: str) -> MasterCallError:
    """The shell's error for a failed call to the master at `address`."""
    if code in _GONE:
        return MasterGone(address, f"{code.name}: {details}")
    hint = _LEADER_HINT.search(details)
    if code == grpc.StatusCode.FAILED_PRECONDITION and hint is not None:
        return MasterNotLeader(address, hint.group(1))
    if code == grpc.StatusCode.UNIMPLEMENTED:
        return MasterRefused(address, f"does not serve this call (not kelp, or an older kelp): {details}")
    return MasterRefused(address, f"{code.name}: {details}")


def members_of(members: Iterable[master_admin_pb2.ClusterMember]) -> tuple[Member, ...]:
    return tuple(
        Member(
            address=m.address,
            raft_address=m.raft_address,
            role=cast(Role, m.role if m.role in _ROLES else "unknown"),
            healthy=m.healthy,
            last_contact_seconds=m.last_contact_seconds if m.HasField("last_contact_seconds") else None,
        )
        for m in members
    )


def servers_of(topology: weed_master_pb2.TopologyInfo) -> tuple[ServerReport, ...]:
    servers = []
    for dc in topology.data_center_infos:
        for rack in dc.rack_infos:
            for node in rack.data_node_infos:
                volumes = tuple(
                    VolumeReport(
                        volume_id=v.id, collection=v.collection, size=v.size, file_count=v.file_count,
                        delete_count=v.delete_count, deleted_bytes=v.deleted_byte_count,
                        read_only=v.read_only,
                        replication=f"{v.replica_placement:03d}", disk_type=v.disk_type or disk_type,
                        modified_at_second=v.modified_at_second,
                    )
                    for disk_type, disk in sorted(node.diskInfos.items())
                    for v in sorted(disk.volume_infos, key=lambda v: v.id)
                )
                slots = sum(disk.max_volume_count for disk in node.diskInfos.values())
                ec = tuple(
                    EcShards(e.id, e.collection, e.ec_index_bits)
                    for disk in node.diskInfos.values()
                    for e in sorted(disk.ec_shard_infos, key=lambda e: e.id)
                )
                servers.append(ServerReport(node.id, dc.id, rack.id, slots, volumes, node.grpc_port, ec))
    return tuple(servers)


def maintenance_history_of(reply: master_admin_pb2.MaintenanceHistoryResponse) -> MaintenanceHistory:
    runs = tuple(
        MaintenanceRunReport(
            r.run_id, r.term, r.leader, r.started_ns, r.finished_ns, r.ok, r.abandoned, r.reason,
            tuple(MaintenanceCommand(c.command, c.ok, c.output, c.time_ns, c.lock_token) for c in r.commands),
        )
        for r in reply.runs
    )
    return MaintenanceHistory(reply.configured, tuple(reply.commands), reply.interval_seconds, runs,
                              reply.next_due_ns)


def topology_counts_of(topology: weed_master_pb2.TopologyInfo) -> TopologyCounts:
    racks = [rack for dc in topology.data_center_infos for rack in dc.rack_infos]
    nodes = [node for rack in racks for node in rack.data_node_infos]
    volumes = sum(len(disk.volume_infos) for node in nodes for disk in node.diskInfos.values())
    return TopologyCounts(
        data_centers=len(topology.data_center_infos), racks=len(racks), nodes=len(nodes), volumes=volumes
    )
