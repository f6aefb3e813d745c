"""Assign picks writable volumes and reserves keys; when none is writable it grows volumes
(ids reserved on the log first, partial failures cleaned up) or answers SeaweedFS's errors."""

from __future__ import annotations

import asyncio
import json
import random

import jwt
import pytest
from kelp_pb import events_pb2

from controlplane.master.config import MasterConfig
from controlplane.master.core import (
    AssignRequest,
    InvalidReplication,
    MasterCore,
    NoFreeVolumes,
    NotLeader,
    NoWritableVolume,
    WarmingUp,
)
from controlplane.master.types import Location
from dataplane.volume.engine.types import FileId
from tests.unit.controlplane.master.fakes import FakeServer, four_servers, heartbeat_all, make_core

WRITE_KEY = "w" * 32
READ_KEY = "r" * 32


def allocations(calls: list[tuple[str, str, object]]) -> list[tuple[str, object]]:
    return [(node, vid) for op, node, vid in calls if op == "allocate"]


def test_first_assign_on_an_empty_cluster_grows_seven_volumes_and_succeeds() -> None:
    async def scenario() -> None:
        core, admin, event_log, _ = make_core(four_servers())
        await core.start()
        await heartbeat_all(core, admin)
        reserved_before_allocation: list[bool] = []
        allocate = admin.allocate_volume

        async def checked_allocate(node: Location, vid: int, *args: object) -> None:
            reserved_before_allocation.append(event_log.state.max_volume_id >= vid)
            await allocate(node, vid, *args)  # type: ignore[arg-type]

        admin.allocate_volume = checked_allocate  # type: ignore[method-assign]
        result = await core.assign(AssignRequest())
        assert len(allocations(admin.calls)) == 7
        assert all(reserved_before_allocation)
        fid = FileId.parse(result.fid)
        assert 1 <= fid.volume_id <= 7 and fid.key == 1
        assert result.url == result.replicas[0].url and result.count == 1
        assert result.public_url == result.url and result.grpc_port == 18080
        assert result.auth == ""
        await core.assign(AssignRequest())
        assert len(allocations(admin.calls)) == 7  # no second growth
        await core.stop()

    asyncio.run(scenario())


def test_count_reserves_consecutive_keys() -> None:
    async def scenario() -> None:
        core, admin, _, _ = make_core(four_servers(), sequence_batch=8)
        await core.start()
        await heartbeat_all(core, admin)
        keys: list[int] = []
        for count in (5, 3, 9, 1, 6):
            result = await core.assign(AssignRequest(count=count))
            assert result.count == count
            first = FileId.parse(result.fid).key
            keys.extend(range(first, first + count))
        assert len(keys) == len(set(keys))
        await core.stop()

    asyncio.run(scenario())


def test_010_on_a_one_rack_cluster_is_503_growth_in_progress() -> None:
    async def scenario() -> None:
        servers = [FakeServer("10.0.0.1", 8080), FakeServer("10.0.0.2", 8080)]
        core, admin, _, _ = make_core(servers)
        await core.start()
        await heartbeat_all(core, admin)
        with pytest.raises(NoWritableVolume) as info:
            await core.assign(AssignRequest(replication="010", collection="c"))
        assert str(info.value) == (
            'no writable volumes for {"collection":"c","replication":{"rack":1},'
            '"ttl":{"Count":0,"Unit":0},"version":3}, volume growth in progress'
        )
        assert allocations(admin.calls) == []
        await core.stop()

    asyncio.run(scenario())


