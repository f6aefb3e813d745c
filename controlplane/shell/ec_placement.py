"""Where the 14 shards of an erasure-coded volume go, and the moves that restore a good spread.

The rule (issue 6): losing any one rack loses at most PARITY_SHARDS (4) shards of a volume, so
every needle stays readable from the other ten. With at least four racks that is a cap of four
shards per rack; with fewer racks no spread can keep it, and the same cap is applied per server
instead (losing any one server loses at most four). Within those caps shards are spread as evenly
as possible: over racks first, then over the servers of each rack, preferring servers with more
free shard slots. `ec.encode` places new shards with `place_shards`; `ec.balance` (and
`ec.rebuild`, for the shards it recreates) asks `rebalance` for moves.

A rack is (data center, rack): racks of different data centers never count as one.

Pure planning: a topology in, a plan out. No network, no I/O.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

DATA_SHARDS = 10
PARITY_SHARDS = 4
TOTAL_SHARDS = DATA_SHARDS + PARITY_SHARDS


@dataclass(frozen=True, slots=True)
class EcServer:
    """A volume server that can hold shards: where it is and how many more shards it takes."""

    address: str
    data_center: str = ""
    rack: str = ""
    free_slots: int = TOTAL_SHARDS

    @property
    def rack_key(self) -> tuple[str, str]:
        return (self.data_center, self.rack)


@dataclass(frozen=True, slots=True)
class Move:
    shard: int
    source: str
    target: str


class PlacementImpossible(Exception):
    """Not enough free shard slots in the cluster for the shards to place."""

    def __init__(self, wanted: int, free: int) -> None:
        super().__init__(f"{wanted} shards to place but only {free} free shard slots on the servers")
        self.wanted = wanted
        self.free = free


def fault_domain_is_rack(servers: Iterable[EcServer]) -> bool:
    """True when there are racks enough (4) for the per-rack cap; else servers are the domain."""
    racks = {s.rack_key for s in servers}
    return len(racks) * PARITY_SHARDS >= TOTAL_SHARDS


def survives_one_loss(servers: Iterable[EcServer], placement: Mapping[int, str]) -> bool:
    """Does losing any one fault domain (rack, or server with too few racks) keep >= 10 shards?"""
    known = list(servers)
    by_address = {s.address: s for s in known}
    by_rack = fault_domain_is_rack(known)
    domains = Counter(by_address[a].rack_key if by_rack else a for a in placement.values())
    return all(count <= PARITY_SHARDS for count in domains.values())


def place_shards(
    servers: Iterable[EcServer], shards: Iterable[int] = range(TOTAL_SHARDS),
    existing: Mapping[int, str] | None = None,
) -> dict[int, str]:
    """A server for each of `shards`, given shards already placed (`existing`, shard -> address,
    which count towards the spread and are not moved). Raises PlacementImpossible when the free
    slots do not suffice. With too few racks or servers for the cap, the spread is as even as it
    can be (check with survives_one_loss)."""
    everyone = list(servers)
    known = [s for s in everyone if s.free_slots > 0]
    wanted = sorted(set(shards) - set(existing or {}))
    free = sum(s.free_slots for s in known)
    if len(wanted) > free:
        raise PlacementImpossible(len(wanted), free)
    by_address = {s.address: s for s in everyone}
    per_server: Counter[str] = Counter()
    per_rack: Counter[tuple[str, str]] = Counter()
    for address in (existing or {}).values():
        per_server[address] += 1
        server = by_address.get(address)
        if server is not None:
            per_rack[server.rack_key] += 1
    slots = {s.address: s.free_slots for s in known}
    by_rack = fault_domain_is_rack(everyone)

    def load(s: EcServer) -> tuple[int, int, int, str]:
        # The fault domain's load first (rack, or server with too few racks), then the other,
        # then the most free slots; the address breaks ties so a topology always gives one plan.
        rack, server = per_rack[s.rack_key], per_server[s.address]
        return (rack, server, -slots[s.address], s.address) if by_rack else (
            server, rack, -slots[s.address], s.address)

    placed: dict[int, str] = {}
    for shard in wanted:
        best = min((s for s in known if slots[s.address] > 0), key=load)
        placed[shard] = best.address
        slots[best.address] -= 1
        per_server[best.address] += 1
        per_rack[best.rack_key] += 1
    return placed


def rebalance(servers: Iterable[EcServer], placement: Mapping[int, str]) -> list[Move]:
    """Moves (one shard each) that take `placement` to an even spread within the caps: each move
    takes a shard from the most loaded fault domain to the least loaded one with a free slot, and
    only when that lowers the larger load, so the list is short and never undoes itself. Shards on
    servers not in `servers` (gone) are not moved here: ec.rebuild recreates them."""
    known = list(servers)
    by_address = {s.address: s for s in known}
    current = {shard: address for shard, address in placement.items() if address in by_address}
    slots = {s.address: s.free_slots for s in known}
    moves: list[Move] = []
    for _ in range(TOTAL_SHARDS * 4):  # bounded: each move strictly evens the spread
        move = _next_move(known, current, slots)
        if move is None:
            break
        moves.append(move)
        current[move.shard] = move.target
        slots[move.source] += 1
        slots[move.target] -= 1
    return moves


def _next_move(known: list[EcServer], current: dict[int, str], slots: dict[str, int]) -> Move | None:
    by_address = {s.address: s for s in known}
    per_server = Counter(current.values())
    per_rack = Counter(by_address[a].rack_key for a in current.values())
    # With racks as the fault domain, racks first: a rack over its fair share gives a shard to the
    # emptiest rack that can take one. (With too few racks, servers are the domain: even them.)
    racks = {s.rack_key for s in known}
    rack_load = {r: per_rack[r] for r in racks}
    heavy_rack = max(rack_load, key=lambda r: (rack_load[r], r))
    light = [s for s in known if slots[s.address] > 0 and s.rack_key != heavy_rack]
    if light and fault_domain_is_rack(known):
        target = min(light, key=lambda s: (rack_load[s.rack_key], per_server[s.address], s.address))
        if rack_load[heavy_rack] - rack_load[target.rack_key] > 1:
            source = max((a for a in per_server if by_address[a].rack_key == heavy_rack),
                         key=lambda a: (per_server[a], a))
            return Move(_shard_on(current, source), source, target.address)
    # Then servers within their racks (and across, where racks are not the fault domain).
    heavy = max(per_server, key=lambda a: (per_server[a], a), default=None)
    if heavy is None:
        return None
    # Racks as the domain: within the heavy server's rack (the rack pass evened the racks).
    # Servers as the domain: anywhere, preferring the emptier rack among equally loaded servers.
    same_rack_only = fault_domain_is_rack(known)
    candidates = [s for s in known if slots[s.address] > 0 and s.address != heavy
                  and (not same_rack_only or s.rack_key == by_address[heavy].rack_key)]
    if not candidates:
        return None
    target = min(candidates, key=lambda s: (per_server[s.address], per_rack[s.rack_key], s.address))
    if per_server[heavy] - per_server[target.address] > 1:
        return Move(_shard_on(current, heavy), heavy, target.address)
    return None


def _shard_on(current: Mapping[int, str], address: str) -> int:
    return max(shard for shard, holder in current.items() if holder == address)
