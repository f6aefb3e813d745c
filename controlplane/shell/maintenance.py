"""`maintenance.history` (alias `cluster.maintenance`): the master's maintenance schedule
(`[master.maintenance]` as replicated) and its recent runs with each command's outcome, from
any master (the history is in the Raft log).

Imports controlplane.shell only.
"""

from __future__ import annotations

import time

from controlplane.shell.env import ShellEnv
from controlplane.shell.flags import Flags, FlagSet
from controlplane.shell.master_admin import MaintenanceHistory, MaintenanceRunReport
from controlplane.shell.registry import Command


def _when(ns: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ns / 1e9)) if ns else "-"


def _run_line(run: MaintenanceRunReport) -> str:
    if run.finished_ns == 0:
        state = "RUNNING"
    elif run.abandoned:
        state = "ABANDONED"
    else:
        state = "ok" if run.ok else "FAILED"
    took = f" took {(run.finished_ns - run.started_ns) / 1e9:.1f}s" if run.finished_ns else ""
    line = (f"run {run.run_id}: {state} started {_when(run.started_ns)} by {run.leader} "
            f"(term {run.term}){took}")
    return line + (f" — {run.reason}" if run.reason else "")


def render_history(history: MaintenanceHistory, *, last: int, verbose: bool) -> str:
    if not history.configured:
        lines = ["maintenance: not configured (no [master.maintenance] scripts)"]
    else:
        lines = [f"maintenance: every {history.interval_seconds:g} s after the previous run ends:"]
        lines += [f"  {command}" for command in history.commands]
        lines.append(f"next run due {_when(history.next_due_ns)}" if history.next_due_ns
                     else "next run: after the current one")
    runs = history.runs[-last:] if last else history.runs
    lines.append(f"{len(history.runs)} runs recorded" + (f", last {len(runs)} shown:" if runs else ""))
    for run in runs:
        lines.append(_run_line(run))
        for c in run.commands:
            lines.append(f"  {'ok    ' if c.ok else 'FAILED'} {c.command}  (lock token {c.lock_token})")
            if verbose or not c.ok:
                lines += [f"      {text}" for text in c.output.rstrip().splitlines()]
    return "\n".join(lines)


class MaintenanceHistoryCommand(Command):
    name = "maintenance.history"
    summary = "the master's maintenance schedule and its recent runs, command by command"
    example = "maintenance.history -last=5 -v"

    def declare(self, flags: FlagSet) -> None:
        flags.integer("last", 10, "show this many recent runs (0: all the master keeps)", minimum=0)
        flags.boolean("v", False, "show every command's output (failures always show theirs)")

    async def run(self, env: ShellEnv, flags: Flags) -> None:
        history = await env.masters.call_read(lambda master: master.maintenance_history())
        env.write(render_history(history, last=flags.integer("last"), verbose=flags.boolean("v")))


class ClusterMaintenanceCommand(MaintenanceHistoryCommand):
    name = "cluster.maintenance"
    summary = "the same as maintenance.history"


COMMANDS: tuple[type[Command], ...] = (MaintenanceHistoryCommand, ClusterMaintenanceCommand)
