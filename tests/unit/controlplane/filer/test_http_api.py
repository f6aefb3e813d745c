"""http_api.py in-process over the fake store and volumes: upload targets, statuses, listing JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest

from controlplane.filer.core import FilerCore
from controlplane.filer.http_api import FilerHttpApi, HttpSettings
from kelp_http import Headers, Request, Response
from kelp_http.multipart import Part, encode_multipart
from tests.unit.controlplane.filer.fake_volumes import FakeVolumes


@pytest.fixture
def api(core: FilerCore) -> FilerHttpApi:
    volumes = FakeVolumes()
    core.volumes = volumes
    return FilerHttpApi(core, volumes, HttpSettings(max_mb=1))


async def call(api: FilerHttpApi, method: str, target: str, body: bytes = b"", **headers: str) -> Response:
    pairs = [(k.replace("_", "-"), v) for k, v in headers.items()]
    return await api.handle(Request(method, target, Headers(pairs), body))


def doc(reply: Response) -> Any:
    return json.loads(bytes(reply.body))


async def test_put_targets(api: FilerHttpApi) -> None:
    assert doc(await call(api, "PUT", "/newdir/", b"x")) == {"name": "newdir", "size": 1}
    assert (await call(api, "GET", "/newdir/newdir")).body == b"x"  # PUT to dir/ stores dir/<last>
    assert (await call(api, "PUT", "/newdir", b"y")).status == 201  # onto a directory: inside it
    assert (await call(api, "GET", "/newdir/newdir")).body == b"y"


async def test_multipart_names(api: FilerHttpApi) -> None:
    body, ctype = encode_multipart([Part.file("file", "blob.bin", b"data")])
    reply = await call(api, "POST", "/d/renamed.bin", body, Content_Type=ctype)
    assert reply.status == 201 and doc(reply)["name"] == "blob.bin"
    assert (await call(api, "GET", "/d/renamed.bin")).body == b"data"
    body, ctype = encode_multipart([Part.file("file", "..", b"data")])
    assert (await call(api, "POST", "/d/", body, Content_Type=ctype)).status == 400


async def test_statuses(api: FilerHttpApi) -> None:
    assert (await call(api, "PATCH", "/x")).status == 405
    missing = await call(api, "GET", "/nope")
    assert missing.status == 404 and missing.body == b""
    assert (await call(api, "DELETE", "/nope")).status == 204
    assert (await call(api, "PUT", "/a/b?offset=1&op=append", b"z")).status == 500
    assert (await call(api, "PUT", "/a/c?maxMB=x", b"z")).status == 400
    assert (await call(api, "PUT", "/a/c?mode=9x", b"z")).status == 400
    bad_md5 = await call(api, "PUT", "/a/d", b"z", Content_Md5="AAAAAAAAAAAAAAAAAAAAAA==")
    assert bad_md5.status == 400 and (await call(api, "GET", "/a/d")).status == 404
    assert (await call(api, "GET", "/a/..")).status == 400
    assert (await call(api, "GET", "/" + "x" * 300)).status == 414


async def test_tagging(api: FilerHttpApi) -> None:
    await call(api, "PUT", "/t/f", b"1")
    assert (await call(api, "PUT", "/t/f?tagging", Seaweed_Color="blue", Seaweed_Size="L")).status == 202
    got = await call(api, "GET", "/t/f")
    assert ("Seaweed-Color", "blue") in got.headers
    assert (await call(api, "DELETE", "/t/f?tagging=Color")).status == 202
    assert (await call(api, "DELETE", "/t/f?tagging=Color")).status == 304
    got = await call(api, "GET", "/t/f")
    assert ("Seaweed-Size", "L") in got.headers and all(k != "Seaweed-Color" for k, _ in got.headers)
    assert (await call(api, "PUT", "/t/none?tagging", Seaweed_X="1")).status == 404


async def test_listing_json_and_patterns(api: FilerHttpApi) -> None:
    for name in ("a.png", "b.txt", "c.png", "d.png"):
        await call(api, "PUT", f"/l/{name}", b"1")
    page = doc(await call(api, "GET", "/l?limit=2&namePattern=*.png", Accept="application/json"))
    assert [e["FullPath"] for e in page["Entries"]] == ["/l/a.png", "/l/c.png"]
    assert page["ShouldDisplayLoadMore"] is True and page["LastFileName"] == "c.png"
    html_page = await call(api, "GET", "/l", Accept="application/json, text/plain")
    assert ("Content-Type", "text/html; charset=utf-8") in html_page.headers
    assert (await call(api, "GET", "/nodir/", Accept="application/json")).status == 404


async def test_listing_bytes_match_the_json_of_the_page_and_follow_changes(api: FilerHttpApi) -> None:
    for name in ("a", "b"):
        await call(api, "PUT", f"/lc/{name}", b"1")
    for _ in range(2):  # the second listing comes from rendered entries kept by the first
        fast = await call(api, "GET", "/lc", Accept="application/json")
        pretty = await call(api, "GET", "/lc?pretty=y", Accept="application/json")
        assert json.loads(bytes(fast.body)) == json.loads(bytes(pretty.body))
        assert bytes(fast.body) == json.dumps(json.loads(bytes(pretty.body)), separators=(",", ":"),
                                              ensure_ascii=False).encode()
    await call(api, "PUT", "/lc/b", b"longer")  # new stored bytes: rendered anew
    listed = doc(await call(api, "GET", "/lc", Accept="application/json"))["Entries"]
    sizes = {e["FullPath"]: e["FileSize"] for e in listed}
    assert sizes == {"/lc/a": 1, "/lc/b": 6}
    empty = doc(await call(api, "GET", "/lc?namePattern=zz*", Accept="application/json"))
    assert empty["Entries"] is None and empty["EmptyFolder"] is True


async def test_conditionals_compare_nanoseconds(api: FilerHttpApi) -> None:
    await call(api, "PUT", "/c/f", b"data")
    first = await call(api, "GET", "/c/f")
    last_modified = dict(first.headers)["Last-Modified"]
    assert (await call(api, "GET", "/c/f", If_Modified_Since=last_modified)).status == 200
    assert (await call(api, "GET", "/c/f", If_Unmodified_Since=last_modified)).status == 412
    etag = dict(first.headers)["Etag"]
    assert (await call(api, "GET", "/c/f", If_None_Match=etag.strip('"'))).status == 304
