"""Bad input never kills the server or corrupts a volume: malformed fids (400, empty body on
reads, JSON on writes), wrong cookies (404 empty on reads), unknown volumes, oversized
bodies (400 "file over the limited N bytes"), Content-MD5 mismatches, bad multipart."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

from tests.unit.dataplane.volume.volume_harness import FID, multipart, one_server, run

MALFORMED = ("/3,0163", "/3,zz637037d6", "/x,01637037d6", "/foo/3,01637037d6", "/3", "/", "/3,01637037d6_x",
             "/3,0102030405060708090a0b0c0d")


def test_malformed_fids(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with one_server(tmp_path) as (_, http):
            for path in MALFORMED:
                got = await http("GET", path)
                assert got.status == 400 and got.body == b"", path
                put = await http("PUT", path, b"x")
                assert put.status == 400 and "error" in json.loads(put.body), path
            assert (await http("PUT", f"/{FID}", b"still works")).status == 201

    run(scenario)


def test_missing_wrong_cookie_and_unknown_volume_read_as_404_empty(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with one_server(tmp_path) as (_, http):
            await http("PUT", f"/{FID}", b"x")
            for path in ("/3,0100000000", "/3,05637037d6", "/9,01637037d6"):
                got = await http("GET", path)
                assert got.status == 404 and got.body == b"", path

    run(scenario)


def test_body_over_the_size_limit(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with one_server(tmp_path, file_size_limit_mb=1) as (_, http):
            big = b"b" * (1024 * 1024 + 1)
            raw = await http("PUT", f"/{FID}", big)
            assert raw.status == 400
            assert json.loads(raw.body) == {"error": "file over the limited 1048576 bytes"}
            body, headers = multipart(big)
            assert (await http("POST", f"/{FID}", body, headers)).status == 400
            assert (await http("GET", f"/{FID}")).status == 404
            assert (await http("PUT", f"/{FID}", b"b" * 1024 * 1024)).status == 201  # exactly the limit

    run(scenario)


def test_content_md5_mismatch(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with one_server(tmp_path) as (_, http):
            data = b"checked" * 6
            wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
            right = base64.b64encode(hashlib.md5(data).digest()).decode()
            reply = await http("PUT", f"/{FID}", data, [("Content-MD5", wrong)])
            assert reply.status == 400
            message = (
                "Content-MD5 did not match md5 of file data"
                f" expected [{wrong}] received [{right}] size 42"
            )
            assert json.loads(reply.body) == {"error": message}
            ok = await http("PUT", f"/{FID}", data, [("Content-MD5", right)])
            assert ok.status == 201 and json.loads(ok.body)["contentMd5"] == right
            assert ok.headers.get("content-md5") == right

    run(scenario)


def test_post_that_is_not_multipart(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with one_server(tmp_path) as (_, http):
            no_type = await http("POST", f"/{FID}", b"raw without a type")
            assert no_type.status == 400
            unclosed = [("Content-Type", "multipart/form-data; boundary=b")]
            broken = await http("POST", f"/{FID}", b"--b\r\nnot closed", unclosed)
            assert broken.status == 400
            assert (await http("GET", f"/{FID}")).status == 404

    run(scenario)


def test_a_corrupt_needle_is_an_error_never_bad_data(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with one_server(tmp_path) as (_, http):
            await http("PUT", f"/{FID}", b"precious bytes" * 4)
            dat = tmp_path / "v1" / "3.dat"
            first_data_byte = 8 + 16 + 4  # superblock, needle header, DataSize
            with dat.open("r+b") as f:
                f.seek(first_data_byte + 3)
                f.write(b"X")
            got = await http("GET", f"/{FID}")
            assert got.status == 500
            assert "corrupt" in json.loads(got.body)["error"]
            assert (await http("PUT", "/3,02637037d6", b"next")).status == 201  # the server lives on

    run(scenario)
