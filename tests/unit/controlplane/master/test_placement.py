"""Placement obeys the xyz replication rules and the dataCenter/rack/dataNode preferences,
and refuses, with a reason, exactly the placements the topology cannot hold."""

from __future__ import annotations

import itertools
import random

import pytest

from controlplane.master.errors import PlacementImpossible
from controlplane.master.placement import NodeSlots, place_volume, place_volumes, weighted_sample
from dataplane.volume.engine.types import ReplicaPlacement

# 4 servers, 2 data centers, 2 racks in dc1: the test cluster.
FOUR = [
    NodeSlots("10.0.0.1:8080", "dc1", "r1", 5),
    NodeSlots("10.0.0.2:8080", "dc1", "r1", 5),
    NodeSlots("10.0.0.3:8080", "dc1", "r2", 5),
    NodeSlots("10.0.0.4:8080", "dc2", "r1", 5),
]
BY_ID = {n.node_id: n for n in FOUR}


def where(node_ids: list[str], nodes: list[NodeSlots] = FOUR) -> list[tuple[str, str]]:
    by_id = {n.node_id: n for n in nodes}
    return [(by_id[i].data_center, by_id[i].rack) for i in node_ids]


def obeys(rp: ReplicaPlacement, ids: list[str], nodes: list[NodeSlots]) -> bool:
    """The replication string's meaning, checked on a result (main server first)."""
    by_id = {n.node_id: n for n in nodes}
    if len(ids) != rp.copy_count or len(set(ids)) != len(ids):
        return False
    main = by_id[ids[0]]
    others = [by_id[i] for i in ids[1:]]
    same_rack = [n for n in others if (n.data_center, n.rack) == (main.data_center, main.rack)]
    other_racks = [n for n in others if n.data_center == main.data_center and n.rack != main.rack]
    other_dcs = [n for n in others if n.data_center != main.data_center]
    return (
        len(same_rack) == rp.same_rack
        and len(other_racks) == rp.diff_rack == len({n.rack for n in other_racks})
        and len(other_dcs) == rp.diff_data_center == len({n.data_center for n in other_dcs})
    )


@pytest.mark.parametrize("text", ["000", "001", "010", "100", "110"])
def test_each_replication_on_the_four_server_cluster(text: str) -> None:
    rp = ReplicaPlacement.parse(text)
    for seed in range(50):
        ids = place_volume(FOUR, rp, random.Random(seed))
        assert obeys(rp, ids, FOUR), (text, ids)


def test_001_uses_both_servers_of_the_only_two_server_rack() -> None:
    for seed in range(20):
        ids = place_volume(FOUR, ReplicaPlacement.parse("001"), random.Random(seed))
        assert set(ids) == {"10.0.0.1:8080", "10.0.0.2:8080"}


def test_110_puts_two_racks_of_dc1_and_one_server_of_dc2() -> None:
    for seed in range(20):
        ids = place_volume(FOUR, ReplicaPlacement.parse("110"), random.Random(seed))
        assert sorted(dc for dc, _ in where(ids)) == ["dc1", "dc1", "dc2"]
        assert where(ids)[0][0] == "dc1"


def test_200_needs_three_data_centers() -> None:
    with pytest.raises(PlacementImpossible, match="data centers"):
        place_volume(FOUR, ReplicaPlacement.parse("200"), random.Random(1))
    three = [*FOUR, NodeSlots("10.0.0.5:8080", "dc3", "r1", 1)]
    ids = place_volume(three, ReplicaPlacement.parse("200"), random.Random(1))
    assert sorted(dc for dc, _ in where(ids, three)) == ["dc1", "dc2", "dc3"]


@pytest.mark.parametrize(
    ("nodes", "text"),
    [
        ([NodeSlots("a:1", "dc1", "r1", 3), NodeSlots("b:1", "dc1", "r1", 3)], "010"),  # one rack
        ([NodeSlots("a:1", "dc1", "r1", 3)], "001"),  # one server
        ([NodeSlots("a:1", "dc1", "r1", 3), NodeSlots("b:1", "dc1", "r2", 3)], "100"),  # one DC
        ([NodeSlots("a:1", "dc1", "r1", 0), NodeSlots("b:1", "dc1", "r1", 0)], "000"),  # no free slot
        ([], "000"),
    ],
)
def test_impossible_placements_raise_with_a_reason(nodes: list[NodeSlots], text: str) -> None:
    with pytest.raises(PlacementImpossible) as info:
        place_volume(nodes, ReplicaPlacement.parse(text), random.Random(0))
    assert info.value.reason


