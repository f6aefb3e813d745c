"""The master's `VolumeAdmin` seam over gRPC: kelp.v1.VolumeAdmin calls to volume servers.

One `grpc.aio` channel per volume server (its "ip:grpcPort"), opened on first use and kept until
`close()`; a failed call raises `VolumeServerFailed` naming the node and the operation.

Must not import kelp_http or the master core's state; only the value types and errors.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

import grpc
from kelp_pb import volume_pb2, volume_pb2_grpc

from controlplane.master.errors import VolumeServerFailed
from controlplane.master.types import Location
from dataplane.volume.engine.types import ReplicaPlacement, Ttl

_GIB = 1 << 30
# Every kelp gRPC client and server allows 1 GiB messages (kelp's contract), so no message that a
# volume server can produce is refused by size.
CHANNEL_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.max_receive_message_length", _GIB),
    ("grpc.max_send_message_length", _GIB),
)

# Quick admin calls touch metadata only; a stuck server must not hold a growth or a collection
# delete forever.
ADMIN_TIMEOUT_SECONDS = 30.0
# A leader announcement is best effort: a server that does not answer soon reconnects by itself.
ANNOUNCE_TIMEOUT_SECONDS = 2.0
# Allocation may preallocate a large .dat file.
ALLOCATE_TIMEOUT_SECONDS = 120.0
# Compaction rewrites a whole volume (up to 30 GiB by default) at disk speed.
VACUUM_TIMEOUT_SECONDS = 3600.0

_Resp = TypeVar("_Resp")


class GrpcVolumeAdmin:
    """Implements `controlplane.master.types.VolumeAdmin` with one cached channel per server."""

    def __init__(self) -> None:
        self._channels: dict[str, grpc.aio.Channel] = {}
        self._stubs: dict[str, volume_pb2_grpc.VolumeAdminStub] = {}

    def _stub(self, node: Location) -> volume_pb2_grpc.VolumeAdminStub:
        address = node.grpc_address
        stub = self._stubs.get(address)
        if stub is None:
            channel = grpc.aio.insecure_channel(address, options=CHANNEL_OPTIONS)
            self._channels[address] = channel
            stub = self._stubs[address] = volume_pb2_grpc.VolumeAdminStub(channel)
        return stub

    @staticmethod
    async def _call(node: Location, operation: str, call: Awaitable[_Resp]) -> _Resp:
        try:
            return await call
        except grpc.aio.AioRpcError as err:
            raise VolumeServerFailed(node.url, operation, f"{err.code().name}: {err.details()}") from err

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
        request = volume_pb2.AllocateVolumeRequest(
            volume_id=volume_id,
            collection=collection,
            replica_placement=replica_placement.to_byte(),
            ttl=ttl.to_u16(),
            preallocate=preallocate,
            disk_type=disk_type,
        )
        stub = self._stub(node)
        await self._call(
            node, "AllocateVolume", stub.AllocateVolume(request, timeout=ALLOCATE_TIMEOUT_SECONDS)
        )

    async def delete_volume(self, node: Location, volume_id: int) -> None:
        request = volume_pb2.DeleteVolumeRequest(volume_id=volume_id)
        stub = self._stub(node)
        await self._call(node, "DeleteVolume", stub.DeleteVolume(request, timeout=ADMIN_TIMEOUT_SECONDS))

    async def mark_read_only(self, node: Location, volume_id: int, read_only: bool) -> None:
        request = volume_pb2.MarkReadOnlyRequest(volume_id=volume_id, read_only=read_only)
        stub = self._stub(node)
        await self._call(node, "MarkReadOnly", stub.MarkReadOnly(request, timeout=ADMIN_TIMEOUT_SECONDS))

    async def delete_collection(self, node: Location, collection: str) -> None:
        request = volume_pb2.DeleteCollectionRequest(collection=collection)
        stub = self._stub(node)
        await self._call(
            node, "DeleteCollection", stub.DeleteCollection(request, timeout=ADMIN_TIMEOUT_SECONDS)
        )

    async def vacuum_check(self, node: Location, volume_id: int) -> float:
        request = volume_pb2.VacuumCheckRequest(volume_id=volume_id)
        stub = self._stub(node)
        reply = await self._call(
            node, "VacuumCheck", stub.VacuumCheck(request, timeout=ADMIN_TIMEOUT_SECONDS)
        )
        return float(reply.garbage_ratio)

    async def vacuum(self, node: Location, volume_id: int) -> int:
        request = volume_pb2.VacuumRequest(volume_id=volume_id)
        stub = self._stub(node)
        reply = await self._call(node, "Vacuum", stub.Vacuum(request, timeout=VACUUM_TIMEOUT_SECONDS))
        return int(reply.reclaimed_bytes)

    async def leader_changed(self, node: Location, leader: str, term: int) -> None:
        request = volume_pb2.LeaderChangedRequest(leader=leader, term=term)
        stub = self._stub(node)
        await self._call(
            node, "LeaderChanged", stub.LeaderChanged(request, timeout=ANNOUNCE_TIMEOUT_SECONDS)
        )

    async def close(self) -> None:
        """Close every channel; calls in flight fail with CANCELLED."""
        channels = list(self._channels.values())
        self._channels.clear()
        self._stubs.clear()
        for channel in channels:
            await channel.close(grace=None)
