"""volume.balance's plan: volumes spread evenly by fill, placements kept, nothing moved twice."""

from __future__ import annotations

from collections import Counter

from controlplane.shell.balance_plan import VolumeMove, plan_balance
from controlplane.shell.replica_plan import Server, VolumeReplicas
from dataplane.volume.engine.types import ReplicaPlacement

RP = ReplicaPlacement.parse


def apply(volumes: list[VolumeReplicas], moves: list[VolumeMove]) -> Counter[str]:
    held = {v.volume_id: list(v.holders) for v in volumes}
    for move in moves:
        assert move.source in held[move.volume_id] and move.target not in held[move.volume_id]
        held[move.volume_id] = [move.target if a == move.source else a for a in held[move.volume_id]]
    return Counter(a for addresses in held.values() for a in addresses)


def test_unreplicated_volumes_even_out() -> None:
    servers = [Server("s1", "dc", "r"), Server("s2", "dc", "r"), Server("s3", "dc", "r")]
    volumes = [VolumeReplicas(v, RP("000"), ("s1",)) for v in range(1, 7)]
    moves = plan_balance(volumes, servers, {"s1": 10, "s2": 10, "s3": 10})
    assert sorted(apply(volumes, moves).values()) == [2, 2, 2]
    assert len(moves) == 4 and len({m.volume_id for m in moves}) == 4


def test_fill_counts_capacity_and_balanced_clusters_stay() -> None:
    servers = [Server("big", "dc", "r"), Server("small", "dc", "r")]
    volumes = [VolumeReplicas(v, RP("000"), ("big",)) for v in range(1, 7)] + [
        VolumeReplicas(v, RP("000"), ("small",)) for v in range(7, 9)]
    assert plan_balance(volumes, servers, {"big": 30, "small": 10}) == []  # 6/30 vs 2/10: even enough


def test_a_move_never_breaks_a_placement_or_doubles_a_replica() -> None:
    servers = [Server("a1", "dc", "a"), Server("a2", "dc", "a"),
               Server("b1", "dc", "b"), Server("b2", "dc", "b")]
    volumes = [VolumeReplicas(v, RP("010"), ("a1", "b1")) for v in range(1, 5)]
    moves = plan_balance(volumes, servers, {a.address: 10 for a in servers})
    assert sorted(apply(volumes, moves).values()) == [2, 2, 2, 2]
    rack = {s.address: s.rack for s in servers}
    held = {v.volume_id: list(v.holders) for v in volumes}
    for move in moves:
        held[move.volume_id] = [move.target if a == move.source else a for a in held[move.volume_id]]
    assert all({rack[a] for a in addresses} == {"a", "b"} for addresses in held.values())