def test_full_servers_are_never_chosen() -> None:
    nodes = [
        NodeSlots("a:1", "dc1", "r1", 0),
        NodeSlots("b:1", "dc1", "r1", 2),
        NodeSlots("c:1", "dc1", "r1", 0),
    ]
    for seed in range(20):
        assert place_volume(nodes, ReplicaPlacement(), random.Random(seed)) == ["b:1"]


def test_preferences_pin_data_center_rack_and_node() -> None:
    rp = ReplicaPlacement()
    for seed in range(20):
        rng = random.Random(seed)
        assert where(place_volume(FOUR, rp, rng, data_center="dc2")) == [("dc2", "r1")]
        assert where(place_volume(FOUR, rp, rng, data_center="dc1", rack="r2")) == [("dc1", "r2")]
        assert place_volume(FOUR, rp, rng, data_node="10.0.0.2:8080") == ["10.0.0.2:8080"]
        ids = place_volume(FOUR, ReplicaPlacement.parse("100"), rng, data_node="10.0.0.4:8080")
        assert ids[0] == "10.0.0.4:8080" and where(ids)[1][0] == "dc1"
    with pytest.raises(PlacementImpossible):
        place_volume(FOUR, rp, random.Random(0), data_center="nowhere")
    with pytest.raises(PlacementImpossible):
        place_volume(FOUR, ReplicaPlacement.parse("001"), random.Random(0), data_center="dc2")
    with pytest.raises(PlacementImpossible):
        place_volume(FOUR, rp, random.Random(0), data_node="10.9.9.9:1")


def test_weighted_choice_follows_free_slots() -> None:
    nodes = [NodeSlots("big:1", "dc1", "r1", 90), NodeSlots("small:1", "dc1", "r1", 10)]
    rng = random.Random(3)
    picks = [place_volume(nodes, ReplicaPlacement(), rng)[0] for _ in range(2000)]
    share = picks.count("big:1") / len(picks)
    assert 0.85 < share < 0.95


def test_weighted_sample_draws_distinct_items() -> None:
    rng = random.Random(5)
    for _ in range(100):
        got = weighted_sample(list(range(10)), lambda i: i, 5, rng)
        assert len(set(got)) == 5 and 0 not in got  # weight 0 is never drawn


def test_place_volumes_takes_slots_as_it_goes() -> None:
    nodes = [NodeSlots("a:1", "dc1", "r1", 2), NodeSlots("b:1", "dc1", "r1", 1)]
    out = place_volumes(nodes, ReplicaPlacement.parse("001"), 5, random.Random(0))
    assert len(out) == 1  # b has one slot: only one two-copy volume fits
    out = place_volumes(nodes, ReplicaPlacement(), 5, random.Random(0))
    assert sorted(i for ids in out for i in ids) == ["a:1", "a:1", "b:1"]


def _possible(nodes: list[NodeSlots], rp: ReplicaPlacement, dc: str, rack: str) -> bool:
    """Brute-force oracle of the placement rules (SeaweedFS's main-DC condition included)."""
    free = [n for n in nodes if n.free > 0]
    dcs = {n.data_center for n in free}
    for d in dcs:
        if dc and d != dc:
            continue
        racks = {n.rack for n in free if n.data_center == d}
        racks_ok = [
            r for r in racks if sum(1 for n in free if (n.data_center, n.rack) == (d, r)) >= rp.same_rack + 1
        ]
        if len(racks_ok) < rp.diff_rack + 1:
            continue
        if rack and rack not in racks_ok:
            continue
        if len(dcs) - 1 >= rp.diff_data_center:
            return True
    return False


def test_property_random_topologies_either_obey_the_rules_or_are_impossible() -> None:
    rng = random.Random(2024)
    replications = [ReplicaPlacement(x, y, z) for x, y, z in itertools.product(range(3), range(3), range(3))]
    for _ in range(400):
        nodes = [
            NodeSlots(f"10.{d}.{r}.{i}:8080", f"dc{d}", f"r{r}", rng.choice([0, 1, 3]))
            for d in range(rng.randint(1, 3))
            for r in range(rng.randint(1, 3))
            for i in range(rng.randint(1, 3))
        ]
        rp = rng.choice(replications)
        dc = rng.choice(["", "", "dc0", "dc1"])
        rack = rng.choice(["", "", "r0"])
        try:
            ids = place_volume(nodes, rp, rng, data_center=dc, rack=rack)
        except PlacementImpossible:
            assert not _possible(nodes, rp, dc, rack), (rp, dc, rack, nodes)
            continue
        assert _possible(nodes, rp, dc, rack)
        assert obeys(rp, ids, nodes), (rp, ids, nodes)
        by_id = {n.node_id: n for n in nodes}
        assert all(by_id[i].free > 0 for i in ids)
        assert not dc or by_id[ids[0]].data_center == dc
        assert not rack or by_id[ids[0]].rack == rack
