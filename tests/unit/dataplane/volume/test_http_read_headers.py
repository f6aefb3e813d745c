"""GET/HEAD reply headers: Accept-Ranges, Content-Disposition (inline/attachment, third URL
segment, quoting), Content-Type (stored, octet-stream guessed from the name, sniffed),
Etag, Last-Modified (absent when 0 is impossible over HTTP, present otherwise), pairs as
headers, `response-*` overrides and the Server header."""

from __future__ import annotations

import json
from pathlib import Path

from tests.unit.dataplane.volume.volume_harness import FID, multipart, one_server, run


def test_headers_of_a_plain_read(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with one_server(tmp_path) as (_, http):
            body, headers = multipart(b"y" * 40, "blob.bin", "application/x-foo")
            etag = json.loads((await http("POST", f"/{FID}?ts=1795312385", body, headers)).body)["eTag"]
            for method in ("GET", "HEAD"):
                got = await http(method, f"/{FID}")
                h = got.headers
                assert got.status == 200
                assert h.get("accept-ranges") == "bytes"
                assert h.get("content-disposition") == "inline; filename=blob.bin"
                assert h.get("content-length") == "40"
                assert h.get("content-type") == "application/x-foo"
                assert h.get("etag") == f'"{etag}"'
                assert h.get("last-modified") == "Sun, 22 Nov 2026 01:53:05 GMT"
                assert (h.get("server") or "").startswith("kelp Volume ")
            assert (await http("HEAD", f"/{FID}")).body == b""

    run(scenario)


def test_download_name_from_the_third_segment_and_dl_true(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with one_server(tmp_path) as (_, http):
            body, headers = multipart(b"data", "blob.bin", "application/x-foo")
            await http("POST", f"/{FID}", body, headers)
            got = await http("GET", "/3/01637037d6/report%20final.txt?dl=true")
            assert got.body == b"data"
            assert got.headers.get("content-disposition") == 'attachment; filename="report final.txt"'
            same = await http("GET", "/3/01637037d6.jpg")
            assert same.body == b"data"
            assert same.headers.get("content-disposition") == "inline; filename=blob.bin"

    run(scenario)


def test_octet_stream_is_replaced_by_the_type_of_the_name(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with one_server(tmp_path) as (_, http):
            headers = [
                ("Content-Type", "application/octet-stream"),
                ("Content-Disposition", "filename=a.png"),
            ]
            await http("PUT", f"/{FID}", b"\x89PNG\r\n\x1a\n", headers)
            got = await http("GET", f"/{FID}")
            assert got.headers.get("content-type") == "image/png"

    run(scenario)


def test_unknown_type_is_sniffed_from_the_content(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with one_server(tmp_path) as (_, http):
            named = [("Content-Disposition", "filename=noext")]
            await http("PUT", "/3,01aaaaaaaa", b"\x00\x01\x02binary", named)
            await http("PUT", "/3,02bbbbbbbb", b"plain words", named)
            binary = await http("GET", "/3,01aaaaaaaa")
            text = await http("GET", "/3,02bbbbbbbb")
            assert binary.headers.get("content-type") == "application/octet-stream"
            assert text.headers.get("content-type") == "text/plain; charset=utf-8"

    run(scenario)


def test_pairs_are_stored_without_prefix_and_returned_as_headers(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with one_server(tmp_path) as (server, http):
            headers = [("Seaweed-Color", "blue"), ("seaweed-x-test", "t1"), ("Content-Type", "x/y")]
            await http("PUT", f"/{FID}", b"paired", headers)
            got = await http("GET", f"/{FID}")
            assert got.headers.get("color") == "blue"
            assert got.headers.get("x-test") == "t1"
            needle = server.store.read_needle(3, 1, 0x637037D6)
            assert needle.pairs == b'{"Color":"blue","X-Test":"t1"}'

    run(scenario)


def test_response_parameters_override_headers(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with one_server(tmp_path) as (_, http):
            await http("PUT", f"/{FID}", b"override me", [("Content-Type", "application/x-foo")])
            got = await http(
                "GET",
                f"/{FID}?response-content-type=text/csv&response-cache-control=no-store"
                "&response-content-disposition=attachment",
            )
            assert got.headers.get("content-type") == "text/csv"
            assert got.headers.get("cache-control") == "no-store"
            assert got.headers.get("content-disposition") == "attachment"

    run(scenario)


def test_read_deleted_returns_a_deleted_needle(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with one_server(tmp_path) as (_, http):
            await http("PUT", f"/{FID}", b"soon gone")
            assert (await http("DELETE", f"/{FID}")).status == 202
            assert (await http("GET", f"/{FID}")).status == 404
            again = await http("GET", f"/{FID}?readDeleted=true")
            assert again.status == 200 and again.body == b"soon gone"

    run(scenario)


def test_pairs_cannot_break_the_reply_framing(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with one_server(tmp_path) as (_, http):
            headers = [
                ("Seaweed-Transfer-Encoding", "chunked"),
                ("Seaweed-Content-Length", "1"),
                ("Seaweed-Ok", "1"),
            ]
            await http("PUT", f"/{FID}", b"framed", headers)
            got = await http("GET", f"/{FID}")
            assert got.body == b"framed"
            assert got.headers.get("transfer-encoding") is None
            assert got.headers.get("ok") == "1"
            assert (await http("GET", f"/{FID}")).status == 200  # the connection is still usable

    run(scenario)
