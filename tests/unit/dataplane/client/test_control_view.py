"""LocationView folds control events into the same locations as the master's own fold
(MasterState), reports exact (node, volume) deltas, refuses gaps and duplicates, and a snapshot
replaces the view with deltas that carry the old view to the new one."""

from __future__ import annotations

import random

import pytest
from kelp_pb import events_pb2

from controlplane.master.state import MasterState
from dataplane.client.control_view import (
    EventOutOfOrder,
    LocationView,
    NodeDelta,
    NodeInfo,
    SnapshotVersionUnknown,
)

NODES = [f"10.0.0.{i}:8080" for i in range(1, 5)]
COLLECTIONS = ["", "pics", "logs"]
VOLUME_IDS = range(1, 9)


def joined(node: str, rack: str = "r1", public: str = "") -> events_pb2.Event:
    return events_pb2.Event(
        node_joined=events_pb2.NodeJoined(
            node_id=node, public_url=public or node, grpc_port=18080, data_center="dc1", rack=rack
        )
    )


def left(node: str) -> events_pb2.Event:
    return events_pb2.Event(node_left=events_pb2.NodeLeft(node_id=node))


def added(vid: int, node: str, collection: str = "", placement: int = 0) -> events_pb2.Event:
    return events_pb2.Event(
        volume_added=events_pb2.VolumeAdded(
            volume_id=vid, node_id=node, collection=collection, replica_placement=placement, version=3
        )
    )


def removed(vid: int, node: str) -> events_pb2.Event:
    return events_pb2.Event(volume_removed=events_pb2.VolumeRemoved(volume_id=vid, node_id=node))


def random_event(rng: random.Random) -> events_pb2.Event:
    node = rng.choice(NODES)
    roll = rng.random()
    if roll < 0.15:
        return joined(node, rack=rng.choice(["r1", "r2"]), public=rng.choice(["", "pub-" + node]))
    if roll < 0.25:
        return left(node)
    if roll < 0.6:
        return added(rng.choice(VOLUME_IDS), node, rng.choice(COLLECTIONS), rng.choice([0, 1, 10]))
    if roll < 0.75:
        return removed(rng.choice(VOLUME_IDS), node)
    if roll < 0.8:
        return events_pb2.Event(collection_deleted=events_pb2.CollectionDeleted(name=rng.choice(COLLECTIONS)))
    if roll < 0.9:
        return events_pb2.Event(
            volume_state_changed=events_pb2.VolumeStateChanged(
                volume_id=rng.choice(VOLUME_IDS), node_id=node, read_only=True
            )
        )
    return events_pb2.Event(sequence_reserved=events_pb2.SequenceReserved(count=100))


def master_locations(state: MasterState, vid: int) -> list[NodeInfo]:
    """What the master's lookup answers (core.lookup): replicas on live nodes, in order."""
    volume = state.volumes.get(vid)
    if volume is None:
        return []
    out = []
    for node_id in volume.replicas:
        n = state.nodes.get(node_id)
        if n is not None and n.alive:
            out.append(NodeInfo(n.node_id, n.public_url, n.grpc_port, n.data_center, n.rack))
    return out


def pairs_of(view: LocationView) -> set[tuple[NodeInfo, int]]:
    return {(info, vid) for info, vids in view.nodes() for vid in vids}


def apply_deltas(pairs: set[tuple[NodeInfo, int]], deltas: list[NodeDelta]) -> None:
    for d in deltas:
        for vid in d.removed:
            assert (d.node, vid) in pairs, f"removed a pair that was not there: {d}"
            pairs.discard((d.node, vid))
        for vid in d.added:
            assert (d.node, vid) not in pairs, f"added a pair already there: {d}"
            pairs.add((d.node, vid))


@pytest.mark.parametrize("seed", range(20))
def test_random_sequence_matches_master_fold_and_deltas_are_exact(seed: int) -> None:
    rng = random.Random(seed)
    state, view = MasterState(), LocationView()
    pairs: set[tuple[NodeInfo, int]] = set()
    for index in range(1, 301):
        event = random_event(rng)
        state.apply(event)
        apply_deltas(pairs, view.apply_event(index, event))
        assert view.index == state.event_index == index
        assert pairs == pairs_of(view)
        for vid in VOLUME_IDS:
            assert view.locations(vid) == master_locations(state, vid), (index, vid)
            volume = state.volumes.get(vid)
            info = view.volume(vid)
            assert (info is None) == (volume is None)
            if volume is not None and info is not None:
                assert (info.collection, info.replica_placement) == (
                    volume.collection,
                    volume.replica_placement,
                )
    live = sorted(n.node_id for n in state.live_nodes())
    assert [info.url for info, _ in view.nodes()] == live


