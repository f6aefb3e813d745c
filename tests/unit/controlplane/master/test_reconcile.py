"""A heartbeat inventory diffed against the state yields exactly the changes of fact."""

from __future__ import annotations

from kelp_pb import events_pb2, master_pb2

from controlplane.master.reconcile import reconcile
from controlplane.master.state import MasterState

LIMIT = 1000


def hb(
    *volumes: master_pb2.VolumeReport, rack: str = "r1", max_volumes: int = 8
) -> master_pb2.HeartbeatRequest:
    return master_pb2.HeartbeatRequest(
        ip="10.0.0.1",
        port=8080,
        public_url="pub:80",
        grpc_port=18080,
        data_center="dc1",
        rack=rack,
        max_volume_count=max_volumes,
        volumes=list(volumes),
    )


def vol(vid: int, size: int = 100, read_only: bool = False, collection: str = "") -> master_pb2.VolumeReport:
    return master_pb2.VolumeReport(id=vid, collection=collection, version=3, size=size, read_only=read_only)


def kinds(events: list[events_pb2.Event]) -> list[str]:
    return [str(e.WhichOneof("kind")) for e in events]


def diff_and_apply(
    state: MasterState, beat: master_pb2.HeartbeatRequest, **kw: object
) -> list[events_pb2.Event]:
    events = reconcile(state, beat, time_ns=5, volume_size_limit=LIMIT, **kw)  # type: ignore[arg-type]
    state.apply_all(events)
    return events


def test_first_heartbeat_joins_the_node_with_its_inventory() -> None:
    s = MasterState()
    events = diff_and_apply(s, hb(vol(1), vol(4, size=LIMIT)))
    assert kinds(events) == [
        "node_joined",
        "volume_added",
        "volume_added",
        "volume_state_changed",
        "max_volume_id_advanced",
    ]
    node = s.nodes["10.0.0.1:8080"]
    assert (node.public_url, node.grpc_port, node.data_center, node.rack) == ("pub:80", 18080, "dc1", "r1")
    assert s.volumes[4].replicas["10.0.0.1:8080"].full
    assert s.max_volume_id == 4


def test_unchanged_inventory_yields_nothing() -> None:
    s = MasterState()
    diff_and_apply(s, hb(vol(1), vol(2)))
    assert diff_and_apply(s, hb(vol(1, size=500), vol(2))) == []  # a size change is soft state


def test_changes_of_fact_become_events() -> None:
    s = MasterState()
    diff_and_apply(s, hb(vol(1), vol(2), vol(3)))
    events = diff_and_apply(s, hb(vol(1, read_only=True), vol(2, size=LIMIT), vol(5), rack="r7"))
    assert sorted(kinds(events)) == sorted(
        [
            "node_joined",  # moved rack
            "volume_state_changed",
            "volume_state_changed",  # 1 read-only, 2 full
            "volume_added",  # 5
            "volume_removed",  # 3
            "max_volume_id_advanced",
        ]
    )
    assert s.nodes["10.0.0.1:8080"].rack == "r7"
    assert 3 not in s.volumes and 5 in s.volumes
    assert s.volumes[1].replicas["10.0.0.1:8080"].read_only


def test_volume_shrinking_below_the_limit_is_no_longer_full() -> None:
    s = MasterState()
    diff_and_apply(s, hb(vol(1, size=LIMIT)))
    events = diff_and_apply(s, hb(vol(1, size=10)))  # vacuumed
    assert kinds(events) == ["volume_state_changed"]
    assert not s.volumes[1].replicas["10.0.0.1:8080"].full


def test_rejoining_dead_node_re_adds_everything() -> None:
    s = MasterState()
    diff_and_apply(s, hb(vol(1), vol(2)))
    s.apply(events_pb2.Event(node_left=events_pb2.NodeLeft(node_id="10.0.0.1:8080", time_ns=3)))
    events = diff_and_apply(s, hb(vol(1), vol(2)))
    assert kinds(events) == ["node_joined", "volume_added", "volume_added"]
    assert s.nodes["10.0.0.1:8080"].alive and set(s.volumes) == {1, 2}


def test_freshly_grown_volume_missing_from_an_older_inventory_is_kept() -> None:
    s = MasterState()
    diff_and_apply(s, hb(vol(1), vol(9)))
    assert diff_and_apply(s, hb(vol(1)), fresh={9}) == []
    assert 9 in s.volumes


def test_defaults_for_unnamed_data_center_and_rack() -> None:
    s = MasterState()
    beat = master_pb2.HeartbeatRequest(ip="10.0.0.2", port=8081, max_volume_count=3)
    diff_and_apply(s, beat)
    node = s.nodes["10.0.0.2:8081"]
    assert (node.data_center, node.rack, node.public_url, node.grpc_port) == (
        "DefaultDataCenter",
        "DefaultRack",
        "10.0.0.2:8081",
        18081,
    )
