"""MasterCore: the master's transport-free facade, used by `http_api.py` and `grpc_api.py`.

Lifecycle (driven by `server.serve`)::

    core = MasterCore(config, volume_admin)        # config with the *bound* port/grpc_port
    await core.start()                             # opens the Raft log in config.mdir, replays it
    tg.create_task(core.run_forever())             # leader duties: node liveness, cluster id
    ...
    await core.stop()

Node ids are the volume server's "ip:port" (HTTP listener): `MasterCore.node_id(hb)`.
The gRPC Heartbeat adapter calls `heartbeat(hb)` for every message of a stream and
`node_disconnected(node_id)` when the stream ends.

Changes from the brief's contract:
- value types (AssignRequest, AssignResult, Location, MasterStatistics) and the
  `VolumeAdmin`/`Clock` seams live in `types.py` and are re-exported here;
  `AssignRequest.preallocate` was added; `AssignResult.replicas` lists every replica (first = url);
- `lookup_token(fid, read)` gives the JWT for `/dir/lookup?fileId=` ("" when that key is unset);
- `start()`, `stop()`, `run_once()`, `run_forever()`, `statistics()` and `node_id()` were added;
- `collection_info(name, detail=True)` returns a list (one object per layout), as SeaweedFS does;
- errors added: PlacementImpossible, NotEnoughFreeVolumes, InvalidCount, VolumeServerFailed
  (406 on /vol/grow), WarmingUp (503: growth needed before the known servers have reported);
  NotLeader carries `reason`; InvalidTtl (the engine's) for a non-numeric ttl;
- an `EventLog` may be injected (tests use `raft.MemoryLog`; default: pysyncobj, `raft.RaftLog`).

Thread model: pysyncobj's thread folds committed events under `EventLog.lock`; every method
here runs on the asyncio loop and reads the state holding that lock, never across an await.

Must not import grpc or kelp_http.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from kelp_pb import events_pb2, master_pb2

from controlplane.master import admin_lock, status
from controlplane.master.admin_lock import AdminLockHeld, AdminLockLost, AdminLockStatus
from controlplane.master.assign import Assigner
from controlplane.master.config import MasterConfig
from controlplane.master.errors import (
    CollectionNotFound,
    InvalidCount,
    InvalidReplication,
    InvalidTtl,
    MasterError,
    NoFreeVolumes,
    NotEnoughFreeVolumes,
    NotLeader,
    NoWritableVolume,
    PlacementImpossible,
    VolumeNotFound,
    VolumeServerFailed,
    WarmingUp,
)
from controlplane.master.event_hub import EventHub
from controlplane.master.growth import Growth, volumes_per_growth
from controlplane.master.raft import EventLog, LogStatus, RaftLog, commit
from controlplane.master.reconcile import reconcile
from controlplane.master.sequence import Sequence
from controlplane.master.state import MasterState
from controlplane.master.token import MIN_RECOMMENDED_KEY_BYTES, sign_fid
from controlplane.master.topology import Topology
from controlplane.master.types import (
    AssignRequest,
    AssignResult,
    Clock,
    Layout,
    Location,
    MasterStatistics,
    Preference,
    SystemClock,
    VolumeAdmin,
)
from dataplane.volume.engine.types import Cookie, FileId, NeedleId, ReplicaPlacement, Ttl, VolumeId

__all__ = [
    "AdminLockHeld",
    "AdminLockLost",
    "AdminLockStatus",
    "AssignRequest",
    "AssignResult",
    "Clock",
    "CollectionNotFound",
    "InvalidCount",
    "InvalidReplication",
    "InvalidTtl",
    "Location",
    "MasterCore",
    "MasterError",
    "MasterStatistics",
    "NoFreeVolumes",
    "NoWritableVolume",
    "NotEnoughFreeVolumes",
    "NotLeader",
    "PlacementImpossible",
    "SystemClock",
    "VolumeAdmin",
    "VolumeNotFound",
    "VolumeServerFailed",
    "WarmingUp",
]


log = logging.getLogger(__name__)

_T = TypeVar("_T")

RUN_INTERVAL_SECONDS = 1.0  # leader duties cadence: liveness is judged in pulse-sized units
# How often the leader-duties loop looks at leadership: a newly elected master announces itself to
# the volume servers within this (pysyncobj has no callback on the loop to wait on instead).
LEADERSHIP_POLL_SECONDS = 0.1


@functools.lru_cache(maxsize=1024)
def parse_layout(collection: str, replication: str, ttl: str, disk: str) -> Layout:
    """The layout an assign names; cached because every assign parses the same few strings
    (errors are raised, not cached)."""
    rp = ReplicaPlacement.parse(replication)
    if rp.to_byte() > 255:
        raise InvalidReplication(replication)
    return Layout(collection, rp, Ttl.parse(ttl), "" if disk in ("", "hdd") else disk)


class MasterCore:
    def __init__(
        self,
        config: MasterConfig,
        volume_admin: VolumeAdmin,
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        log: EventLog | None = None,
    ) -> None:
        """`config.port`/`config.grpc_port` must be the ports actually bound (use
        `dataclasses.replace` after binding port 0). `log` (an `EventLog`) is for tests."""
        self._config = config
        self._admin = volume_admin
        self._clock: Clock = clock or SystemClock()
        self._rng = rng or random.Random()
        self._http = f"{config.ip}:{config.port}"
        self._grpc_port = config.grpc_port or config.port + 10000
        self._log: EventLog = log or RaftLog(
            config.mdir,
            self._http,
            peers=config.peers,
            raft_port=config.raft_port,
            bind_ip=config.bind_ip,
            tick_seconds=config.raft_tick_seconds,
            journal_fsync=config.raft_journal_fsync,
            join=config.raft_join,
        )
        self._limit = config.volume_size_limit_mb * 1024 * 1024
        self._dead_after = config.dead_node_after_seconds or 3 * config.pulse_seconds + 5
        # A heartbeat built just before growth allocated a volume does not list it yet.
        self._fresh_grace = 2 * config.pulse_seconds + 1
        self._topology = Topology()
        self._sequence = Sequence(self._reserve_keys, config.sequence_batch)
        self._growth = Growth(self._log, volume_admin, self._topology, self._clock, self._rng)
        self._assigner = Assigner(
            self._log, self._topology, self._growth, self._sequence, self._rng, self._limit
        )
        self._leader_term: int | None = None
        self._announcing: asyncio.Task[None] | None = None
        # Admin-lock grants on this leader are decided one at a time (each reads the last grant).
        self._admin_lock_mutex = asyncio.Lock()
        # Control subscriptions (kelp.v1.Control, master_pb KeepConnected) follow the applied events.
        self.hub = EventHub()
        self._log.add_observer(self.hub)

    # -- lifecycle -------------------------------------------------------------

    async def start(self) -> None:
        """Open the event log (journal + snapshot in `config.mdir`) and replay it; returns when
        this master has applied everything it had on disk (a cluster of one is then leader)."""
        for key in (self._config.jwt_signing_key, self._config.jwt_read_key):
            if key and len(key.encode()) < MIN_RECOMMENDED_KEY_BYTES:
                log.warning("jwt key shorter than %d bytes: easier to guess", MIN_RECOMMENDED_KEY_BYTES)
        self.hub.bind(asyncio.get_running_loop())
        await self._log.start()
        self._sync_leadership()

    async def stop(self) -> None:
        """Cancel growths, drop key ranges, close the event log. Idempotent."""
        await self._assigner.close()
        await self._sequence.close()
        await self._log.close()

    async def run_once(self) -> None:
        """One round of leader duties: declare silent nodes dead (NodeLeft), name the cluster."""
        if not self._sync_leadership():
            return
        now = self._clock.time()
        events = []
        with self._log.lock:
            state = self._log.state
            silent = [
                n.node_id
                for n in state.live_nodes()
                if now - self._topology.last_seen(n.node_id) > self._dead_after
            ]
            if not state.topology_id:
                topology_id = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
                events.append(
                    events_pb2.Event(topology_id_set=events_pb2.TopologyIdSet(topology_id=topology_id))
                )
        for node_id in silent:
            log.info("node silent, declared dead node=%s after=%.0fs", node_id, self._dead_after)
            events.append(events_pb2.Event(node_left=events_pb2.NodeLeft(node_id=node_id, time_ns=_ns(now))))
        if not events:
            return
        try:
            await commit(self._log, events)
        except NotLeader:
            return  # the new leader does the same
        for node_id in silent:
            self._topology.forget(node_id)

    async def run_forever(self) -> None:
        """`run_once` every second, and a look at leadership every `LEADERSHIP_POLL_SECONDS` (an
        election is then announced to the volume servers at once), until cancelled; run it in
        serve()'s TaskGroup."""
        loop = asyncio.get_running_loop()
        next_run = loop.time()
        try:
            while True:
                self._sync_leadership()
                if loop.time() >= next_run:
                    next_run = loop.time() + RUN_INTERVAL_SECONDS
                    try:
                        await self.run_once()
                    except Exception:
                        log.exception("leader duties failed; retrying")
                await asyncio.sleep(LEADERSHIP_POLL_SECONDS)
        finally:
            if self._announcing is not None:
                self._announcing.cancel()

    async def _announce(self, term: int) -> None:
        """Tell every live volume server that this master leads now. Best effort: a server that
        misses it finds the leader through its own retries."""
        with self._log.lock:
            nodes = [Location.of(n) for n in self._log.state.live_nodes()]
        outcomes = await asyncio.gather(
            *(self._admin.leader_changed(n, self._http, term) for n in nodes), return_exceptions=True
        )
        failed = [n.url for n, o in zip(nodes, outcomes, strict=True) if isinstance(o, BaseException)]
        log.info("leadership announced term=%d servers=%d unreachable=%s", term, len(nodes), failed)

    # -- leadership ----------------------------------------------------------------

    def _sync_leadership(self) -> bool:
        """Notice a change of leadership (checked at every entry point, no callback thread)."""
        leading = self._log.is_leader()
        if not leading and self._leader_term is not None and self._log.term() == self._leader_term:
            # The lease lapsed within our own term (a majority was silent for a moment): not
            # serving now, but no one else can lead in this term, so soft state and key ranges
            # stay (raft_replica.py); a new term resets them below.
            return False
        term = self._log.term() if leading else None
        if term != self._leader_term:
            if term is not None:
                log.info("became leader term=%d", term)
                # Soft state is rebuilt from heartbeats; node silence counts from now.
                self._topology.reset(self._clock.time())
                with contextlib.suppress(RuntimeError):  # no running loop: a synchronous caller
                    if self._announcing is not None:
                        self._announcing.cancel()
                    self._announcing = asyncio.get_running_loop().create_task(self._announce(term))
            else:
                log.info("leadership lost leader=%s", self._log.leader())
                self._topology.reset(0.0)
            # Ranges reserved in an older term stay unused (a gap), never reissued.
            self._sequence.reset()
            self._leader_term = term
        return leading

    def _require_leader(self) -> None:
        if not self._sync_leadership():
            raise NotLeader(self._log.leader())

    async def _reserve_keys(self, count: int, at_least: int) -> int:
        reserve = events_pb2.SequenceReserved(count=count, at_least=at_least)
        (first,) = await commit(self._log, [events_pb2.Event(sequence_reserved=reserve)])
        assert first is not None
        return first

    # -- write path (leader only: raise NotLeader on a follower) ----------------

    def _layout(self, req: AssignRequest) -> tuple[Layout, Preference]:
        text = req.replication or self._config.default_replication
        layout = parse_layout(req.collection, text, req.ttl, req.disk)
        return layout, Preference(req.data_center, req.rack, req.data_node)

    async def assign(self, req: AssignRequest) -> AssignResult:
        """Pick a writable volume for the layout and reserve `req.count` keys.

        Grows volumes when none is writable, waiting up to `assign_growth_wait_seconds`.
        Raises InvalidReplication, InvalidTtl (406), NoWritableVolume (503), NoFreeVolumes (406),
        NotLeader."""
        self._require_leader()
        layout, pref = self._layout(req)
        count = max(1, req.count)
        pick = await self._assigner.assign(
            layout,
            pref,
            count,
            grow_count=req.writable_volume_count
            or volumes_per_growth(self._config.growth, layout.replica_placement),
            preallocate=req.preallocate,
            growth_wait=self._config.assign_growth_wait_seconds,
        )
        fid = str(FileId(VolumeId(pick.volume_id), NeedleId(pick.key), Cookie(self._rng.getrandbits(32))))
        main = pick.locations[0]
        auth = sign_fid(
            self._config.jwt_signing_key, fid, self._config.jwt_expires_after_seconds, self._clock.time()
        )
        return AssignResult(fid, main.url, main.public_url, count, main.grpc_port, auth, pick.locations)

    async def grow(self, req: AssignRequest, count: int) -> int:
        """`/vol/grow`: create `count` logical volumes for the layout; returns the number of
        volume locations created (replicas counted). Raises InvalidCount, InvalidReplication,
        NotEnoughFreeVolumes, PlacementImpossible, VolumeServerFailed (all 406), NotLeader."""
        self._require_leader()
        if count < 1:
            raise InvalidCount(str(count))
        layout, pref = self._layout(req)
        copies = layout.replica_placement.copy_count
        with self._log.lock:
            free = sum(n.free for n in self._growth.free_slots(layout.disk_type))
        if count * copies > free:
            raise NotEnoughFreeVolumes(free // copies, count)
        grown = await self._growth.grow(layout, count, pref, req.preallocate)
        return sum(len(g.nodes) for g in grown)

    async def delete_collection(self, name: str) -> None:
        """Delete the collection's volumes on every live server, then log CollectionDeleted.
        Raises CollectionNotFound (400), NotLeader, VolumeServerFailed (a server failed; the
        others' volumes are gone and the failed server's reappear with its next heartbeat)."""
        self._require_leader()
        with self._log.lock:
            state = self._log.state
            if name not in state.collections():
                raise CollectionNotFound(name)
            nodes = [Location.of(n) for n in state.live_nodes()]
        outcomes = await asyncio.gather(
            *(self._admin.delete_collection(n, name) for n in nodes), return_exceptions=True
        )
        await commit(
            self._log, [events_pb2.Event(collection_deleted=events_pb2.CollectionDeleted(name=name))]
        )
        log.info("collection deleted name=%s nodes=%d", name, len(nodes))
        for node, outcome in zip(nodes, outcomes, strict=True):
            if isinstance(outcome, VolumeServerFailed):
                raise outcome
            if isinstance(outcome, BaseException):
                raise VolumeServerFailed(node.url, "delete collection", str(outcome)) from outcome

    async def vacuum(self, garbage_threshold: float) -> None:
        """Compact every replica of each volume whose garbage ratio (highest among its replicas)
        exceeds the threshold (SeaweedFS's default 0.3). A volume whose check fails is skipped.
        Raises NotLeader."""
        self._require_leader()
        with self._log.lock:
            state = self._log.state
            volumes = [
                (v.volume_id, [Location.of(state.nodes[n]) for n in v.replicas if n in state.nodes])
                for v in sorted(state.volumes.values(), key=lambda v: v.volume_id)
            ]
        for vid, locations in volumes:
            ratios = await asyncio.gather(
                *(self._admin.vacuum_check(loc, vid) for loc in locations), return_exceptions=True
            )
            if any(isinstance(r, BaseException) for r in ratios):
                log.warning(
                    "vacuum check failed vid=%d errors=%s",
                    vid,
                    [r for r in ratios if isinstance(r, BaseException)],
                )
                continue
            ratio = max((r for r in ratios if not isinstance(r, BaseException)), default=0.0)
            if ratio <= garbage_threshold:
                continue
            done = await asyncio.gather(
                *(self._admin.vacuum(loc, vid) for loc in locations), return_exceptions=True
            )
            failed = [r for r in done if isinstance(r, BaseException)]
            reclaimed = sum(r for r in done if not isinstance(r, BaseException))
            if failed:
                log.warning("vacuum failed vid=%d errors=%s", vid, failed)
            else:
                log.info("volume vacuumed vid=%d garbage=%.2f reclaimed=%d", vid, ratio, reclaimed)

    # -- heartbeats ---------------------------------------------------------------

    @staticmethod
    def node_id(hb: master_pb2.HeartbeatRequest) -> str:
        """The node id of a heartbeat's sender: "ip:port"."""
        return f"{hb.ip}:{hb.port}"

    def _heartbeat_response(self, leading: bool) -> master_pb2.HeartbeatResponse:
        return master_pb2.HeartbeatResponse(
            volume_size_limit=self._limit,
            leader="" if leading else (self._log.leader() or ""),
            pulse_seconds=max(1, round(self._config.pulse_seconds)),
        )

    async def heartbeat(self, hb: master_pb2.HeartbeatRequest) -> master_pb2.HeartbeatResponse:
        """Take one heartbeat (full inventory). On the leader: reconcile it into events and update
        soft state. On a follower: nothing is recorded; the response names the leader so the
        volume server reconnects there. Never raises NotLeader."""
        if not self._sync_leadership():
            return self._heartbeat_response(False)
        node_id = self.node_id(hb)
        now = self._clock.time()
        self._topology.observe(node_id, hb, now)
        self._sequence.observe_max_file_key(hb.max_file_key)
        with self._log.lock:
            events = reconcile(
                self._log.state,
                hb,
                time_ns=_ns(now),
                volume_size_limit=self._limit,
                fresh=self._topology.fresh_volumes(node_id, now, self._fresh_grace),
            )
        if events:
            try:
                await commit(self._log, events)
            except NotLeader:
                return self._heartbeat_response(False)
            log.debug("heartbeat reconciled node=%s events=%d", node_id, len(events))
        return self._heartbeat_response(True)

    async def node_disconnected(self, node_id: str) -> None:
        """The node's heartbeat stream ended: on the leader, log NodeLeft."""
        if not self._sync_leadership():
            return
        self._topology.forget(node_id)
        with self._log.lock:
            node = self._log.state.nodes.get(node_id)
            alive = node is not None and node.alive
        if not alive:
            return
        left = events_pb2.NodeLeft(node_id=node_id, time_ns=_ns(self._clock.time()))
        with contextlib.suppress(NotLeader):
            await commit(self._log, [events_pb2.Event(node_left=left)])
            log.info("node left node=%s", node_id)

    # -- reads (any master, from the replicated state) ---------------------------

    def lookup(self, vid: int, collection: str = "") -> list[Location]:
        """Locations of a volume's replicas on live nodes; for an erasure-coded volume one per
        held shard, in shard order, duplicates kept (as weed answers). Raises VolumeNotFound.
        (`collection` is accepted for compatibility; volume ids are unique across collections.)"""
        with self._log.lock:
            state = self._log.state
            volume = state.volumes.get(vid)
            nodes = [state.nodes.get(n) for n in volume.replicas] if volume is not None else []
            locations = [Location.of(n) for n in nodes if n is not None and n.alive]
        if not locations:
            locations = [loc for _, loc in self.lookup_ec_shards(vid)]
        if not locations:
            raise VolumeNotFound(vid)
        return locations

    def lookup_ec_shards(self, vid: int) -> list[tuple[int, Location]]:
        """(shard id, holder) for every held shard of an EC volume on live nodes, in shard order
        (a shard held twice appears twice); empty when the volume is not erasure coded."""
        with self._log.lock:
            state = self._log.state
            ec = state.ec_volumes.get(vid)
            if ec is None:
                return []
            out: list[tuple[int, Location]] = []
            for shard, node_ids in ec.holders().items():
                for node_id in node_ids:
                    node = state.nodes.get(node_id)
                    if node is not None and node.alive:
                        out.append((shard, Location.of(node)))
            return out

    def snapshot(self) -> events_pb2.StateSnapshot:
        """The replicated state as a snapshot, with the index of the last event folded into it."""
        with self._log.lock:
            return self._log.state.snapshot()

    def lookup_token(self, fid: str, read: bool = False) -> str:
        """JWT for `/dir/lookup?fileId=fid` (the read key when `read`), or "" when that key is unset."""
        c = self._config
        if read:
            return sign_fid(c.jwt_read_key, fid, c.jwt_read_expires_after_seconds, self._clock.time())
        return sign_fid(c.jwt_signing_key, fid, c.jwt_expires_after_seconds, self._clock.time())

    def _writable_ids(self, key: tuple[str, int, int, str]) -> list[int]:
        collection, rp, ttl, disk = key
        layout = Layout(collection, ReplicaPlacement.from_byte(rp), Ttl.from_u16(ttl), disk)
        return [vid for vid, _ in self._assigner.writable(layout, Preference())]

    def dir_status(self) -> dict[str, Any]:
        """`/dir/status` JSON (§3.3)."""
        with self._log.lock:
            return status.dir_status(self._log.state, list(self._assigner.layouts()), self._writable_ids)

    def vol_status(self) -> dict[str, Any]:
        """`/vol/status` JSON (§3.6)."""
        with self._log.lock:
            return status.vol_status(self._log.state, self._topology)

    def _grpc_port_of(self, http_address: str) -> int:
        if http_address == self._http:
            return self._grpc_port
        return int(http_address.rsplit(":", 1)[1]) + 10000

    def cluster_status(self) -> dict[str, Any]:
        """`/cluster/status` JSON (§3.4): IsLeader only when leader, Leader "host:port.grpcPort",
        Peers (other masters) only when there are any, MaxVolumeId."""
        with self._log.lock:
            max_vid = self._log.state.max_volume_id
        raft = self._log.status()
        out = status.cluster_status(
            is_leader=self.is_leader(),
            leader=self.leader(),
            peers=[p for p in raft.members if p != self._http] if len(raft.members) > 1 else [],
            max_volume_id=max_vid,
            grpc_port_of=self._grpc_port_of,
        )
        event_index, digest = self.state_digest()
        out.update(status.raft_fields(raft, event_index, digest))
        return out

    @property
    def address(self) -> str:
        """This master's advertised HTTP "host:port" (its id in the Raft group)."""
        return self._http

    def state_digest(self) -> tuple[int, str]:
        """(event index, sha256 hex of the folded state), taken together under the lock."""
        with self._log.lock:
            return self._log.state.event_index, status.state_digest(self._log.state)

    def raft_status(self) -> LogStatus:
        """The Raft group as this master sees it (term, indexes, members)."""
        return self._log.status()

    async def add_master(self, address: str) -> None:
        """Add a master to the Raft group (leader only: NotLeader; MembershipChangeFailed)."""
        await self._log.add_member(address)

    async def remove_master(self, address: str) -> None:
        """Remove a master from the Raft group (leader only: NotLeader; MembershipChangeFailed)."""
        await self._log.remove_member(address)

    def collection_info(self, name: str, detail: bool = False) -> dict[str, Any] | list[dict[str, Any]]:
        """`/collection/info` JSON (§3.9); a list of per-layout objects with `detail`.
        Raises CollectionNotFound (400)."""
        with self._log.lock:
            volumes = [v for v in self._log.state.volumes.values() if v.collection == name]
            if not volumes:
                raise CollectionNotFound(name)
            return status.collection_info(name, volumes, self._topology, self._limit, detail)

    def is_leader(self) -> bool:
        return self._sync_leadership()

    def statistics(self) -> MasterStatistics:
        raft = self._log.status()
        seq = self._sequence.statistics()
        with self._log.lock:
            state = self._log.state
            alive = sum(1 for _ in state.live_nodes())
            volumes, max_vid, ceiling = len(state.volumes), state.max_volume_id, state.sequence_ceiling
        return MasterStatistics(
            is_leader=raft.is_leader,
            leader=self.leader(),
            term=raft.term,
            commit_index=raft.commit_index,
            applied_index=raft.applied_index,
            nodes_alive=alive,
            volumes=volumes,
            max_volume_id=max_vid,
            sequence_ceiling=ceiling,
            keys_in_memory=seq.remaining,
            keys_issued=seq.issued,
        )

    def leader(self) -> str | None:
        """The leader's HTTP "host:port" (self included), or None while no leader is known."""
        return self._http if self._sync_leadership() else self._log.leader()

    def leader_with_grpc(self) -> str | None:
        """The leader as SeaweedFS names masters, "host:port.grpcPort" (None while unknown)."""
        leader = self.leader()
        return f"{leader}.{self._grpc_port_of(leader)}" if leader is not None else None

    def grpc_address_of(self, http_address: str) -> str:
        """ "host:grpcPort" of a master named by its HTTP "host:port" (for forwarding calls)."""
        return f"{http_address.rsplit(':', 1)[0]}:{self._grpc_port_of(http_address)}"

    @property
    def config(self) -> MasterConfig:
        return self._config

    def read_view(self, view: Callable[[MasterState, Topology], _T]) -> _T:
        """`view(state, soft_state)` holding the log lock: adapters build wire views of the
        topology this way. `view` must be quick and keep no reference to either argument.
        The soft state (sizes, counts) is only filled on the leader."""
        with self._log.lock:
            return view(self._log.state, self._topology)

    async def record(self, events: list[events_pb2.Event]) -> None:
        """Leader only: commit events deciding facts made outside the core (the maintenance
        runner's). Raises NotLeader."""
        self._require_leader()
        await commit(self._log, events)

    def leading_term(self) -> int | None:
        """The term this master leads in, or None when it does not lead."""
        return self._log.term() if self._sync_leadership() else None

    def now_ns(self) -> int:
        return _ns(self._clock.time())

    # -- the admin lock (leases are log events: see admin_lock.py) ------------------

    async def lease_admin_lock(
        self, name: str, client: str, previous_token: int, message: str
    ) -> tuple[int, int]:
        """Grant (previous_token 0, or the lock is free or lapsed) or renew (previous_token is
        the current one) the named lock; returns (token, lock_ts_ns) once committed.
        Raises AdminLockHeld (someone else holds it), NotLeader, AdminLockLost (a competing
        grant landed first)."""
        self._require_leader()
        async with self._admin_lock_mutex:
            with self._log.lock:
                event = admin_lock.lease(
                    self._log.state.admin_locks.get(name),
                    lock_name=name,
                    client_name=client,
                    previous_token=previous_token,
                    message=message,
                    now_ns=_ns(self._clock.time()),
                    term=self._log.term(),
                )
            await commit(self._log, [events_pb2.Event(admin_lock_leased=event)])
            with self._log.lock:
                granted = self._log.state.admin_locks.get(name)
                if granted is None or granted.token != event.token:
                    raise AdminLockLost(name, event.token, "a newer grant was committed first")
        if previous_token != event.token:
            log.info("admin lock granted name=%s client=%s token=%d", name, event.client_name, event.token)
        return event.token, event.lock_ts_ns

    async def release_admin_lock(self, name: str, token: int) -> None:
        """Release the lock if `token` is the current grant's (otherwise nothing happens, as in
        SeaweedFS: the caller no longer holds it). Raises NotLeader."""
        self._require_leader()
        async with self._admin_lock_mutex:
            with self._log.lock:
                lock = self._log.state.admin_locks.get(name)
                if lock is None or not lock.held or lock.token != token:
                    return
            released = events_pb2.AdminLockReleased(lock_name=name, token=token)
            await commit(self._log, [events_pb2.Event(admin_lock_released=released)])
        log.info("admin lock released name=%s token=%d", name, token)

    def admin_lock_status(self, name: str) -> AdminLockStatus:
        """Who holds the lock, from the replicated state and this master's clock (any master)."""
        with self._log.lock:
            return admin_lock.status(self._log.state.admin_locks.get(name), _ns(self._clock.time()))

    async def check_admin_token(self, name: str, token: int) -> None:
        """Return only if this master leads and `token` is the current, unexpired grant; else
        raise AdminLockLost. Leadership is proved by committing a no-op renewal (same token and
        time) in this term, so a deposed leader that still believes it leads cannot pass."""
        if not self._sync_leadership():
            raise AdminLockLost(name, token, f"this master is not the leader ({self._log.leader()})")
        async with self._admin_lock_mutex:
            with self._log.lock:
                lock = self._log.state.admin_locks.get(name)
                admin_lock.check(lock, name, token, _ns(self._clock.time()), self._log.term())
                assert lock is not None
                barrier = lock.leased_event()
            try:
                await commit(self._log, [events_pb2.Event(admin_lock_leased=barrier)])
            except NotLeader as err:
                raise AdminLockLost(name, token, f"leadership lost: {err}") from err
            with self._log.lock:
                admin_lock.check(self._log.state.admin_locks.get(name), name, token, _ns(self._clock.time()))


def _ns(seconds: float) -> int:
    return int(seconds * 1_000_000_000)
