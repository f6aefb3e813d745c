"""Chunk manifests: the JSON a `cm=true` needle stores for a file split into chunks.

    {"name":"joined.txt","mime":"text/plain","size":11,
     "chunks":[{"fid":"4,348b379e3b","offset":0,"size":5}, ...]}

`read_span` assembles a byte span of the whole file from its chunks, fetching each
overlapping chunk through a caller-supplied coroutine (the volume server reads local
chunks from its store, others over HTTP); `iter_span` yields the same bytes piece by piece,
fetching a few chunks ahead, so a large file is served without holding it in memory.
Client code: no server imports.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from dataplane.client.errors import InvalidChunkManifest

FetchChunk = Callable[[str], Awaitable[bytes]]
# Chunks fetched at once when assembling a span: enough to hide per-chunk latency without
# opening a connection per chunk of a huge file.
FETCH_CONCURRENCY = 8


@dataclass(frozen=True, slots=True)
class ChunkInfo:
    fid: str
    offset: int
    size: int


@dataclass(frozen=True, slots=True)
class ChunkManifest:
    name: str
    mime: str
    size: int
    chunks: tuple[ChunkInfo, ...]  # sorted by offset

    @property
    def overlapping(self) -> bool:
        """Some chunk starts before the previous one ends (then only `read_span` applies: a
        later chunk wins where they overlap)."""
        return any(b.offset < a.offset + a.size for a, b in zip(self.chunks, self.chunks[1:], strict=False))

    @classmethod
    def parse(cls, data: bytes, compressed: bool = False) -> ChunkManifest:
        try:
            if compressed:
                data = gzip.decompress(data)
            doc = json.loads(data)
            chunks = tuple(
                sorted(
                    (ChunkInfo(str(c["fid"]), int(c.get("offset", 0)), int(c.get("size", 0)))
                     for c in doc.get("chunks") or ()),
                    key=lambda c: c.offset,
                )
            )
            name, mime = str(doc.get("name", "")), str(doc.get("mime", ""))
            size = int(doc.get("size", 0))
        except (OSError, EOFError, zlib.error, ValueError, TypeError, KeyError, AttributeError) as err:
            raise InvalidChunkManifest(str(err)) from err
        if size < 0 or any(c.offset < 0 or c.size < 0 for c in chunks):
            raise InvalidChunkManifest("negative offset or size")
        return cls(name, mime, size, chunks)


async def read_span(manifest: ChunkManifest, start: int, stop: int, fetch: FetchChunk) -> bytes:
    """Bytes [start, stop) of the file; holes between chunks read as zeros."""
    stop = min(stop, manifest.size)
    if stop <= start:
        return b""
    wanted = [c for c in manifest.chunks if c.offset < stop and c.offset + c.size > start]
    limit = asyncio.Semaphore(FETCH_CONCURRENCY)

    async def one(chunk: ChunkInfo) -> bytes:
        async with limit:
            return await fetch(chunk.fid)

    blobs = await asyncio.gather(*(one(c) for c in wanted))
    out = bytearray(stop - start)
    for chunk, blob in zip(wanted, blobs, strict=True):
        lo = max(start, chunk.offset)
        hi = min(stop, chunk.offset + chunk.size, chunk.offset + len(blob))
        if hi > lo:
            out[lo - start : hi - start] = blob[lo - chunk.offset : hi - chunk.offset]
    return bytes(out)


async def iter_span(
    manifest: ChunkManifest, start: int, stop: int, fetch: FetchChunk, *, ahead: int = 4
) -> AsyncIterator[bytes]:
    """Bytes [start, stop) of the file in order, one piece per chunk (zeros for holes), with at
    most `ahead` chunk fetches in flight; for a manifest whose chunks do not overlap, the same
    bytes `read_span` returns whole."""
    stop = min(stop, manifest.size)
    wanted = [c for c in manifest.chunks if c.offset < stop and c.offset + c.size > start]
    fetches: list[asyncio.Task[bytes]] = []
    try:
        for chunk in wanted[:ahead]:
            fetches.append(asyncio.ensure_future(fetch(chunk.fid)))
        at = start
        for i, chunk in enumerate(wanted):
            blob = await fetches[i]
            if i + ahead < len(wanted):
                fetches.append(asyncio.ensure_future(fetch(wanted[i + ahead].fid)))
            lo = max(at, chunk.offset)
            if lo > at:
                yield bytes(lo - at)  # a hole before this chunk
                at = lo
            hi = min(stop, chunk.offset + chunk.size)
            piece = blob[lo - chunk.offset : hi - chunk.offset]
            piece += bytes(max(0, hi - lo - len(piece)))  # a chunk shorter than its manifest size
            if hi > lo:
                yield piece
                at = hi
        if stop > at:
            yield bytes(stop - at)  # a hole at the end
    finally:
        for task in fetches:
            task.cancel()
