"""Assign: pick a writable volume for a layout and reserve keys for the caller.

Policy (all of it here, none in the adapters):
- a volume is writable when it has all its copies (replica placement's copy count), every
  replica is on a live node, none is read-only or full, and its reported size is under the
  volume size limit;
- the pick is random, weighted by remaining space; `dataCenter`/`rack`/`dataNode` narrow it to
  volumes with a replica there;
- no writable volume: when no live server has a free slot for the disk type, NoFreeVolumes
  (406); otherwise a growth is started (or joined: one per layout and preference at a time)
  and the assign waits a bounded time for it. The first assign on an empty cluster thus
  succeeds as in SeaweedFS; when the growth fails or takes longer, NoWritableVolume (503,
  Retry-After) while the growth carries on.
- keys come from `sequence.py` (memory), so a steady-state assign makes no Raft round trip.

Must not import grpc or kelp_http, nor pysyncobj directly.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import random
from dataclasses import dataclass

from controlplane.master.errors import (
    MasterError,
    NoFreeVolumes,
    NoWritableVolume,
    WarmingUp,
)
from controlplane.master.growth import GrownVolume, Growth
from controlplane.master.raft import EventLog
from controlplane.master.sequence import Sequence
from controlplane.master.topology import Topology
from controlplane.master.types import Layout, Location, Preference
from dataplane.volume.engine.types import ReplicaPlacement

log = logging.getLogger(__name__)

# After a growth fails, assigns for that layout answer 503 for this long before trying again:
# clients retry after 1 s (Retry-After), and a retry storm must not burn volume ids and admin
# calls on a growth that just failed.
GROWTH_RETRY_SECONDS = 1.0

# Bound on cached candidate lists: one per (layout, preference) seen since the last change;
# preferences come from clients, so an unbounded cache would be a memory leak.
MAX_CACHED_PICKS = 1024


@dataclass(frozen=True, slots=True)
class Pick:
    volume_id: int
    locations: tuple[Location, ...]  # first = the server the client should write to
    key: int  # first of the reserved keys


def grow_option_json(layout: Layout, pref: Preference, preallocate: int = 0) -> str:
    """SeaweedFS's VolumeGrowOption as it appears inside error messages."""
    rp = layout.replica_placement
    placement = {
        k: v for k, v in (("node", rp.same_rack), ("rack", rp.diff_rack), ("dc", rp.diff_data_center)) if v
    }
    option: dict[str, object] = {}
    if layout.collection:
        option["collection"] = layout.collection
    option["replication"] = placement
    option["ttl"] = {"Count": layout.ttl.count, "Unit": layout.ttl.unit}
    for name, value in (
        ("disk", layout.disk_type),
        ("preallocate", preallocate),
        ("dataCenter", pref.data_center),
        ("rack", pref.rack),
        ("dataNode", pref.data_node),
    ):
        if value:
            option[name] = value
    option["version"] = 3
    return json.dumps(option, separators=(",", ":"))


