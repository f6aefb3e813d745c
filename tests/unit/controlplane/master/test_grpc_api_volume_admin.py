"""GrpcVolumeAdmin (the master's client of kelp.v1.VolumeAdmin): every call reaches the server with
its fields encoded, one channel per server is reused, and a failed call is VolumeServerFailed."""

from __future__ import annotations

import pytest

from controlplane.master.core import Location, VolumeServerFailed
from controlplane.master.volume_admin_client import GrpcVolumeAdmin
from dataplane.volume.engine.types import ReplicaPlacement, Ttl
from tests.unit.controlplane.master.test_http_api_support import FakeVolumeNode, fake_nodes, run


def test_calls_reach_the_server_over_one_channel() -> None:
    node = FakeVolumeNode(24501)

    async def scenario() -> None:
        admin = GrpcVolumeAdmin()
        async with fake_nodes(node):
            loc = Location(node.node_id, node.node_id, node.grpc_port)
            await admin.allocate_volume(
                loc, 7, "pics", ReplicaPlacement.parse("001"), Ttl.parse("3d"), "ssd", 1024
            )
            assert await admin.vacuum_check(loc, 7) == 0.0
            assert await admin.vacuum(loc, 7) == 0
            await admin.delete_volume(loc, 7)
            await admin.delete_collection(loc, "pics")
            assert len(admin._channels) == 1
            await admin.close()

    run(scenario())
    (req,) = node.allocations
    assert (req.volume_id, req.collection, req.replica_placement, req.disk_type, req.preallocate) == (
        7,
        "pics",
        1,
        "ssd",
        1024,
    )
    assert Ttl.from_u16(req.ttl) == Ttl.parse("3d")
    assert node.volumes == {}


def test_an_unreachable_server_is_volume_server_failed() -> None:
    async def scenario() -> None:
        admin = GrpcVolumeAdmin()
        loc = Location("127.0.0.1:24998", "127.0.0.1:24998", 24999)
        with pytest.raises(VolumeServerFailed) as info:
            await admin.delete_volume(loc, 3)
        assert (info.value.node, info.value.operation) == ("127.0.0.1:24998", "DeleteVolume")
        assert "UNAVAILABLE" in info.value.reason
        await admin.close()

    run(scenario())
