"""The cluster admin lock (`weed shell lock`, kelp shell commands): pure policy over the folded
`AdminLock` records of `state.py`.

The lock lives in the Raft log (AdminLockLeased / AdminLockReleased events), so every master knows
the holder and a new leader keeps honouring the grant. It is fenced by its token:

- tokens only grow: a new grant takes `max(previous token + 1, term << TERM_SHIFT)`, so a grant by a
  leader of a later term is above every grant of an earlier one, and within a term each grant is
  above the one before; the fold ignores a lower token (see `state.py`);
- a renewal presents the current token and keeps it (a command running with that token is not
  refused because the background renewal landed first); it moves `lock_ts_ns`;
- fenced by term: a token carries the term of the leader that granted it (`grant_term`). After a
  failover the new leader refuses to let an older term's token act (`check`), and a renewal of
  it re-grants the lock to the same holder under a new-term token: the holder carries on with the
  new token, and anything still presenting the old one (a run its dead leader started) cannot act;
- a lease lapses when `lock_ts_ns + lease_ns` passes on the leader's clock (the holder renews every
  ~4 s, the lease is 10 s); once lapsed anyone may take the lock, with a higher token;
- an action that needs the lock (`MasterCore.check_admin_token`) is allowed only on the leader with
  the current, unexpired token; a deposed holder (its lease lapsed and someone else took the lock)
  holds an older token and is refused.

Must not import grpc, asyncio, pysyncobj or kelp_http.
"""

from __future__ import annotations

from dataclasses import dataclass

from kelp_pb import events_pb2

from controlplane.master.errors import MasterError
from controlplane.master.state import AdminLock

# SeaweedFS's shell renews every ~4 s; a lease of 10 s survives two lost renewals.
LEASE_NS = 10 * 1_000_000_000
# Term in the high bits of a token: 2^32 grants per term before a token could reach the next
# term's range; the int64 token field holds terms below 2^31.
TERM_SHIFT = 32


class AdminLockHeld(MasterError):
    """Someone else holds the lock (SeaweedFS answers "already locked by <client>")."""

    def __init__(self, lock_name: str, client_name: str, message: str) -> None:
        super().__init__(f"already locked by {client_name}")
        self.lock_name = lock_name
        self.client_name = client_name
        self.message = message


class AdminLockLost(MasterError):
    """The token is not the current holder's (lapsed, released, taken over) or this master does
    not lead: the action it guards must not run."""

    def __init__(self, lock_name: str, token: int, reason: str) -> None:
        super().__init__(f"admin lock {lock_name!r} token {token} is not valid: {reason}")
        self.lock_name = lock_name
        self.token = token
        self.reason = reason


@dataclass(frozen=True, slots=True)
class AdminLockStatus:
    is_locked: bool
    client_name: str = ""
    message: str = ""
    token: int = 0
    lock_ts_ns: int = 0


def is_held(lock: AdminLock | None, now_ns: int) -> bool:
    """Is the lock granted and its lease not yet lapsed at `now_ns`?"""
    return lock is not None and lock.held and now_ns < lock.lock_ts_ns + lock.lease_ns


def status(lock: AdminLock | None, now_ns: int) -> AdminLockStatus:
    if lock is None or not is_held(lock, now_ns):
        return AdminLockStatus(False)
    return AdminLockStatus(True, lock.client_name, lock.message, lock.token, lock.lock_ts_ns)


def grant_term(token: int) -> int:
    """The term of the leader that granted `token` (next_token puts it in the high bits)."""
    return token >> TERM_SHIFT


def next_token(lock: AdminLock | None, term: int) -> int:
    """The token of a new grant by a leader of `term`: above every earlier grant."""
    previous = lock.token if lock is not None else 0
    return max(previous + 1, term << TERM_SHIFT)


def lease(
    lock: AdminLock | None,
    *,
    lock_name: str,
    client_name: str,
    previous_token: int,
    message: str,
    now_ns: int,
    term: int,
    lease_ns: int = LEASE_NS,
) -> events_pb2.AdminLockLeased:
    """The event that grants or renews the lock for this request. Raises AdminLockHeld when another
    holder's lease is running (or the request presents a token that is not the current one)."""
    if is_held(lock, now_ns):
        assert lock is not None
        if previous_token == 0 or previous_token != lock.token:
            raise AdminLockHeld(lock_name, lock.client_name, lock.message)
        # A grant of an older term is re-issued under this one (fencing: see the module doc).
        token = lock.token if grant_term(lock.token) >= term else next_token(lock, term)
        client_name = client_name or lock.client_name
    else:
        token = next_token(lock, term)
    return events_pb2.AdminLockLeased(
        lock_name=lock_name,
        token=token,
        client_name=client_name,
        lock_ts_ns=now_ns,
        lease_ns=lease_ns,
        message=message,
        term=term,
    )


def check(lock: AdminLock | None, lock_name: str, token: int, now_ns: int, term: int = 0) -> None:
    """Raise AdminLockLost unless `token` is the current, unexpired grant, granted in `term`
    (when given: the checking leader's term) or later."""
    if term and grant_term(token) < term:
        raise AdminLockLost(lock_name, token, f"granted under term {grant_term(token)}, before the "
                                              f"failover to term {term}: renew it first")
    if lock is None or not lock.held:
        raise AdminLockLost(lock_name, token, "not locked")
    if lock.token != token:
        raise AdminLockLost(lock_name, token, f"held with a newer token by {lock.client_name}")
    if not is_held(lock, now_ns):
        raise AdminLockLost(lock_name, token, "lease lapsed")