class Assigner:
    def __init__(
        self,
        event_log: EventLog,
        topology: Topology,
        growth: Growth,
        sequence: Sequence,
        rng: random.Random,
        volume_size_limit: int,
    ) -> None:
        self._log = event_log
        self._topology = topology
        self._growth = growth
        self._sequence = sequence
        self._rng = rng
        self._limit = volume_size_limit
        self._index_revision = -1
        self._index: dict[tuple[str, int, int, str], list[tuple[int, tuple[Location, ...]]]] = {}
        # (layout key, preference) -> (state revision, topology revision, candidates, cumulative
        # weights): assign is the hot path, and candidates change only with state or heartbeats.
        self._picks: dict[
            tuple[tuple[str, int, int, str], Preference],
            tuple[int, int, list[tuple[int, tuple[Location, ...], int]], list[int]],
        ] = {}
        self._growing: dict[tuple[object, ...], asyncio.Task[list[GrownVolume]]] = {}
        self._failed: dict[tuple[object, ...], tuple[float, str]] = {}  # key -> (loop time, error)

    # -- writable volumes ----------------------------------------------------------

    def layouts(self) -> dict[tuple[str, int, int, str], list[tuple[int, tuple[Location, ...]]]]:
        """Every layout in the state with its writable volumes (possibly none). Caller holds the lock."""
        state = self._log.state
        if state.revision != self._index_revision:
            index: dict[tuple[str, int, int, str], list[tuple[int, tuple[Location, ...]]]] = {}
            for vid in sorted(state.volumes):
                v = state.volumes[vid]
                writable = index.setdefault((v.collection, v.replica_placement, v.ttl, v.disk_type), [])
                copies = ReplicaPlacement.from_byte(v.replica_placement).copy_count
                nodes = [state.nodes.get(n) for n in v.replicas]
                if len(v.replicas) != copies or any(r.read_only or r.full for r in v.replicas.values()):
                    continue
                if any(n is None or not n.alive for n in nodes):
                    continue
                writable.append((vid, tuple(Location.of(n) for n in nodes if n is not None)))
            self._index, self._index_revision = index, state.revision
        return self._index

    def writable(self, layout: Layout, pref: Preference) -> list[tuple[int, tuple[Location, ...]]]:
        """Writable volumes of the layout with a replica where `pref` asks, under the size limit."""
        return [(vid, locs) for vid, locs, _ in self._candidates(layout, pref)]

    def _candidates(self, layout: Layout, pref: Preference) -> list[tuple[int, tuple[Location, ...], int]]:
        """As `writable`, with each volume's remaining space (the pick's weight)."""
        with self._log.lock:
            candidates = self.layouts().get(layout.key(), [])
        out = []
        for vid, locs in candidates:
            if pref.data_center and not any(loc.data_center == pref.data_center for loc in locs):
                continue
            if pref.rack and not any(
                loc.rack == pref.rack and (not pref.data_center or loc.data_center == pref.data_center)
                for loc in locs
            ):
                continue
            if pref.data_node and not any(loc.url == pref.data_node for loc in locs):
                continue
            room = self._limit - self._topology.volume_size(vid, locs)
            if room > 0:
                out.append((vid, locs, room))
        return out

    def _choose(self, layout: Layout, pref: Preference) -> tuple[int, tuple[Location, ...]] | None:
        key = (layout.key(), pref)
        revisions = (self._log.state.revision, self._topology.revision)
        cached = self._picks.get(key)
        if cached is None or cached[:2] != revisions:
            candidates = self._candidates(layout, pref)
            cum = list(itertools.accumulate(room for _, _, room in candidates))
            if len(self._picks) > MAX_CACHED_PICKS:
                self._picks.clear()
            cached = self._picks[key] = (*revisions, candidates, cum)
        candidates, cum = cached[2], cached[3]
        if not candidates:
            return None
        vid, locs, _ = self._rng.choices(candidates, cum_weights=cum)[0]
        return vid, locs

    # -- assign ----------------------------------------------------------------------

    async def assign(
        self,
        layout: Layout,
        pref: Preference,
        count: int,
        *,
        grow_count: int,
        preallocate: int,
        growth_wait: float,
    ) -> Pick:
        chosen = self._choose(layout, pref)
        if chosen is None:
            await self._wait_for_growth(layout, pref, grow_count, preallocate, growth_wait)
            chosen = self._choose(layout, pref)
            if chosen is None:
                raise NoWritableVolume(
                    grow_option_json(layout, pref, preallocate), "grown volumes not writable"
                )
        key = await self._sequence.take(count)
        vid, locations = chosen
        return Pick(vid, locations, key)

    async def _wait_for_growth(
        self, layout: Layout, pref: Preference, grow_count: int, preallocate: int, wait: float
    ) -> None:
        option = grow_option_json(layout, pref, preallocate)
        with self._log.lock:
            free = sum(n.free for n in self._growth.free_slots(layout.disk_type))
            unheard = self._growth.unheard_nodes(layout.disk_type)
        growth_key = (layout, pref)
        task = self._growing.get(growth_key)
        if task is None:
            if free <= 0 and unheard:
                # Just became leader (or restarted): servers the log knows have not reported
                # yet. 503 + Retry-After, as SeaweedFS's warm-up, rather than a final 406.
                raise WarmingUp()
            if free <= 0:
                rp, ttl = layout.replica_placement, layout.ttl
                raise NoFreeVolumes(layout.collection, str(rp), str(ttl), option)
            failed_at, error = self._failed.get(growth_key, (-GROWTH_RETRY_SECONDS, ""))
            if asyncio.get_running_loop().time() - failed_at < GROWTH_RETRY_SECONDS:
                raise NoWritableVolume(option, error)
            task = asyncio.get_running_loop().create_task(
                self._growth.grow(layout, grow_count, pref, preallocate), name=f"growth {option}"
            )
            self._growing[growth_key] = task
            task.add_done_callback(lambda t: self._grown(growth_key, t))
        try:
            await asyncio.wait_for(asyncio.shield(task), wait)
        except TimeoutError:
            raise NoWritableVolume(option, "growth still running") from None
        except MasterError as err:
            raise NoWritableVolume(option, str(err)) from err

    def _grown(self, key: tuple[object, ...], task: asyncio.Task[list[GrownVolume]]) -> None:
        if self._growing.get(key) is task:
            del self._growing[key]
        if task.cancelled():
            return
        err = task.exception()
        if err is None:
            self._failed.pop(key, None)
            return
        self._failed[key] = (asyncio.get_running_loop().time(), str(err))
        log.warning("growth failed option=%s error=%s", task.get_name().removeprefix("growth "), err)

    async def close(self) -> None:
        tasks = list(self._growing.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
