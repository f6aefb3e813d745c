"""The VolumeList tree (weed shell volume.list / cluster.status): DC -> rack -> data node -> disks
keyed by disk type, ids as the real master names them, counters summed per level, volume infos with
facts from the state and sizes from heartbeats; collections with the default one as ""."""

from __future__ import annotations

import asyncio

from kelp_pb import master_pb2

from controlplane.master import weed_topology
from controlplane.master.core import MasterCore
from tests.unit.controlplane.master.fakes import FakeServer, make_core


def report(vid: int, collection: str = "", size: int = 0, read_only: bool = False) -> master_pb2.VolumeReport:
    return master_pb2.VolumeReport(
        id=vid,
        collection=collection,
        replica_placement=1,
        ttl=0,
        version=3,
        size=size,
        file_count=size // 100,
        delete_count=1,
        deleted_byte_count=10,
        read_only=read_only,
        modified_at_second=1_700_000_000,
    )


def servers() -> list[FakeServer]:
    a = FakeServer("10.0.0.1", 8080, "", "", max_volume_count=5)  # no DC/rack: the defaults
    b = FakeServer("10.0.0.2", 8080, "dc2", "r9", max_volume_count=3, disk_type="ssd")
    a.volumes = {1: report(1, size=1000), 2: report(2, "pics", size=500, read_only=True)}
    b.volumes = {3: report(3, size=900)}
    b.volumes[3].disk_type = "ssd"
    return [a, b]


def topology_of(fleet: list[FakeServer]) -> MasterCore:
    core, admin, _, _ = make_core(fleet)

    async def beat() -> None:
        for server in admin.servers.values():
            await core.heartbeat(server.heartbeat())

    asyncio.run(beat())
    return core


def test_the_tree_uses_the_real_masters_ids_and_lists_every_replica() -> None:
    core = topology_of(servers())
    reply = core.read_view(lambda s, t: weed_topology.volume_list(s, t, 30 * 1024))
    topo = reply.topology_info
    assert reply.volume_size_limit_mb == 30 * 1024
    assert topo.id == "topo"
    assert [dc.id for dc in topo.data_center_infos] == ["DefaultDataCenter", "dc2"]
    default_dc, dc2 = topo.data_center_infos
    assert [r.id for r in default_dc.rack_infos] == ["DefaultRack"]
    node = default_dc.rack_infos[0].data_node_infos[0]
    assert (node.id, node.address, node.grpc_port) == ("10.0.0.1:8080", "10.0.0.1:8080", 18080)
    hdd = node.diskInfos[""]
    assert [v.id for v in hdd.volume_infos] == [1, 2]
    v1, v2 = hdd.volume_infos
    assert (v1.size, v1.file_count, v1.delete_count, v1.deleted_byte_count) == (1000, 10, 1, 10)
    assert (v1.replica_placement, v1.version, v1.modified_at_second) == (1, 3, 1_700_000_000)
    assert (v2.collection, v2.read_only) == ("pics", True)
    assert (hdd.volume_count, hdd.max_volume_count, hdd.free_volume_count, hdd.active_volume_count) == (
        2,
        5,
        3,
        1,
    )
    ssd_node = dc2.rack_infos[0].data_node_infos[0]
    assert set(ssd_node.diskInfos) == {"ssd"}
    assert [(v.id, v.size) for v in ssd_node.diskInfos["ssd"].volume_infos] == [(3, 900)]


def test_counters_are_summed_at_every_level_by_disk_type() -> None:
    core = topology_of(servers())
    topo = core.read_view(lambda s, t: weed_topology.topology_info(s, t))
    assert set(topo.diskInfos) == {"", "ssd"}
    assert (topo.diskInfos[""].volume_count, topo.diskInfos[""].max_volume_count) == (2, 5)
    assert (topo.diskInfos["ssd"].volume_count, topo.diskInfos["ssd"].free_volume_count) == (1, 2)
    rack = topo.data_center_infos[0].rack_infos[0]
    assert rack.diskInfos[""].max_volume_count == 5
    assert not topo.diskInfos[""].volume_infos  # volumes only under data nodes


def test_collections_list_the_default_collection_as_an_empty_name() -> None:
    core = topology_of(servers())
    assert core.read_view(lambda s, t: weed_topology.collection_names(s)) == ["", "pics"]


def test_an_empty_cluster_is_a_bare_topology() -> None:
    core = topology_of([])
    topo = core.read_view(lambda s, t: weed_topology.topology_info(s, t))
    assert (topo.id, list(topo.data_center_infos), dict(topo.diskInfos)) == ("topo", [], {})


def test_the_stream_form_is_a_bare_tree_then_batches_of_one_disk() -> None:
    core = topology_of(servers())
    listing = core.read_view(lambda s, t: weed_topology.volume_list(s, t, 100))
    messages = list(weed_topology.stream_messages(listing, batch=1))
    header = messages[0].header
    assert header.volume_size_limit_mb == 100
    assert header.topology_info.diskInfos[""].volume_count == 2  # counters stay in the header
    node = header.topology_info.data_center_infos[0].rack_infos[0].data_node_infos[0]
    assert not node.diskInfos[""].volume_infos
    batches = [
        (m.data_center, m.rack, m.data_node, m.disk_type, [v.id for v in m.volume_infos])
        for m in messages[1:]
    ]
    assert batches == [
        ("DefaultDataCenter", "DefaultRack", "10.0.0.1:8080", "", [1]),
        ("DefaultDataCenter", "DefaultRack", "10.0.0.1:8080", "", [2]),
        ("dc2", "r9", "10.0.0.2:8080", "ssd", [3]),
    ]
    assert (
        listing.topology_info.data_center_infos[0].rack_infos[0].data_node_infos[0].diskInfos[""].volume_infos
    )
