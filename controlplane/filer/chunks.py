"""File data as chunks on volume servers: cutting, uploading, manifests, and reading ranges.

A file's bytes live in chunks (`filer_pb.FileChunk`): each one needle of at most `maxMB`, named by
its fid, placed at `offset` in the file, stamped `modified_ts_ns`, with the base64 MD5 of its
plain bytes as `e_tag`. Chunks may overlap (offset writes, `?offset=`): the newest
`modified_ts_ns` wins wherever they do (`visible_intervals`). Holes read as zeros.

Compressible data (text, JSON, XML, scripts) is gzipped here when that saves at least 10% and
marked `is_compressed`; the volume server keeps it as sent and gives plain bytes back to any
reader that does not ask for gzip, so every chunk reads back as the bytes that were written.

Manifests: a file of more than MANIFEST_THRESHOLD chunks keeps its chunk list in manifest
chunks, each holding a serialized `FileChunkManifest` of up to MANIFEST_BATCH chunks, so an
entry (one database row, one change event) stays small: a 100 GiB file at 4 MiB chunks is 25
manifest chunks instead of 25,600 chunk records. SeaweedFS folds at 10,000; kelp folds at 1,000
because each chunk record is ~100 bytes and every change event carries the whole entry.

Network I/O goes through the `VolumeIO` seam (server.py has the HTTP implementation), so this
module is tested with an in-memory fake. Must not import kelp_http, grpc or SQL.
"""

from __future__ import annotations

import asyncio
import bisect
import gzip
import hashlib
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from kelp_pb import weed_filer_pb2 as filer_pb

from controlplane.filer.entry import chunk_fid, make_chunk
from controlplane.filer.errors import ChunkReadFailed, ChunkWriteFailed

DEFAULT_CHUNK_MB = 4  # weed filer -maxMB
MANIFEST_THRESHOLD = 1000  # more chunks than this are folded into manifests (see module doc)
MANIFEST_BATCH = 1000  # chunk records per manifest chunk
# Chunks in flight at once while writing or reading one file: enough to keep a few volume
# servers busy, few enough that one 1 GiB upload holds at most 8 x maxMB of extra buffers.
TRANSFER_CONCURRENCY = 8
# gzip is kept only when it saves at least this share (SeaweedFS's rule for the volume server).
GZIP_MIN_SAVING = 0.10
GZIP_LEVEL = 3  # fast: chunk uploads are on the request path


@dataclass(frozen=True, slots=True)
class AssignSpec:
    """Where new chunks may go: the /dir/assign parameters a filer request carries."""

    collection: str = ""
    replication: str = ""
    ttl_sec: int = 0
    disk_type: str = ""
    data_center: str = ""
    rack: str = ""
    data_node: str = ""
    fsync: bool = False
    volume_growth_count: int = 0  # the assign's writableVolumeCount (filer.conf); 0 = the master's


@dataclass(frozen=True, slots=True)
class Assignment:
    """A fid to write and the volume server that takes it."""

    fid: str
    url: str
    public_url: str
    count: int = 1
    auth: str = ""  # write JWT, "" without security
    grpc_port: int = 0
    collection: str = ""
    replication: str = ""


@dataclass(frozen=True, slots=True)
class VolumeLocation:
    url: str
    public_url: str
    grpc_port: int = 0
    data_center: str = ""


class VolumeIO(Protocol):
    """The filer's calls to masters and volume servers."""

    async def assign(self, spec: AssignSpec, count: int = 1) -> Assignment:
        """A fresh fid (and `count - 1` more keys after it); raises ChunkWriteFailed."""

    async def upload(
        self, assignment: Assignment, data: bytes, *, name: str, gzipped: bool, md5: bytes
    ) -> None:
        """Store `data` (gzip bytes when `gzipped`; `md5` is of the plain bytes) under the fid."""

    async def fetch(self, fid: str) -> bytes:
        """The plain (decompressed) bytes of a needle; raises ChunkReadFailed."""

    async def fetch_pieces(self, fid: str) -> list[bytes]:
        """fetch() as a list of pieces to be concatenated (a large needle as received)."""

    async def delete(self, fid: str) -> None:
        """Delete a needle; an already missing one is fine. Raises on an unreachable server."""

    async def locations(self, volume_id: int) -> list[VolumeLocation]:
        """Servers holding a volume; [] when none does."""


# -- choosing compression --------------------------------------------------------------------------

