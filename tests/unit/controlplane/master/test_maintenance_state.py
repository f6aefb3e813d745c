"""The replicated maintenance history: configuration replaced, one open run at a time (a racing
second start of the same run is ignored), outcomes only for the open run, snapshots equal."""

from __future__ import annotations

from kelp_pb import events_pb2

from controlplane.master.maintenance_state import MAX_RUNS_KEPT
from controlplane.master.state import MasterState


def configured(scripts: str, interval_ns: int = 10, time_ns: int = 1) -> events_pb2.Event:
    return events_pb2.Event(maintenance_configured=events_pb2.MaintenanceConfigured(
        scripts=scripts, interval_ns=interval_ns, time_ns=time_ns))


def started(run_id: int, term: int = 1, leader: str = "m1") -> events_pb2.Event:
    return events_pb2.Event(maintenance_run_started=events_pb2.MaintenanceRunStarted(
        run_id=run_id, term=term, time_ns=100 * run_id, leader=leader))


def done(run_id: int, command: str, ok: bool = True) -> events_pb2.Event:
    return events_pb2.Event(maintenance_command_done=events_pb2.MaintenanceCommandDone(
        run_id=run_id, command=command, ok=ok, output="out", time_ns=100 * run_id + 1, lock_token=7))


def finished(run_id: int, *, abandoned: bool = False) -> events_pb2.Event:
    return events_pb2.Event(maintenance_run_finished=events_pb2.MaintenanceRunFinished(
        run_id=run_id, time_ns=100 * run_id + 50, ok=not abandoned, abandoned=abandoned))


def test_config_is_parsed_and_replaced() -> None:
    state = MasterState()
    state.apply(configured("volume.list\n  # a comment\nvolume.vacuum; cluster.status"))
    assert state.maintenance.config is not None
    assert state.maintenance.config.commands == ("volume.list", "volume.vacuum", "cluster.status")
    state.apply(configured(""))
    assert state.maintenance.config is not None and state.maintenance.config.commands == ()


def test_only_one_run_is_open_and_a_racing_start_is_ignored() -> None:
    state = MasterState()
    state.apply_all([configured("volume.list"), started(1, term=1, leader="m1"),
                     started(1, term=2, leader="m2"), started(2, term=2, leader="m2")])
    assert [(r.run_id, r.leader) for r in state.maintenance.runs] == [(1, "m1")]
    state.apply_all([done(1, "volume.list"), done(2, "ignored"), finished(1, abandoned=True)])
    run = state.maintenance.runs[0]
    assert [c.command for c in run.commands] == ["volume.list"] and run.abandoned and not run.open
    state.apply_all([done(1, "late"), started(3), started(2, term=2, leader="m2")])
    assert [(r.run_id, r.leader) for r in state.maintenance.runs] == [(1, "m1"), (2, "m2")]
    assert len(state.maintenance.runs[0].commands) == 1


def test_history_is_bounded_and_survives_a_snapshot() -> None:
    state = MasterState()
    state.apply(configured("volume.list"))
    for run_id in range(1, MAX_RUNS_KEPT + 6):
        state.apply_all([started(run_id), done(run_id, "volume.list"), finished(run_id)])
    state.apply(started(MAX_RUNS_KEPT + 6))
    assert len(state.maintenance.runs) == MAX_RUNS_KEPT and state.maintenance.runs[-1].open
    copy = MasterState.from_bytes(state.to_bytes())
    assert copy == state
    copy.apply(finished(MAX_RUNS_KEPT + 6))
    assert copy != state
