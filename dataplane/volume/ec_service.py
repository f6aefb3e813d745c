"""The volume server's EC operations over kelp.v1.VolumeAdmin (issue 6), and the HTTP API's
EC needle delete.

`EcAdminRpcs` is mixed into `grpc_api.VolumeAdminServicer` (one servicer per gRPC service); it
uses the servicer's `_store` and `_volumes_changed`. Every file or CPU step runs in a worker
thread (encoding, rebuilding and decoding are CPU and disk bound); the engine's `EcMounts`
(`dataplane/volume/engine/ec_mounts.py`) does the work. Copies are pulled by the target from
the source's EcFileRead stream into temporary names renamed into place when whole.

`delete_ec_needle` is the HTTP DELETE of a needle of an EC volume held here: journaled here
(after the cookie check), then on every other live holder (`ec_peers.EcPeers`), so the delete
survives the loss of any one server.

Server-side adapter: grpc, kelp_pb and the engine; no HTTP.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import grpc
import grpc.aio
from kelp_pb import volume_pb2, volume_pb2_grpc

from dataplane.client.addresses import GRPC_CHANNEL_OPTIONS
from dataplane.volume.ec_peers import EcJournalNotReplicated, EcPeers
from dataplane.volume.engine import errors as engine
from dataplane.volume.engine.ec import errors as ec_errors
from dataplane.volume.engine.ec.ec_volume import EcVolume
from dataplane.volume.engine.ec.geometry import TOTAL_SHARDS, shard_ext
from dataplane.volume.engine.ec.index import read_journal
from dataplane.volume.engine.ec_mounts import AlreadyEncoded, EncodeInProgress, ShardsMissing
from dataplane.volume.engine.files import fsync_dir, unlink_if_exists
from dataplane.volume.engine.needle import Needle
from dataplane.volume.engine.store import Store
from dataplane.volume.engine.types import VolumeId
from dataplane.volume.errors import ReplicationFailed

log = logging.getLogger(__name__)

PIECE = 1 << 20  # bytes per streamed message of a file or shard range
COPY_TIMEOUT_SECONDS = 3600.0  # one shard of a 30 GB volume is 3 GB
_INDEX_EXTS = (".ecx", ".ecj", ".vif")

# Searched along the exception's MRO; the first hit wins.
EC_STATUS_CODES: dict[type[BaseException], grpc.StatusCode] = {
    EncodeInProgress: grpc.StatusCode.ABORTED,
    AlreadyEncoded: grpc.StatusCode.ALREADY_EXISTS,
    ShardsMissing: grpc.StatusCode.NOT_FOUND,
    ec_errors.EcIndexMissing: grpc.StatusCode.NOT_FOUND,
    ec_errors.TooFewShards: grpc.StatusCode.FAILED_PRECONDITION,
    ec_errors.ShardSizeMismatch: grpc.StatusCode.DATA_LOSS,
    ec_errors.ShardReadError: grpc.StatusCode.DATA_LOSS,
    engine.VolumeNotFound: grpc.StatusCode.NOT_FOUND,
    engine.VolumeExists: grpc.StatusCode.ALREADY_EXISTS,
    engine.VolumeReadOnly: grpc.StatusCode.FAILED_PRECONDITION,
    engine.NeedleNotFound: grpc.StatusCode.NOT_FOUND,
    engine.EngineError: grpc.StatusCode.INTERNAL,
    FileNotFoundError: grpc.StatusCode.NOT_FOUND,
    ValueError: grpc.StatusCode.INVALID_ARGUMENT,
}

Reply = TypeVar("Reply")
Ctx = grpc.aio.ServicerContext[Any, Any]


def _code_for(exc: BaseException) -> grpc.StatusCode | None:
    for cls in type(exc).__mro__:
        code = EC_STATUS_CODES.get(cls)
        if code is not None:
            return code
    return None


def _unary(method: Callable[..., Awaitable[Reply]]) -> Callable[..., Awaitable[Reply]]:
    @functools.wraps(method)
    async def wrapper(self: Any, request: Any, context: Ctx) -> Reply:
        try:
            return await method(self, request, context)
        except Exception as exc:
            code = _code_for(exc)
            if code is None:
                raise
            log.info("ec call failed method=%s code=%s error=%s", method.__name__, code.name, exc)
            await context.abort(code, str(exc))
            raise

    return wrapper


def _stream(method: Callable[..., AsyncIterator[Reply]]) -> Callable[..., AsyncIterator[Reply]]:
    @functools.wraps(method)
    async def wrapper(self: Any, request: Any, context: Ctx) -> AsyncIterator[Reply]:
        try:
            async for item in method(self, request, context):
                yield item
        except Exception as exc:
            code = _code_for(exc)
            if code is None:
                raise
            log.info("ec stream failed method=%s code=%s error=%s", method.__name__, code.name, exc)
            await context.abort(code, str(exc))

    return wrapper


def _shards(ids: Any) -> list[int]:
    shards = sorted(set(int(s) for s in ids))
    bad = [s for s in shards if s >= TOTAL_SHARDS]
    if bad:
        raise ValueError(f"shard ids {bad} out of range 0..{TOTAL_SHARDS - 1}")
    return shards


def _read_piece(path: str, offset: int, length: int) -> bytes:
    with open(path, "rb") as f:
        f.seek(offset)
        return f.read(length)


class EcAdminRpcs:
    """The EC RPCs of kelp.v1.VolumeAdmin (mixed into VolumeAdminServicer)."""

    _store: Store
    _volumes_changed: Callable[[], None]

    @_unary
    async def EcShardsGenerate(self, request: volume_pb2.EcShardsGenerateRequest,
                               context: Ctx) -> volume_pb2.EcShardsGenerateResponse:
        vid = VolumeId(request.volume_id)
        result = await asyncio.to_thread(self._store.generate_ec, vid)  # CPU and disk bound
        log.info("ec shards generated vid=%d shard_size=%d entries=%d seconds=%.2f", vid, result.shard_size,
                 result.entries, result.seconds)
        return volume_pb2.EcShardsGenerateResponse(shard_size=result.shard_size, entries=result.entries,
                                                   seconds=result.seconds)

    @_unary
    async def EcShardsCopy(self, request: volume_pb2.EcShardsCopyRequest,
                           context: Ctx) -> volume_pb2.EcShardsCopyResponse:
        vid, collection = request.volume_id, request.collection
        ec = self._store.ec
        directory = await asyncio.to_thread(ec.receive_directory, vid, collection)
        exts = [shard_ext(s) for s in _shards(request.shard_ids)]
        exts += [e for e, wanted in zip(_INDEX_EXTS, (request.copy_ecx, request.copy_ecj, request.copy_vif),
                                        strict=True) if wanted]
        name = ec.base_name(vid, collection)
        total = 0
        async with grpc.aio.insecure_channel(request.source, options=GRPC_CHANNEL_OPTIONS) as channel:
            stub = volume_pb2_grpc.VolumeAdminStub(channel)
            for ext in exts:
                total += await _pull(stub, vid, collection, ext, os.path.join(directory, name + ext))
        log.info("ec files copied vid=%d from=%s files=%s bytes=%d", vid, request.source, ",".join(exts),
                 total)
        return volume_pb2.EcShardsCopyResponse(bytes=total)

    @_stream
    async def EcFileRead(self, request: volume_pb2.EcFileReadRequest,
                         context: Ctx) -> AsyncIterator[volume_pb2.EcFileReadResponse]:
        ext = request.ext
        if ext not in _INDEX_EXTS and ext not in {shard_ext(s) for s in range(TOTAL_SHARDS)}:
            raise ValueError(f"not an EC file extension: {ext!r}")
        path = self._store.ec.file_path(request.volume_id, request.collection, ext)
        if path is None:
            if request.ignore_missing:
                return
            raise FileNotFoundError(f"ec volume {request.volume_id}: no {ext} here")
        offset = 0
        while True:
            data = await asyncio.to_thread(_read_piece, path, offset, PIECE)
            if not data:
                return
            offset += len(data)
            yield volume_pb2.EcFileReadResponse(data=data)

    @_unary
    async def EcShardsMount(self, request: volume_pb2.EcShardsMountRequest,
                            context: Ctx) -> volume_pb2.EcShardsMountResponse:
        held = await asyncio.to_thread(self._store.ec.mount_shards, request.volume_id, request.collection,
                                       _shards(request.shard_ids))
        log.info("ec shards mounted vid=%d held=%s", request.volume_id, list(held))
        self._volumes_changed()
        return volume_pb2.EcShardsMountResponse()

    @_unary
    async def EcShardsUnmount(self, request: volume_pb2.EcShardsUnmountRequest,
                              context: Ctx) -> volume_pb2.EcShardsUnmountResponse:
        await asyncio.to_thread(self._store.ec.unmount_shards, request.volume_id, _shards(request.shard_ids))
        self._volumes_changed()
        return volume_pb2.EcShardsUnmountResponse()

    @_unary
    async def EcShardsDelete(self, request: volume_pb2.EcShardsDeleteRequest,
                             context: Ctx) -> volume_pb2.EcShardsDeleteResponse:
        vid = VolumeId(request.volume_id)
        shards = _shards(request.shard_ids)
        await asyncio.to_thread(self._store.ec.delete_shards, vid, request.collection, shards,
                                self._store.has_volume(vid))
        log.info("ec shards deleted vid=%d shards=%s", vid, list(request.shard_ids))
        self._volumes_changed()
        return volume_pb2.EcShardsDeleteResponse()

    @_stream
    async def EcShardRead(self, request: volume_pb2.EcShardReadRequest,
                          context: Ctx) -> AsyncIterator[volume_pb2.EcShardReadResponse]:
        ec = self._mounted(request.volume_id)
        if request.shard_id not in ec.shard_ids:
            raise ShardsMissing(request.volume_id, (request.shard_id,))
        offset, end = request.offset, request.offset + request.size
        while offset < end:
            n = min(PIECE, end - offset)
            data = await asyncio.to_thread(ec.read_shard, request.shard_id, offset, n)
            offset += n
            yield volume_pb2.EcShardReadResponse(data=data)

    @_unary
    async def EcBlobDelete(self, request: volume_pb2.EcBlobDeleteRequest,
                           context: Ctx) -> volume_pb2.EcBlobDeleteResponse:
        ec = self._mounted(request.volume_id)
        keys = list(request.keys)
        fresh = await asyncio.to_thread(lambda: sum(1 for key in keys if ec.journal_delete(key)))
        return volume_pb2.EcBlobDeleteResponse(journaled=fresh)

    @_unary
    async def EcJournalRead(self, request: volume_pb2.EcJournalReadRequest,
                            context: Ctx) -> volume_pb2.EcJournalReadResponse:
        ec = self._mounted(request.volume_id)
        keys = await asyncio.to_thread(read_journal, ec.index_base + ".ecj")
        return volume_pb2.EcJournalReadResponse(keys=sorted(keys))

    @_unary
    async def EcShardsRebuild(self, request: volume_pb2.EcShardsRebuildRequest,
                              context: Ctx) -> volume_pb2.EcShardsRebuildResponse:
        result = await asyncio.to_thread(self._store.ec.rebuild, request.volume_id, request.collection)
        log.info("ec shards rebuilt vid=%d shards=%s", request.volume_id, result.rebuilt)
        self._volumes_changed()
        return volume_pb2.EcShardsRebuildResponse(rebuilt_shard_ids=result.rebuilt)

    @_unary
    async def EcShardsToVolume(self, request: volume_pb2.EcShardsToVolumeRequest,
                               context: Ctx) -> volume_pb2.EcShardsToVolumeResponse:
        vid = VolumeId(request.volume_id)
        if self._store.has_volume(vid):
            raise engine.VolumeExists(vid)

        def decode() -> tuple[int, int]:
            result = self._store.ec.to_volume(vid, request.collection)
            self._store.mount_copied(vid, request.collection, os.path.dirname(result.dat_path))
            return result.dat_size, result.live_entries

        dat_size, live = await asyncio.to_thread(decode)
        log.info("ec volume decoded vid=%d dat_size=%d live=%d", vid, dat_size, live)
        self._volumes_changed()
        return volume_pb2.EcShardsToVolumeResponse(dat_size=dat_size, live_entries=live)

    def _mounted(self, volume_id: int) -> EcVolume:
        ec = self._store.ec.get(volume_id)
        if ec is None:
            raise ec_errors.EcIndexMissing(volume_id, self._store.ec.directories)
        return ec


async def _pull(stub: volume_pb2_grpc.VolumeAdminStub, vid: int, collection: str, ext: str, path: str) -> int:
    """Stream one file from a peer into `path` (a temporary name renamed into place when whole).
    An absent `.ecj` is fine (nothing deleted yet); anything else absent fails the copy."""
    tmp = f"{path}.{uuid.uuid4().hex[:12]}.copy"
    request = volume_pb2.EcFileReadRequest(volume_id=vid, collection=collection, ext=ext,
                                           ignore_missing=ext == ".ecj")
    fd = await asyncio.to_thread(os.open, tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    written = 0
    try:
        try:
            async for piece in stub.EcFileRead(request, timeout=COPY_TIMEOUT_SECONDS):
                written += await asyncio.to_thread(os.write, fd, piece.data)
            await asyncio.to_thread(os.fsync, fd)
        finally:
            os.close(fd)
        if ext == ".ecj" and not written:
            unlink_if_exists(tmp)
            return 0
        await asyncio.to_thread(os.replace, tmp, path)
        await asyncio.to_thread(fsync_dir, os.path.dirname(path))
    except BaseException:
        unlink_if_exists(tmp)
        raise
    return written


def read_ec_needle(ec: EcVolume, peers: EcPeers, key: int, cookie: int) -> Needle:
    """GET of a needle of an EC volume held here (from a worker thread): local shards, other
    holders', or reconstructed. Too few shards with a cached holder map is read once more with a
    fresh one: shards may have moved (ec.balance) or been rebuilt since the map was cached."""
    try:
        return ec.read_needle(key, cookie, peers.fetcher(ec.id))
    except ec_errors.TooFewShards:
        peers.forget(ec.id)
        return ec.read_needle(key, cookie, peers.fetcher(ec.id))


async def delete_ec_needle(ec: EcVolume, peers: EcPeers, key: int, cookie: int) -> int:
    """DELETE of a needle in an EC volume held here; the needle's Size. Journaled here, then on
    every other live holder (ReplicationFailed if one fails; the delete stands here)."""
    fetch = peers.fetcher(ec.id)
    size = await asyncio.to_thread(ec.delete_needle, key, cookie, fetch)
    try:
        await asyncio.to_thread(peers.replicate_deletes, ec.id, [key])
    except EcJournalNotReplicated as err:
        raise ReplicationFailed(ec.id, sorted(err.failures.items())) from err
    return size


__all__ = ["EcAdminRpcs", "delete_ec_needle", "read_ec_needle"]
