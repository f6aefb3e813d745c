"""Volume growth: create new logical volumes for a layout on servers chosen by `placement`.

Order of a growth (a leader that dies midway leaves nothing inconsistent):
1. choose servers for each volume from the live nodes' free slots (pure, `placement.py`);
2. reserve the volume ids with a committed MaxVolumeIdAdvanced(count) event, BEFORE any
   server allocates, so an id is never used twice even if this leader is deposed now;
3. ask every chosen server to allocate (concurrently); if any replica of a volume fails,
   delete the replicas of that volume that were created, and that volume is not grown;
4. append VolumeAdded for every replica created; the servers' next heartbeats confirm them.

Growths run one at a time (a lock), so two growths never count the same free slot.
Only nodes that heartbeated since this master became leader are candidates: a node the
state still calls alive may be gone.

Must not import grpc or kelp_http, nor pysyncobj directly (the log and volume servers are injected).
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass

from kelp_pb import events_pb2

from controlplane.master.config import VolumeGrowthConfig
from controlplane.master.errors import PlacementImpossible, VolumeServerFailed
from controlplane.master.placement import NodeSlots, place_volumes
from controlplane.master.raft import EventLog, commit
from controlplane.master.topology import Topology
from controlplane.master.types import Clock, Layout, Location, Preference, VolumeAdmin
from dataplane.volume.engine.types import ReplicaPlacement

log = logging.getLogger(__name__)

NEEDLE_VERSION = 3  # volumes kelp creates are version 3, as SeaweedFS's


@dataclass(frozen=True, slots=True)
class GrownVolume:
    volume_id: int
    nodes: tuple[str, ...]  # node ids, main server first


def volumes_per_growth(config: VolumeGrowthConfig, rp: ReplicaPlacement) -> int:
    """`[master.volume_growth]`: how many logical volumes one growth creates, by copy count."""
    return {1: config.copy_1, 2: config.copy_2, 3: config.copy_3}.get(rp.copy_count, config.copy_other)


class Growth:
    def __init__(
        self,
        event_log: EventLog,
        admin: VolumeAdmin,
        topology: Topology,
        clock: Clock,
        rng: random.Random,
    ) -> None:
        self._log = event_log
        self._admin = admin
        self._topology = topology
        self._clock = clock
        self._rng = rng
        self._lock = asyncio.Lock()

    def free_slots(self, disk_type: str) -> list[NodeSlots]:
        """Live, heard-from nodes with their free slots for the disk type. Caller holds the log lock."""
        state = self._log.state
        used: dict[str, int] = {}
        for v in state.volumes.values():
            for node_id in v.replicas:
                used[node_id] = used.get(node_id, 0) + 1
        return [
            NodeSlots(n.node_id, n.data_center, n.rack, max(0, n.max_volume_count - used.get(n.node_id, 0)))
            for n in state.live_nodes()
            if n.disk_type == disk_type and self._topology.seen(n.node_id)
        ]

    def unheard_nodes(self, disk_type: str) -> list[str]:
        """Nodes the log says are alive that have not heartbeated to this leader yet: their free
        slots are unknown, not zero. Caller holds the log lock."""
        return [
            n.node_id
            for n in self._log.state.live_nodes()
            if n.disk_type == disk_type and not self._topology.seen(n.node_id)
        ]

    async def grow(
        self, layout: Layout, count: int, pref: Preference, preallocate: int = 0
    ) -> list[GrownVolume]:
        """Create up to `count` volumes (fewer when slots run out). Raises PlacementImpossible
        when not even one fits, VolumeServerFailed when every volume failed to allocate,
        NotLeader when the log refuses."""
        async with self._lock:
            with self._log.lock:
                slots = self.free_slots(layout.disk_type)
                nodes = {n.node_id: Location.of(n) for n in self._log.state.live_nodes()}
            placements = place_volumes(
                slots,
                layout.replica_placement,
                count,
                self._rng,
                data_center=pref.data_center,
                rack=pref.rack,
                data_node=pref.data_node,
            )
            reserve = events_pb2.MaxVolumeIdAdvanced(count=len(placements))
            (first,) = await commit(self._log, [events_pb2.Event(max_volume_id_advanced=reserve)])
            assert first is not None
            outcomes = await asyncio.gather(
                *(
                    self._create(first + i, [nodes[n] for n in ids], layout, preallocate)
                    for i, ids in enumerate(placements)
                ),
                return_exceptions=True,
            )
            grown: list[GrownVolume] = []
            failures: list[BaseException] = []
            for i, (ids, outcome) in enumerate(zip(placements, outcomes, strict=True)):
                if isinstance(outcome, BaseException):
                    failures.append(outcome)
                else:
                    grown.append(GrownVolume(first + i, tuple(ids)))
            if grown:
                await self._record(grown, layout)
            for failure in failures:
                if not isinstance(failure, VolumeServerFailed):
                    raise failure
            if not grown:
                assert failures
                raise failures[0]
            return grown

    async def _create(self, vid: int, nodes: list[Location], layout: Layout, preallocate: int) -> None:
        outcomes = await asyncio.gather(
            *(
                self._admin.allocate_volume(
                    n,
                    vid,
                    layout.collection,
                    layout.replica_placement,
                    layout.ttl,
                    layout.disk_type,
                    preallocate,
                )
                for n in nodes
            ),
            return_exceptions=True,
        )
        failed = [(n, o) for n, o in zip(nodes, outcomes, strict=True) if isinstance(o, BaseException)]
        if not failed:
            log.info(
                "volume grown vid=%d nodes=%s collection=%s",
                vid,
                ",".join(n.url for n in nodes),
                layout.collection,
            )
            return
        created = [n for n, o in zip(nodes, outcomes, strict=True) if not isinstance(o, BaseException)]
        cleanup = await asyncio.gather(
            *(self._admin.delete_volume(n, vid) for n in created), return_exceptions=True
        )
        for n, o in zip(created, cleanup, strict=True):
            if isinstance(o, BaseException):
                # The replica stays on that server; its heartbeat reports it and reconcile records it.
                log.warning("growth cleanup failed vid=%d node=%s error=%s", vid, n.url, o)
        node, err = failed[0]
        if isinstance(err, VolumeServerFailed):
            raise err
        raise VolumeServerFailed(node.url, "allocate volume", str(err) or type(err).__name__) from err

    async def _record(self, grown: list[GrownVolume], layout: Layout) -> None:
        now = self._clock.time()
        events = []
        for g in grown:
            for node_id in g.nodes:
                events.append(
                    events_pb2.Event(
                        volume_added=events_pb2.VolumeAdded(
                            volume_id=g.volume_id,
                            node_id=node_id,
                            collection=layout.collection,
                            replica_placement=layout.replica_placement.to_byte(),
                            ttl=layout.ttl.to_u16(),
                            version=NEEDLE_VERSION,
                            read_only=False,
                            disk_type=layout.disk_type,
                        )
                    )
                )
                self._topology.mark_fresh(node_id, g.volume_id, now)
        await commit(self._log, events)


__all__ = ["GrownVolume", "Growth", "PlacementImpossible", "volumes_per_growth"]