@pytest.mark.parametrize("seed", range(10))
def test_snapshot_replaces_the_view_with_exact_deltas(seed: int) -> None:
    rng = random.Random(1000 + seed)
    state, view = MasterState(), LocationView()
    pairs: set[tuple[NodeInfo, int]] = set()
    for index in range(1, 101):
        event = random_event(rng)
        state.apply(event)
        apply_deltas(pairs, view.apply_event(index, event))
    # The master moves on; the subscriber catches up from a snapshot instead of the events.
    for _ in range(100):
        state.apply(random_event(rng))
    snapshot = events_pb2.StateSnapshot.FromString(state.to_bytes())
    apply_deltas(pairs, view.load_snapshot(snapshot))
    # A snapshot lists replicas by node id, so compare with a master restored from it (a
    # follower that installed the snapshot answers lookups in that order too).
    state = MasterState.from_snapshot(snapshot)
    assert view.index == 200
    assert pairs == pairs_of(view)
    for vid in VOLUME_IDS:
        assert view.locations(vid) == master_locations(state, vid)
    # ... and continues with the events after it.
    event = random_event(rng)
    state.apply(event)
    apply_deltas(pairs, view.apply_event(201, event))
    for vid in VOLUME_IDS:
        assert view.locations(vid) == master_locations(state, vid)


def test_gap_and_duplicate_are_refused_and_leave_the_view_unchanged() -> None:
    view = LocationView()
    view.apply_event(1, joined(NODES[0]))
    view.apply_event(2, added(7, NODES[0]))
    with pytest.raises(EventOutOfOrder) as gap:
        view.apply_event(4, removed(7, NODES[0]))
    assert (gap.value.expected, gap.value.got) == (3, 4)
    with pytest.raises(EventOutOfOrder):
        view.apply_event(2, removed(7, NODES[0]))
    assert view.index == 2
    assert [n.url for n in view.locations(7)] == [NODES[0]]


def test_node_left_drops_replicas_and_rejoin_revives_later_ones() -> None:
    view = LocationView()
    a, b = NODES[0], NODES[1]
    for i, event in enumerate([joined(a), joined(b), added(1, a), added(1, b), added(2, a)], 1):
        view.apply_event(i, event)
    deltas = view.apply_event(6, left(a))
    assert deltas == [NodeDelta(NodeInfo(a, a, 18080, "dc1", "r1"), (), (1, 2))]
    assert [n.url for n in view.locations(1)] == [b]
    assert view.locations(2) == [] and view.volume(2) is None
    # A replica reported for a dead node is held but not live until the node joins again.
    assert view.apply_event(7, added(3, a)) == []
    assert view.locations(3) == []
    deltas = view.apply_event(8, joined(a, rack="r9"))
    assert deltas == [NodeDelta(NodeInfo(a, a, 18080, "dc1", "r9"), (3,), ())]


def test_changed_node_info_is_reported_as_old_pairs_going_and_new_ones_coming() -> None:
    view = LocationView()
    a = NODES[0]
    view.apply_event(1, joined(a))
    view.apply_event(2, added(5, a, "pics"))
    old, new = NodeInfo(a, a, 18080, "dc1", "r1"), NodeInfo(a, "pub", 18080, "dc1", "r1")
    assert view.apply_event(3, joined(a, public="pub")) == [
        NodeDelta(old, (), (5,)),
        NodeDelta(new, (5,), ()),
    ]
    # Deleting the collection removes the volume everywhere; other kinds only advance the index.
    assert view.apply_event(
        4, events_pb2.Event(collection_deleted=events_pb2.CollectionDeleted(name="pics"))
    ) == [NodeDelta(new, (), (5,))]
    assert (
        view.apply_event(5, events_pb2.Event(topology_id_set=events_pb2.TopologyIdSet(topology_id="x"))) == []
    )
    assert view.index == 5 and view.nodes() == [(new, ())]


def test_unknown_snapshot_version_is_refused() -> None:
    with pytest.raises(SnapshotVersionUnknown):
        LocationView().load_snapshot(events_pb2.StateSnapshot(version=2))