_COMPRESSIBLE_EXTENSIONS = frozenset({
    ".txt", ".log", ".csv", ".tsv", ".json", ".xml", ".html", ".htm", ".css", ".js", ".md",
    ".yaml", ".yml", ".toml", ".ini", ".svg", ".sql", ".py", ".go", ".c", ".h", ".java", ".sh",
})


def is_compressible(name: str, mime: str) -> bool:
    base = mime.split(";", 1)[0].strip().lower()
    if base.startswith("text/") or base.endswith(("json", "xml", "script", "+yaml")):
        return True
    dot = name.rfind(".")
    untyped = not base or base == "application/octet-stream"
    return untyped and dot >= 0 and name[dot:].lower() in _COMPRESSIBLE_EXTENSIONS


def maybe_gzip(data: bytes, compressible: bool) -> tuple[bytes, bool]:
    """(bytes to store, gzipped?): gzip only when asked and when it saves GZIP_MIN_SAVING."""
    if not compressible or len(data) < 128:
        return data, False
    packed = gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)
    if len(packed) <= len(data) * (1 - GZIP_MIN_SAVING):
        return packed, True
    return data, False


# -- writing -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WrittenData:
    """Chunks holding a body (offsets from 0), its size and whole MD5."""

    chunks: list[filer_pb.FileChunk]
    size: int
    md5: bytes