def test_replica_failure_in_growth_deletes_what_was_created() -> None:
    async def scenario() -> None:
        good, bad = FakeServer("10.0.0.1", 8080), FakeServer("10.0.0.2", 8080, fail_allocate=True)
        core, admin, event_log, _ = make_core([good, bad])
        await core.start()
        await heartbeat_all(core, admin)
        with pytest.raises(NoWritableVolume) as info:
            await core.assign(AssignRequest(replication="001"))
        assert "disk on fire" in info.value.reason
        created = [vid for node, vid in allocations(admin.calls) if node == good.node_id]
        deleted = [vid for op, node, vid in admin.calls if op == "delete" and node == good.node_id]
        assert created and sorted(created) == sorted(deleted)
        assert good.volumes == {}
        assert event_log.state.volumes == {}
        assert event_log.state.max_volume_id == 6  # the reserved ids are spent, never reused
        calls = len(admin.calls)
        with pytest.raises(NoWritableVolume):  # a retry right away does not start another growth
            await core.assign(AssignRequest(replication="001"))
        assert len(admin.calls) == calls and event_log.state.max_volume_id == 6
        await core.stop()

    asyncio.run(scenario())


def test_unknown_disk_type_is_406_no_free_volumes() -> None:
    async def scenario() -> None:
        core, admin, _, _ = make_core(four_servers())
        await core.start()
        await heartbeat_all(core, admin)
        with pytest.raises(NoFreeVolumes) as info:
            await core.assign(AssignRequest(disk="ssd"))
        assert str(info.value).startswith(
            "failed to find writable volumes for collection: replication:000 ttl: error: "
            "No writable volumes and no free volumes left for "
        )
        assert json.loads(info.value.option)["disk"] == "ssd"
        await core.stop()

    asyncio.run(scenario())


def test_bad_replication_strings_are_refused() -> None:
    async def scenario() -> None:
        core, _, _, _ = make_core(four_servers())
        await core.start()
        for text in ("abc", "300", "1234"):
            with pytest.raises(InvalidReplication, match=f"unexpected replication type: {text}"):
                await core.assign(AssignRequest(replication=text))
        await core.stop()

    asyncio.run(scenario())


def test_writable_volume_count_and_data_center_preference() -> None:
    async def scenario() -> None:
        core, admin, _, _ = make_core(four_servers())
        await core.start()
        await heartbeat_all(core, admin)
        result = await core.assign(AssignRequest(writable_volume_count=2, data_center="dc2"))
        assert len(allocations(admin.calls)) == 2
        assert result.replicas[0].data_center == "dc2"
        for _ in range(10):
            assert (await core.assign(AssignRequest(data_center="dc2"))).replicas[0].data_center == "dc2"
        with pytest.raises(NoWritableVolume):
            await core.assign(AssignRequest(data_center="nowhere"))
        await core.stop()

    asyncio.run(scenario())


def test_full_and_read_only_volumes_are_not_assigned() -> None:
    async def scenario() -> None:
        server = FakeServer("10.0.0.1", 8080)
        core, admin, _, _ = make_core([server], volume_size_limit_mb=1)
        await core.start()
        await heartbeat_all(core, admin)
        await core.assign(AssignRequest(writable_volume_count=2))
        vids = sorted(server.volumes)
        server.volumes[vids[0]].size = 1 << 20  # full
        server.volumes[vids[1]].read_only = True
        await heartbeat_all(core, admin)
        # Both unwritable: this assign grows into the 6 free slots and uses a new volume.
        result = await core.assign(AssignRequest())
        assert len(allocations(admin.calls)) == 8
        assert FileId.parse(result.fid).volume_id not in vids
        await core.stop()

    asyncio.run(scenario())


def test_growth_slower_than_the_wait_answers_503_then_serves_once_done() -> None:
    async def scenario() -> None:
        core, admin, _, _ = make_core(four_servers(), assign_growth_wait_seconds=0.05)
        await core.start()
        await heartbeat_all(core, admin)
        gate = asyncio.Event()
        allocate = admin.allocate_volume

        async def slow_allocate(*args: object) -> None:
            await gate.wait()
            await allocate(*args)  # type: ignore[arg-type]

        admin.allocate_volume = slow_allocate  # type: ignore[method-assign]
        with pytest.raises(NoWritableVolume):
            await core.assign(AssignRequest())
        with pytest.raises(NoWritableVolume):  # joins the same growth
            await core.assign(AssignRequest())
        gate.set()
        deadline = asyncio.get_running_loop().time() + 5
        while True:
            try:
                await core.assign(AssignRequest())
                break
            except NoWritableVolume:
                assert asyncio.get_running_loop().time() < deadline
                await asyncio.sleep(0.01)
        assert len(allocations(admin.calls)) == 7  # one growth, not one per request
        await core.stop()

    asyncio.run(scenario())


