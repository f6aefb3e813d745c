"""VolumeLocator: answers from kelp.v1.Master/Lookup, cached for the TTL, one RPC for
concurrent lookups of a volume, the next master tried when one is down, and distinct errors
for "no such volume" and "no master reachable"."""

from __future__ import annotations

import asyncio

import pytest
from kelp_pb import master_pb2

from dataplane.client.errors import MasterUnreachable, VolumeNotFound
from dataplane.client.lookup import Location, VolumeLocations, VolumeLocator
from tests.unit.dataplane.client.fake_master import FakeMaster, run

DEAD_MASTER = "127.0.0.1:1.1"  # nothing listens on port 1


def pin(master: FakeMaster, vid: int, *urls: str) -> None:
    master.pinned[vid] = [master_pb2.Location(url=u, public_url=f"pub-{u}", grpc_port=1) for u in urls]


def test_lookup_caches_for_the_ttl() -> None:
    async def scenario() -> None:
        master = FakeMaster()
        await master.start()
        now = [100.0]
        locator = VolumeLocator([master.address], ttl_seconds=10, clock=lambda: now[0])
        try:
            pin(master, 3, "a:1", "b:2")
            found = await locator.lookup(3)
            assert [loc.url for loc in found.locations] == ["a:1", "b:2"]
            assert found.locations[0].public_url == "pub-a:1"
            pin(master, 3, "c:3")
            assert (await locator.lookup(3)).locations[0].url == "a:1"  # cached
            assert len(master.lookups) == 1
            now[0] += 11
            assert (await locator.lookup(3)).locations[0].url == "c:3"  # expired, asked again
            locator.invalidate(3)
            await locator.lookup(3)
            assert len(master.lookups) == 3
            locator.update(VolumeLocations(4, (Location("d:4", "d:4"),)))
            assert locator.cached(4) is not None and (await locator.lookup(4)).locations[0].url == "d:4"
            assert len(master.lookups) == 3
        finally:
            await locator.close()
            await master.stop()

    run(scenario)


def test_concurrent_lookups_share_one_rpc() -> None:
    async def scenario() -> None:
        master = FakeMaster()
        await master.start()
        locator = VolumeLocator([master.address])
        try:
            pin(master, 5, "a:1")
            results = await asyncio.gather(*(locator.lookup(5) for _ in range(20)))
            assert {r.locations[0].url for r in results} == {"a:1"}
            assert len(master.lookups) == 1
        finally:
            await locator.close()
            await master.stop()

    run(scenario)


def test_unknown_volume_and_unreachable_masters() -> None:
    async def scenario() -> None:
        master = FakeMaster()
        await master.start()
        locator = VolumeLocator([DEAD_MASTER, master.address], rpc_timeout=2)
        try:
            with pytest.raises(VolumeNotFound) as missing:
                await locator.lookup(9)  # the dead master is skipped, the live one answers
            assert missing.value.volume_id == 9
            pin(master, 9, "a:1")
            assert (await locator.lookup(9)).locations[0].url == "a:1"  # a miss is not cached
        finally:
            await locator.close()
            await master.stop()
        nobody = VolumeLocator([DEAD_MASTER], rpc_timeout=2)
        try:
            with pytest.raises(MasterUnreachable):
                await nobody.lookup(9)
        finally:
            await nobody.close()

    run(scenario)
