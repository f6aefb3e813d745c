"""Range reads: single ranges (206 + Content-Range, end clamped, suffix), several ranges
(multipart/byteranges), unsatisfiable or malformed ranges (416 with `bytes */N`), and the
quirk that ranges longer than the file together are ignored (200, empty)."""

from __future__ import annotations

from pathlib import Path

from kelp_http.multipart import parse_multipart
from tests.unit.dataplane.volume.volume_harness import FID, one_server, run

DATA = bytes(range(256)) * 2  # 512 bytes, not compressible text


def test_single_ranges(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with one_server(tmp_path) as (_, http):
            await http("PUT", f"/{FID}", DATA, [("Content-Type", "application/x-foo")])
            for spec, start, end in (("bytes=0-9", 0, 9), ("bytes=500-", 500, 511), ("bytes=-12", 500, 511),
                                     ("bytes=510-9999", 510, 511)):
                got = await http("GET", f"/{FID}", headers=[("Range", spec)])
                assert got.status == 206, spec
                assert got.body == DATA[start : end + 1], spec
                assert got.headers.get("content-range") == f"bytes {start}-{end}/512", spec
                assert got.headers.get("content-length") == str(end - start + 1)

    run(scenario)


def test_several_ranges_are_multipart_byteranges(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with one_server(tmp_path) as (_, http):
            await http("PUT", f"/{FID}", DATA, [("Content-Type", "application/x-foo")])
            got = await http("GET", f"/{FID}", headers=[("Range", "bytes=0-3,10-13")])
            assert got.status == 206
            ctype = got.headers.get("content-type") or ""
            assert ctype.startswith("multipart/byteranges; boundary=")
            parts = parse_multipart(got.body, ctype.replace("byteranges", "form-data"))
            assert [p.data for p in parts] == [DATA[0:4], DATA[10:14]]
            assert [p.headers.get("content-range") for p in parts] == ["bytes 0-3/512", "bytes 10-13/512"]
            assert {p.headers.get("content-type") for p in parts} == {"application/x-foo"}

    run(scenario)


def test_unsatisfiable_and_malformed_ranges_are_416(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with one_server(tmp_path) as (_, http):
            await http("PUT", f"/{FID}", DATA[:40])
            for spec in ("bytes=100-200", "bytes=abc", "items=0-1", "bytes=5-2"):
                got = await http("GET", f"/{FID}", headers=[("Range", spec)])
                assert got.status == 416, spec
                assert got.headers.get("content-range") == "bytes */40", spec
            assert (await http("GET", f"/{FID}")).status == 200  # the server is fine

    run(scenario)


def test_ranges_longer_than_the_file_are_ignored(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with one_server(tmp_path) as (_, http):
            await http("PUT", f"/{FID}", DATA)
            got = await http("GET", f"/{FID}", headers=[("Range", "bytes=0-399,0-399")])
            assert got.status == 200
            assert got.headers.get("content-length") == "0"
            assert got.body == b""

    run(scenario)