def test_follower_refuses_assign_and_names_the_leader() -> None:
    async def scenario() -> None:
        core, _, event_log, _ = make_core(four_servers())
        await core.start()
        event_log.leading = False
        event_log.leader_address = "10.9.9.9:9333"
        with pytest.raises(NotLeader) as info:
            await core.assign(AssignRequest())
        assert info.value.leader == "10.9.9.9:9333"
        assert core.leader() == "10.9.9.9:9333" and not core.is_leader()
        await core.stop()

    asyncio.run(scenario())


def test_jwt_is_issued_for_the_fid_when_a_signing_key_is_set() -> None:
    async def scenario() -> None:
        core, admin, _, clock = make_core(four_servers(), jwt_signing_key=WRITE_KEY, jwt_read_key=READ_KEY)
        await core.start()
        await heartbeat_all(core, admin)
        result = await core.assign(AssignRequest(count=3))
        claims = jwt.decode(result.auth, WRITE_KEY, algorithms=["HS256"], options={"verify_exp": False})
        assert claims == {"fid": result.fid, "exp": int(clock.now) + 10}
        read = core.lookup_token(result.fid + "_2", read=True)
        claims = jwt.decode(read, READ_KEY, algorithms=["HS256"], options={"verify_exp": False})
        assert claims == {"fid": result.fid, "exp": int(clock.now) + 60}
        await core.stop()

    asyncio.run(scenario())


def test_reserved_ids_and_keys_are_on_the_log() -> None:
    async def scenario() -> None:
        core, admin, event_log, _ = make_core(four_servers())
        await core.start()
        await heartbeat_all(core, admin)
        await core.assign(AssignRequest())
        kinds = [e.WhichOneof("kind") for batch in event_log.entries for e in batch.events]
        assert kinds.index("max_volume_id_advanced") < kinds.index("volume_added")
        assert "sequence_reserved" in kinds
        assert all(isinstance(b, events_pb2.EventBatch) for b in event_log.entries)
        await core.stop()

    asyncio.run(scenario())


def test_disk_type_assigns_grow_only_on_servers_of_that_type() -> None:
    async def scenario() -> None:
        servers = four_servers()
        servers[2].disk_type = "ssd"
        core, admin, event_log, _ = make_core(servers)
        await core.start()
        await heartbeat_all(core, admin)
        assert event_log.state.nodes[servers[2].node_id].disk_type == "ssd"
        ssd = await core.assign(AssignRequest(disk="ssd"))
        assert {node for node, _ in allocations(admin.calls)} == {servers[2].node_id}
        assert ssd.url == servers[2].node_id
        hdd = await core.assign(AssignRequest(disk="hdd"))
        assert hdd.url != servers[2].node_id
        await core.stop()

    asyncio.run(scenario())


def test_growth_before_known_servers_report_is_503_warming_up() -> None:
    # A restarted or new leader knows the servers from the log but not their free slots until
    # they heartbeat: that is a retryable 503, not "no free volumes".
    async def scenario() -> None:
        core, admin, event_log, clock = make_core(four_servers())
        await core.start()
        await heartbeat_all(core, admin)
        await core.stop()
        again = MasterCore(MasterConfig(port=9333), admin, clock=clock, rng=random.Random(3), log=event_log)
        await again.start()
        with pytest.raises(WarmingUp):
            await again.assign(AssignRequest(collection="fresh"))
        await heartbeat_all(again, admin)
        assert (await again.assign(AssignRequest(collection="fresh"))).fid
        await again.stop()

    asyncio.run(scenario())
