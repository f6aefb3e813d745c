"""Which masters form this master's Raft group, decided once per `-mdir` and recorded there.

`raft.members` (JSON, in `-mdir`) names this master and every member by HTTP "host:port":

    {"version": 1, "self": "10.0.0.1:9333", "members": ["10.0.0.1:9333", "10.0.0.2:9333", ...]}

It is written when a master first starts on an empty `-mdir` (from `-peers`) and rewritten
whenever an applied membership change (RaftAddServer / RaftRemoveServer) alters the group.

Bootstrapping happens once: a master whose `-mdir` already holds state never starts a new
cluster identity. `resolve()` decides the members to start with:
- empty `-mdir`: `-peers` (self included), or self alone without `-peers`; with `join` the
  master waits to be added by the cluster's leader and never campaigns before it has heard
  from one (raft_replica.py);
- state recorded: the recorded members, whatever `-peers` says now (membership changes happen
  through the leader, not by editing flags), EXCEPT that these refuse to start
  (`MembershipConflict`, one line for the operator):
  * a member of a cluster of several started without `-peers` (it would become a cluster of one
    and elect itself: a second cluster identity next to the real one);
  * a cluster of one started with `-peers` naming others (the others, if fresh, would
    bootstrap a cluster of their own around it);
  * an `-mdir` of a cluster of several recorded for another address (it belongs to a
    different master); a cluster of one may change its address.
- state from before this file existed (a journal or snapshot, no `raft.members`): `-peers`
  as given, recorded from now on.

Must not import pysyncobj, grpc or kelp_http.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)

MEMBERS_NAME = "raft.members"
MEMBERS_FORMAT_VERSION = 1
# Files whose presence means the directory holds Raft state (raft.py's names).
STATE_FILES = ("raft.journal", "raft.snapshot")


class MembershipConflict(Exception):
    """This `-mdir` belongs to a cluster the requested start would split or replace."""

    def __init__(self, mdir: str, recorded: Sequence[str], requested: Sequence[str], message: str) -> None:
        super().__init__(message)
        self.mdir = mdir
        self.recorded = tuple(recorded)
        self.requested = tuple(requested)


@dataclass(frozen=True, slots=True)
class Membership:
    self_address: str
    members: tuple[str, ...]  # sorted HTTP "host:port", self included


def members_path(mdir: str) -> str:
    return os.path.join(mdir, MEMBERS_NAME)


def load(mdir: str) -> Membership | None:
    """The recorded membership, or None when the file does not exist."""
    try:
        with open(members_path(mdir), encoding="utf-8") as f:
            doc = json.load(f)
    except FileNotFoundError:
        return None
    return Membership(str(doc["self"]), tuple(sorted(str(m) for m in doc["members"])))


def save(mdir: str, self_address: str, members: Iterable[str]) -> Membership:
    """Record the membership atomically (temporary file, fsync, rename)."""
    membership = Membership(self_address, tuple(sorted(set(members) | {self_address})))
    doc = {"version": MEMBERS_FORMAT_VERSION, "self": self_address, "members": list(membership.members)}
    os.makedirs(mdir, exist_ok=True)
    tmp = members_path(mdir) + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(doc, f)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, members_path(mdir))
    return membership


def has_state(mdir: str) -> bool:
    return any(os.path.exists(os.path.join(mdir, name)) for name in (MEMBERS_NAME, *STATE_FILES))


def resolve(mdir: str, self_address: str, peers: Sequence[str]) -> Membership:
    """The members to start with (see the module docstring); records them when new.
    Raises MembershipConflict."""
    requested = tuple(sorted(set(peers) | {self_address})) if peers else (self_address,)
    recorded = load(mdir)
    if recorded is None:
        if has_state(mdir):
            log.info("raft membership recorded from -peers for existing state mdir=%s members=%s",
                     mdir, ",".join(requested))
        return save(mdir, self_address, requested)
    listed = ",".join(recorded.members)
    if len(recorded.members) == 1 and len(requested) == 1:
        # A cluster of one may move (a test binding port 0 gets a new port each start).
        return recorded if recorded.self_address == self_address else save(mdir, self_address, requested)
    if recorded.self_address != self_address:
        raise MembershipConflict(
            mdir, recorded.members, requested,
            f"-mdir={mdir} holds the Raft state of master {recorded.self_address}, not {self_address}; "
            "start that master with it, or use an empty -mdir",
        )
    if len(recorded.members) > 1 and len(requested) == 1:
        raise MembershipConflict(
            mdir, recorded.members, requested,
            f"-mdir={mdir} holds the state of a {len(recorded.members)}-master cluster ({listed}); "
            f"refusing to start a new cluster of one: start with -peers={listed}, "
            "or use an empty -mdir for a new cluster",
        )
    if len(recorded.members) == 1 and len(requested) > 1:
        raise MembershipConflict(
            mdir, recorded.members, requested,
            f"-mdir={mdir} holds the state of a cluster of one ({listed}); refusing to join it "
            f"with -peers={','.join(requested)}: start it without -peers and add masters with "
            "cluster.raft.add, or use an empty -mdir",
        )
    if recorded.members != requested:
        log.warning(
            "raft membership from -mdir, not -peers mdir=%s recorded=%s peers=%s",
            mdir, listed, ",".join(requested),
        )
    return recorded
