"""JWT: with a signing key, writes and deletes need an HS256 token whose `fid` claim names
the file (from ?jwt=, Authorization: Bearer in any case, or the AT cookie); reads need one
only when a read key is set. A bad token is 401 {"error":"wrong jwt"}."""

from __future__ import annotations

import json
import time
from pathlib import Path

import jwt

from tests.unit.dataplane.volume.volume_harness import FID, one_server, run

KEY = "write-secret-of-thirty-two-bytes"
READ_KEY = "read-secret-of-thirty-two-bytes!!"


def token(fid: str, key: str = KEY, expires_in: int = 60) -> str:
    return jwt.encode({"fid": fid, "exp": int(time.time()) + expires_in}, key, algorithm="HS256")


def test_writes_need_a_token_for_the_fid(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with one_server(tmp_path, jwt_signing_key=KEY) as (_, http):
            wrong_jwt = {"error": "wrong jwt"}
            missing = await http("PUT", f"/{FID}", b"x")
            assert missing.status == 401 and json.loads(missing.body) == wrong_jwt
            other_key = "another-secret-of-thirty-two-bytes"
            bad_tokens = (token("3,02637037d6"), token(FID, other_key), token(FID, expires_in=-60), "garbage")
            for bad in bad_tokens:
                reply = await http("PUT", f"/{FID}", b"x", [("Authorization", f"Bearer {bad}")])
                assert reply.status == 401, bad
            ok = await http("PUT", f"/{FID}", b"x", [("Authorization", f"bearer {token(FID)}")])
            assert ok.status == 201
            by_query = await http("PUT", f"/{FID}_1?jwt={token(FID)}", b"y")  # claim compared without _N
            assert by_query.status == 201
            by_cookie = await http("DELETE", f"/{FID}", headers=[("Cookie", f"a=b; AT={token(FID)}")])
            assert by_cookie.status == 202
            assert (await http("DELETE", "/3,02637037d6")).status == 401
            assert (await http("GET", "/3,02637037d6")).status == 200  # reads stay open

    run(scenario)


def test_reads_need_a_token_only_with_a_read_key(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with one_server(tmp_path, jwt_read_key=READ_KEY) as (_, http):
            assert (await http("PUT", f"/{FID}", b"secret")).status == 201  # no write key: open
            denied = await http("GET", f"/{FID}")
            assert denied.status == 401 and json.loads(denied.body) == {"error": "wrong jwt"}
            allowed = await http("GET", f"/{FID}?jwt={token(FID, READ_KEY)}")
            assert allowed.status == 200 and allowed.body == b"secret"

    run(scenario)
