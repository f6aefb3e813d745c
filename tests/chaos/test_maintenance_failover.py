"""The issue's maintenance schedule (ec.encode, ec.rebuild -force, ec.balance -force) of
master.toml runs on the leader of three masters; the leader is
killed while a run is open (waiting for the admin lock an operator holds): the new leader records
that run abandoned, continues the schedule, and its runs wait for the operator's lock, so the
lock is never held by two. The history (from any master) shows every run, in order, none
overlapping, each command's outcome and the lock token it ran under."""

from __future__ import annotations

import asyncio
import io
import itertools
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from controlplane.master.admin_lock import TERM_SHIFT
from controlplane.shell.env import ShellEnv
from controlplane.shell.grpc_master_admin import GrpcMasterAdmin
from controlplane.shell.master_admin import MaintenanceHistory
from controlplane.shell.master_pool import MasterPool
from controlplane.shell.registry import Registry
from controlplane.shell.session import Session

from .conftest import ClusterFactory

# The schedule, verbatim (no lock/unlock lines: the run holds the lock throughout).
# The cluster has no volume worth encoding nor any EC volume, so every run is quick and ok;
# test_maintenance_ec drives the same commands doing real work. sleep_seconds (kelp's, for
# tests) overrides sleep_minutes.
SCRIPT = ("ec.encode -fullPercent=95 -quietFor=1h", "ec.rebuild -force", "ec.balance -force")
MASTER_TOML = f"""
[master.maintenance]
scripts = \"\"\"
  {SCRIPT[0]}
  {SCRIPT[1]}
  {SCRIPT[2]}
\"\"\"
sleep_minutes = 17
sleep_seconds = 1
"""
WAIT_SECONDS = 90.0  # elections and runs on a loaded 2-core machine
T = TypeVar("T")


async def until(what: str, probe: Callable[[], Awaitable[T | None]], seconds: float = WAIT_SECONDS) -> T:
    deadline = time.monotonic() + seconds
    last: Exception | None = None
    while True:
        try:
            found = await probe()
        except Exception as err:  # a master being killed or electing: ask again
            found, last = None, err
        else:
            last = None
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what} (last error: {last})")
        await asyncio.sleep(0.2)


def test_the_schedule_survives_a_leader_kill_and_never_doubles_the_lock(
    cluster_factory: ClusterFactory,
) -> None:
    cluster = cluster_factory(1, masters=3, config_files={"master.toml": MASTER_TOML})
    first_leader = cluster.leader_name()
    first_address = cluster.nodes[first_leader].address

    async def scenario() -> None:
        masters = MasterPool(cluster.master_addresses, GrpcMasterAdmin)
        out, err = io.StringIO(), io.StringIO()
        operator = Session(Registry.load(), ShellEnv(masters, out), err=err)

        async def history() -> MaintenanceHistory:
            return await masters.call_read(lambda master: master.maintenance_history())

        async def finished_ok(leader: str, count: int) -> MaintenanceHistory | None:
            h = await history()
            done = [r for r in h.runs if r.ok and r.leader == leader]
            return h if len(done) >= count else None

        try:
            h = await until("two runs on the first leader", lambda: finished_ok(first_address, 2))
            assert h.configured and h.commands == SCRIPT and h.interval_seconds == 1
            # The operator takes the lock; the next run opens and waits for it.
            # (between runs: a run holds the lock while it works)
            await until("the operator's lock", lambda: operator.run_script("lock -message=operator"))
            held_from = time.time_ns()

            async def open_run() -> int | None:
                h = await history()
                last = h.runs[-1] if h.runs else None
                return last.run_id if last is not None and not last.finished_ns else None

            orphan = await until("a run waiting for the operator's lock", open_run)
            cluster.kill(first_leader)
            new_leader = await asyncio.to_thread(cluster.leader_name, exclude=[first_leader])
            new_address = cluster.nodes[new_leader].address

            async def abandoned_and_next_open() -> MaintenanceHistory | None:
                h = await history()
                ids = [r.run_id for r in h.runs]
                if orphan not in ids or ids[-1] <= orphan:
                    return None
                return h if h.runs[-1].leader == new_address else None

            await until("the orphan abandoned and a run of the new leader open", abandoned_and_next_open)
            # Still the operator's: no run got the lock meanwhile. Give it back.
            assert await operator.run_script("cluster.status; unlock"), err.getvalue()
            held_to = time.time_ns()
            h = await until("two runs on the new leader", lambda: finished_ok(new_address, 2))
        finally:
            await operator.env.close()
            await masters.close()

        runs = h.runs
        assert [r.run_id for r in runs] == list(range(runs[0].run_id, runs[0].run_id + len(runs)))
        gone = next(r for r in runs if r.run_id == orphan)
        assert gone.abandoned and not gone.ok and gone.leader == first_address and gone.commands == ()
        for before, after in itertools.pairwise(runs):
            assert before.finished_ns and before.finished_ns <= after.started_ns, (before, after)
        done = [r for r in runs if r.finished_ns and not r.abandoned]
        assert done and all(r.ok for r in done if r.leader == new_address), done
        for run in done:  # a finished run ran the whole script, in order (or, refused the lock, none)
            assert tuple(c.command for c in run.commands) in (SCRIPT, ()), run
            assert run.commands or not run.ok, run
            if run.ok:  # nothing to do on this cluster, and each command said so
                outputs = [c.output for c in run.commands]
                assert "no volumes to erasure code" in outputs[0], outputs
                assert "every ec volume has its 14 shards" in outputs[1], outputs
                assert "ec shards are balanced" in outputs[2], outputs
        tokens = [c.lock_token for r in runs for c in r.commands]
        assert tokens == sorted(tokens) and all(tokens)
        for run in runs:
            assert len({c.lock_token for c in run.commands}) <= 1  # one grant per run
            for command in run.commands:
                assert not held_from <= command.time_ns <= held_to, (run, "ran under the operator's lock")
        after_kill = [c.lock_token for r in runs if r.leader == new_address for c in r.commands]
        before_kill = [c.lock_token for r in runs if r.leader == first_address for c in r.commands]
        assert after_kill and before_kill and min(after_kill) >> TERM_SHIFT > max(before_kill) >> TERM_SHIFT

    asyncio.run(scenario())
