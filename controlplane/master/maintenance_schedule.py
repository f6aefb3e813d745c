"""When the leader runs the maintenance scripts: a pure decision over the replicated history.

`[master.maintenance] scripts` and `sleep_minutes` from master.toml become a replicated event
(the configuration and when it was set); every run is replicated too (started by which term,
finished with which outcome per command). From that history alone, any leader decides what to
do now, so a new leader after a failover continues the schedule where the old one was:
- nothing is configured (or the script has no commands): idle;
- the last run is unfinished and was started in this term: it is ours and still running, wait;
- the last run is unfinished and was started in an older term: its leader is gone (and the admin
  lock it ran under is fenced by that term, so it can act no more): record it abandoned first,
  never run two at once;
- otherwise the next run is due `interval` after the last one finished (or after the
  configuration was set, for the first): start it then.

`parse_scripts` turns the TOML string into commands (lines and `;`, `#` comments dropped).

Pure: no clock, no I/O; the caller passes the time and the history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class MaintenanceConfig:
    commands: tuple[str, ...]
    interval_ns: int
    configured_ns: int  # when this configuration was committed


@dataclass(frozen=True, slots=True)
class RunRecord:
    run_id: int
    term: int  # the leader term that started it
    started_ns: int
    finished_ns: int = 0  # 0: not finished (running, or its leader died)


@dataclass(frozen=True, slots=True)
class Idle:
    reason: str


@dataclass(frozen=True, slots=True)
class WaitUntil:
    due_ns: int


@dataclass(frozen=True, slots=True)
class AbandonRun:
    run_id: int


@dataclass(frozen=True, slots=True)
class StartRun:
    run_id: int


Action = Idle | WaitUntil | AbandonRun | StartRun


def parse_scripts(text: str) -> tuple[str, ...]:
    """weed's multi-line `scripts` string: one command per line or `;`, blank lines and `#`
    comments dropped, whitespace trimmed."""
    commands: list[str] = []
    for line in text.splitlines():
        line = line.split("#", 1)[0]
        commands += [part.strip() for part in line.split(";") if part.strip()]
    return tuple(commands)


def next_action(
    config: MaintenanceConfig | None, runs: Sequence[RunRecord], now_ns: int, term: int
) -> Action:
    """What the leader of `term` does at `now_ns` (see the module doc)."""
    if config is None or not config.commands:
        return Idle("no maintenance scripts are configured")
    last = runs[-1] if runs else None
    if last is not None and not last.finished_ns:
        if last.term == term:
            return Idle(f"run {last.run_id} is in progress")
        return AbandonRun(last.run_id)
    since = max(config.configured_ns, last.finished_ns if last is not None else 0)
    due = since + config.interval_ns
    if now_ns < due:
        return WaitUntil(due)
    return StartRun((last.run_id if last is not None else 0) + 1)
