"""MasterState folds events deterministically, and a snapshot rebuilds an equal state."""

from __future__ import annotations

import pytest
from kelp_pb import events_pb2

from controlplane.master.state import MasterState, SnapshotVersionUnknown


def joined(
    node: str, dc: str = "dc1", rack: str = "r1", max_volumes: int = 8, t: int = 1
) -> events_pb2.Event:
    return events_pb2.Event(
        node_joined=events_pb2.NodeJoined(
            node_id=node,
            public_url=node,
            grpc_port=18080,
            data_center=dc,
            rack=rack,
            max_volume_count=max_volumes,
            time_ns=t,
        )
    )


def added(
    vid: int, node: str, collection: str = "", rp: int = 0, read_only: bool = False
) -> events_pb2.Event:
    return events_pb2.Event(
        volume_added=events_pb2.VolumeAdded(
            volume_id=vid,
            node_id=node,
            collection=collection,
            replica_placement=rp,
            ttl=0x0501,
            version=3,
            read_only=read_only,
        )
    )


def left(node: str, t: int = 9) -> events_pb2.Event:
    return events_pb2.Event(node_left=events_pb2.NodeLeft(node_id=node, time_ns=t))


def test_nodes_join_leave_and_rejoin() -> None:
    s = MasterState()
    s.apply_all([joined("a:1"), joined("b:1", rack="r2"), added(1, "a:1"), added(1, "b:1", rp=1)])
    assert s.nodes["b:1"].rack == "r2"
    assert set(s.volumes[1].replicas) == {"a:1", "b:1"}

    s.apply(left("a:1"))
    assert not s.nodes["a:1"].alive and s.nodes["a:1"].left_ns == 9
    assert set(s.volumes[1].replicas) == {"b:1"}  # a dead node holds no replicas

    s.apply(joined("a:1", max_volumes=20, t=11))
    assert s.nodes["a:1"].alive and s.nodes["a:1"].max_volume_count == 20 and s.nodes["a:1"].left_ns == 0


def test_volume_disappears_with_its_last_replica_and_collections_follow_volumes() -> None:
    s = MasterState()
    s.apply_all([joined("a:1"), added(1, "a:1", "pics"), added(2, "a:1", "docs")])
    assert s.collections() == {"pics", "docs"}
    s.apply(events_pb2.Event(volume_removed=events_pb2.VolumeRemoved(volume_id=1, node_id="a:1")))
    assert 1 not in s.volumes
    assert s.collections() == {"docs"}
    s.apply(events_pb2.Event(collection_deleted=events_pb2.CollectionDeleted(name="docs")))
    assert s.volumes == {} and s.collections() == set()
    assert s.max_volume_id == 2  # ids are never reused


def test_state_changes_set_flags_of_one_replica() -> None:
    s = MasterState()
    s.apply_all([joined("a:1"), joined("b:1"), added(3, "a:1"), added(3, "b:1")])
    s.apply(
        events_pb2.Event(
            volume_state_changed=events_pb2.VolumeStateChanged(
                volume_id=3, node_id="b:1", read_only=True, full=True
            )
        )
    )
    assert (s.volumes[3].replicas["b:1"].read_only, s.volumes[3].replicas["b:1"].full) == (True, True)
    assert (s.volumes[3].replicas["a:1"].read_only, s.volumes[3].replicas["a:1"].full) == (False, False)
    # A change for a replica the state does not have is ignored, not invented.
    s.apply(events_pb2.Event(volume_state_changed=events_pb2.VolumeStateChanged(volume_id=3, node_id="c:1")))
    assert "c:1" not in s.volumes[3].replicas


def test_relative_reservations_are_disjoint_and_return_their_start() -> None:
    s = MasterState()
    r1 = s.apply(events_pb2.Event(sequence_reserved=events_pb2.SequenceReserved(count=100)))
    r2 = s.apply(events_pb2.Event(sequence_reserved=events_pb2.SequenceReserved(count=50, at_least=1000)))
    r3 = s.apply(events_pb2.Event(sequence_reserved=events_pb2.SequenceReserved(count=10)))
    assert (r1, r2, r3) == (1, 1000, 1050)
    # The absolute form (snapshots) only raises the ceiling.
    assert s.apply(events_pb2.Event(sequence_reserved=events_pb2.SequenceReserved(up_to=5))) is None
    assert s.sequence_ceiling == 1060

    v1 = s.apply(events_pb2.Event(max_volume_id_advanced=events_pb2.MaxVolumeIdAdvanced(count=7)))
    s.apply(events_pb2.Event(max_volume_id_advanced=events_pb2.MaxVolumeIdAdvanced(max_volume_id=3)))
    v2 = s.apply(events_pb2.Event(max_volume_id_advanced=events_pb2.MaxVolumeIdAdvanced(count=2)))
    assert (v1, v2, s.max_volume_id) == (1, 8, 9)


def test_topology_id_is_set_once() -> None:
    s = MasterState()
    s.apply(events_pb2.Event(topology_id_set=events_pb2.TopologyIdSet(topology_id="first")))
    s.apply(events_pb2.Event(topology_id_set=events_pb2.TopologyIdSet(topology_id="second")))
    assert s.topology_id == "first"


def _busy_state() -> MasterState:
    s = MasterState()
    s.apply_all(
        [
            joined("a:1"),
            joined("b:1", dc="dc2"),
            joined("c:1", rack="r9"),
            added(1, "a:1", "pics", rp=100),
            added(1, "b:1", "pics", rp=100),
            added(2, "c:1", read_only=True),
            events_pb2.Event(
                volume_state_changed=events_pb2.VolumeStateChanged(volume_id=1, node_id="b:1", full=True)
            ),
            left("c:1"),
            added(5, "a:1"),
            events_pb2.Event(sequence_reserved=events_pb2.SequenceReserved(count=10_000)),
            events_pb2.Event(max_volume_id_advanced=events_pb2.MaxVolumeIdAdvanced(max_volume_id=40)),
            events_pb2.Event(topology_id_set=events_pb2.TopologyIdSet(topology_id="t-1")),
        ]
    )
    return s


def test_snapshot_round_trip_gives_an_equal_state_and_identical_bytes() -> None:
    s = _busy_state()
    data = s.to_bytes()
    restored = MasterState.from_bytes(data)
    assert restored == s
    assert restored.to_bytes() == data
    assert not restored.nodes["c:1"].alive
    assert restored.volumes[1].replicas["b:1"].full
    assert (restored.sequence_ceiling, restored.max_volume_id, restored.topology_id) == (10_001, 40, "t-1")


def test_folding_the_same_events_twice_gives_equal_states() -> None:
    assert _busy_state() == _busy_state()
    assert _busy_state() != MasterState()


def test_unknown_snapshot_version_is_refused() -> None:
    data = events_pb2.StateSnapshot(version=99).SerializeToString()
    with pytest.raises(SnapshotVersionUnknown):
        MasterState.from_bytes(data)
