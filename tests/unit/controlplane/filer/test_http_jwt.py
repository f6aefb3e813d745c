"""Filer JWT (security.toml [jwt.filer_signing] and .read) on the HTTP API, in-process: which
requests need a token, where the token may come from, and what its claims narrow."""

from __future__ import annotations

import json

import pytest

from controlplane.filer.core import FilerCore
from controlplane.filer.http_api import FilerHttpApi, HttpSettings
from controlplane.filer.jwt_auth import FilerGuard, sign_token
from kelp_http import Headers, Request, Response
from tests.unit.controlplane.filer.fake_volumes import FakeVolumes

WRITE_KEY = "write-secret-of-at-least-32-bytes-long"
READ_KEY = "read-secret-of-at-least-32-bytes-long!"


def make_api(core: FilerCore, guard: FilerGuard) -> FilerHttpApi:
    volumes = FakeVolumes()
    core.volumes = volumes
    return FilerHttpApi(core, volumes, HttpSettings(max_mb=1, guard=guard))


@pytest.fixture
def api(core: FilerCore) -> FilerHttpApi:
    return make_api(core, FilerGuard(write_key=WRITE_KEY, read_key=READ_KEY))


async def call(api: FilerHttpApi, method: str, target: str, body: bytes = b"", token: str = "",
               **headers: str) -> Response:
    pairs = [(k.replace("_", "-"), v) for k, v in headers.items()]
    if token:
        pairs.append(("Authorization", f"Bearer {token}"))
    return await api.handle(Request(method, target, Headers(pairs), body))


def wrong_jwt(reply: Response) -> bool:
    return reply.status == 401 and json.loads(bytes(reply.body)) == {"error": "wrong jwt"}


async def test_writes_need_the_write_key(api: FilerHttpApi) -> None:
    assert wrong_jwt(await call(api, "PUT", "/a/f", b"1"))
    assert wrong_jwt(await call(api, "PUT", "/a/f", b"1", token=sign_token(READ_KEY)))
    assert wrong_jwt(await call(api, "PUT", "/a/f", b"1", token=sign_token(WRITE_KEY, now=0,
                                                                            expires_after_seconds=10)))
    fresh = sign_token(WRITE_KEY, expires_after_seconds=10)
    assert (await call(api, "PUT", "/a/f", b"1", token=fresh)).status == 201
    assert wrong_jwt(await call(api, "DELETE", "/a/f"))
    assert (await call(api, "DELETE", f"/a/f?jwt={sign_token(WRITE_KEY)}")).status == 204


async def test_reads_need_the_read_key_except_the_root(api: FilerHttpApi) -> None:
    await call(api, "PUT", "/r/f", b"data", token=sign_token(WRITE_KEY))
    assert wrong_jwt(await call(api, "GET", "/r/f"))
    assert wrong_jwt(await call(api, "GET", "/r/f", token=sign_token(WRITE_KEY)))
    assert (await call(api, "GET", "/r/f", token=sign_token(READ_KEY))).body == b"data"
    assert (await call(api, "GET", "/r/f", Cookie=f"AT={sign_token(READ_KEY)}")).body == b"data"
    assert (await call(api, "GET", "/", Accept="application/json")).status == 200
    assert wrong_jwt(await call(api, "GET", "/?proxyChunkId=7,0112345678"))
    assert (await call(api, "OPTIONS", "/r/f")).status == 200


async def test_claims_narrow_prefixes_and_methods(api: FilerHttpApi) -> None:
    only_a = sign_token(WRITE_KEY, allowed_prefixes=["/a"])
    assert (await call(api, "PUT", "/a/x", b"1", token=only_a)).status == 201
    assert wrong_jwt(await call(api, "PUT", "/ab/x", b"1", token=only_a))
    assert wrong_jwt(await call(api, "POST", "/b/x?mv.from=/a/x", token=only_a))  # the target is outside
    assert wrong_jwt(await call(api, "POST", "/a/y?cp.from=/c/z", token=only_a))  # the source is outside
    put_only = sign_token(WRITE_KEY, allowed_methods=["PUT"])
    assert (await call(api, "PUT", "/m/x", b"1", token=put_only)).status == 201
    assert wrong_jwt(await call(api, "DELETE", "/m/x", token=put_only))


async def test_unset_keys_leave_the_api_open(core: FilerCore) -> None:
    api = make_api(core, FilerGuard(write_key=WRITE_KEY))
    assert (await call(api, "PUT", "/o/f", b"1", token=sign_token(WRITE_KEY))).status == 201
    assert (await call(api, "GET", "/o/f")).body == b"1"  # no read key: reads are open
    api = make_api(core, FilerGuard())
    assert (await call(api, "PUT", "/o/g", b"2")).status == 201
