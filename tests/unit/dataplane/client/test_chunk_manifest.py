"""Chunk manifests: parsing (plain or gzipped JSON, chunks sorted by offset, junk refused)
and assembling any byte span from the chunks it overlaps, fetching only those."""

from __future__ import annotations

import gzip
import json

import pytest

from dataplane.client.chunk_manifest import ChunkManifest, read_span
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
