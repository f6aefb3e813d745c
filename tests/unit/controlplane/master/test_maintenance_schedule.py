"""The maintenance schedule decided from the replicated history: due runs start, a run orphaned by
a failover is abandoned before the next starts, and two never overlap."""

from __future__ import annotations

from controlplane.master.maintenance_schedule import (
    AbandonRun,
    Idle,
    MaintenanceConfig,
    RunRecord,
    StartRun,
    WaitUntil,
    next_action,
    parse_scripts,
)

MIN = 60 * 10**9


def test_scripts_parse_like_weeds() -> None:
    text = """
      ec.encode -fullPercent=95 -quietFor=1h
      # rebuild what is missing
      ec.rebuild -force; ec.balance -force
    """
    assert parse_scripts(text) == ("ec.encode -fullPercent=95 -quietFor=1h", "ec.rebuild -force",
                                   "ec.balance -force")
    assert parse_scripts("  \n # nothing\n") == ()


def test_nothing_configured_is_idle() -> None:
    assert isinstance(next_action(None, [], 0, 1), Idle)
    assert isinstance(next_action(MaintenanceConfig((), 17 * MIN, 0), [], 10**15, 1), Idle)


def test_runs_come_an_interval_apart() -> None:
    config = MaintenanceConfig(("volume.list",), 17 * MIN, configured_ns=1000)
    assert next_action(config, [], 1000 + 16 * MIN, 3) == WaitUntil(1000 + 17 * MIN)
    assert next_action(config, [], 1000 + 17 * MIN, 3) == StartRun(1)
    running = [RunRecord(1, 3, 1000 + 17 * MIN)]
    assert isinstance(next_action(config, running, 1000 + 40 * MIN, 3), Idle)  # ours, still going
    done = [RunRecord(1, 3, 1000 + 17 * MIN, finished_ns=1000 + 18 * MIN)]
    assert next_action(config, done, 1000 + 20 * MIN, 3) == WaitUntil(1000 + 35 * MIN)
    assert next_action(config, done, 1000 + 35 * MIN, 3) == StartRun(2)


def test_a_new_leader_abandons_the_old_leaders_run_before_starting_one() -> None:
    config = MaintenanceConfig(("volume.vacuum",), 1 * MIN, configured_ns=0)
    orphan = [RunRecord(4, 3, 10 * MIN)]  # started in term 3, never finished
    assert next_action(config, orphan, 11 * MIN, 4) == AbandonRun(4)
    abandoned = [RunRecord(4, 3, 10 * MIN, finished_ns=11 * MIN)]  # recorded as ended
    assert next_action(config, abandoned, 12 * MIN, 4) == StartRun(5)
