"""Conditional GETs: If-Modified-Since (checked first, whole seconds) and If-None-Match (the
quoted ETag only) give 304 with Last-Modified and no ETag."""

from __future__ import annotations

import json
from pathlib import Path

from tests.unit.dataplane.volume.volume_harness import FID, one_server, run

LAST_MODIFIED = "Sun, 13 Sep 2020 12:26:40 GMT"  # ts=1600000000


def test_if_modified_since(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with one_server(tmp_path) as (_, http):
            await http("PUT", f"/{FID}?ts=1600000000", b"dated")
            same = await http("GET", f"/{FID}", headers=[("If-Modified-Since", LAST_MODIFIED)])
            assert same.status == 304
            assert same.body == b""
            assert same.headers.get("last-modified") == LAST_MODIFIED
            assert same.headers.get("etag") is None
            a_second_before = "Sun, 13 Sep 2020 12:26:39 GMT"
            older = await http("GET", f"/{FID}", headers=[("If-Modified-Since", a_second_before)])
            assert older.status == 200 and older.body == b"dated"
            garbage = await http("GET", f"/{FID}", headers=[("If-Modified-Since", "yesterday")])
            assert garbage.status == 200

    run(scenario)


def test_if_none_match_needs_the_quoted_etag(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with one_server(tmp_path) as (_, http):
            etag = json.loads((await http("PUT", f"/{FID}?ts=1600000000", b"tagged")).body)["eTag"]
            quoted = await http("GET", f"/{FID}", headers=[("If-None-Match", f'"{etag}"')])
            assert quoted.status == 304
            assert quoted.headers.get("etag") is None
            assert quoted.headers.get("last-modified") == LAST_MODIFIED
            bare = await http("GET", f"/{FID}", headers=[("If-None-Match", etag)])
            assert bare.status == 200 and bare.body == b"tagged"

    run(scenario)
