"""Compression: text is gzipped on write when that saves at least 10%, served gzipped to
clients that accept it (ETag = CRC of the gzip bytes) and decompressed for the others;
a precompressed upload (Content-Encoding: gzip) is stored as sent."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from tests.unit.dataplane.volume.volume_harness import FID, multipart, one_server, run

TEXT = b"the quick brown fox jumps over the lazy dog. " * 12


def test_text_is_stored_gzipped_and_negotiated(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with one_server(tmp_path) as (server, http):
            body, headers = multipart(TEXT, "notes.txt", "text/plain")
            doc = json.loads((await http("POST", f"/{FID}", body, headers)).body)
            assert doc["size"] == len(TEXT)
            needle = server.store.read_needle(3, 1, 0x637037D6)
            assert needle.is_compressed and len(needle.data) < len(TEXT) * 0.9
            zipped = await http("GET", f"/{FID}", headers=[("Accept-Encoding", "gzip, deflate")])
            assert zipped.headers.get("content-encoding") == "gzip"
            assert gzip.decompress(zipped.body) == TEXT
            assert zipped.headers.get("etag") == f'"{doc["eTag"]}"' == f'"{needle.checksum:08x}"'
            plain = await http("GET", f"/{FID}")
            assert plain.headers.get("content-encoding") is None
            assert plain.body == TEXT
            head = await http("HEAD", f"/{FID}")
            assert head.headers.get("content-length") == str(len(TEXT))
            head_zipped = await http("HEAD", f"/{FID}", headers=[("Accept-Encoding", "gzip")])
            assert head_zipped.headers.get("content-length") == str(len(needle.data))

    run(scenario)


def test_incompressible_and_binary_data_is_stored_as_is(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with one_server(tmp_path) as (server, http):
            await http("PUT", "/3,01aaaaaaaa", b"ab", [("Content-Type", "text/plain")])  # gzip would grow it
            await http("PUT", "/3,02aaaaaaaa", TEXT, [("Content-Type", "image/png")])
            await http("PUT", "/3,03aaaaaaaa", TEXT, [("Content-Type", "application/json")])
            for key in (1, 2, 3):
                assert not server.store.read_needle(3, key, 0xAAAAAAAA).is_compressed

    run(scenario)


def test_precompressed_upload_is_kept(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with one_server(tmp_path) as (server, http):
            packed = gzip.compress(TEXT)
            headers = [("Content-Type", "text/plain"), ("Content-Encoding", "gzip")]
            doc = json.loads((await http("PUT", f"/{FID}", packed, headers)).body)
            assert doc["size"] == len(TEXT)
            assert server.store.read_needle(3, 1, 0x637037D6).data == packed
            assert (await http("GET", f"/{FID}")).body == TEXT

    run(scenario)
