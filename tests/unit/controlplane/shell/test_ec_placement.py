"""EC shard placement: at most four shards per rack (or per server with fewer than four racks),
spread evenly, and balance moves that restore that."""

from __future__ import annotations

from collections import Counter

import pytest

from controlplane.shell.ec_placement import (
    TOTAL_SHARDS,
    EcServer,
    PlacementImpossible,
    place_shards,
    rebalance,
    survives_one_loss,
)


def servers(racks: int, per_rack: int, slots: int = TOTAL_SHARDS) -> list[EcServer]:
    return [EcServer(f"10.0.{r}.{n}:8080", "dc1", f"r{r}", slots)
            for r in range(racks) for n in range(per_rack)]


def rack_counts(cluster: list[EcServer], placement: dict[int, str]) -> list[int]:
    rack = {s.address: s.rack for s in cluster}
    return sorted(Counter(rack[a] for a in placement.values()).values(), reverse=True)


def test_four_racks_take_at_most_four_shards_each() -> None:
    cluster = servers(4, 2)
    placement = place_shards(cluster)
    assert sorted(placement) == list(range(TOTAL_SHARDS))
    assert rack_counts(cluster, placement) == [4, 4, 3, 3]
    assert max(Counter(placement.values()).values()) == 2
    assert survives_one_loss(cluster, placement)


def test_one_rack_spreads_over_servers_and_survives_a_server() -> None:
    cluster = servers(1, 5)
    placement = place_shards(cluster)
    assert sorted(Counter(placement.values()).values(), reverse=True) == [3, 3, 3, 3, 2]
    assert survives_one_loss(cluster, placement)


def test_too_few_servers_spread_evenly_but_cannot_survive_one() -> None:
    cluster = servers(1, 2)
    placement = place_shards(cluster)
    assert sorted(Counter(placement.values()).values()) == [7, 7]
    assert not survives_one_loss(cluster, placement)


def test_free_slots_are_respected_and_shortage_is_refused() -> None:
    cluster = [EcServer("a:1", "dc", "r1", 1), EcServer("b:1", "dc", "r2", 13),
               EcServer("c:1", "dc", "r3", 0)]
    placement = place_shards(cluster)
    assert Counter(placement.values()) == {"a:1": 1, "b:1": 13}
    with pytest.raises(PlacementImpossible, match="14 shards to place but only 13"):
        place_shards([EcServer("a:1", free_slots=13)])


def test_existing_shards_count_and_stay() -> None:
    cluster = servers(4, 1)
    existing = {shard: "10.0.0.0:8080" for shard in range(4)}  # rack r0 is full already
    placement = place_shards(cluster, existing=existing)
    assert sorted(placement) == list(range(4, TOTAL_SHARDS))
    assert "10.0.0.0:8080" not in placement.values()
    assert survives_one_loss(cluster, {**existing, **placement})


def test_same_topology_same_plan() -> None:
    assert place_shards(servers(3, 3)) == place_shards(list(reversed(servers(3, 3))))


def test_rebalance_after_racks_are_added() -> None:
    cluster = servers(4, 2)
    crowded = {shard: f"10.0.0.{shard % 2}:8080" for shard in range(TOTAL_SHARDS)}  # all in r0
    assert not survives_one_loss(cluster, crowded)
    moves = rebalance(cluster, crowded)
    after = dict(crowded)
    for move in moves:
        assert after[move.shard] == move.source
        after[move.shard] = move.target
    assert survives_one_loss(cluster, after)
    assert rack_counts(cluster, after) == [4, 4, 3, 3]
    assert len(moves) == 10  # exactly the shards over r0's fair share, nothing moved twice
    assert len({m.shard for m in moves}) == len(moves)
    assert rebalance(cluster, after) == []  # balanced: nothing more to do


def test_rebalance_within_one_rack_evens_servers_and_ignores_gone_servers() -> None:
    cluster = servers(1, 4)
    skewed = {shard: "10.0.0.0:8080" for shard in range(10)} | {10: "gone:1", 11: "10.0.0.1:8080",
                                                                12: "10.0.0.1:8080", 13: "10.0.0.2:8080"}
    moves = rebalance(cluster, skewed)
    after = {k: v for k, v in skewed.items() if v != "gone:1"}
    for move in moves:
        after[move.shard] = move.target
    assert all(m.source != "gone:1" for m in moves)
    counts = Counter(after.values())
    assert max(counts.values()) - min(counts.get(s.address, 0) for s in cluster) <= 1


def test_random_topologies_place_and_rebalance_to_a_surviving_spread() -> None:
    import random

    rng = random.Random(1234)
    for _ in range(300):  # bounded, seeded: the same cases every run
        cluster = [EcServer(f"s{i}:1", "dc", f"r{rng.randrange(rng.randint(1, 6))}", TOTAL_SHARDS)
                   for i in range(rng.randint(4, 10))]
        placement = place_shards(cluster)
        assert survives_one_loss(cluster, placement), (cluster, placement)
        scattered = {shard: rng.choice(cluster).address for shard in range(TOTAL_SHARDS)}
        after = dict(scattered)
        for move in rebalance(cluster, scattered):
            after[move.shard] = move.target
        assert survives_one_loss(cluster, after), (cluster, scattered, after)
