"""The shell's seam to volume servers: kelp.v1.VolumeAdmin calls the volume.* commands make.

`VolumeServers` is a Protocol so commands are tested with a fake; `GrpcVolumeServers` is the
real one (one grpc.aio channel per server, opened on first use). Failures raise CommandFailed
naming the server and what it said.

The only module besides grpc_master_admin.py in controlplane.shell that imports grpc and kelp_pb.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Protocol, TypeVar

import grpc
from kelp_pb import volume_pb2, volume_pb2_grpc

from controlplane.shell.errors import CommandFailed
from controlplane.shell.master_admin import ServerReport
from dataplane.client.addresses import GRPC_CHANNEL_OPTIONS, ServerAddress

_R = TypeVar("_R")
CALL_SECONDS = 60.0  # a delete or a mark touches metadata only
VACUUM_SECONDS = 3600.0  # a vacuum copies the live needles of a volume (up to 30 GB)
COPY_SECONDS = 3600.0  # a whole volume (up to 30 GB) between two servers


class VolumeServers(Protocol):
    async def mark_read_only(self, server: ServerReport, volume_id: int, read_only: bool) -> None: ...

    async def delete_volume(self, server: ServerReport, volume_id: int) -> None: ...

    async def garbage_ratio(self, server: ServerReport, volume_id: int) -> float: ...

    async def vacuum(self, server: ServerReport, volume_id: int) -> int:
        """Compact the volume; the bytes reclaimed."""

    async def copy_volume(self, target: ServerReport, source: ServerReport, volume_id: int,
                          collection: str) -> int:
        """`target` pulls the volume from `source` and mounts it; the bytes copied."""

    async def configure_replication(self, server: ServerReport, volume_id: int, replication: str) -> None: ...

    async def close(self) -> None: ...


def grpc_target(server: ServerReport) -> str:
    """The server's gRPC "host:port" (its report's grpc_port, else HTTP port + 10000)."""
    address = ServerAddress.parse(server.address)  # "ip:port": the gRPC port is port + 10000
    return f"{address.host}:{server.grpc_port or address.grpc_port}"


class GrpcVolumeServers:
    def __init__(self) -> None:
        self._channels: dict[str, grpc.aio.Channel] = {}

    def _stub(self, server: ServerReport) -> volume_pb2_grpc.VolumeAdminStub:
        target = grpc_target(server)
        channel = self._channels.get(target)
        if channel is None:
            channel = self._channels[target] = grpc.aio.insecure_channel(target, options=GRPC_CHANNEL_OPTIONS)
        return volume_pb2_grpc.VolumeAdminStub(channel)

    async def mark_read_only(self, server: ServerReport, volume_id: int, read_only: bool) -> None:
        request = volume_pb2.MarkReadOnlyRequest(volume_id=volume_id, read_only=read_only)
        await _call("volume.mark", server, self._stub(server).MarkReadOnly(request, timeout=CALL_SECONDS))

    async def delete_volume(self, server: ServerReport, volume_id: int) -> None:
        request = volume_pb2.DeleteVolumeRequest(volume_id=volume_id)
        await _call("volume.delete", server, self._stub(server).DeleteVolume(request, timeout=CALL_SECONDS))

    async def garbage_ratio(self, server: ServerReport, volume_id: int) -> float:
        request = volume_pb2.VacuumCheckRequest(volume_id=volume_id)
        call = self._stub(server).VacuumCheck(request, timeout=CALL_SECONDS)
        reply = await _call("volume.vacuum", server, call)
        return float(reply.garbage_ratio)

    async def vacuum(self, server: ServerReport, volume_id: int) -> int:
        request = volume_pb2.VacuumRequest(volume_id=volume_id)
        call = self._stub(server).Vacuum(request, timeout=VACUUM_SECONDS)
        reply = await _call("volume.vacuum", server, call)
        return int(reply.reclaimed_bytes)

    async def copy_volume(self, target: ServerReport, source: ServerReport, volume_id: int,
                          collection: str) -> int:
        request = volume_pb2.VolumeCopyRequest(volume_id=volume_id, collection=collection,
                                               source=grpc_target(source))
        call = self._stub(target).VolumeCopy(request, timeout=COPY_SECONDS)
        reply = await _call("volume copy", target, call)
        return int(reply.bytes)

    async def configure_replication(self, server: ServerReport, volume_id: int, replication: str) -> None:
        request = volume_pb2.VolumeConfigureRequest(volume_id=volume_id, replication=replication)
        call = self._stub(server).VolumeConfigure(request, timeout=CALL_SECONDS)
        await _call("volume.configure.replication", server, call)

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close(None)
        self._channels.clear()


async def _call(command: str, server: ServerReport, call: Awaitable[_R]) -> _R:
    try:
        return await call
    except grpc.aio.AioRpcError as err:
        reason = f"volume server {server.address}: {err.code().name} {err.details()}"
        raise CommandFailed(command, reason) from err
