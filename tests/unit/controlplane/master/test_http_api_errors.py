"""Every failure the master HTTP API reports gets SeaweedFS's status and JSON body, and none of them
(an unexpected exception included) stops the server from answering the next request."""

from __future__ import annotations

import pytest

from controlplane.master.core import (
    CollectionNotFound,
    InvalidReplication,
    InvalidTtl,
    NoFreeVolumes,
    NotEnoughFreeVolumes,
    NotLeader,
    NoWritableVolume,
    PlacementImpossible,
    VolumeServerFailed,
    WarmingUp,
)
from tests.unit.controlplane.master.test_http_api_support import FakeCore, run, serving

GROW_OPTION = '{"replication":{"rack":1},"ttl":{"Count":0,"Unit":0},"version":3}'


@pytest.mark.parametrize(
    ("method", "error", "path", "status", "message", "retry_after"),
    [
        ("assign", InvalidReplication("abc"), "/dir/assign?replication=abc", 406,
         "unexpected replication type: abc", None),
        ("assign", InvalidTtl("abc"), "/dir/assign?ttl=abc", 406, "invalid ttl 'abc'", None),
        ("assign", NoWritableVolume(GROW_OPTION), "/dir/assign?replication=010", 503,
         f"no writable volumes for {GROW_OPTION}, volume growth in progress", "1"),
        ("assign", NoFreeVolumes("", "000", "", "{}"), "/dir/assign?disk=ssd", 406,
         "failed to find writable volumes for collection: replication:000 ttl: error: "
         "No writable volumes and no free volumes left for {}", None),
        ("assign", WarmingUp(), "/dir/assign", 503, "master is warming up, topology is still loading", "1"),
        ("assign", NotLeader(None), "/dir/assign", 503, str(NotLeader(None)), "1"),
        ("grow", NotEnoughFreeVolumes(1232, 100000), "/vol/grow?count=100000", 406,
         "only 1232 volumes left, not enough for 100000", None),
        ("grow", PlacementImpossible("no rack"), "/vol/grow?count=1", 406, "no rack", None),
        ("grow", VolumeServerFailed("n:1", "AllocateVolume", "disk full"), "/vol/grow?count=1", 406,
         "AllocateVolume on n:1 failed: disk full", None),
        ("delete_collection", CollectionNotFound("zz"), "/col/delete?collection=zz", 400,
         "collection zz does not exist", None),
        ("delete_collection", VolumeServerFailed("n:1", "DeleteCollection", "x"), "/col/delete?collection=a",
         500, "DeleteCollection on n:1 failed: x", None),
        ("collection_info", CollectionNotFound("q"), "/collection/info?collection=q", 400,
         "collection q does not exist", None),
    ],
)  # fmt: skip
def test_core_errors_map_to_seaweedfs_statuses(
    method: str, error: Exception, path: str, status: int, message: str, retry_after: str | None
) -> None:
    core = FakeCore(fail={method: error})

    async def scenario() -> None:
        async with serving(core) as api:
            r = await api.call(path)
            assert (r.status, r.json()) == (status, {"error": message})
            assert r.headers.get("retry-after") == retry_after
            assert r.headers.get("x-content-type-options") == "nosniff"

    run(scenario())


@pytest.mark.parametrize(
    ("path", "method", "status", "body"),
    [
        ("/vol/grow", "GET", 406, {"error": "can not parse parameter count "}),
        ("/vol/grow?count=x", "GET", 406, {"error": "can not parse parameter count x"}),
        ("/vol/vacuum?garbageThreshold=abc", "GET", 406,
         {"error": "garbageThreshold abc is not a valid float number"}),
        ("/collection/info", "GET", 400, {"error": "collection is required"}),
        ("/submit", "GET", 405, {"error": "Only submit via POST!"}),
        ("/a/b", "GET", 404, {"error": "404 page not found"}),
        ("/dir/lookup", "GET", 404, {"error": "unknown volume id "}),
        ("/dir/lookup?volumeId=abc", "GET", 404, {"volumeOrFileId": "abc", "error": "unknown volume id abc"}),
        ("/dir/lookup?volumeId=99999999999", "GET", 404,
         {"volumeOrFileId": "99999999999", "error": "unknown volume id 99999999999"}),
        ("/dir/lookup?volumeId=999", "GET", 404,
         {"volumeOrFileId": "999", "error": "volume id 999 not found"}),
        ("/dir/lookup?fileId=7,01637037d6", "GET", 404,
         {"volumeOrFileId": "7", "error": "volume id 7 not found"}),
        ("/3,01637037d6", "GET", 404, {"error": "volume id 3 not found"}),
    ],
)  # fmt: skip
def test_bad_parameters_are_answered_not_raised(path: str, method: str, status: int, body: object) -> None:
    async def scenario() -> None:
        async with serving(FakeCore()) as api:
            r = await api.call(path, method)
            assert (r.status, r.json()) == (status, body)
            assert r.headers.get("content-type") == "application/json"

    run(scenario())


def test_cluster_routes_refuse_post_with_405() -> None:
    async def scenario() -> None:
        async with serving(FakeCore()) as api:
            for path in ("/cluster/status", "/cluster/healthz"):
                r = await api.call(path, "POST")
                assert (r.status, r.body) == (405, b"")
            assert (await api.call("/cluster/status", "HEAD")).status == 200

    run(scenario())


def test_an_unexpected_core_exception_is_a_500_and_the_server_lives_on() -> None:
    core = FakeCore(fail={"assign": RuntimeError("boom")})

    async def scenario() -> None:
        async with serving(core) as api:
            r = await api.call("/dir/assign")
            assert (r.status, r.json()) == (500, {"error": "boom"})
            assert (await api.call("/healthz")).status == 200

    run(scenario())


def test_pretty_applies_to_errors_too() -> None:
    core = FakeCore(fail={"assign": InvalidReplication("abc")})

    async def scenario() -> None:
        async with serving(core) as api:
            r = await api.call("/dir/assign?replication=abc&pretty=1")
            assert r.body == b'{\n  "error": "unexpected replication type: abc"\n}'

    run(scenario())
