"""W = N replication between two in-process volume servers and a fake master: a write or
delete to a replicated volume reaches every replica before it is acknowledged; a failing
replica gives 500 and turns the volume read-only (reported in the next heartbeat); too few
listed replicas refuse the write; a write for a volume held elsewhere is forwarded."""

from __future__ import annotations

import json
from pathlib import Path

from tests.unit.dataplane.client.fake_master import wait_for
from tests.unit.dataplane.volume.volume_harness import (
    FID_COOKIE,
    Http,
    allocate,
    fake_master,
    known_to,
    multipart,
    run,
    volume_server,
)

FID5 = "5,01637037d6"


def test_write_and_delete_reach_every_replica(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with fake_master() as master, volume_server(tmp_path, master, "a") as a, \
                volume_server(tmp_path, master, "b") as b:
            for server in (a, b):
                await allocate(server, 5, replication="001")
                await known_to(master, server, 5)
            http = Http(a)
            body, headers = multipart(b"replicated " * 20, "r.txt", "text/plain")
            headers.append(("Seaweed-Color", "red"))
            reply = await http("POST", f"/{FID5}?ts=1600000000", body, headers)
            assert reply.status == 201, reply.body
            here = a.store.read_needle(5, 1, FID_COOKIE)
            there = b.store.read_needle(5, 1, FID_COOKIE)
            for field in ("data", "name", "mime", "last_modified", "pairs", "flags", "checksum"):
                assert getattr(here, field) == getattr(there, field), field
            assert here.is_compressed
            deleted = await http("DELETE", f"/{FID5}")
            assert deleted.status == 202
            for server in (a, b):
                assert server.store.volume_info(5).delete_count == 1
            await http.close()

    run(scenario)


def test_a_failed_replica_fails_the_write_and_fences_the_volume(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with fake_master() as master, volume_server(tmp_path, master, "a") as a:
            async with volume_server(tmp_path, master, "b") as b:
                for server in (a, b):
                    await allocate(server, 5, replication="001")
                    await known_to(master, server, 5)
            # b is gone; the master still lists it.
            http = Http(a)
            reply = await http("PUT", f"/{FID5}", b"half written")
            assert reply.status == 500
            assert "failed to write to replicas for volume 5" in json.loads(reply.body)["error"]
            assert a.store.volume_info(5).read_only
            await wait_for(lambda: master.volumes_of(a.url)[5].read_only, "read-only reported")
            again = await http("PUT", "/5,02637037d6", b"refused now")
            assert again.status == 500
            await http.close()

    run(scenario)


def test_too_few_listed_replicas_refuse_the_write(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with fake_master() as master, volume_server(tmp_path, master, "a") as a:
            await allocate(a, 5, replication="001")  # the second copy was never created
            await known_to(master, a, 5)
            http = Http(a)
            reply = await http("PUT", f"/{FID5}", b"lonely")
            assert reply.status == 500
            assert "fewer than its copy count 2" in json.loads(reply.body)["error"]
            assert a.store.volume_info(5).file_count == 0  # nothing was written locally
            assert not a.store.volume_info(5).read_only
            await http.close()

    run(scenario)


def test_a_write_for_a_volume_held_elsewhere_is_forwarded(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with fake_master() as master, volume_server(tmp_path, master, "a") as a, \
                volume_server(tmp_path, master, "c") as c:
            await allocate(a, 5)
            await known_to(master, a, 5)
            http = Http(c)
            reply = await http("PUT", f"/{FID5}", b"forwarded", [("Content-Type", "application/x-foo")])
            assert reply.status == 201
            assert json.loads(reply.body)["eTag"] == f"{a.store.read_needle(5, 1, FID_COOKIE).checksum:08x}"
            assert a.store.read_needle(5, 1, FID_COOKIE).data == b"forwarded"
            unknown = await http("PUT", "/77,01637037d6", b"nowhere")
            assert unknown.status == 500
            assert "replicating lookup failed for 77" in json.loads(unknown.body)["error"]
            await http.close()

    run(scenario)
