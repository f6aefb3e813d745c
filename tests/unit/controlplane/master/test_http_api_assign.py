"""`/dir/assign` over HTTP: parameters from the query or a urlencoded form reach the core as an
AssignRequest, and the reply is SeaweedFS's JSON with the JWT in the Authorization header."""

from __future__ import annotations

from controlplane.master.core import AssignRequest, AssignResult
from tests.unit.controlplane.master.test_http_api_support import FakeCore, run, serving


def test_query_parameters_become_the_assign_request() -> None:
    core = FakeCore()

    async def scenario() -> None:
        async with serving(core) as api:
            r = await api.call(
                "/dir/assign?count=3&collection=pics&replication=001&ttl=3m&disk=ssd&dataCenter=dc1"
                "&rack=r1&dataNode=127.0.0.1:8080&writableVolumeCount=2&preallocate=1024"
            )
            assert r.status == 200

    run(scenario())
    assert core.args("assign") == [
        AssignRequest(
            count=3,
            collection="pics",
            replication="001",
            ttl="3m",
            disk="ssd",
            data_center="dc1",
            rack="r1",
            data_node="127.0.0.1:8080",
            writable_volume_count=2,
            preallocate=1024,
        )
    ]


def test_form_body_parameters_and_junk_counts() -> None:
    core = FakeCore()

    async def scenario() -> None:
        async with serving(core) as api:
            form = (("Content-Type", "application/x-www-form-urlencoded"),)
            r = await api.call(
                "/dir/assign?count=7", "POST", body=b"collection=c%201&count=abc", headers=form
            )
            assert r.status == 200
            r = await api.call("/dir/assign?count=0&writableVolumeCount=-1")
            assert r.status == 200

    run(scenario())
    first, second = core.args("assign")
    assert first.collection == "c 1"
    assert first.count == 1  # the body wins over the query, and junk means 1
    assert second.count == 1 and second.writable_volume_count == 0


def test_reply_shape_without_a_signing_key() -> None:
    core = FakeCore(assign_result=AssignResult("5,01dc235105", "127.0.0.1:23080", "pub:23080", 4, 33080))

    async def scenario() -> None:
        async with serving(core) as api:
            r = await api.call("/dir/assign?count=4")
            assert r.status == 200
            assert (
                r.body == b'{"fid":"5,01dc235105","url":"127.0.0.1:23080","publicUrl":"pub:23080","count":4}'
            )
            assert r.headers.get("content-type") == "application/json"
            assert r.headers.get("x-content-type-options") == "nosniff"
            assert r.headers.get("authorization") is None

    run(scenario())


def test_jwt_travels_in_the_authorization_header_and_pretty_indents() -> None:
    result = AssignResult("5,01dc235105", "127.0.0.1:23080", "127.0.0.1:23080", 1, 33080, auth="a.b.c")
    core = FakeCore(assign_result=result)

    async def scenario() -> None:
        async with serving(core) as api:
            r = await api.call("/dir/assign?pretty=y")
            assert r.headers.get("authorization") == "Bearer a.b.c"
            assert r.body.startswith(b'{\n  "fid": "5,01dc235105",')
            assert "auth" not in r.json()

    run(scenario())
