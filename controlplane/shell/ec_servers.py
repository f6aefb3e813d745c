"""The shell's seam to volume servers for `ec.*` commands: kelp.v1.VolumeAdmin's EC RPCs.

`EcServers` is a Protocol so the commands are tested with a fake; `GrpcEcServers` is the real
one (one grpc.aio channel per server, opened on first use). Failures raise CommandFailed naming
the server and what it said; `EcCallFailed` (a CommandFailed) also carries the gRPC status name,
so ec.encode can tell "another encoder has it" (ABORTED, ALREADY_EXISTS) from other failures.

Imports grpc and kelp_pb (as volume_servers.py does for the volume.* commands).
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable
from typing import Protocol, TypeVar

import grpc
from kelp_pb import volume_pb2, volume_pb2_grpc

from controlplane.shell.errors import CommandFailed
from controlplane.shell.master_admin import ServerReport
from dataplane.client.addresses import GRPC_CHANNEL_OPTIONS, ServerAddress

_R = TypeVar("_R")
CALL_SECONDS = 60.0  # mount, unmount, delete, journal calls touch a few files
LONG_SECONDS = 3600.0  # encode, copy, rebuild, decode move whole shards (3 GB of a 30 GB volume)


class EcCallFailed(CommandFailed):
    def __init__(self, command: str, server: str, code: str, details: str) -> None:
        super().__init__(command, f"volume server {server}: {code} {details}")
        self.server = server
        self.code = code
        self.details = details


def grpc_address(server: ServerReport) -> str:
    """The server's gRPC "host:port" (its report's grpc_port, else HTTP port + 10000)."""
    address = ServerAddress.parse(server.address)
    return f"{address.host}:{server.grpc_port or address.grpc_port}"


class EcServers(Protocol):
    async def generate(self, server: ServerReport, volume_id: int, collection: str) -> float:
        """Write the volume's EC files next to it (the volume stays); the seconds it took."""

    async def copy(self, target: ServerReport, source: ServerReport, volume_id: int, collection: str,
                   shards: Iterable[int], *, index_files: bool) -> int:
        """`target` pulls the shards (and the .ecx/.ecj/.vif if index_files) from `source`."""

    async def mount(self, server: ServerReport, volume_id: int, collection: str,
                    shards: Iterable[int]) -> None: ...

    async def delete_shards(self, server: ServerReport, volume_id: int, collection: str,
                            shards: Iterable[int]) -> None: ...

    async def journal(self, server: ServerReport, volume_id: int) -> set[int]:
        """The needle ids in the server's .ecj for the volume."""

    async def journal_append(self, server: ServerReport, volume_id: int, keys: Iterable[int]) -> int: ...

    async def rebuild(self, server: ServerReport, volume_id: int, collection: str) -> list[int]:
        """Rebuild the shards missing on the server from those it holds; the shard ids written."""

    async def to_volume(self, server: ServerReport, volume_id: int, collection: str) -> int:
        """Decode the EC volume held on the server into a normal volume; its live needle count."""

    async def close(self) -> None: ...


class GrpcEcServers:
    def __init__(self, command: str = "ec") -> None:
        self._channels: dict[str, grpc.aio.Channel] = {}
        self.command = command

    def _stub(self, server: ServerReport) -> volume_pb2_grpc.VolumeAdminStub:
        target = grpc_address(server)
        channel = self._channels.get(target)
        if channel is None:
            channel = self._channels[target] = grpc.aio.insecure_channel(target, options=GRPC_CHANNEL_OPTIONS)
        return volume_pb2_grpc.VolumeAdminStub(channel)

    async def _call(self, server: ServerReport, call: Awaitable[_R]) -> _R:
        try:
            return await call
        except grpc.aio.AioRpcError as err:
            raise EcCallFailed(self.command, server.address, err.code().name, err.details() or "") from err

    async def generate(self, server: ServerReport, volume_id: int, collection: str) -> float:
        request = volume_pb2.EcShardsGenerateRequest(volume_id=volume_id, collection=collection)
        reply = await self._call(server, self._stub(server).EcShardsGenerate(request, timeout=LONG_SECONDS))
        return float(reply.seconds)

    async def copy(self, target: ServerReport, source: ServerReport, volume_id: int, collection: str,
                   shards: Iterable[int], *, index_files: bool) -> int:
        request = volume_pb2.EcShardsCopyRequest(
            volume_id=volume_id, collection=collection, shard_ids=sorted(shards), copy_ecx=index_files,
            copy_ecj=index_files, copy_vif=index_files, source=grpc_address(source))
        reply = await self._call(target, self._stub(target).EcShardsCopy(request, timeout=LONG_SECONDS))
        return int(reply.bytes)

    async def mount(self, server: ServerReport, volume_id: int, collection: str,
                    shards: Iterable[int]) -> None:
        request = volume_pb2.EcShardsMountRequest(volume_id=volume_id, collection=collection,
                                                  shard_ids=sorted(shards))
        await self._call(server, self._stub(server).EcShardsMount(request, timeout=CALL_SECONDS))

    async def delete_shards(self, server: ServerReport, volume_id: int, collection: str,
                            shards: Iterable[int]) -> None:
        request = volume_pb2.EcShardsDeleteRequest(volume_id=volume_id, collection=collection,
                                                   shard_ids=sorted(shards))
        await self._call(server, self._stub(server).EcShardsDelete(request, timeout=CALL_SECONDS))

    async def journal(self, server: ServerReport, volume_id: int) -> set[int]:
        request = volume_pb2.EcJournalReadRequest(volume_id=volume_id)
        reply = await self._call(server, self._stub(server).EcJournalRead(request, timeout=CALL_SECONDS))
        return set(reply.keys)

    async def journal_append(self, server: ServerReport, volume_id: int, keys: Iterable[int]) -> int:
        request = volume_pb2.EcBlobDeleteRequest(volume_id=volume_id, keys=sorted(keys))
        reply = await self._call(server, self._stub(server).EcBlobDelete(request, timeout=CALL_SECONDS))
        return int(reply.journaled)

    async def rebuild(self, server: ServerReport, volume_id: int, collection: str) -> list[int]:
        request = volume_pb2.EcShardsRebuildRequest(volume_id=volume_id, collection=collection)
        reply = await self._call(server, self._stub(server).EcShardsRebuild(request, timeout=LONG_SECONDS))
        return list(reply.rebuilt_shard_ids)

    async def to_volume(self, server: ServerReport, volume_id: int, collection: str) -> int:
        request = volume_pb2.EcShardsToVolumeRequest(volume_id=volume_id, collection=collection)
        reply = await self._call(server, self._stub(server).EcShardsToVolume(request, timeout=LONG_SECONDS))
        return int(reply.live_entries)

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close(None)
        self._channels.clear()
