"""The leader's maintenance loop on one in-process master (a MemoryLog, a fake clock): it records
the configuration, starts a run when due and not before, records each command's outcome, holds
the admin lock for the run and gives it back, gives up (recorded) when an operator keeps the lock,
abandons a run left open by a dead leader before starting the next, and does nothing on a
follower or when nothing is configured.

The commands used here (`help`, `lock`, `unlock`, an unknown name) need no cluster: the shell's
real command code runs, and the cluster-touching commands are exercised by the integration and
chaos tests (test_maintenance_ec.py, test_maintenance_failover.py)."""

from __future__ import annotations

import asyncio

import pytest
from kelp_pb import events_pb2

from controlplane.master import maintenance_runner
from controlplane.master.core import MasterCore
from controlplane.master.maintenance_runner import MaintenanceRunner
from controlplane.master.maintenance_state import MaintenanceRun
from controlplane.master.raft import MemoryLog
from tests.unit.controlplane.master.fakes import make_core

INTERVAL = 60.0
SCRIPTS = """
  lock
  help
  no.such.command -force
  unlock
"""


def kinds(event_log: MemoryLog) -> list[str]:
    found = [str(event.WhichOneof("kind")) for batch in event_log.entries for event in batch.events]
    return [kind for kind in found if kind.startswith("maintenance")]


def runs(core: MasterCore) -> list[MaintenanceRun]:
    return core.read_view(lambda state, _: list(state.maintenance.runs))


def test_a_due_run_records_every_command_and_gives_the_lock_back() -> None:
    core, _, event_log, clock = make_core([], maintenance_scripts=SCRIPTS,
                                          maintenance_sleep_seconds=INTERVAL)
    runner = MaintenanceRunner(core)

    async def scenario() -> None:
        await runner.tick()  # records the configuration; the first run is due one interval later
        assert kinds(event_log) == ["maintenance_configured"] and runs(core) == []
        clock.now += INTERVAL
        await runner.tick()
        assert kinds(event_log) == ["maintenance_configured", "maintenance_run_started"] + [
            "maintenance_command_done"] * 4 + ["maintenance_run_finished"]
        [run] = runs(core)
        assert [c.command for c in run.commands] == ["lock", "help", "no.such.command -force", "unlock"]
        assert [c.ok for c in run.commands] == [True, True, False, True]
        assert "no.such.command" in run.commands[2].output  # the shell's own one-line error
        assert "ec.encode" in run.commands[1].output  # help ran through the real registry
        assert not run.open and not run.ok  # one command failed: the run says so
        # Every command ran under the run's lock, and the lock is free again.
        assert all(c.lock_token == run.commands[0].lock_token != 0 for c in run.commands)
        assert not core.admin_lock_status("shell").is_locked

        await runner.tick()  # not due yet: nothing new
        assert len(runs(core)) == 1
        clock.now += INTERVAL + 1
        await runner.tick()
        assert [r.run_id for r in runs(core)] == [1, 2]
        assert kinds(event_log).count("maintenance_configured") == 1  # unchanged config: not re-recorded

    asyncio.run(scenario())


def test_an_operator_holding_the_lock_makes_the_run_give_up_on_record(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(maintenance_runner, "LOCK_WAIT_SECONDS", 0.2)
    monkeypatch.setattr(maintenance_runner, "LOCK_RETRY_SECONDS", 0.05)
    core, _, _, clock = make_core([], maintenance_scripts="help", maintenance_sleep_seconds=INTERVAL)
    runner = MaintenanceRunner(core)

    async def scenario() -> None:
        await runner.tick()
        clock.now += INTERVAL
        token, _ = await core.lease_admin_lock("shell", "operator", 0, "")
        await runner.tick()
        [run] = runs(core)
        assert not run.open and not run.ok and run.commands == []
        assert "admin lock not taken" in run.reason
        status = core.admin_lock_status("shell")
        assert (status.client_name, status.token) == ("operator", token)  # never taken from them

    asyncio.run(scenario())


def test_a_run_left_open_by_a_dead_leader_is_abandoned_before_the_next_starts() -> None:
    core, _, _, clock = make_core([], maintenance_scripts="help", maintenance_sleep_seconds=INTERVAL)
    runner = MaintenanceRunner(core)

    async def scenario() -> None:
        await runner.tick()
        clock.now += INTERVAL
        await runner.tick()
        clock.now += INTERVAL + 1
        # A former leader (an older term) started run 2 and died before finishing it.
        await core.record([events_pb2.Event(maintenance_run_started=events_pb2.MaintenanceRunStarted(
            run_id=2, term=0, time_ns=core.now_ns(), leader="127.0.0.1:9334"))])
        await runner.tick()
        abandoned = runs(core)[1]
        assert (abandoned.run_id, abandoned.open, abandoned.abandoned) == (2, False, True)
        assert "abandoned by" in abandoned.reason
        await runner.tick()  # the next run is due one interval after the abandoned one ended
        assert len(runs(core)) == 2
        clock.now += INTERVAL
        await runner.tick()
        assert [(r.run_id, r.leader, r.open) for r in runs(core)][2:] == [(3, core.address, False)]

    asyncio.run(scenario())


def test_a_follower_or_an_unconfigured_master_runs_nothing() -> None:
    core, _, event_log, _ = make_core([])
    asyncio.run(MaintenanceRunner(core).tick())
    assert kinds(event_log) == []

    core, _, event_log, _ = make_core([], maintenance_scripts="help", maintenance_sleep_seconds=INTERVAL)
    event_log.leading = False
    asyncio.run(MaintenanceRunner(core).tick())
    assert kinds(event_log) == []
