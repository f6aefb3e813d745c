"""kelp.v1.VolumeAdmin served by the volume server: volume allocation, deletion,
read-only marking, collection deletion and vacuum, called by the master.

Each RPC decodes its request, runs one Store call in a worker thread (these touch
files: create, unlink, compact) and reports inventory changes so the next heartbeat
goes out at once. Engine errors become gRPC status codes in one table.

Server-side adapter: grpc, kelp_pb and the Store; no HTTP.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import grpc
import grpc.aio
from kelp_pb import volume_pb2, volume_pb2_grpc

from dataplane.volume import volume_copy
from dataplane.volume.ec_service import EcAdminRpcs
from dataplane.volume.engine import errors as engine
from dataplane.volume.engine.store import Store
from dataplane.volume.engine.types import ReplicaPlacement, Ttl, VolumeId
from dataplane.volume.errors import VolumeNotEmpty

log = logging.getLogger(__name__)

# Engine (and adapter) errors -> gRPC status; searched along the exception's MRO.
STATUS_CODES: dict[type[BaseException], grpc.StatusCode] = {
    engine.VolumeNotFound: grpc.StatusCode.NOT_FOUND,
    engine.VolumeExists: grpc.StatusCode.ALREADY_EXISTS,
    engine.NoFreeSlot: grpc.StatusCode.RESOURCE_EXHAUSTED,
    engine.VolumeFull: grpc.StatusCode.RESOURCE_EXHAUSTED,
    engine.InvalidReplication: grpc.StatusCode.INVALID_ARGUMENT,
    engine.InvalidTtl: grpc.StatusCode.INVALID_ARGUMENT,
    engine.VolumeReadOnly: grpc.StatusCode.FAILED_PRECONDITION,
    VolumeNotEmpty: grpc.StatusCode.FAILED_PRECONDITION,
    volume_copy.UnknownVolumeFile: grpc.StatusCode.INVALID_ARGUMENT,
    volume_copy.VolumeCopyFailed: grpc.StatusCode.UNAVAILABLE,
    FileNotFoundError: grpc.StatusCode.NOT_FOUND,
    engine.CorruptVolume: grpc.StatusCode.DATA_LOSS,
    engine.CorruptNeedle: grpc.StatusCode.DATA_LOSS,
    engine.EngineError: grpc.StatusCode.INTERNAL,
}

Reply = TypeVar("Reply")
Method = Callable[[Any, Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[Reply]]


def status_code_for(exc: BaseException) -> grpc.StatusCode | None:
    for cls in type(exc).__mro__:
        code = STATUS_CODES.get(cls)
        if code is not None:
            return code
    return None


def _mapped(method: Method[Reply]) -> Method[Reply]:
    """Turn the table's errors into an aborted RPC with the error's message."""

    @functools.wraps(method)
    async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Reply:
        try:
            return await method(self, request, context)
        except Exception as exc:
            code = status_code_for(exc)
            if code is None:
                raise
            log.info("admin call failed method=%s code=%s error=%s", method.__name__, code.name, exc)
            await context.abort(code, str(exc))
            raise  # abort() raises; this keeps type checkers satisfied

    return wrapper


# The EC RPCs (issue 6) come from EcAdminRpcs (ec_service.py), which uses _store and _volumes_changed.
class VolumeAdminServicer(EcAdminRpcs, volume_pb2_grpc.VolumeAdminServicer):  # type: ignore[misc]  # generated, untyped
    def __init__(self, store: Store, volumes_changed: Callable[[], None]) -> None:
        self._store = store
        self._volumes_changed = volumes_changed
        # Set by serve() once the heartbeat exists: where a new leader's announcement goes.
        self.leader_announced: Callable[[str], None] = lambda leader: None

    async def LeaderChanged(
        self, request: volume_pb2.LeaderChangedRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> volume_pb2.LeaderChangedResponse:
        log.info("leader announced leader=%s term=%d", request.leader, request.term)
        self.leader_announced(request.leader)
        return volume_pb2.LeaderChangedResponse()

    @_mapped
    async def AllocateVolume(
        self, request: volume_pb2.AllocateVolumeRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> volume_pb2.AllocateVolumeResponse:
        vid = VolumeId(request.volume_id)
        rp = ReplicaPlacement.from_byte(request.replica_placement)
        ttl = Ttl.from_u16(request.ttl)
        collection = request.collection
        await asyncio.to_thread(self._store.allocate_volume, vid, collection, rp, ttl, request.preallocate)
        log.info("volume allocated vid=%d collection=%s replication=%s ttl=%s", vid, collection, rp, ttl)
        self._volumes_changed()
        return volume_pb2.AllocateVolumeResponse()

    @_mapped
    async def DeleteVolume(
        self, request: volume_pb2.DeleteVolumeRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> volume_pb2.DeleteVolumeResponse:
        vid = VolumeId(request.volume_id)
        if request.only_empty:
            info = await asyncio.to_thread(self._store.volume_info, vid)
            live = info.file_count - info.delete_count
            if live > 0:
                raise VolumeNotEmpty(vid, live)
        await asyncio.to_thread(self._store.delete_volume, vid)
        log.info("volume deleted vid=%d", vid)
        self._volumes_changed()
        return volume_pb2.DeleteVolumeResponse()

    @_mapped
    async def MarkReadOnly(
        self, request: volume_pb2.MarkReadOnlyRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> volume_pb2.MarkReadOnlyResponse:
        vid = VolumeId(request.volume_id)
        await asyncio.to_thread(self._store.mark_read_only, vid, request.read_only)
        log.info("volume read-only changed vid=%d read_only=%s", vid, request.read_only)
        self._volumes_changed()
        return volume_pb2.MarkReadOnlyResponse()

    @_mapped
    async def VolumeCopy(
        self, request: volume_pb2.VolumeCopyRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> volume_pb2.VolumeCopyResponse:
        vid = VolumeId(request.volume_id)
        copied = await volume_copy.pull_volume(self._store, vid, request.collection, request.source)
        log.info("volume copied vid=%d source=%s bytes=%d", vid, request.source, copied)
        self._volumes_changed()
        return volume_pb2.VolumeCopyResponse(bytes=copied)

    async def ReadVolumeFile(
        self, request: volume_pb2.ReadVolumeFileRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[volume_pb2.ReadVolumeFileResponse]:
        try:
            async for piece in volume_copy.read_file_chunks(self._store, VolumeId(request.volume_id),
                                                            request.ext):
                yield volume_pb2.ReadVolumeFileResponse(data=piece)
        except Exception as exc:
            code = status_code_for(exc)
            if code is None:
                raise
            await context.abort(code, str(exc))

    @_mapped
    async def VolumeConfigure(
        self, request: volume_pb2.VolumeConfigureRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> volume_pb2.VolumeConfigureResponse:
        vid = VolumeId(request.volume_id)
        rp = ReplicaPlacement.parse(request.replication)
        await asyncio.to_thread(self._store.configure_replication, vid, rp)
        log.info("volume replication changed vid=%d replication=%s", vid, rp)
        self._volumes_changed()
        return volume_pb2.VolumeConfigureResponse()

    @_mapped
    async def DeleteCollection(
        self, request: volume_pb2.DeleteCollectionRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> volume_pb2.DeleteCollectionResponse:
        await asyncio.to_thread(self._store.delete_collection, request.collection)
        log.info("collection deleted collection=%s", request.collection)
        self._volumes_changed()
        return volume_pb2.DeleteCollectionResponse()

    @_mapped
    async def VacuumCheck(
        self, request: volume_pb2.VacuumCheckRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> volume_pb2.VacuumCheckResponse:
        ratio = await asyncio.to_thread(self._store.garbage_ratio, VolumeId(request.volume_id))
        return volume_pb2.VacuumCheckResponse(garbage_ratio=ratio)

    @_mapped
    async def Vacuum(
        self, request: volume_pb2.VacuumRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> volume_pb2.VacuumResponse:
        vid = VolumeId(request.volume_id)
        reclaimed = await asyncio.to_thread(self._store.vacuum, vid)
        log.info("volume vacuumed vid=%d reclaimed=%d", vid, reclaimed)
        self._volumes_changed()
        return volume_pb2.VacuumResponse(reclaimed_bytes=reclaimed)
