"""kelp's subclass of pysyncobj's SyncObj: the Raft rules pysyncobj 0.3.17 leaves out.

Everything here runs on pysyncobj's tick thread. It reaches into SyncObj through its
name-mangled private attributes (`_SyncObj__...`); those are pinned to 0.3.17 (pyproject pins
the version) and each use is named below.

1. Leader lease (stale-leader safety). Every append_entries the leader sends carries
   `kelp_sent` (the leader's monotonic clock); a follower echoes it in its `next_node_idx`
   answer. The leader holds a lease until (the send time of the latest append_entries that a
   majority, itself included, has answered) + `lease_seconds`. `serving()` is False once it
   lapses, even while pysyncobj still says LEADER (its own fallback, `leaderFallbackTimeout`,
   counts from answer *receipt* times, which a leader resumed from SIGSTOP sees as fresh).
2. Vote stickiness (Raft thesis 4.2.3), which makes the lease sound: a follower that heard
   from a leader less than `sticky_seconds` ago, or a leader whose lease holds, ignores vote
   requests. A follower answered at time t (>= the send time) and will not vote until
   t + sticky_seconds, so no other master can win an election before every lease granted by a
   majority has run out; `lease_seconds` < `sticky_seconds` leaves a margin for clock rates.
   Graceful transfer (`kelp_transfer`): the leader stops serving, then sends `timeout_now`;
   the target marks the vote requests of the election that follows, and followers answer them.
3. Stale-term answer: a node that gets append_entries from a lower term answers
   `kelp_stale_term`; a leader that gets one at a higher term steps down (fed to pysyncobj as a
   vote request it cannot grant). Without it, a node whose term grew while it was cut off
   (its vote requests ignored by 2.) could never rejoin: pysyncobj ignores lower-term leaders.
4. Joining without disruption: a master started with `-raft.join` on an empty `-mdir` does not
   campaign (its election deadline is pushed forward every tick) until it hears from a leader.
5. No truncation of committed entries that match: pysyncobj's append_entries handler deletes
   every entry after `prevLogIdx` even when the entries match (the "truncating already-applied
   log entries" it logs after a failover, when a leader re-sends entries after a reconnect).
   Before pysyncobj sees such a message, `_skip_matching` drops the leading entries that match
   the local log and moves `prevLogIdx` up to the last of them or to the local commit index
   (entries at or below the commit index are the leader's, by Raft's log matching and leader
   completeness), so only uncommitted, never-applied entries can be truncated. An entry that
   conflicts at or below the last applied index would mean this node lost acknowledged
   entries (a power loss without `-raft.journalFsync`): that is logged as critical.
6. The journal is `raft_journal.KelpJournal` (installed as pysyncobj's journal factory); with
   fsync on, it is synced before an append acknowledgement or a vote is sent and every tick.

Must not import grpc or kelp_http; raft.py is its only user.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Sequence
from typing import Any

import pysyncobj.syncobj as _syncobj_module
from pysyncobj import SyncObj, SyncObjConf, replicated
from pysyncobj.journal import MemoryJournal
from pysyncobj.monotonic import monotonic
from pysyncobj.transport import TCPTransport

from controlplane.master.raft_journal import KelpJournal

log = logging.getLogger(__name__)

_LEADER = 2  # pysyncobj's _RAFT_STATE.LEADER

# Journal options by journal path, read by the factory below when a SyncObj is constructed.
_JOURNAL_FSYNC: dict[str, bool] = {}
_JOURNAL_LOCK = threading.Lock()


def _create_journal(path: str | None) -> Any:
    if path is None:
        return MemoryJournal()
    with _JOURNAL_LOCK:
        fsync = _JOURNAL_FSYNC.get(path, False)
    return KelpJournal(path, fsync=fsync)


# SyncObj.__init__ calls the module-level name `createJournal`: route it to kelp's journal.
_syncobj_module.createJournal = _create_journal


class KelpTransport(TCPTransport):  # type: ignore[misc]  # pysyncobj is untyped
    """Stamps outgoing messages for the lease and syncs the journal before promises leave."""

    def send(self, node: Any, message: Any) -> bool:
        replica = self._syncObj
        if isinstance(message, dict) and isinstance(replica, KelpReplica):
            kind = message.get("type")
            if kind == "append_entries":
                message["kelp_sent"] = monotonic()
            elif kind == "next_node_idx":
                replica.kelp_sync_journal()
                if replica.kelp_answering_sent is not None:
                    message["kelp_sent"] = replica.kelp_answering_sent
            elif kind == "response_vote":
                replica.kelp_sync_journal()
            elif kind == "request_vote":
                replica.kelp_sync_journal()
                if message.get("term") == replica.kelp_transfer_term:
                    message["kelp_transfer"] = True
        return bool(super().send(node, message))


class KelpReplica(SyncObj):  # type: ignore[misc]  # pysyncobj is untyped
    """pysyncobj's state machine: `apply_batch` folds an EventBatch (through `fold`)."""

    def __init__(
        self,
        self_addr: str,
        partners: Sequence[str],
        conf: SyncObjConf,
        fold: Callable[[bytes], Any],
        *,
        journal_fsync: bool = False,
        joining: bool = False,
        on_members: Callable[[frozenset[str]], None] | None = None,
    ) -> None:
        # Everything the tick thread reads is set before SyncObj.__init__ starts that thread.
        self.kelp_fold = fold
        self.kelp_sticky = float(conf.raftMinTimeout)
        self.kelp_lease_seconds = 0.8 * float(conf.raftMinTimeout)
        self.kelp_acked: dict[str, float] = {}  # node id -> kelp_sent of its latest answer
        self.kelp_lease_until = 0.0
        self.kelp_no_lease_until = 0.0  # a transfer in progress: do not serve
        self.kelp_leader_contact = -math.inf  # when a current leader was last heard
        self.kelp_answering_sent: float | None = None
        self.kelp_joining = joining
        self.kelp_on_members = on_members
        self.kelp_members = frozenset(partners)
        self.kelp_transfer_term = -1  # the term of an election a leader asked us to hold
        self.kelp_diverged = 0  # applied entries replaced by different ones (see 5.)
        self.kelp_journal: Any = None
        conf.onStateChanged = self._kelp_state_changed
        journal = conf.journalFile
        if journal is not None:
            with _JOURNAL_LOCK:
                _JOURNAL_FSYNC[journal] = journal_fsync
        super().__init__(self_addr, list(partners), conf, transportClass=KelpTransport)
        self.addOnTickCallback(self._kelp_tick)

    @replicated  # type: ignore[untyped-decorator]  # pysyncobj is untyped
    def apply_batch(self, data: bytes) -> Any:
        return self.kelp_fold(data)

    # -- what raft.py asks ------------------------------------------------------------------

    def serving(self) -> bool:
        """Leader AND holding the lease: may act as leader now."""
        return bool(self._isLeader()) and monotonic() < self.kelp_lease_until

    def last_contact(self, node_id: str) -> float | None:
        """Seconds since this node last heard from `node_id`: answers to the leader's appends
        on a leader, the leader's appends on a follower; None when not tracked."""
        now: float = monotonic()
        if self._isLeader():
            sent = self.kelp_acked.get(node_id)
            return None if sent is None else max(0.0, now - float(sent))
        leader = self._getLeader()
        if leader is not None and leader.id == node_id and self.kelp_leader_contact > -math.inf:
            return max(0.0, now - float(self.kelp_leader_contact))
        return None

    def kelp_transfer(self, target: str | None, callback: Callable[[Any, int], None]) -> None:
        """Hand leadership to `target` (or the most caught-up follower): stop serving first."""
        self.kelp_no_lease_until = monotonic() + 2 * float(self.conf.raftMaxTimeout)
        self.kelp_lease_until = 0.0
        self.transferLeadership(target, callback)

    def kelp_sync_journal(self) -> None:
        journal = self.kelp_journal
        if journal is None:
            journal = self.kelp_journal = getattr(self, "_SyncObj__raftLog", None)
        if isinstance(journal, KelpJournal):
            journal.sync()

    # -- tick thread ---------------------------------------------------------------------------

    def _kelp_state_changed(self, old: int, new: int) -> None:
        self.kelp_acked.clear()
        self.kelp_lease_until = 0.0

    def _kelp_tick(self) -> None:
        now = monotonic()
        self.kelp_sync_journal()
        if self.kelp_joining:
            # pysyncobj private: the follower's election deadline (see docstring, 4.)
            self._SyncObj__raftElectionDeadline = now + float(self.conf.raftMaxTimeout)
        others = self.otherNodes
        if self._isLeader() and now >= self.kelp_no_lease_until:
            need = (len(others) + 1) // 2  # answers besides our own that make a majority
            if need == 0:
                self.kelp_lease_until = math.inf
            else:
                sent = sorted((self.kelp_acked.get(n.id, -math.inf) for n in others), reverse=True)
                self.kelp_lease_until = sent[need - 1] + self.kelp_lease_seconds
        elif self.kelp_lease_until:
            self.kelp_lease_until = 0.0
        ids = frozenset(n.id for n in others)
        if ids != self.kelp_members:
            self.kelp_members = ids
            if self.kelp_on_members is not None:
                try:
                    self.kelp_on_members(ids)
                except Exception:
                    log.exception("recording raft membership failed")

    def _kelp_refuses_vote(self, message: dict[str, Any], now: float) -> bool:
        if message.get("kelp_transfer"):
            return False
        if self._isLeader():
            return now < self.kelp_lease_until
        return now - self.kelp_leader_contact < self.kelp_sticky

    # pysyncobj private: SyncObj registers `self.__onMessageReceived` with its transport in
    # __init__; defining the mangled name here puts kelp's rules in front of it.
    def _SyncObj__onMessageReceived(self, node: Any, message: Any) -> None:
        handle = SyncObj._SyncObj__onMessageReceived
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "request_vote":
            if self._kelp_refuses_vote(message, monotonic()):
                return
        elif kind == "timeout_now":
            # The leader hands over: the election we start next uses the next term; its vote
            # requests are marked so that sticky followers answer them.
            if message.get("term", -1) >= self.raftCurrentTerm:
                self.kelp_transfer_term = self.raftCurrentTerm + 1
        elif kind == "append_entries":
            term = self.raftCurrentTerm
            if message["term"] < term:
                self._SyncObj__transport.send(node, {"type": "kelp_stale_term", "term": term})
                return
            self.kelp_leader_contact = monotonic()
            self.kelp_joining = False
            self.kelp_answering_sent = message.get("kelp_sent")
            try:
                handle(self, node, self._skip_matching(message))
            finally:
                self.kelp_answering_sent = None
            return
        elif kind == "next_node_idx":
            sent = message.get("kelp_sent")
            if sent is not None and self._isLeader():
                self.kelp_acked[node.id] = max(sent, self.kelp_acked.get(node.id, -math.inf))
        elif kind == "kelp_stale_term":
            if message["term"] > self.raftCurrentTerm and self._isLeader():
                log.info("raft leader steps down: a member is at term %d (ours %d)",
                         message["term"], self.raftCurrentTerm)
                # A vote request that cannot be granted (last log term -1) makes pysyncobj
                # adopt the term and become a follower.
                handle(self, node, {"type": "request_vote", "term": message["term"],
                                    "last_log_term": -1, "last_log_index": -1})
            return
        handle(self, node, message)

    def _skip_matching(self, message: dict[str, Any]) -> dict[str, Any]:
        """See the module docstring, 5."""
        if "prevLogIdx" not in message or "transmission" in message:
            return message
        journal = self._SyncObj__raftLog  # pysyncobj private: the journal
        if not len(journal):
            return message
        first, last = journal[0][1], journal[-1][1]
        prev = message["prevLogIdx"]
        if prev is None or last <= prev or prev < first or journal[prev - first][2] != message["prevLogTerm"]:
            return message  # nothing to truncate, or pysyncobj's own reset path
        entries = list(message.get("entries") or ())
        matched = 0
        for entry in entries:
            idx = entry[1]
            if idx > last or journal[idx - first][2] != entry[2]:
                break
            matched += 1
        rest = entries[matched:]
        if rest:
            new_prev = prev + matched
            if rest[0][1] <= last and rest[0][1] <= self.raftLastApplied:
                self.kelp_diverged += 1
                log.critical(
                    "raft entry %d was applied here but the leader has a different one (term %d, "
                    "ours %d): this master lost acknowledged entries; rebuild its -mdir",
                    rest[0][1], rest[0][2], journal[rest[0][1] - first][2],
                )
        else:
            new_prev = max(prev + matched, min(int(self.raftCommitIndex), last))
        if new_prev == prev and matched == 0:
            return message
        out = dict(message)
        out["prevLogIdx"] = new_prev
        out["prevLogTerm"] = journal[new_prev - first][2]
        out["entries"] = rest
        return out
