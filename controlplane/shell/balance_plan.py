"""volume.balance's plan: volume moves that even out the number of volumes per server.

Each move takes one volume replica from the server with the highest fill (volumes / max volume
slots) to the server with the lowest that has a free slot and no replica of that volume, and only
when the replica placement still holds after the move (replica_plan.satisfies, for volumes whose
placement holds before it) and the move lowers the spread. Moves are planned one at a time against
the state the earlier ones leave, up to a bound, so the list converges and never undoes itself.

Pure planning: a topology in, a plan out. No network, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from controlplane.shell.replica_plan import Server, VolumeReplicas, satisfies
from dataplane.volume.engine.types import ReplicaPlacement

MAX_MOVES = 1000  # bound on one plan


@dataclass(frozen=True, slots=True)
class VolumeMove:
    volume_id: int
    source: str
    target: str


def plan_balance(
    volumes: Iterable[VolumeReplicas], servers: Iterable[Server], capacity: dict[str, int]
) -> list[VolumeMove]:
    """`capacity`: each server's max volume count (fill = volumes held / capacity)."""
    known = {s.address: s for s in servers if capacity.get(s.address, 0) > 0}
    holders = {v.volume_id: [a for a in v.holders if a in known] for v in volumes}
    placements = {v.volume_id: v.placement for v in volumes}
    held: dict[str, set[int]] = {a: set() for a in known}
    for vid, addresses in holders.items():
        for address in addresses:
            held[address].add(vid)
    moves: list[VolumeMove] = []
    for _ in range(MAX_MOVES):
        move = _next(known, capacity, held, holders, placements)
        if move is None:
            break
        moves.append(move)
        held[move.source].discard(move.volume_id)
        held[move.target].add(move.volume_id)
        holders[move.volume_id] = [move.target if a == move.source else a for a in holders[move.volume_id]]
    return moves


def _fill(address: str, held: dict[str, set[int]], capacity: dict[str, int], delta: int = 0) -> float:
    return (len(held[address]) + delta) / capacity[address]


def _next(
    known: dict[str, Server], capacity: dict[str, int], held: dict[str, set[int]],
    holders: dict[int, list[str]], placements: dict[int, ReplicaPlacement],
) -> VolumeMove | None:
    by_fill = sorted(known, key=lambda a: (_fill(a, held, capacity), a))
    for source in reversed(by_fill):  # fullest first
        for target in by_fill:  # emptiest first
            if target == source or len(held[target]) >= capacity[target]:
                continue
            if _fill(target, held, capacity, +1) >= _fill(source, held, capacity):
                break  # no emptier server left for this source: the spread is as even as it gets
            for vid in sorted(held[source]):
                if vid in held[target]:
                    continue
                before = [known[a] for a in holders[vid]]
                after = [known[target] if s.address == source else s for s in before]
                placement = placements[vid]
                if satisfies(placement, before) and not satisfies(placement, after):
                    continue
                return VolumeMove(vid, source, target)
    return None
