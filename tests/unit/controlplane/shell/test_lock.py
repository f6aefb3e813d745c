"""lock / unlock against an in-memory master cluster: one holder at a time, mutating commands
need the lock once a session has taken it, and it is given back by unlock and at session end."""

from __future__ import annotations

import asyncio
import io

from controlplane.shell.env import ShellEnv
from controlplane.shell.master_pool import MasterPool
from controlplane.shell.registry import Registry
from controlplane.shell.session import Session
from tests.unit.controlplane.shell.fake_masters import FakeCluster

M1, M2 = "m1:9333", "m2:9333"


def session(cluster: FakeCluster) -> tuple[Session, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    masters = MasterPool([M1], cluster.connect, leader_wait_seconds=0.2, poll_seconds=0.01)
    return Session(Registry.load(), ShellEnv(masters, out), err=err), out, err


def test_one_holder_at_a_time_and_mutations_need_the_lock_once_taken() -> None:
    cluster = FakeCluster([M1, M2], leader=M1)

    async def scenario() -> None:
        a, a_out, a_err = session(cluster)
        b, _, b_err = session(cluster)
        assert await a.run_script("lock -message=maintenance")
        assert "locked by" in a_out.getvalue() and cluster.lock_holder is not None
        assert not await b.run_script("lock")  # someone else holds it
        assert "already locked" in b_err.getvalue()
        assert await a.run_script("cluster.raft.add -address=m3:9333")  # held: acts
        assert await a.run_script("unlock") and cluster.lock_holder is None
        assert not await a.run_script("cluster.raft.remove -address=m3:9333")  # given back: refused
        assert "run `lock` again" in a_err.getvalue()
        assert await b.run_script("lock")  # free now
        await b.env.close()  # the session ends: the lock goes back
        assert cluster.lock_holder is None
        await a.env.close()

    asyncio.run(scenario())
    assert ("m1:9333", "release_admin_lock") in cluster.calls
