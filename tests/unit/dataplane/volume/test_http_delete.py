"""DELETE: 202 with the needle's Size field, 404 {"size":0} when gone or unknown, 400 on a
wrong cookie (and the needle survives), `ts` stamps the tombstone."""

from __future__ import annotations

import json
from pathlib import Path

from tests.unit.dataplane.volume.volume_harness import FID, one_server, run


def test_delete_answers_the_size_field(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with one_server(tmp_path) as (server, http):
            await http("PUT", f"/{FID}", b"z" * 40, [("Content-Type", "application/x-foo")])
            size = server.store.read_needle(3, 1, 0x637037D6).size
            assert size > 40  # data plus metadata
            reply = await http("DELETE", f"/{FID}")
            assert reply.status == 202
            assert json.loads(reply.body) == {"size": size}
            assert (await http("GET", f"/{FID}")).status == 404
            again = await http("DELETE", f"/{FID}")
            assert again.status == 404 and json.loads(again.body) == {"size": 0}

    run(scenario)


def test_delete_of_an_unknown_volume_or_key_is_404(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with one_server(tmp_path) as (_, http):
            for path in ("/9,01637037d6", f"/{FID}", "/abc,01637037d6"):  # weed: a non-numeric vid is unknown
                reply = await http("DELETE", path)
                assert reply.status == 404 and json.loads(reply.body) == {"size": 0}, path

    run(scenario)


def test_delete_with_a_wrong_cookie_is_400_and_keeps_the_needle(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with one_server(tmp_path) as (_, http):
            await http("PUT", f"/{FID}", b"keep me")
            reply = await http("DELETE", "/3,0100000000")
            assert reply.status == 400
            assert json.loads(reply.body) == {"error": "File Random Cookie does not match."}
            assert (await http("GET", f"/{FID}")).body == b"keep me"

    run(scenario)


def test_delete_of_a_malformed_fid_is_400_json(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with one_server(tmp_path) as (_, http):
            reply = await http("DELETE", "/3,zz")
            assert reply.status == 400
            assert "error" in json.loads(reply.body)

    run(scenario)
