"""Copying a whole volume between volume servers (volume.fix.replication, volume.balance).

The target pulls: `pull_volume` asks the source's kelp.v1.VolumeAdmin/ReadVolumeFile for the
volume's `.idx`, then its `.dat`, then its `.vif`, each to the file's length when the source
opens it, into `<base>.<ext>.copying` files in the directory the store picks, fsyncs them and
renames them into place with `.dat` last (the store finds volumes by their `.dat`, so a copy cut
short leaves only `.copying` files, removed on the next attempt). The index is read before the
data: the `.dat` only grows, so every index entry points into the copied data; needles appended
after the index was read are found again by the load's tail recovery (repair.py). Writes the
source takes after its `.dat` was read are not in the copy (SeaweedFS's copy has the same gap;
the shell marks a volume read-only before moving it).

`read_file_chunks` is the source side: the file in CHUNK_BYTES pieces, read in worker threads.

Server-side adapter: grpc, kelp_pb and the Store.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator

import grpc
import grpc.aio
from kelp_pb import volume_pb2, volume_pb2_grpc

from dataplane.client.addresses import GRPC_CHANNEL_OPTIONS
from dataplane.volume.engine.files import fsync_dir, write_all
from dataplane.volume.engine.store import Store
from dataplane.volume.engine.types import VolumeId
from dataplane.volume.engine.volume import volume_base_name

CHUNK_BYTES = 1 << 20  # a gRPC message well under the 4 MiB default limit
COPIED_EXTS = (".idx", ".dat", ".vif")  # in copy order: index before data (see the module doc)
READ_SECONDS = 3600.0  # a 30 GB volume over a slow link


class VolumeCopyFailed(Exception):
    """The source could not be read (it named why) or the copy could not be written."""

    def __init__(self, volume_id: int, source: str, reason: str) -> None:
        super().__init__(f"copy of volume {volume_id} from {source} failed: {reason}")
        self.volume_id = volume_id
        self.source = source
        self.reason = reason


class UnknownVolumeFile(ValueError):
    def __init__(self, ext: str) -> None:
        super().__init__(f"cannot read volume file {ext!r}: one of {', '.join(COPIED_EXTS)}")
        self.ext = ext


async def read_file_chunks(store: Store, vid: VolumeId, ext: str) -> AsyncIterator[bytes]:
    """The source side of ReadVolumeFile: the file as it is when opened, piece by piece.
    Raises VolumeNotFound, UnknownVolumeFile."""
    if ext not in COPIED_EXTS:
        raise UnknownVolumeFile(ext)
    path = store.volume_base(vid) + ext
    fd = await asyncio.to_thread(os.open, path, os.O_RDONLY)
    try:
        end = os.fstat(fd).st_size
        offset = 0
        while offset < end:
            piece = await asyncio.to_thread(os.pread, fd, min(CHUNK_BYTES, end - offset), offset)
            if not piece:
                break  # shortened meanwhile (a vacuum swapped it): the copy's load repairs the tail
            offset += len(piece)
            yield piece
    finally:
        os.close(fd)


async def pull_volume(store: Store, vid: VolumeId, collection: str, source: str) -> int:
    """Copy volume `vid` from the server whose gRPC address is `source` and mount it here;
    returns the bytes copied. Raises VolumeExists, NoFreeSlot, VolumeCopyFailed."""
    directory = store.copy_destination(vid)
    base = os.path.join(directory, volume_base_name(collection, vid))
    copied = 0
    async with grpc.aio.insecure_channel(source, options=GRPC_CHANNEL_OPTIONS) as channel:
        stub = volume_pb2_grpc.VolumeAdminStub(channel)
        try:
            for ext in COPIED_EXTS:
                copied += await _pull_file(stub, vid, ext, base + ext + ".copying")
        except grpc.aio.AioRpcError as err:
            _remove_partial(base)
            raise VolumeCopyFailed(vid, source, f"{err.code().name} {err.details()}") from err
        except BaseException:
            _remove_partial(base)
            raise
    await asyncio.to_thread(_install, base)
    store.mount_copied(vid, collection, directory)
    return copied


async def _pull_file(stub: volume_pb2_grpc.VolumeAdminStub, vid: int, ext: str, path: str) -> int:
    request = volume_pb2.ReadVolumeFileRequest(volume_id=vid, ext=ext)
    fd = await asyncio.to_thread(os.open, path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    written = 0
    try:
        async for reply in stub.ReadVolumeFile(request, timeout=READ_SECONDS):
            data: bytes = reply.data
            await asyncio.to_thread(write_all, fd, data, written)
            written += len(data)
        await asyncio.to_thread(os.fsync, fd)
    finally:
        os.close(fd)
    return written


def _install(base: str) -> None:
    for ext in (".vif", ".idx", ".dat"):  # .dat last: it is what makes the store see a volume
        os.replace(base + ext + ".copying", base + ext)
    fsync_dir(os.path.dirname(base))


def _remove_partial(base: str) -> None:
    for ext in COPIED_EXTS:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(base + ext + ".copying")
