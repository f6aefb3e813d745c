"""The replicated maintenance history: the fold of the Maintenance* events (part of MasterState).

Folding rules:
- MaintenanceConfigured replaces the configuration (an empty script turns maintenance off);
- MaintenanceRunStarted opens run N only when no run is open and N is the last run's id + 1 (any
  id on an empty history, so a snapshot of the kept runs replays): of two leaders racing to start
  run N, the one committed first wins and the other's start is ignored, so runs never overlap;
- MaintenanceCommandDone and MaintenanceRunFinished count only for the open run of their id;
- only the last MAX_RUNS_KEPT runs are kept (the log and snapshots stay small).

Pure and deterministic, like state.py: no clock, no I/O; kelp_pb.events_pb2 is its only protobuf.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kelp_pb import events_pb2

from controlplane.master.maintenance_schedule import MaintenanceConfig, RunRecord, parse_scripts

MAX_RUNS_KEPT = 50  # a day of runs at the shortest useful interval; older ones are in the logs
OUTPUT_CHARS = 4000  # of a command's output kept in its event


@dataclass(slots=True)
class CommandOutcome:
    command: str
    ok: bool
    output: str
    time_ns: int
    lock_token: int


@dataclass(slots=True)
class MaintenanceRun:
    run_id: int
    term: int
    leader: str
    started_ns: int
    finished_ns: int = 0
    ok: bool = False
    abandoned: bool = False
    reason: str = ""
    commands: list[CommandOutcome] = field(default_factory=list)

    @property
    def open(self) -> bool:
        return not self.finished_ns

    def record(self) -> RunRecord:
        return RunRecord(self.run_id, self.term, self.started_ns, self.finished_ns)


@dataclass(slots=True)
class MaintenanceLog:
    config: MaintenanceConfig | None = None
    runs: list[MaintenanceRun] = field(default_factory=list)

    def apply(self, event: events_pb2.Event) -> None:
        kind = event.WhichOneof("kind")
        if kind == "maintenance_configured":
            e = event.maintenance_configured
            self.config = MaintenanceConfig(parse_scripts(e.scripts), e.interval_ns, e.time_ns)
        elif kind == "maintenance_run_started":
            self._started(event.maintenance_run_started)
        elif kind == "maintenance_command_done":
            d = event.maintenance_command_done
            run = self._open_run(d.run_id)
            if run is not None:
                run.commands.append(CommandOutcome(d.command, d.ok, d.output, d.time_ns, d.lock_token))
        elif kind == "maintenance_run_finished":
            f = event.maintenance_run_finished
            run = self._open_run(f.run_id)
            if run is not None:
                run.finished_ns = max(f.time_ns, run.started_ns, 1)
                run.ok, run.abandoned, run.reason = f.ok, f.abandoned, f.reason

    def records(self) -> list[RunRecord]:
        return [run.record() for run in self.runs]

    def last_run_id(self) -> int:
        return self.runs[-1].run_id if self.runs else 0

    def _started(self, e: events_pb2.MaintenanceRunStarted) -> None:
        last = self.runs[-1] if self.runs else None
        if last is not None and (last.open or e.run_id != last.run_id + 1):
            return  # a start that lost the race (or repeats one): the open run stays the only one
        self.runs.append(MaintenanceRun(e.run_id, e.term, e.leader, e.time_ns))
        del self.runs[:-MAX_RUNS_KEPT]

    def _open_run(self, run_id: int) -> MaintenanceRun | None:
        last = self.runs[-1] if self.runs else None
        return last if last is not None and last.run_id == run_id and last.open else None

    def snapshot_events(self) -> list[events_pb2.Event]:
        """Events that fold into an equal history."""
        out: list[events_pb2.Event] = []
        if self.config is not None:
            out.append(events_pb2.Event(maintenance_configured=events_pb2.MaintenanceConfigured(
                scripts="\n".join(self.config.commands), interval_ns=self.config.interval_ns,
                time_ns=self.config.configured_ns)))
        for run in self.runs:
            out.append(events_pb2.Event(maintenance_run_started=events_pb2.MaintenanceRunStarted(
                run_id=run.run_id, term=run.term, time_ns=run.started_ns, leader=run.leader)))
            for c in run.commands:
                out.append(events_pb2.Event(maintenance_command_done=events_pb2.MaintenanceCommandDone(
                    run_id=run.run_id, command=c.command, ok=c.ok, output=c.output, time_ns=c.time_ns,
                    lock_token=c.lock_token)))
            if not run.open:
                out.append(events_pb2.Event(maintenance_run_finished=events_pb2.MaintenanceRunFinished(
                    run_id=run.run_id, time_ns=run.finished_ns, ok=run.ok, abandoned=run.abandoned,
                    reason=run.reason)))
        return out
