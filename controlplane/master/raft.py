"""The Raft event log: pysyncobj glue, and an in-memory log with the same interface for tests.

Only this module and its `raft_*.py` helpers touch pysyncobj (0.3.17, pinned). Its tick thread
applies committed entries (an `EventBatch` each) to `MasterState` under `EventLog.lock`; every
other thread reads the state holding that lock. Appends are pipelined: `append(events)` queues
the events, all events queued during one turn of the asyncio loop become ONE log entry, and the
caller's future is resolved from pysyncobj's commit callback through `loop.call_soon_threadsafe`.
So a burst of requests costs one Raft round trip, and no caller blocks a thread.

Files in `-mdir`: `raft.journal` (+ `.meta`: term, vote, commit index) holds the log,
`raft.snapshot` the compacted state (format below), `raft.members` the membership
(raft_membership.py). A master restarted on the same `-mdir` replays all of them.

Raft port convention: the Raft transport (pysyncobj's own TCP) listens on `raft_port` if
configured, else HTTP port + 20000 (9333 -> 29333; the gRPC port is HTTP + 10000). `-peers`
and RaftAddServer name masters by HTTP "host:port"; their Raft addresses follow the convention,
so every master of a group must use it. A cluster of one whose HTTP port + 20000 does not fit
in 16 bits (a test binding port 0) takes a free port instead, and ignores the membership
recorded in its snapshot, so a changed port never turns it into a two-node cluster.

Membership (raft_membership.py): bootstrapping happens once per `-mdir`; afterwards the recorded
members win over `-peers`, and a member of a group started without `-peers` refuses to start.
To add a master: start it on an empty `-mdir` with `-peers=<current members>,<itself>
-raft.join` (it waits, never campaigning, until the leader adds it), then call RaftAddServer
(`kelp shell cluster.raft.add`) on any master. To remove one: RaftRemoveServer, then stop it.
Removing the leader first hands leadership to the most caught-up follower (Raft TimeoutNow),
and the new leader removes it. pysyncobj changes one member at a time.

Leader duties only on a leader with a lease (raft_replica.py): `is_leader()` is True only while
a majority has answered an append sent less than 0.8 x raftMinTimeout ago, and followers ignore
vote requests for raftMinTimeout after hearing from a leader, so a leader cut off from the
majority stops serving before any other master can be elected. Measured (network namespaces,
tests/chaos/test_master_partition.py): the cut-off leader's last assign answer came 0.25 s after
the cut, the new leader was seen at 1.0 s. Timing: elections after 0.4-1.0 s of silence,
heartbeats every 0.1 s, pysyncobj's own leaderFallbackTimeout 0.4 s, reconnects every 0.5 s.

pysyncobj 0.3.17 durability and correctness, as read in its source, and what kelp does:
- Log entries go to an mmap that is flushed only on clean shutdown; after a power loss the
  journal header can point past records that never reached the disk (its PR #197: a start-up
  hang). kelp replaces the journal (raft_journal.KelpJournal, same file format) with one that
  validates every record when read and cuts a torn tail, writes with pwrite, and compacts by
  writing a new file and renaming it.
- Term and vote are written to `.meta` before a vote is sent, but without fsync; the commit
  index is saved once a second. With `-raft.journalFsync` kelp fdatasyncs entries before an
  append is acknowledged or a vote sent (and every tick, before the leader counts its own
  entries), and fsyncs `.meta` + directory on every term/vote change. Off (default), the
  journal survives kill -9 (page cache) but not a power loss. The commit index read back is
  never above the journal's last entry.
- "truncating already-applied log entries": pysyncobj's append_entries handler deletes every
  entry after prevLogIdx, even when they match (a leader re-sending entries after a reconnect
  or a failover). Matching entries that come back are identical, so the folded state does not
  diverge by itself; it can only diverge if acknowledged entries were lost (power loss without
  fsync) and a different entry replaces an applied one. kelp rewrites such messages before
  pysyncobj sees them so that entries at or below the local commit index are never truncated,
  and logs a critical line (and counts it) if an applied entry would be replaced.
- A node whose term grew while cut off could never rejoin (pysyncobj ignores lower-term
  leaders and, with sticky votes, its vote requests are ignored): it answers such appends with
  `kelp_stale_term` and the leader steps down for one election.

Snapshot file format, version 1 (all integers big-endian):
    offset 0   8 bytes  magic b"KELPSNAP"
    offset 8   4 bytes  format version (1)
    offset 12  8 bytes  length N of the state
    offset 20  N bytes  `MasterState.to_bytes()` (a kelp.v1.StateSnapshot)
    offset 20+N         pickle of pysyncobj's raft data (last applied entries, cluster members)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import socket
import struct
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from kelp_pb import events_pb2
from pysyncobj import FAIL_REASON, SyncObjConf

from controlplane.master import raft_membership
from controlplane.master.errors import NotLeader
from controlplane.master.raft_replica import KelpReplica
from controlplane.master.state import MasterState

log = logging.getLogger(__name__)

RAFT_PORT_OFFSET = 20000
JOURNAL_NAME = "raft.journal"
SNAPSHOT_NAME = "raft.snapshot"
SNAPSHOT_MAGIC = b"KELPSNAP"
SNAPSHOT_FORMAT_VERSION = 1
_SNAPSHOT_HEADER = struct.Struct(">8sIQ")

# How long an append may wait for its commit before the caller is told the log is
# unavailable: longer than a failover (0.7-1.9 s measured), short enough that an HTTP client
# gets an answer instead of hanging.
APPEND_TIMEOUT_SECONDS = 5.0

# How long start() waits for a cluster of one to elect itself and replay its journal.
READY_TIMEOUT_SECONDS = 15.0

_FAILURES = {
    FAIL_REASON.QUEUE_FULL: "raft command queue full",
    FAIL_REASON.MISSING_LEADER: "no leader",
    FAIL_REASON.DISCARDED: "entry discarded by a new leader",
    FAIL_REASON.NOT_LEADER: "leadership lost before commit",
    FAIL_REASON.LEADER_CHANGED: "leader changed before commit",
    FAIL_REASON.REQUEST_DENIED: "request denied",
    FAIL_REASON.UNKNOWN_OUTCOME: "unknown outcome",
}


def raft_port_for(http_port: int, raft_port: int = 0) -> int:
    """The Raft port of a master: `raft_port` if set, else HTTP port + 20000."""
    return raft_port or http_port + RAFT_PORT_OFFSET


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True, slots=True)
class MemberStatus:
    """One master of the Raft group as the answering master sees it."""

    address: str  # HTTP "host:port"
    raft_address: str  # "host:raftport"
    role: str  # "leader" | "follower" | "unknown"
    healthy: bool  # connected to the answering master (self: True)
    last_contact_seconds: float | None  # None: never heard, or not tracked here


@dataclass(frozen=True, slots=True)
class LogStatus:
    is_leader: bool
    leader: str | None  # leader's HTTP "host:port"
    term: int
    commit_index: int
    applied_index: int
    members: tuple[str, ...]  # HTTP "host:port" of every master, self included
    member_status: tuple[MemberStatus, ...] = ()


class AppliedObserver(Protocol):
    """Told of every fold, holding `EventLog.lock`, on the thread that applies (pysyncobj's tick
    thread, or the loop for the memory log). Must be quick and must not block: it hands events
    on (for example to control subscribers through `loop.call_soon_threadsafe`)."""

    def applied(self, events: Sequence[events_pb2.Event], last_index: int) -> None:
        """`events` were folded; the last of them has index `last_index` (`state.event_index`)."""
        ...

    def reset(self, last_index: int) -> None:
        """A snapshot replaced the state; it covers events up to `last_index`. Events retained
        before it may not be contiguous with what follows, so drop them."""
        ...


class EventLog(Protocol):
    """What the core needs from a log. `state` may only be read holding `lock`."""

    state: MasterState
    lock: threading.RLock

    def add_observer(self, observer: AppliedObserver) -> None:
        """Register before `start()`: every later fold is reported to it."""
        ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    def is_leader(self) -> bool: ...

    def leader(self) -> str | None: ...

    def term(self) -> int: ...

    def append(self, events: Sequence[events_pb2.Event]) -> asyncio.Future[list[int | None]]:
        """Queue events; the future resolves, once they are committed and applied, to what
        applying each returned (see `MasterState.apply`), or fails with NotLeader."""
        ...

    def status(self) -> LogStatus: ...

    async def add_member(self, address: str) -> None:
        """Add a master by HTTP "host:port" (leader only)."""
        ...

    async def remove_member(self, address: str) -> None:
        """Remove a master by HTTP "host:port" (leader only)."""
        ...


async def commit(
    log_: EventLog, events: Sequence[events_pb2.Event], timeout: float = APPEND_TIMEOUT_SECONDS
) -> list[int | None]:
    """Append and wait for the commit, bounded by `timeout` (then NotLeader)."""
    fut = log_.append(events)
    try:
        return await asyncio.wait_for(asyncio.shield(fut), timeout)
    except TimeoutError as err:
        raise NotLeader(log_.leader(), "commit timed out") from err


class _Batcher:
    """Collects the events appended during one loop turn into one entry."""

    def __init__(self, submit: Any) -> None:
        self._submit = submit  # submit(data: bytes, on_done(results | None, error | None))
        self._pending: list[tuple[list[events_pb2.Event], asyncio.Future[list[int | None]]]] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    def add(self, events: Sequence[events_pb2.Event]) -> asyncio.Future[list[int | None]]:
        loop = asyncio.get_running_loop()
        self._loop = loop
        fut: asyncio.Future[list[int | None]] = loop.create_future()
        if not self._pending:
            loop.call_soon(self._flush)
        self._pending.append((list(events), fut))
        return fut

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        batch = events_pb2.EventBatch(events=[e for evs, _ in pending for e in evs])
        loop = self._loop
        assert loop is not None

        def resolve(results: list[int | None] | None, error: Exception | None) -> None:
            at = 0
            for evs, fut in pending:
                if fut.done():
                    continue
                if error is not None or results is None:
                    fut.set_exception(error or NotLeader(None, "no result"))
                else:
                    fut.set_result(results[at : at + len(evs)])
                at += len(evs)

        def on_done(results: list[int | None] | None, error: Exception | None) -> None:
            # pysyncobj's thread (or the loop, for the memory log)
            with contextlib.suppress(RuntimeError):  # loop already closed at shutdown
                loop.call_soon_threadsafe(resolve, results, error)

        self._submit(batch.SerializeToString(), on_done)


def _fold(
    state: MasterState, events: Sequence[events_pb2.Event], observers: Sequence[AppliedObserver]
) -> list[int | None]:
    """Apply a batch and report it; the caller holds the state lock."""
    results = state.apply_all(events)
    for observer in observers:
        observer.applied(events, state.event_index)
    return results


class MembershipChangeFailed(Exception):
    """RaftAddServer/RaftRemoveServer did not take effect (`reason` says why)."""

    def __init__(self, address: str, reason: str) -> None:
        super().__init__(f"membership change for {address} failed: {reason}")
        self.address = address
        self.reason = reason


# Multi-master timing. Elections start 0.4-1.0 s after the leader falls silent; the lease
# (raft_replica.py) is 0.8 x the minimum; a leader that a majority has not answered for
# `leaderFallbackTimeout` becomes a follower in pysyncobj too; a lost connection to another
# master is retried every `connectionRetryTime` (pysyncobj's default, 5 s, would delay a
# restarted master's return by up to that).
CLUSTER_TIMING = {
    "raftMinTimeout": 0.4,
    "raftMaxTimeout": 1.0,
    "appendEntriesPeriod": 0.1,
    "leaderFallbackTimeout": 0.4,
    "connectionRetryTime": 0.5,
}
# How long a membership change may take before the caller is told it failed.
MEMBERSHIP_TIMEOUT_SECONDS = 10.0
# How long a membership change waits for a just-elected leader's first lease.
LEASE_WAIT_SECONDS = 2.0


class RaftLog:
    """The master's event log on pysyncobj (a cluster of one when `peers` is empty)."""

    def __init__(
        self,
        mdir: str,
        http_address: str,
        *,
        peers: Sequence[str] = (),
        raft_port: int = 0,
        bind_ip: str = "",
        tick_seconds: float = 0.01,
        journal_fsync: bool = False,
        join: bool = False,
    ) -> None:
        """`http_address` is this master's advertised HTTP "host:port"; `peers` every master's.
        `join`: an empty `-mdir` waits to be added to a running cluster (raft_membership.py)."""
        self.state = MasterState()
        self.lock = threading.RLock()
        self._observers: list[AppliedObserver] = []
        self._mdir = mdir
        self._http = http_address
        self._peers = tuple(peers)
        host, http_port = http_address.rsplit(":", 1)
        self._single = not [p for p in peers if p != http_address]
        port = raft_port_for(int(http_port), raft_port)
        if self._single and not raft_port and port > 65535:
            port = _free_port(bind_ip or host)
        self._raft_addr = f"{host}:{port}"
        # HTTP address of each master by Raft address, to name the leader to clients.
        self._http_by_raft = {self._raft_addr: http_address}
        self._bind_ip = bind_ip
        self._tick = tick_seconds
        self._journal_fsync = journal_fsync
        self._join = join
        self._replica: KelpReplica | None = None
        self._batcher = _Batcher(self._submit)

    @property
    def raft_address(self) -> str:
        return self._raft_addr

    def add_observer(self, observer: AppliedObserver) -> None:
        self._observers.append(observer)

    def _conf(self) -> SyncObjConf:
        os.makedirs(self._mdir, exist_ok=True)
        bind = f"{self._bind_ip}:{self._raft_addr.rsplit(':', 1)[1]}" if self._bind_ip else None
        timing: dict[str, float] = {"raftMinTimeout": 0.1, "raftMaxTimeout": 0.2} if self._single else {
            **CLUSTER_TIMING
        }
        timing.setdefault("appendEntriesPeriod", 0.03)
        return SyncObjConf(
            journalFile=os.path.join(self._mdir, JOURNAL_NAME),
            fullDumpFile=os.path.join(self._mdir, SNAPSHOT_NAME),
            serializer=self._write_snapshot,
            deserializer=self._read_snapshot,
            dynamicMembershipChange=True,
            # Wake the tick thread on every append (pipe notifier) instead of waiting for
            # the next tick: commit latency is then one tick, not two.
            appendEntriesUseBatch=False,
            autoTickPeriod=self._tick,
            bindAddress=bind,
            maxBindRetries=25,
            bindRetryTime=0.2,
            **timing,
        )

    # -- addresses -----------------------------------------------------------------------

    def _raft_of(self, http: str) -> str:
        if http == self._http:
            return self._raft_addr
        host, port = http.rsplit(":", 1)
        return f"{host}:{raft_port_for(int(port))}"

    def _http_of(self, raft: str) -> str:
        known = self._http_by_raft.get(raft)
        if known is not None:
            return known
        host, port = raft.rsplit(":", 1)
        return f"{host}:{int(port) - RAFT_PORT_OFFSET}"

    def _record_members(self, raft_ids: frozenset[str]) -> None:
        """An applied membership change (tick thread): remember it in -mdir."""
        members = sorted({self._http_of(r) for r in raft_ids} | {self._http})
        for member in members:
            self._http_by_raft.setdefault(self._raft_of(member), member)
        raft_membership.save(self._mdir, self._http, members)
        log.info("raft membership changed members=%s", ",".join(members))

    # -- snapshots (called on pysyncobj's thread) --------------------------------

    def _write_snapshot(self, path: str, raft_data: Any) -> None:
        with self.lock:
            state = self.state.to_bytes()
        with open(path, "wb") as f:
            f.write(_SNAPSHOT_HEADER.pack(SNAPSHOT_MAGIC, SNAPSHOT_FORMAT_VERSION, len(state)))
            f.write(state)
            pickle.dump(raft_data, f)
            f.flush()
            os.fsync(f.fileno())

    def _read_snapshot(self, path: str) -> Any:
        with open(path, "rb") as f:
            magic, version, size = _SNAPSHOT_HEADER.unpack(f.read(_SNAPSHOT_HEADER.size))
            if magic != SNAPSHOT_MAGIC or version != SNAPSHOT_FORMAT_VERSION:
                raise ValueError(f"{path}: not a kelp snapshot of a known version ({magic!r}, {version})")
            state = MasterState.from_bytes(f.read(size))
            last, previous, cluster = pickle.load(f)  # our own file, written above
        with self.lock:
            self.state.replace_with(state)
            for observer in self._observers:
                observer.reset(state.event_index)
        if self._single:
            cluster = ()  # see the module docstring: a cluster of one stays one
        return last, previous, cluster

    # -- lifecycle -----------------------------------------------------------------

    def _fold_entry(self, data: bytes) -> list[int | None]:
        batch = events_pb2.EventBatch.FromString(data)
        with self.lock:
            return _fold(self.state, batch.events, self._observers)

    async def start(self) -> None:
        """Open the journal and snapshot in `mdir` and join the group. Raises
        raft_membership.MembershipConflict when `mdir` belongs to another cluster identity."""
        fresh = not raft_membership.has_state(self._mdir)
        membership = await asyncio.to_thread(
            raft_membership.resolve, self._mdir, self._http, () if self._single else self._peers
        )
        for member in membership.members:
            self._http_by_raft.setdefault(self._raft_of(member), member)
        partners = [self._raft_of(m) for m in membership.members if m != self._http]
        conf = self._conf()
        self._replica = await asyncio.to_thread(
            KelpReplica,
            self._raft_addr,
            partners,
            conf,
            self._fold_entry,
            journal_fsync=self._journal_fsync,
            joining=self._join and fresh,
            on_members=None if self._single else self._record_members,
        )
        replica = self._replica
        await asyncio.to_thread(replica.waitBinded)
        if not self._single:
            log.info("raft started mdir=%s raft=%s members=%s joining=%s fsync=%s", self._mdir,
                     self._raft_addr, ",".join(membership.members), self._join and fresh,
                     self._journal_fsync)
            return
        deadline = asyncio.get_running_loop().time() + READY_TIMEOUT_SECONDS
        while not (replica.serving() and replica.isReady()):
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"raft log in {self._mdir} not ready in {READY_TIMEOUT_SECONDS} s")
            await asyncio.sleep(0.01)  # polling pysyncobj's thread; no event to wait on
        log.info("raft ready mdir=%s raft=%s term=%d", self._mdir, self._raft_addr, self.term())

    async def close(self) -> None:
        replica, self._replica = self._replica, None
        if replica is not None:
            await asyncio.to_thread(replica.destroy_synchronous)

    # -- queries -------------------------------------------------------------------

    def is_leader(self) -> bool:
        """Leader holding its lease (raft_replica.py): False on a leader cut off from the
        majority before any other master can be elected."""
        return self._replica is not None and self._replica.serving()

    def leader(self) -> str | None:
        if self._replica is None:
            return None
        node = self._replica._getLeader()
        if node is None:
            return None
        return self._http_of(str(node.address))

    def term(self) -> int:
        return int(self._replica.raftCurrentTerm) if self._replica is not None else 0

    def members(self) -> list[MemberStatus]:
        """Every member as this master sees it, self included, sorted by HTTP address."""
        r = self._replica
        if r is None:
            return []
        leader = r._getLeader()
        leader_id = None if leader is None else str(leader.id)
        out = [MemberStatus(self._http, self._raft_addr,
                            "leader" if r._isLeader() else ("follower" if leader_id else "unknown"),
                            True, 0.0)]
        for node in r.otherNodes:
            node_id = str(node.id)
            role = "leader" if node_id == leader_id else ("follower" if leader_id else "unknown")
            out.append(MemberStatus(self._http_of(node_id), node_id, role,
                                    bool(r.isNodeConnected(node)), r.last_contact(node_id)))
        return sorted(out, key=lambda m: m.address)

    def status(self) -> LogStatus:
        r = self._replica
        members = self.members()
        return LogStatus(
            is_leader=self.is_leader(),
            leader=self.leader(),
            term=self.term(),
            commit_index=int(r.raftCommitIndex) if r is not None else 0,
            applied_index=int(r.raftLastApplied) if r is not None else 0,
            members=tuple(m.address for m in members) or (self._http,),
            member_status=tuple(members),
        )

    # -- membership (leader only) ------------------------------------------------------

    async def _membership_call(self, address: str, start: Any) -> None:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[int] = loop.create_future()

        def settle(error: int) -> None:
            if not fut.done():
                fut.set_result(error)

        def callback(result: Any, error: int) -> None:
            with contextlib.suppress(RuntimeError):  # loop closed at shutdown
                loop.call_soon_threadsafe(settle, error)

        start(callback)
        try:
            error = await asyncio.wait_for(fut, MEMBERSHIP_TIMEOUT_SECONDS)
        except TimeoutError as err:
            raise MembershipChangeFailed(address, "not committed in time") from err
        if error != FAIL_REASON.SUCCESS:
            if error in (FAIL_REASON.NOT_LEADER, FAIL_REASON.MISSING_LEADER, FAIL_REASON.LEADER_CHANGED):
                raise NotLeader(self.leader(), _FAILURES.get(error, str(error)))
            reason = _FAILURES.get(error, f"raft error {error}")
            if error == FAIL_REASON.REQUEST_DENIED:
                reason = "another membership change is in progress, or the leader is not ready yet"
            raise MembershipChangeFailed(address, reason)

    async def add_member(self, address: str) -> None:
        """Add the master whose HTTP address is `address` (its Raft port by the convention).
        Leader only (NotLeader otherwise); returns once the change is committed."""
        replica = await self._require_serving()
        raft = self._raft_of(address)
        if raft in {str(n.id) for n in replica.otherNodes} or address == self._http:
            return
        self._http_by_raft[raft] = address
        await self._membership_call(address, lambda cb: replica.addNodeToCluster(raft, callback=cb))
        log.info("raft member added address=%s raft=%s", address, raft)

    async def remove_member(self, address: str) -> None:
        """Remove a master. Removing this (the leader) master first hands leadership to the
        most caught-up follower and raises NotLeader naming it, so the caller retries there."""
        replica = await self._require_serving()
        if address == self._http:
            await self._membership_call(address, lambda cb: replica.kelp_transfer(None, cb))
            deadline = asyncio.get_running_loop().time() + MEMBERSHIP_TIMEOUT_SECONDS
            while (self.leader() in (None, self._http)) and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.05)  # polling pysyncobj's thread for the new leader
            raise NotLeader(self.leader(), "leadership handed over to remove this master")
        raft = self._raft_of(address)
        if raft not in {str(n.id) for n in replica.otherNodes}:
            return
        await self._membership_call(address, lambda cb: replica.removeNodeFromCluster(raft, callback=cb))
        log.info("raft member removed address=%s raft=%s", address, raft)

    async def _require_serving(self) -> KelpReplica:
        """The replica, once it serves as leader. A leader elected a moment ago holds no lease
        until a majority has answered its first appends: wait for that (briefly) instead of
        refusing a membership change forwarded to it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LEASE_WAIT_SECONDS
        while True:
            replica = self._replica
            if replica is not None and replica.serving():
                return replica
            if replica is None or not replica._isLeader() or loop.time() > deadline:
                raise NotLeader(self.leader())
            await asyncio.sleep(0.02)  # polling pysyncobj's thread for the lease

    # -- appends -------------------------------------------------------------------

    def append(self, events: Sequence[events_pb2.Event]) -> asyncio.Future[list[int | None]]:
        if not self.is_leader():
            # pysyncobj would forward a follower's command to the leader; kelp's leader
            # duties run only on the leader, so refuse instead.
            raise NotLeader(self.leader())
        return self._batcher.add(events)

    def _submit(self, data: bytes, on_done: Any) -> None:
        replica = self._replica
        if replica is None:
            on_done(None, NotLeader(None, "raft log closed"))
            return

        def callback(result: Any, error: int) -> None:
            if error == FAIL_REASON.SUCCESS:
                on_done(result, None)
            else:
                on_done(None, NotLeader(self.leader(), _FAILURES.get(error, f"raft error {error}")))

        replica.apply_batch(data, callback=callback)


class MemoryLog:
    """An always-leader log that applies on the next loop turn: core unit tests use it."""

    def __init__(self, state: MasterState | None = None) -> None:
        self.state = state or MasterState()
        self.lock = threading.RLock()
        self.leader_address: str | None = "127.0.0.1:9333"
        self.leading = True
        self.current_term = 1
        self.entries: list[events_pb2.EventBatch] = []
        self._observers: list[AppliedObserver] = []
        self._batcher = _Batcher(self._submit)

    def add_observer(self, observer: AppliedObserver) -> None:
        self._observers.append(observer)

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def is_leader(self) -> bool:
        return self.leading

    def leader(self) -> str | None:
        return self.leader_address

    def term(self) -> int:
        return self.current_term

    def status(self) -> LogStatus:
        n = len(self.entries)
        me = self.leader_address or "127.0.0.1:9333"
        member = MemberStatus(me, f"{me.rsplit(':', 1)[0]}:{raft_port_for(int(me.rsplit(':', 1)[1]))}",
                              "leader" if self.leading else "unknown", True, 0.0)
        return LogStatus(self.leading, self.leader_address, self.current_term, n, n, (me,), (member,))

    async def add_member(self, address: str) -> None:
        if not self.leading:
            raise NotLeader(self.leader_address)
        raise MembershipChangeFailed(address, "the in-memory log has no other members")

    async def remove_member(self, address: str) -> None:
        await self.add_member(address)

    def append(self, events: Sequence[events_pb2.Event]) -> asyncio.Future[list[int | None]]:
        if not self.leading:
            raise NotLeader(self.leader_address)
        return self._batcher.add(events)

    def _submit(self, data: bytes, on_done: Any) -> None:
        batch = events_pb2.EventBatch.FromString(data)
        self.entries.append(batch)
        with self.lock:
            results = _fold(self.state, batch.events, self._observers)
        on_done(results, None)
