"""The admin lock: folded from AdminLockLeased/Released (tokens only grow, renewals keep the token,
snapshots keep the lock), granted by the leader with fenced tokens, lapsing on the leader's clock,
and checked by `check_admin_token` (leader only, current unexpired token)."""

from __future__ import annotations

import asyncio

import pytest
from kelp_pb import events_pb2

from controlplane.master import admin_lock
from controlplane.master.admin_lock import LEASE_NS, TERM_SHIFT, AdminLockHeld, AdminLockLost
from controlplane.master.errors import NotLeader
from controlplane.master.state import MasterState
from tests.unit.controlplane.master.fakes import make_core


def leased(token: int, client: str = "a", ts: int = 100, name: str = "shell") -> events_pb2.Event:
    return events_pb2.Event(
        admin_lock_leased=events_pb2.AdminLockLeased(
            lock_name=name, token=token, client_name=client, lock_ts_ns=ts, lease_ns=LEASE_NS, term=1
        )
    )


def released(token: int, name: str = "shell") -> events_pb2.Event:
    return events_pb2.Event(admin_lock_released=events_pb2.AdminLockReleased(lock_name=name, token=token))


# -- the fold ---------------------------------------------------------------------------------


def test_a_higher_token_is_a_new_grant_and_a_lower_one_is_ignored() -> None:
    state = MasterState()
    state.apply_all([leased(5, "a"), leased(7, "b"), leased(6, "c")])
    lock = state.admin_locks["shell"]
    assert (lock.token, lock.client_name, lock.held) == (7, "b", True)


def test_a_renewal_keeps_the_token_and_never_moves_the_time_back() -> None:
    state = MasterState()
    state.apply_all([leased(5, "a", ts=100), leased(5, "a", ts=300), leased(5, "a", ts=200)])
    lock = state.admin_locks["shell"]
    assert (lock.token, lock.lock_ts_ns) == (5, 300)


def test_release_counts_only_with_the_current_token_and_keeps_it() -> None:
    state = MasterState()
    state.apply_all([leased(5), released(4)])
    assert state.admin_locks["shell"].held
    state.apply(released(5))
    assert not state.admin_locks["shell"].held
    # A renewal of a released grant is not a grant; only a higher token is.
    state.apply(leased(5, ts=999))
    assert not state.admin_locks["shell"].held
    state.apply(leased(6))
    assert state.admin_locks["shell"].held


def test_snapshots_keep_held_and_released_locks() -> None:
    state = MasterState()
    state.apply_all([leased(5, "a", name="shell"), leased(9, "b", name="other"), released(9, "other")])
    copy = MasterState.from_bytes(state.to_bytes())
    assert copy == state
    assert copy.admin_locks["shell"].held and not copy.admin_locks["other"].held
    changed = MasterState.from_bytes(state.to_bytes())
    changed.admin_locks["shell"].lock_ts_ns += 1
    assert changed != state


# -- the policy ---------------------------------------------------------------------------------


def test_tokens_of_a_later_term_are_above_every_earlier_token() -> None:
    state = MasterState()
    first = admin_lock.next_token(None, term=3)
    state.apply(leased(first))
    second = admin_lock.next_token(state.admin_locks["shell"], term=3)
    assert second == first + 1
    later_term = admin_lock.next_token(state.admin_locks["shell"], term=4)
    assert later_term == 4 << TERM_SHIFT > second


def test_a_held_lock_refuses_others_and_a_lapsed_one_is_granted_anew() -> None:
    state = MasterState()
    state.apply(leased(5, "alice", ts=1000))  # token 5: granted in term 0
    lock = state.admin_locks["shell"]
    with pytest.raises(AdminLockHeld, match="already locked by alice") as err:
        admin_lock.lease(
            lock, lock_name="shell", client_name="bob", previous_token=0, message="", now_ns=2000, term=0
        )
    assert err.value.client_name == "alice"
    renewal = admin_lock.lease(
        lock, lock_name="shell", client_name="alice", previous_token=5, message="m", now_ns=2000, term=0
    )
    assert (renewal.token, renewal.lock_ts_ns) == (5, 2000)
    after = 1000 + LEASE_NS
    grant = admin_lock.lease(
        lock, lock_name="shell", client_name="bob", previous_token=0, message="", now_ns=after, term=0
    )
    assert grant.token > 5 and grant.client_name == "bob"


