"""POST/PUT to the volume server: multipart and raw bodies, what is stored (name, MIME,
data) and the 201 reply, identical re-uploads (204) and overwrites with another cookie (500)."""

from __future__ import annotations

import json
from pathlib import Path

from dataplane.volume.engine.types import Ttl
from tests.unit.dataplane.volume.volume_harness import FID, multipart, one_server, run


def test_multipart_post_round_trip(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with one_server(tmp_path) as (_, http):
            body, headers = multipart(b"x" * 40, "blob.bin", "application/x-foo")
            reply = await http("POST", f"/{FID}", body, headers)
            assert reply.status == 201
            doc = json.loads(reply.body)
            etag = doc["eTag"]
            assert doc == {"name": "blob.bin", "size": 40, "eTag": etag, "mime": "application/x-foo"}
            assert reply.headers.get("etag") == f'"{etag}"'
            # As weed 4.48: the header is always there, empty unless the client sent an MD5.
            assert reply.headers.get("content-md5") == ""
            got = await http("GET", f"/{FID}")
            assert got.status == 200
            assert got.body == b"x" * 40
            assert got.headers.get("etag") == f'"{etag}"'

    run(scenario)


def test_raw_put_is_named_after_the_fid_and_keeps_its_content_type(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with one_server(tmp_path) as (_, http):
            reply = await http("PUT", f"/{FID}", b"\x00raw", [("Content-Type", "application/octet-stream")])
            assert reply.status == 201
            doc = json.loads(reply.body)
            assert doc["name"] == FID
            assert doc["mime"] == "application/octet-stream"
            got = await http("GET", f"/{FID}")
            assert got.body == b"\x00raw"
            assert got.headers.get("content-disposition") == f'inline; filename="{FID}"'

    run(scenario)


def test_raw_post_takes_the_name_from_content_disposition(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with one_server(tmp_path) as (_, http):
            disposition = 'attachment; filename="dir/pic.png"'
            headers = [("Content-Type", "image/png"), ("Content-Disposition", disposition)]
            reply = await http("POST", f"/{FID}", b"\x89PNG....", headers)
            assert json.loads(reply.body)["name"] == "pic.png"

    run(scenario)


def test_multipart_put_is_stored_as_raw_text(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with one_server(tmp_path) as (_, http):
            body, headers = multipart(b"payload")
            reply = await http("PUT", f"/{FID}", body, headers)
            assert reply.status == 201
            assert (await http("GET", f"/{FID}")).body == body

    run(scenario)


def test_urlencoded_body_is_lost_as_in_seaweedfs(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with one_server(tmp_path) as (_, http):
            headers = [("Content-Type", "application/x-www-form-urlencoded")]
            reply = await http("PUT", f"/{FID}", b"a=1&b=2", headers)
            assert reply.status == 201
            doc = json.loads(reply.body)
            assert doc["eTag"] == "00000000"
            assert "size" not in doc
            got = await http("GET", f"/{FID}")
            assert got.status == 200 and got.body == b""

    run(scenario)


def test_mime_comes_from_the_file_name_when_the_part_has_none(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with one_server(tmp_path) as (_, http):
            body, headers = multipart(b"\xff\xd8\xffjpegdata", "photo.jpg")
            doc = json.loads((await http("POST", f"/{FID}", body, headers)).body)
            assert doc["mime"] == "image/jpeg"
            got = await http("GET", f"/{FID}")
            assert got.headers.get("content-type") == "image/jpeg"

    run(scenario)


def test_identical_reupload_is_204_with_the_etag(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with one_server(tmp_path) as (_, http):
            body, headers = multipart(b"same bytes", "a.bin", "application/x-foo")
            first = await http("POST", f"/{FID}?ts=1600000000", body, headers)
            again = await http("POST", f"/{FID}?ts=1600000000", body, headers)
            assert first.status == 201
            assert again.status == 204
            assert again.body == b""
            assert again.headers.get("etag") == first.headers.get("etag")

    run(scenario)


def test_overwrite_with_another_cookie_is_500(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with one_server(tmp_path) as (_, http):
            await http("PUT", "/3,0112345678", b"one")
            reply = await http("PUT", "/3,0187654321", b"two")
            assert reply.status == 500
            error = "failed to write to local disk: mismatching cookie 87654321"
            assert json.loads(reply.body) == {"error": error}
            assert (await http("GET", "/3,0112345678")).body == b"one"

    run(scenario)


def test_ts_sets_last_modified_and_delta_suffix_addresses_the_next_key(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with one_server(tmp_path) as (_, http):
            await http("PUT", f"/{FID}_2?ts=1600000000", b"third key")
            got = await http("GET", "/3,03637037d6")
            assert got.body == b"third key"
            assert got.headers.get("last-modified") == "Sun, 13 Sep 2020 12:26:40 GMT"

    run(scenario)


def test_ttl_and_fsync_parameters(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with one_server(tmp_path) as (server, http):
            reply = await http("PUT", f"/{FID}?ttl=3m&fsync=true", b"short-lived")
            assert reply.status == 201
            needle = server.store.read_needle(3, 1, 0x637037D6)
            assert needle.ttl == Ttl.parse("3m")
            assert needle.has_ttl

    run(scenario)
