"""The status and admin routes pass the core's JSON through and answer with SeaweedFS's statuses:
`/cluster/status`, `/cluster/healthz`, `/healthz`, `/readyz`, `/dir/status`, `/vol/status`,
`/vol/vacuum`, `/vol/grow`, `/col/delete`, `/collection/info`."""

from __future__ import annotations

from controlplane.master.core import AssignRequest
from tests.unit.controlplane.master.test_http_api_support import FakeCore, run, serving


def test_cluster_status_and_health_probes() -> None:
    core = FakeCore()

    async def scenario() -> None:
        async with serving(core) as api:
            r = await api.call("/cluster/status")
            assert r.status == 200
            assert r.body == b'{"IsLeader":true,"Leader":"127.0.0.1:9333.19333","MaxVolumeId":3}'
            assert r.headers.get("x-content-type-options") == "nosniff"
            for path in ("/healthz", "/readyz", "/cluster/healthz"):
                r = await api.call(path)
                assert (r.status, r.body) == (200, b"")
            core.leader_address = None
            assert (await api.call("/cluster/healthz")).status == 503

    run(scenario())


def test_status_routes_pass_the_core_json_through() -> None:
    core = FakeCore()

    async def scenario() -> None:
        async with serving(core) as api:
            assert (await api.call("/dir/status")).json() == core.dir_status()
            assert (await api.call("/vol/status")).json() == core.vol_status()
            r = await api.call("/collection/info?collection=c1&detail=true")
            assert r.json() == {"Collection": "c1", "VolumeCount": 1}

    run(scenario())
    assert core.args("collection_info") == [("c1", True)]


def test_vacuum_grow_and_collection_delete() -> None:
    core = FakeCore(grow_result=6)

    async def scenario() -> None:
        async with serving(core) as api:
            r = await api.call("/vol/vacuum")
            assert (r.status, r.json()) == (200, core.dir_status())
            await api.call("/vol/vacuum?garbageThreshold=0.5")
            r = await api.call("/vol/grow?count=2&replication=001&collection=c")
            assert (r.status, r.body) == (200, b'{"count":6}')
            r = await api.call("/col/delete?collection=c")
            assert (r.status, r.body, r.headers.get("content-length")) == (204, b"", None)

    run(scenario())
    assert core.args("vacuum") == [0.3, 0.5]
    assert core.args("grow") == [(AssignRequest(count=2, collection="c", replication="001"), 2)]
    assert core.args("delete_collection") == ["c"]
