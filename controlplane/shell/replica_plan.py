"""volume.fix.replication's plan: which replicas a volume lacks, where each goes, which are extra.

A volume's replicas satisfy its placement `xyz` when one of them (the main copy) has exactly x
others in other data centers, y in other racks of its data center and z on other servers of its
rack, as SeaweedFS counts it. For each volume this plans:
- **adds** while it has fewer replicas than x+y+z+1, or they cannot be completed into a valid set:
  a server that holds no replica and has a free slot, chosen so the replicas can still be completed
  (emptier servers first);
- **removes** when it has more replicas than it needs, or they are misplaced: the largest valid
  subset is kept (ties keep the replicas listed first), the rest go; with `-doDelete=false`
  (`allow_delete=False`) removals are left out of the plan.
A volume no valid set can be built for (too few data centers, racks or servers) is reported, not
half-fixed.

Pure planning: a topology in, a plan out. No network, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations

from dataplane.volume.engine.types import ReplicaPlacement


@dataclass(frozen=True, slots=True)
class Server:
    address: str
    data_center: str = ""
    rack: str = ""
    free_slots: int = 1


@dataclass(frozen=True, slots=True)
class VolumeReplicas:
    volume_id: int
    placement: ReplicaPlacement
    holders: tuple[str, ...]  # addresses of the servers holding a replica


@dataclass(frozen=True, slots=True)
class Add:
    volume_id: int
    source: str  # a healthy replica to copy from
    target: str


@dataclass(frozen=True, slots=True)
class Remove:
    volume_id: int
    holder: str


@dataclass(slots=True)
class ReplicationPlan:
    adds: list[Add] = field(default_factory=list)
    removes: list[Remove] = field(default_factory=list)
    unfixable: list[tuple[int, str]] = field(default_factory=list)  # (volume id, why)


def satisfies(placement: ReplicaPlacement, holders: Sequence[Server]) -> bool:
    """Exactly x+y+z+1 replicas, and one of them sees the others as x/y/z."""
    if len(holders) != placement.copy_count:
        return False
    return any(_counts(main, holders) == _wanted(placement) for main in holders)


def completable(placement: ReplicaPlacement, holders: Sequence[Server]) -> bool:
    """Could more replicas be added to `holders` to satisfy the placement (ignoring free slots)?
    True when some main copy sees no more than x/y/z of each kind among the others."""
    if len(holders) > placement.copy_count:
        return False
    if not holders:
        return True
    want = _wanted(placement)
    return any(all(have <= limit for have, limit in zip(_counts(main, holders), want, strict=True))
               for main in holders)


def plan(
    volumes: Iterable[VolumeReplicas], servers: Iterable[Server], *, allow_delete: bool = True
) -> ReplicationPlan:
    known = {s.address: s for s in servers}
    slots = {address: s.free_slots for address, s in known.items()}
    out = ReplicationPlan()
    for volume in volumes:
        holders = [known[a] for a in volume.holders if a in known]
        if not holders:
            out.unfixable.append((volume.volume_id, "no live replica to copy from"))
            continue
        keep = _best_subset(volume.placement, holders)
        adds = _complete(volume.placement, keep, known, slots)
        if adds is None:
            held = [s.address for s in keep]
            out.unfixable.append((volume.volume_id,
                                  f"no free servers complete placement {volume.placement} from {held}"))
            continue
        for target in adds:
            out.adds.append(Add(volume.volume_id, keep[0].address, target.address))
            slots[target.address] -= 1
        if allow_delete:  # -doDelete=false: extra or misplaced replicas stay
            out.removes += [Remove(volume.volume_id, s.address) for s in holders if s not in keep]
    return out


def _wanted(placement: ReplicaPlacement) -> tuple[int, int, int]:
    return (placement.diff_data_center, placement.diff_rack, placement.same_rack)


def _counts(main: Server, holders: Sequence[Server]) -> tuple[int, int, int]:
    other_dc = other_rack = same_rack = 0
    for s in holders:
        if s is main:
            continue
        if s.data_center != main.data_center:
            other_dc += 1
        elif s.rack != main.rack:
            other_rack += 1
        else:
            same_rack += 1
    return (other_dc, other_rack, same_rack)


def _best_subset(placement: ReplicaPlacement, holders: list[Server]) -> list[Server]:
    """The largest subset of `holders` (at most x+y+z+1) that can still be completed."""
    for size in range(min(len(holders), placement.copy_count), 0, -1):
        for subset in combinations(holders, size):  # in listed order: earlier replicas win ties
            if completable(placement, subset):
                return list(subset)
    return []


def _complete(
    placement: ReplicaPlacement, keep: list[Server], known: dict[str, Server], slots: dict[str, int]
) -> list[Server] | None:
    """Servers to add to `keep` so it satisfies the placement (depth-first, emptiest first);
    None when no choice of free servers can."""
    if len(keep) == placement.copy_count:
        return [] if satisfies(placement, keep) else None
    taken = {s.address for s in keep}
    candidates = sorted((s for a, s in known.items() if a not in taken and slots[a] > 0),
                        key=lambda s: (-slots[s.address], s.address))
    for candidate in candidates:
        trial = [*keep, candidate]
        if completable(placement, trial):
            fewer = {**slots, candidate.address: slots[candidate.address] - 1}
            rest = _complete(placement, trial, known, fewer)
            if rest is not None:
                return [candidate, *rest]
    return None
