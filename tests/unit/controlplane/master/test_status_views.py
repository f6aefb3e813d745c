"""The JSON views have SeaweedFS's shapes: /dir/status, /vol/status, /cluster/status,
/collection/info; and lookups answer from the replicated state."""

from __future__ import annotations

import asyncio

import pytest

from controlplane.master.core import AssignRequest, CollectionNotFound, VolumeNotFound
from controlplane.master.status import compress_ids
from tests.unit.controlplane.master.fakes import four_servers, heartbeat_all, make_core


def test_volume_ids_are_range_compressed_with_a_leading_space() -> None:
    assert compress_ids([1, 2, 3, 5, 7, 8, 9, 10, 11, 12, 13, 17, 18, 20, 22, 23, 27, 28, 29]) == (
        " 1-3 5 7-13 17-18 20 22-23 27-29"
    )
    assert compress_ids([4]) == " 4"
    assert compress_ids([]) == ""


def test_dir_status_shape() -> None:
    async def scenario() -> None:
        core, admin, _, _ = make_core(four_servers())
        await core.start()
        await heartbeat_all(core, admin)
        await core.run_once()  # names the cluster
        await core.assign(AssignRequest(ttl="5m"))
        status = core.dir_status()
        assert set(status) == {"Topology", "TopologyId", "Version"}
        assert len(status["TopologyId"]) == 36
        topo = status["Topology"]
        assert (topo["Max"], topo["Free"]) == (32, 25)
        assert [dc["Id"] for dc in topo["DataCenters"]] == ["dc1", "dc2"]
        rack = topo["DataCenters"][0]["Racks"][0]
        assert rack["Id"] == "r1"
        node = rack["DataNodes"][0]
        assert list(node) == ["Url", "PublicUrl", "Volumes", "EcShards", "Max", "VolumeIds"]
        assert node["VolumeIds"] == "" or node["VolumeIds"].startswith(" ")
        (layout,) = topo["Layouts"]
        assert layout == {
            "replication": "000",
            "ttl": "5m",
            "writables": layout["writables"],
            "collection": "",
            "diskType": "hdd",
        }
        assert sorted(layout["writables"]) == list(range(1, 8))
        await core.stop()

    asyncio.run(scenario())


def test_vol_status_shape() -> None:
    async def scenario() -> None:
        core, admin, _, _ = make_core(four_servers())
        await core.start()
        await heartbeat_all(core, admin)
        await core.assign(AssignRequest(replication="001", collection="c1"))
        await heartbeat_all(core, admin)
        status = core.vol_status()
        volumes = status["Volumes"]
        assert (volumes["Max"], volumes["Free"]) == (32, 20)
        infos = volumes["DataCenters"]["dc1"]["r1"]["10.0.0.1:8080"]
        assert len(infos) == 6
        info = infos[0]
        assert info["Collection"] == "c1" and info["ReplicaPlacement"] == {"node": 1}
        assert info["Ttl"] == {"Count": 0, "Unit": 0} and info["Size"] == 8 and info["Version"] == 3
        assert set(info) == {
            "Collection",
            "DiskType",
            "RemoteStorageName",
            "ReplicaPlacement",
            "Ttl",
            "Size",
            "DeletedByteCount",
            "ModifiedAtSecond",
            "Id",
            "DiskId",
            "CompactRevision",
            "FileCount",
            "DeleteCount",
            "Version",
            "ReadOnly",
            "ReadOnlyCanDelete",
        }
        await core.stop()

    asyncio.run(scenario())


def test_cluster_status_of_a_lone_leader_and_of_a_follower() -> None:
    async def scenario() -> None:
        core, admin, event_log, _ = make_core(four_servers())
        await core.start()
        weed_keys = {"IsLeader", "Leader", "Peers", "MaxVolumeId"}
        lone = {k: v for k, v in core.cluster_status().items() if k in weed_keys}
        assert lone == {"IsLeader": True, "Leader": "127.0.0.1:9333.19333"}
        kelp = core.cluster_status()  # kelp's keys are added next to SeaweedFS's
        assert kelp["EventIndex"] == 0 and len(kelp["StateDigest"]) == 64
        assert kelp["Members"][0]["Role"] == "leader" and kelp["Term"] == 1
        await heartbeat_all(core, admin)
        await core.assign(AssignRequest())
        assert core.cluster_status()["MaxVolumeId"] == 7
        event_log.leading = False
        event_log.leader_address = "127.0.0.1:9334"
        status = core.cluster_status()
        assert "IsLeader" not in status and status["Leader"] == "127.0.0.1:9334.19334"
        await core.stop()

    asyncio.run(scenario())


def test_collection_info_and_unknown_collection() -> None:
    async def scenario() -> None:
        core, admin, _, _ = make_core(four_servers(), volume_size_limit_mb=1)
        await core.start()
        await heartbeat_all(core, admin)
        await core.assign(AssignRequest(collection="c1", writable_volume_count=2))
        await heartbeat_all(core, admin)
        info = core.collection_info("c1")
        assert info == {
            "Collection": "c1",
            "FileCount": 0,
            "TotalSize": 2 << 20,
            "UsedSize": 16,
            "Version": info["Version"],
            "VolumeCount": 2,  # type: ignore[call-overload]
        }
        detail = core.collection_info("c1", detail=True)
        assert isinstance(detail, list) and detail[0]["Replication"] == "000"
        with pytest.raises(CollectionNotFound, match="collection nope does not exist"):
            core.collection_info("nope")
        await core.stop()

    asyncio.run(scenario())


def test_lookup_lists_live_replicas_and_refuses_unknown_volumes() -> None:
    async def scenario() -> None:
        core, admin, _, _ = make_core(four_servers())
        await core.start()
        await heartbeat_all(core, admin)
        result = await core.assign(AssignRequest(replication="100"))
        vid = int(result.fid.split(",")[0])
        locations = core.lookup(vid)
        assert sorted(loc.data_center for loc in locations) == ["dc1", "dc2"]
        assert locations[0].grpc_port == 18080
        await core.node_disconnected(locations[1].url)
        assert [loc.url for loc in core.lookup(vid)] == [locations[0].url]
        with pytest.raises(VolumeNotFound, match="volume id 999 not found"):
            core.lookup(999)
        await core.stop()

    asyncio.run(scenario())
