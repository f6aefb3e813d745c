"""Chunk manifests: parsing (plain or gzipped JSON, chunks sorted by offset, junk refused)
and assembling any byte span from the chunks it overlaps, fetching only those, whole or as a
stream of pieces."""

from __future__ import annotations

import asyncio
import gzip
import json
import random

import pytest

from dataplane.client.chunk_manifest import ChunkInfo, ChunkManifest, iter_span, read_span
from dataplane.client.errors import InvalidChunkManifest
from tests.unit.dataplane.client.fake_master import run

DOC = {
    "name": "joined.txt",
    "mime": "text/plain",
    "size": 11,
    "chunks": [{"fid": "4,02", "offset": 5, "size": 6}, {"fid": "4,01", "offset": 0, "size": 5}],
}
BLOBS = {"4,01": b"hello", "4,02": b" world"}


def test_parse_sorts_chunks_and_reads_gzip() -> None:
    m = ChunkManifest.parse(gzip.compress(json.dumps(DOC).encode()), compressed=True)
    assert (m.name, m.mime, m.size) == ("joined.txt", "text/plain", 11)
    assert [c.fid for c in m.chunks] == ["4,01", "4,02"]


@pytest.mark.parametrize("junk", [b"not json", b"[1,2]", b'{"chunks":[{"offset":0}]}', b'{"size":-1}'])
def test_junk_is_refused(junk: bytes) -> None:
    with pytest.raises(InvalidChunkManifest):
        ChunkManifest.parse(junk)


def test_read_span_fetches_only_overlapping_chunks() -> None:
    m = ChunkManifest.parse(json.dumps(DOC).encode())
    fetched: list[str] = []

    async def fetch(fid: str) -> bytes:
        fetched.append(fid)
        return BLOBS[fid]

    async def scenario() -> None:
        assert await read_span(m, 0, 11, fetch) == b"hello world"
        fetched.clear()
        assert await read_span(m, 6, 9, fetch) == b"wor"
        assert fetched == ["4,02"]
        assert await read_span(m, 3, 7, fetch) == b"lo w"
        assert await read_span(m, 11, 20, fetch) == b""

    run(scenario)


async def _both(
    manifest: ChunkManifest, blobs: dict[str, bytes], start: int, stop: int
) -> tuple[bytes, bytes]:
    async def fetch(fid: str) -> bytes:
        await asyncio.sleep(0)
        return blobs[fid]

    whole = await read_span(manifest, start, stop, fetch)
    pieces = b"".join([p async for p in iter_span(manifest, start, stop, fetch, ahead=2)])
    return whole, pieces


def test_iter_span_yields_what_read_span_returns() -> None:
    rng = random.Random(5)
    for _ in range(60):
        chunks: list[ChunkInfo] = []
        blobs: dict[str, bytes] = {}
        at = 0
        for n in range(rng.randint(0, 6)):
            at += rng.choice([0, 0, rng.randint(1, 50)])  # sometimes a hole
            size = rng.randint(1, 80)
            fid = f"{n + 1},{n:02x}00000001"
            chunks.append(ChunkInfo(fid, at, size))
            blobs[fid] = rng.randbytes(size - rng.choice([0, 0, min(size, 5)]))  # sometimes short
            at += size
        manifest = ChunkManifest("f", "", at + rng.randint(0, 20), tuple(chunks))
        assert not manifest.overlapping

        start = rng.randint(0, manifest.size)
        whole, pieces = asyncio.run(_both(manifest, blobs, start, rng.randint(start, manifest.size + 5)))
        assert pieces == whole


def test_overlap_is_noticed() -> None:
    manifest = ChunkManifest("f", "", 10, (ChunkInfo("1,01", 0, 6), ChunkInfo("1,02", 4, 6)))
    assert manifest.overlapping