def test_after_a_failover_an_old_term_token_cannot_act_until_renewed_under_the_new_term() -> None:
    state = MasterState()
    old = admin_lock.next_token(None, term=3)
    state.apply(leased(old, "alice", ts=1000))
    admin_lock.check(state.admin_locks["shell"], "shell", old, 2000, term=3)
    with pytest.raises(AdminLockLost, match="before the failover to term 4"):
        admin_lock.check(state.admin_locks["shell"], "shell", old, 2000, term=4)
    renewal = admin_lock.lease(state.admin_locks["shell"], lock_name="shell", client_name="alice",
                               previous_token=old, message="", now_ns=2000, term=4)
    assert renewal.token == 4 << TERM_SHIFT and renewal.client_name == "alice"
    state.apply(events_pb2.Event(admin_lock_leased=renewal))
    admin_lock.check(state.admin_locks["shell"], "shell", renewal.token, 2000, term=4)
    with pytest.raises(AdminLockLost):
        admin_lock.check(state.admin_locks["shell"], "shell", old, 2000, term=4)


# -- the core ------------------------------------------------------------------------------------


def test_lease_renew_release_and_status_through_the_core() -> None:
    core, _, event_log, clock = make_core([])

    async def scenario() -> None:
        token, ts = await core.lease_admin_lock("shell", "10.0.0.9", 0, "")
        assert ts == int(clock.now * 1e9)
        status = core.admin_lock_status("shell")
        assert (status.is_locked, status.client_name, status.token) == (True, "10.0.0.9", token)
        with pytest.raises(AdminLockHeld):
            await core.lease_admin_lock("shell", "other", 0, "")
        clock.now += 4
        renewed, ts2 = await core.lease_admin_lock("shell", "10.0.0.9", token, "volume.list")
        assert renewed == token and ts2 > ts
        assert core.admin_lock_status("shell").message == "volume.list"
        await core.check_admin_token("shell", token)
        await core.release_admin_lock("shell", token + 1)  # not the holder's: nothing happens
        assert core.admin_lock_status("shell").is_locked
        await core.release_admin_lock("shell", token)
        assert not core.admin_lock_status("shell").is_locked
        with pytest.raises(AdminLockLost):
            await core.check_admin_token("shell", token)
        again, _ = await core.lease_admin_lock("shell", "other", 0, "")
        assert again > token

    asyncio.run(scenario())
    assert event_log.state.admin_locks["shell"].client_name == "other"


def test_a_lapsed_holder_is_fenced_out_by_the_next_grant() -> None:
    core, _, event_log, clock = make_core([])

    async def scenario() -> None:
        old, _ = await core.lease_admin_lock("shell", "alice", 0, "")
        clock.now += LEASE_NS / 1e9  # alice stopped renewing
        assert not core.admin_lock_status("shell").is_locked
        with pytest.raises(AdminLockLost, match="lapsed"):
            await core.check_admin_token("shell", old)
        event_log.current_term = 2  # and a new leader grants it to bob
        new, _ = await core.lease_admin_lock("shell", "bob", 0, "")
        assert new >= 2 << TERM_SHIFT > old
        with pytest.raises(AdminLockLost, match="before the failover"):
            await core.check_admin_token("shell", old)
        # alice's renewal with her old token is refused while bob holds the lock
        with pytest.raises(AdminLockHeld, match="bob"):
            await core.lease_admin_lock("shell", "alice", old, "")
        await core.check_admin_token("shell", new)

    asyncio.run(scenario())


def test_only_the_leader_grants_or_passes_a_check() -> None:
    core, _, event_log, _ = make_core([])

    async def scenario() -> None:
        token, _ = await core.lease_admin_lock("shell", "alice", 0, "")
        event_log.leading = False
        event_log.leader_address = "127.0.0.1:9334"
        with pytest.raises(AdminLockLost, match="not the leader"):
            await core.check_admin_token("shell", token)
        with pytest.raises(NotLeader):
            await core.lease_admin_lock("shell", "alice", token, "")
        # any master reports the holder from the replicated state
        assert core.admin_lock_status("shell").client_name == "alice"

    asyncio.run(scenario())
