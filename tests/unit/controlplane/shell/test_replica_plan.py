"""volume.fix.replication's plan: missing replicas added where the placement allows, extra or
misplaced ones removed (unless -doDelete=false), impossible volumes reported."""

from __future__ import annotations

from controlplane.shell.replica_plan import (
    Add,
    Remove,
    Server,
    VolumeReplicas,
    completable,
    plan,
    satisfies,
)
from dataplane.volume.engine.types import ReplicaPlacement

RP = ReplicaPlacement.parse


def cluster() -> list[Server]:
    """dc1: rack a (a1, a2), rack b (b1); dc2: rack c (c1)."""
    return [Server("a1", "dc1", "a", 5), Server("a2", "dc1", "a", 5), Server("b1", "dc1", "b", 5),
            Server("c1", "dc2", "c", 5)]


def by_name(names: str) -> list[Server]:
    servers = {s.address: s for s in cluster()}
    return [servers[n] for n in names.split()]


def test_satisfies_counts_from_some_main_copy() -> None:
    assert satisfies(RP("001"), by_name("a1 a2"))
    assert not satisfies(RP("001"), by_name("a1 b1"))
    assert satisfies(RP("010"), by_name("a1 b1"))
    assert satisfies(RP("100"), by_name("b1 c1"))
    assert satisfies(RP("110"), by_name("a1 b1 c1"))
    assert not satisfies(RP("000"), by_name("a1 a2"))
    assert completable(RP("011"), by_name("a1")) and not completable(RP("010"), by_name("a1 a2"))


def test_a_lost_replica_is_added_where_the_placement_allows() -> None:
    volumes = [VolumeReplicas(1, RP("010"), ("a1",)), VolumeReplicas(2, RP("001"), ("a1",)),
               VolumeReplicas(3, RP("100"), ("c1",)), VolumeReplicas(4, RP("000"), ("b1",))]
    fix = plan(volumes, cluster())
    assert fix.adds == [Add(1, "a1", "b1"), Add(2, "a1", "a2"), Add(3, "c1", "a1")]
    assert fix.removes == [] and fix.unfixable == []


def test_extra_and_misplaced_replicas_go_unless_delete_is_off() -> None:
    volumes = [VolumeReplicas(5, RP("000"), ("a1", "b1")),        # one too many
               VolumeReplicas(6, RP("010"), ("a1", "a2"))]        # both in rack a: misplaced
    fix = plan(volumes, cluster())
    assert fix.removes == [Remove(5, "b1"), Remove(6, "a2")]
    assert fix.adds == [Add(6, "a1", "b1")]
    only_add = plan(volumes, cluster(), allow_delete=False)
    assert only_add.removes == [] and only_add.adds == [Add(6, "a1", "b1")]


def test_free_slots_are_used_up_and_impossible_volumes_reported() -> None:
    servers = [Server("a1", "dc1", "a", 1), Server("b1", "dc1", "b", 1)]
    volumes = [VolumeReplicas(7, RP("010"), ("a1",)), VolumeReplicas(8, RP("010"), ("a1",)),
               VolumeReplicas(9, RP("100"), ("a1",)), VolumeReplicas(10, RP("010"), ("gone",))]
    fix = plan(volumes, servers)
    assert fix.adds == [Add(7, "a1", "b1")]
    assert [vid for vid, _ in fix.unfixable] == [8, 9, 10]
    assert "no live replica" in dict(fix.unfixable)[10]
