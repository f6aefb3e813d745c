"""Routes around the data path: /status (SeaweedFS's shape), /healthz and /readyz (503
until a master answers), OPTIONS and CORS headers, unsupported methods (400 JSON)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.unit.dataplane.client.fake_master import wait_for
from tests.unit.dataplane.volume.volume_harness import (
    Http,
    allocate,
    fake_master,
    one_server,
    run,
    volume_server,
)


def test_status_lists_disks_and_volumes(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with one_server(tmp_path, 3, 7) as (_, http):
            await http("PUT", "/7,01637037d6", b"x" * 10)
            doc = json.loads((await http("GET", "/status")).body)
            assert doc["Version"].startswith("kelp ")
            disk = doc["DiskStatuses"][0]
            assert set(disk) == {"dir", "all", "used", "free", "percent_free", "percent_used"}
            assert [v["Id"] for v in doc["Volumes"]] == [3, 7]
            empty, used = doc["Volumes"]
            assert empty["Size"] == 0 and empty["FileCount"] == 0
            assert used["Size"] > 10 and used["FileCount"] == 1
            assert used["ReplicaPlacement"] == {} and used["Ttl"] == {"Count": 0, "Unit": 0}
            pretty = await http("GET", "/status?pretty=y")
            assert b"\n" in pretty.body

    run(scenario)


def test_health_follows_the_heartbeat(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with volume_server(tmp_path, name="lonely") as lonely:
            http = Http(lonely)
            assert (await http("GET", "/healthz")).status == 503  # no master reachable
            await http.close()
        async with fake_master() as master, volume_server(tmp_path, master) as server:
            await allocate(server, 3)
            http = Http(server)
            await wait_for(lambda: server.heartbeat.connected, "heartbeat")
            assert (await http("GET", "/healthz")).status == 200
            assert (await http("GET", "/readyz")).status == 200
            await http.close()

    run(scenario)


def test_options_cors_and_unsupported_methods(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with one_server(tmp_path) as (_, http):
            options = await http("OPTIONS", "/3,01637037d6")
            assert options.status == 200
            assert options.headers.get("access-control-allow-methods") == "PUT, POST, GET, DELETE, OPTIONS"
            assert options.headers.get("access-control-allow-headers") == "*"
            cors = await http("GET", "/3,01637037d6", headers=[("Origin", "http://example.com")])
            assert cors.headers.get("access-control-allow-origin") == "*"
            assert cors.headers.get("access-control-allow-credentials") == "true"
            plain = await http("GET", "/3,01637037d6")
            assert plain.headers.get("access-control-allow-origin") is None
            patch = await http("PATCH", "/3,01637037d6", b"x")
            assert patch.status == 400 and json.loads(patch.body) == {"error": "unsupported method PATCH"}

    run(scenario)
