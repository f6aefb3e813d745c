"""Pure placement: which volume servers get the replicas of a new volume.

Rules (replication string `xyz`, copies = x+y+z+1), choices weighted by free volume slots,
only servers with a free slot are candidates:
1. Main data center: matches the `data_center` preference if given, has >= y+1 racks that each
   hold >= z+1 servers with a free slot, and >= y+z+1 free slots. x other data centers with any
   free slot are picked besides it.
2. Main rack (inside the main DC): matches `rack` if given, has >= z+1 servers with a free slot.
   y other racks of the main DC are picked besides it.
3. Main server (inside the main rack): matches `data_node` if given; z more servers of the main
   rack, preferring servers on other hosts.
4. One server from each other rack, then one from each other data center.
The main server comes first in the result (it is the `url` an assign reply names).

Randomness comes from the injected `random.Random`, so tests are reproducible.
Must not import anything but the engine's value types and `errors` (no I/O, asyncio, protobuf).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

from controlplane.master.errors import PlacementImpossible
from dataplane.volume.engine.types import ReplicaPlacement

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class NodeSlots:
    """A live volume server as placement sees it."""

    node_id: str  # "ip:port"
    data_center: str
    rack: str
    free: int  # free volume slots (for the requested disk type)

    @property
    def host(self) -> str:
        return self.node_id.rsplit(":", 1)[0]


def weighted_sample(items: Sequence[T], weight: Callable[[T], int], k: int, rng: random.Random) -> list[T]:
    """k distinct items, each draw weighted by `weight` among those left (weights <= 0 never drawn)."""
    pool = [(item, weight(item)) for item in items]
    pool = [(item, w) for item, w in pool if w > 0]
    picked: list[T] = []
    while len(picked) < k and pool:
        total = sum(w for _, w in pool)
        point = rng.random() * total
        for i, (item, w) in enumerate(pool):
            point -= w
            if point < 0 or i == len(pool) - 1:
                picked.append(item)
                del pool[i]
                break
    return picked


@dataclass(frozen=True, slots=True)
class _Rack:
    data_center: str
    name: str
    nodes: tuple[NodeSlots, ...]

    @property
    def free(self) -> int:
        return sum(n.free for n in self.nodes)


@dataclass(frozen=True, slots=True)
class _DataCenter:
    name: str
    racks: tuple[_Rack, ...]

    @property
    def free(self) -> int:
        return sum(r.free for r in self.racks)


def _group(nodes: Sequence[NodeSlots]) -> list[_DataCenter]:
    by_dc: dict[str, dict[str, list[NodeSlots]]] = {}
    for n in sorted(nodes, key=lambda n: n.node_id):  # input order must not change the outcome
        if n.free > 0:
            by_dc.setdefault(n.data_center, {}).setdefault(n.rack, []).append(n)
    return [
        _DataCenter(dc, tuple(_Rack(dc, rack, tuple(ns)) for rack, ns in sorted(racks.items())))
        for dc, racks in sorted(by_dc.items())
    ]


def place_volume(
    nodes: Sequence[NodeSlots],
    rp: ReplicaPlacement,
    rng: random.Random,
    *,
    data_center: str = "",
    rack: str = "",
    data_node: str = "",
) -> list[str]:
    """Node ids for one new volume's replicas, main server first. Raises PlacementImpossible."""
    x, y, z = rp.diff_data_center, rp.diff_rack, rp.same_rack
    dcs = _group(nodes)
    if not dcs:
        raise PlacementImpossible("no free volume slots on any live server")
    if data_node:
        # The main server is fixed, so are its data center and rack.
        wanted = [n for n in nodes if n.node_id == data_node and n.free > 0]
        if not wanted:
            raise PlacementImpossible(f"data node {data_node!r} is unknown or has no free slot")
        if (data_center and data_center != wanted[0].data_center) or (rack and rack != wanted[0].rack):
            raise PlacementImpossible(
                f"data node {data_node!r} is not in data center {data_center!r} rack {rack!r}"
            )
        data_center, rack = wanted[0].data_center, wanted[0].rack

    def dc_fits(dc: _DataCenter) -> bool:
        if data_center and dc.name != data_center:
            return False
        racks_ok = [r for r in dc.racks if len(r.nodes) >= z + 1]
        return (
            len(racks_ok) >= y + 1
            and dc.free >= y + z + 1
            and (not rack or any(r.name == rack for r in racks_ok))
        )

    main_dcs = [dc for dc in dcs if dc_fits(dc)]
    if not main_dcs:
        where = f"data center {data_center!r}" if data_center else "any data center"
        raise PlacementImpossible(
            f"{where} lacks {y + 1} racks with {z + 1} servers with free slots for replication {rp}"
        )
    main_dc = weighted_sample(main_dcs, lambda d: d.free, 1, rng)[0]
    other_dcs = weighted_sample([d for d in dcs if d.name != main_dc.name], lambda d: d.free, x, rng)
    if len(other_dcs) < x:
        raise PlacementImpossible(
            f"only {len(dcs)} data centers with free slots, replication {rp} needs {x + 1}"
        )

    def rack_fits(r: _Rack) -> bool:
        return (not rack or r.name == rack) and len(r.nodes) >= z + 1

    main_racks = [r for r in main_dc.racks if rack_fits(r)]
    if not main_racks:
        raise PlacementImpossible(
            f"rack {rack!r} in data center {main_dc.name!r} lacks {z + 1} servers with free slots"
        )
    main_rack = weighted_sample(main_racks, lambda r: r.free, 1, rng)[0]
    other_racks = weighted_sample(
        [r for r in main_dc.racks if r.name != main_rack.name], lambda r: r.free, y, rng
    )
    if len(other_racks) < y:
        raise PlacementImpossible(
            f"data center {main_dc.name!r} has {len(main_dc.racks)} racks with free slots, "
            f"replication {rp} needs {y + 1}"
        )

    main_candidates = [n for n in main_rack.nodes if not data_node or n.node_id == data_node]
    if not main_candidates:
        raise PlacementImpossible(f"data node {data_node!r} has no free slot in rack {main_rack.name!r}")
    main_node = weighted_sample(main_candidates, lambda n: n.free, 1, rng)[0]
    rest = [n for n in main_rack.nodes if n.node_id != main_node.node_id]
    # Prefer other hosts for same-rack copies: two servers on one machine die together.
    other_hosts = [n for n in rest if n.host != main_node.host]
    same_rack = weighted_sample(other_hosts, lambda n: n.free, z, rng)
    if len(same_rack) < z:
        chosen = {n.node_id for n in same_rack}
        same_rack += weighted_sample(
            [n for n in rest if n.node_id not in chosen], lambda n: n.free, z - len(same_rack), rng
        )
    if len(same_rack) < z:
        raise PlacementImpossible(
            f"rack {main_rack.name!r} has {len(main_rack.nodes)} servers with free slots, needs {z + 1}"
        )

    picked = [main_node, *same_rack]
    picked += [weighted_sample(r.nodes, lambda n: n.free, 1, rng)[0] for r in other_racks]
    picked += [
        weighted_sample([n for r in d.racks for n in r.nodes], lambda n: n.free, 1, rng)[0] for d in other_dcs
    ]
    return [n.node_id for n in picked]


def place_volumes(
    nodes: Sequence[NodeSlots],
    rp: ReplicaPlacement,
    count: int,
    rng: random.Random,
    *,
    data_center: str = "",
    rack: str = "",
    data_node: str = "",
) -> list[list[str]]:
    """Placements for up to `count` volumes, taking each one's slots before placing the next.

    Returns fewer than `count` when slots run out; raises PlacementImpossible if not even one fits.
    """
    slots = {n.node_id: n for n in nodes}
    out: list[list[str]] = []
    for _ in range(count):
        try:
            ids = place_volume(
                list(slots.values()), rp, rng, data_center=data_center, rack=rack, data_node=data_node
            )
        except PlacementImpossible:
            if not out:
                raise
            break
        for node_id in ids:
            slots[node_id] = replace(slots[node_id], free=slots[node_id].free - 1)
        out.append(ids)
    return out