async def _settle(tasks: Sequence[asyncio.Future[Any]]) -> None:
    """Cancel what is still running and wait for all of it (a failed request leaves no task)."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


# Concurrency here uses plain tasks and gather, not TaskGroup: HTTP handlers may run their first
# steps outside any task (kelp_http starts them eagerly), where a TaskGroup cannot be opened.
async def _bounded(jobs: Sequence[Callable[[], Awaitable[filer_pb.FileChunk]]]) -> list[filer_pb.FileChunk]:
    """Run the jobs TRANSFER_CONCURRENCY at a time; results in job order. The first failure
    cancels the rest and is raised as it is."""
    limit = asyncio.Semaphore(TRANSFER_CONCURRENCY)

    async def one(job: Callable[[], Awaitable[filer_pb.FileChunk]]) -> filer_pb.FileChunk:
        async with limit:
            return await job()

    tasks = [asyncio.ensure_future(one(job)) for job in jobs]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        await _settle(tasks)
        raise


# Called with each fid before its chunk is uploaded (uploads.UploadTicket.record).
Recorder = Callable[[str], Awaitable[None]]
UPLOAD_ATTEMPTS = 3  # a failed chunk upload is retried on a freshly assigned fid this many times


async def upload_chunk(
    io: VolumeIO, data: bytes, *, offset: int, spec: AssignSpec, name: str, mime: str, now_ns: int,
    assigned: list[str], manifest: bool = False, record: Recorder | None = None,
) -> filer_pb.FileChunk:
    """Assign, upload, describe. Every fid goes into `assigned` before its upload starts, so a
    failed or cancelled request knows each needle it may have left on a volume server, and is
    passed to `record` (the durable pending-upload record, uploads.py) before the upload starts,
    so a filer killed mid-request leaves a trace of it. A failed upload (a volume turned
    read-only, a server went away) is retried on a new assignment."""
    md5 = hashlib.md5(data).digest()
    stored, gzipped = maybe_gzip(data, not manifest and is_compressible(name, mime))
    for attempt in range(1, UPLOAD_ATTEMPTS + 1):
        assignment = await io.assign(spec)
        assigned.append(assignment.fid)
        if record is not None:
            await record(assignment.fid)
        try:
            await io.upload(assignment, stored, name=name, gzipped=gzipped, md5=md5)
        except ChunkWriteFailed:
            if attempt == UPLOAD_ATTEMPTS:
                raise
            continue
        return make_chunk(assignment.fid, offset, len(data), now_ns, md5, is_compressed=gzipped,
                          is_chunk_manifest=manifest)
    raise AssertionError("unreachable")


async def _one_piece(data: bytes | memoryview) -> AsyncIterator[bytes | memoryview]:
    yield data


async def write_data(
    io: VolumeIO, source: bytes | memoryview | AsyncIterable[bytes], *, chunk_size: int, spec: AssignSpec,
    name: str, mime: str, now_ns: int, path: str, record: Recorder | None = None,
) -> WrittenData:
    """Cut the body into chunks of `chunk_size` bytes as it arrives, upload them (at most
    TRANSFER_CONCURRENCY buffered at once), fold into manifests when there are many. Raises
    ChunkWriteFailed whose `.written` lists every fid assigned for this body (the caller queues
    them for deletion: some may hold data), also when reading the body itself failed."""
    pieces: AsyncIterable[bytes | memoryview] = (
        _one_piece(source) if isinstance(source, bytes | memoryview) else source)
    whole = hashlib.md5()
    assigned: list[str] = []
    slots = asyncio.Semaphore(TRANSFER_CONCURRENCY)
    tasks: list[asyncio.Task[filer_pb.FileChunk]] = []
    size = 0

    async def upload(offset: int, data: bytes) -> filer_pb.FileChunk:
        try:
            return await upload_chunk(io, data, offset=offset, spec=spec, name=name, mime=mime, now_ns=now_ns,
                                      assigned=assigned, record=record)
        finally:
            slots.release()

    async def start(offset: int, data: bytes) -> None:
        await slots.acquire()  # backpressure: the body waits for a free upload slot
        failed = next((t for t in tasks if t.done() and t.exception() is not None), None)
        if failed is not None:
            slots.release()
            await failed  # raises its error: stop reading the body at the first failed chunk
        tasks.append(asyncio.ensure_future(upload(offset, data)))

    try:
        buffer = bytearray()
        async for piece in pieces:
            whole.update(piece)
            buffer += piece
            while len(buffer) >= chunk_size:
                await start(size, bytes(buffer[:chunk_size]))
                del buffer[:chunk_size]
                size += chunk_size
        if buffer:
            await start(size, bytes(buffer))
            size += len(buffer)
        chunks = list(await asyncio.gather(*tasks))
        chunks = await manifestize(io, chunks, spec=spec, name=name, now_ns=now_ns, assigned=assigned,
                                   record=record)
    except Exception as err:
        await _settle(tasks)
        reason = err.reason if isinstance(err, ChunkWriteFailed) else f"{type(err).__name__}: {err}"
        raise ChunkWriteFailed(path, reason, assigned) from err
    except BaseException:
        await _settle(tasks)
        raise
    return WrittenData(chunks, size, whole.digest())


async def manifestize(
    io: VolumeIO, chunks: list[filer_pb.FileChunk], *, spec: AssignSpec, name: str, now_ns: int,
    assigned: list[str], record: Recorder | None = None,
) -> list[filer_pb.FileChunk]:
    """Fold plain chunks into manifest chunks when there are more than MANIFEST_THRESHOLD;
    manifest chunks already in the list stay as they are."""
    plain = [c for c in chunks if not c.is_chunk_manifest]
    if len(plain) <= MANIFEST_THRESHOLD:
        return chunks
    kept = [c for c in chunks if c.is_chunk_manifest]
    plain.sort(key=lambda c: (c.offset, c.modified_ts_ns))
    batches = [plain[i : i + MANIFEST_BATCH] for i in range(0, len(plain), MANIFEST_BATCH)]

    def job(batch: list[filer_pb.FileChunk]) -> Callable[[], Awaitable[filer_pb.FileChunk]]:
        start = min(c.offset for c in batch)
        stop = max(c.offset + c.size for c in batch)
        blob = filer_pb.FileChunkManifest(chunks=batch).SerializeToString()

        async def run() -> filer_pb.FileChunk:
            chunk = await upload_chunk(io, blob, offset=start, spec=spec, name=name, mime="", now_ns=now_ns,
                                       assigned=assigned, manifest=True, record=record)
            chunk.size = stop - start  # a manifest chunk spans the file range of its members
            # Members keep their own stamps; the manifest carries the newest so overlap
            # resolution after resolving sees the same order.
            chunk.modified_ts_ns = max(c.modified_ts_ns for c in batch)
            return chunk

        return run

    return kept + await _bounded([job(b) for b in batches])


# -- reading -----------------------------------------------------------------------------------


async def resolve_manifests(io: VolumeIO, chunks: Sequence[filer_pb.FileChunk]) -> list[filer_pb.FileChunk]:
    """The data chunks of a chunk list, manifest chunks replaced by their members (recursively)."""
    out = [c for c in chunks if not c.is_chunk_manifest]
    manifests = [c for c in chunks if c.is_chunk_manifest]
    if not manifests:
        return out
    limit = asyncio.Semaphore(TRANSFER_CONCURRENCY)

    async def members(chunk: filer_pb.FileChunk) -> list[filer_pb.FileChunk]:
        async with limit:
            blob = await io.fetch(chunk_fid(chunk))
        try:
            inner = list(filer_pb.FileChunkManifest.FromString(blob).chunks)
        except Exception as err:  # protobuf's DecodeError; anything else undecodable alike
            raise ChunkReadFailed(chunk_fid(chunk), f"not a chunk manifest: {err}") from err
        return await resolve_manifests(io, inner)

    for found in await asyncio.gather(*(members(m) for m in manifests)):
        out.extend(found)
    return out


@dataclass(frozen=True, slots=True)
class Interval:
    """Bytes [start, stop) of the file come from `chunk` at `start - chunk.offset`."""

    start: int
    stop: int
    chunk: filer_pb.FileChunk


def visible_intervals(chunks: Sequence[filer_pb.FileChunk]) -> list[Interval]:
    """Non-overlapping intervals sorted by start, newest chunk winning overlaps (list order breaks
    ties, later wins). Chunks must be data chunks (manifests resolved)."""
    order = sorted(range(len(chunks)), key=lambda i: (chunks[i].modified_ts_ns, i))
    stops: list[int] = []  # spans are sorted and disjoint, so their stops are sorted too
    spans: list[Interval] = []
    for i in order:
        chunk = chunks[i]
        lo, hi = chunk.offset, chunk.offset + chunk.size
        if hi <= lo:
            continue
        k = bisect.bisect_right(stops, lo)  # first span ending after lo
        j = k
        while j < len(spans) and spans[j].start < hi:
            j += 1
        new: list[Interval] = []
        if k < j and spans[k].start < lo:
            new.append(Interval(spans[k].start, lo, spans[k].chunk))
        new.append(Interval(lo, hi, chunk))
        if k < j and spans[j - 1].stop > hi:
            new.append(Interval(hi, spans[j - 1].stop, spans[j - 1].chunk))
        spans[k:j] = new
        stops[k:j] = [iv.stop for iv in new]
    return spans


async def iter_range(
    io: VolumeIO, chunks: Sequence[filer_pb.FileChunk], start: int, stop: int
) -> AsyncIterator[bytes]:
    """Bytes [start, stop) of a file with these chunks, in order, piece by piece (manifests are
    resolved here, holes are zeros). Up to TRANSFER_CONCURRENCY chunks are fetched ahead; a
    consumer that stops early cancels them."""
    if stop <= start:
        return
    data_chunks = await resolve_manifests(io, chunks)
    wanted = [iv for iv in visible_intervals(data_chunks) if iv.start < stop and iv.stop > start]
    ahead: deque[asyncio.Task[list[bytes]]] = deque()
    next_fetch = 0

    def top_up() -> None:
        nonlocal next_fetch
        while next_fetch < len(wanted) and len(ahead) < TRANSFER_CONCURRENCY:
            ahead.append(asyncio.ensure_future(io.fetch_pieces(chunk_fid(wanted[next_fetch].chunk))))
            next_fetch += 1

    position = start
    try:
        top_up()
        for iv in wanted:
            pieces = await ahead.popleft()
            top_up()
            lo, hi = max(start, iv.start), min(stop, iv.stop)
            if lo > position:
                yield bytes(lo - position)  # a hole
            first, last = lo - iv.chunk.offset, hi - iv.chunk.offset
            if first == 0 and sum(len(p) for p in pieces) == last:
                for piece in pieces:  # the whole needle: passed on as received, no join
                    yield piece
            else:
                blob = pieces[0] if len(pieces) == 1 else b"".join(pieces)
                piece = blob[first:last]
                yield piece + bytes(hi - lo - len(piece))  # a short needle reads as zeros past its end
            position = hi
        if stop > position:
            yield bytes(stop - position)
    finally:
        for task in ahead:
            task.cancel()


async def read_range(io: VolumeIO, chunks: Sequence[filer_pb.FileChunk], start: int, stop: int) -> bytes:
    """Bytes [start, stop) in one piece."""
    return b"".join([piece async for piece in iter_range(io, chunks, start, stop)])


def referenced_fids(chunks: Sequence[filer_pb.FileChunk]) -> set[str]:
    """Every fid a chunk list owns directly; manifest chunks are marked (see MANIFEST_MARK)."""
    return {(MANIFEST_MARK + chunk_fid(c)) if c.is_chunk_manifest else chunk_fid(c) for c in chunks}


# A manifest chunk queued for deletion carries this prefix, so the GC worker knows to read it
# and delete its members before the manifest itself (members are not listed in the entry).
MANIFEST_MARK = "manifest:"
