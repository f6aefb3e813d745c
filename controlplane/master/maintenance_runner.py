"""The leader's maintenance loop: `[master.maintenance]` scripts run through the shell's own
command code, under the fenced admin lock, with every step recorded in the Raft log.

Each master runs the loop; only the leader acts. Every POLL_SECONDS it:
1. sets the replicated configuration from its master.toml when that differs (a master without
   the section leaves the replicated one alone);
2. asks `maintenance_schedule.next_action` what to do, from the replicated history alone, so a
   new leader continues where the old one stopped: it abandons a run its dead predecessor left
   open (recorded), then starts the next one when due;
3. to run: commits MaintenanceRunStarted (the fold accepts only one open run, so of two leaders
   racing only one runs), takes the admin lock "shell" for the whole run as client
   "maintenance@<leader>" (waiting up to LOCK_WAIT_SECONDS, longer than a lease, so a lock left
   by a dead leader's run has lapsed; the lock is never held by two), runs each command as
   `kelp shell` would (its output captured), commits a MaintenanceCommandDone per command, then
   MaintenanceRunFinished, and gives the lock back. `lock`/`unlock` lines (weed's scripts carry
   them) are no-ops: the run holds the lock throughout.
Before every mutating step a command confirms the lock through `MasterCore.check_admin_token`,
which passes only on the leader, in the lock's own term, with the current token: a deposed
leader's run cannot act. A run whose leader loses office stops and stays open for the next
leader to abandon.

Imports controlplane.master.core and controlplane.shell (grpc through the shell's clients).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging

from kelp_pb import events_pb2

from controlplane.master import maintenance_schedule as schedule
from controlplane.master.admin_lock import AdminLockHeld, AdminLockLost
from controlplane.master.core import MasterCore
from controlplane.master.errors import NotLeader
from controlplane.master.state import MasterState
from controlplane.master.topology import Topology
from controlplane.shell.env import ShellEnv
from controlplane.shell.errors import CommandFailed, ScriptSyntaxError
from controlplane.shell.grpc_master_admin import GrpcMasterAdmin
from controlplane.shell.master_pool import MasterPool
from controlplane.shell.registry import Registry
from controlplane.shell.script import parse_script
from controlplane.shell.session import ExitRequested, Session
from controlplane.shell.volume_servers import GrpcVolumeServers

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5  # how soon a due run starts, and a new leader notices an orphaned one
LOCK_NAME = "shell"  # the shells' lock: maintenance and operators exclude each other
LOCK_WAIT_SECONDS = 15.0  # above the 10 s lease: a lock left by a dead leader's run lapses first
LOCK_RETRY_SECONDS = 0.5
RENEW_SECONDS = 4.0
OUTPUT_CHARS = 4000  # of a command's output kept in its event
NO_OP_COMMANDS = frozenset({"lock", "unlock"})


class LeaderLock:
    """The admin lock as the leader's run holds it (implements controlplane.shell.env.AdminLock)."""

    def __init__(self, core: MasterCore, client_name: str) -> None:
        self._core = core
        self.client_name = client_name
        self.token = 0
        self._renewer: asyncio.Task[None] | None = None

    async def acquire(self, message: str) -> None:
        """Raises AdminLockHeld when someone else kept it for LOCK_WAIT_SECONDS, NotLeader."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LOCK_WAIT_SECONDS
        while True:
            try:
                self.token, _ = await self._core.lease_admin_lock(LOCK_NAME, self.client_name, 0, message)
                break
            except AdminLockHeld:
                if loop.time() >= deadline:
                    raise
                await asyncio.sleep(LOCK_RETRY_SECONDS)
        self._renewer = asyncio.ensure_future(self._renew_forever(message))

    async def _renew_forever(self, message: str) -> None:
        while True:
            await asyncio.sleep(RENEW_SECONDS)
            try:
                self.token, _ = await self._core.lease_admin_lock(
                    LOCK_NAME, self.client_name, self.token, message)
            except (AdminLockHeld, AdminLockLost, NotLeader) as err:
                log.warning("maintenance lock renewal failed: %s", err)
                return  # confirm_held refuses from now on (the token is no longer current)

    async def confirm_held(self, command: str) -> None:
        try:
            await self._core.check_admin_token(LOCK_NAME, self.token)
        except AdminLockLost as err:
            raise CommandFailed(command, f"the maintenance run lost the admin lock: {err.reason}") from err

    async def release(self) -> None:
        renewer, self._renewer = self._renewer, None
        if renewer is not None:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
        if self.token:
            with contextlib.suppress(NotLeader):  # the lease lapses on its own
                await self._core.release_admin_lock(LOCK_NAME, self.token)


class MaintenanceRunner:
    def __init__(self, core: MasterCore) -> None:
        self._core = core
        config = core.config
        self._wanted: tuple[tuple[str, ...], int] | None = None
        if config.maintenance_scripts is not None:
            self._wanted = (schedule.parse_scripts(config.maintenance_scripts),
                            int(config.maintenance_sleep_seconds * 1e9))
        # The leader's own gRPC address: the shell's commands reach this master as `kelp shell` would.
        self._running = False  # a run of this master is in progress (tick awaits it)
        self._self_address = f"{core.address}.{config.grpc_port}" if config.grpc_port else core.address

    async def run_forever(self) -> None:
        while True:
            await asyncio.sleep(POLL_SECONDS)
            try:
                await self.tick()
            except NotLeader:
                continue
            except Exception:
                log.exception("maintenance loop failed; retrying")

    async def tick(self) -> None:
        term = self._core.leading_term()
        if term is None:
            return
        await self._configure()
        now = self._core.now_ns()
        action = self._core.read_view(lambda state, _: schedule.next_action(
            state.maintenance.config, state.maintenance.records(), now, term))
        if isinstance(action, schedule.Idle) and not self._running:
            orphan = self._core.read_view(lambda state, _: next(
                (r.run_id for r in state.maintenance.runs[-1:] if r.open and r.term == term), None))
            if orphan is not None:  # ours, but its loop failed (a commit error): close it
                action = schedule.AbandonRun(orphan)
        if isinstance(action, schedule.AbandonRun):
            log.info("maintenance run abandoned run=%d (its leader is gone)", action.run_id)
            abandoned = events_pb2.MaintenanceRunFinished(
                run_id=action.run_id, time_ns=now, ok=False, abandoned=True,
                reason=f"its leader lost office; abandoned by {self._core.address} in term {term}")
            await self._core.record([events_pb2.Event(maintenance_run_finished=abandoned)])
        elif isinstance(action, schedule.StartRun):
            self._running = True
            try:
                await self._start(action.run_id, term, now)
            finally:
                self._running = False

    async def _configure(self) -> None:
        if self._wanted is None:
            return
        commands, interval_ns = self._wanted
        current = self._core.read_view(lambda state, _: state.maintenance.config)
        if current is not None and (current.commands, current.interval_ns) == (commands, interval_ns):
            return
        log.info("maintenance configured commands=%d interval=%.0fs", len(commands), interval_ns / 1e9)
        await self._core.record([events_pb2.Event(maintenance_configured=events_pb2.MaintenanceConfigured(
            scripts="\n".join(commands), interval_ns=interval_ns, time_ns=self._core.now_ns()))])

    async def _start(self, run_id: int, term: int, now: int) -> None:
        await self._core.record([events_pb2.Event(maintenance_run_started=events_pb2.MaintenanceRunStarted(
            run_id=run_id, term=term, time_ns=now, leader=self._core.address))])

        def open_run(state: MasterState, _: Topology) -> tuple[int, int, str, tuple[str, ...]] | None:
            history = state.maintenance
            run = history.runs[-1] if history.runs else None
            if run is None or not run.open or history.config is None:
                return None
            return run.run_id, run.term, run.leader, history.config.commands

        mine = self._core.read_view(open_run)
        if mine is None or mine[:3] != (run_id, term, self._core.address):
            return  # another start won (the fold keeps one open run)
        await self._run(run_id, mine[3])

    async def _run(self, run_id: int, commands: tuple[str, ...]) -> None:
        log.info("maintenance run started run=%d commands=%d", run_id, len(commands))
        lock = LeaderLock(self._core, f"maintenance@{self._core.address}")
        try:
            await lock.acquire(f"maintenance run {run_id}")
        except AdminLockHeld as err:
            await self._finish(run_id, False, f"admin lock not taken: {err}")
            return
        masters = MasterPool([self._self_address], GrpcMasterAdmin)
        env = ShellEnv(masters, io.StringIO(), admin_lock=lock, volume_servers=GrpcVolumeServers())
        session = Session(Registry.load(), env, err=io.StringIO())
        all_ok = True
        try:
            for command in commands:
                if self._core.leading_term() is None:
                    log.warning("maintenance run interrupted run=%d: no longer the leader", run_id)
                    return  # left open: the next leader abandons it
                ok, output = await self._run_command(session, command)
                all_ok = all_ok and ok
                await self._core.record([events_pb2.Event(
                    maintenance_command_done=events_pb2.MaintenanceCommandDone(
                        run_id=run_id, command=command, ok=ok, output=output[-OUTPUT_CHARS:],
                        time_ns=self._core.now_ns(), lock_token=lock.token))])
                log.info("maintenance command run=%d ok=%s command=%s", run_id, ok, command)
            await self._finish(run_id, all_ok, "")
        finally:
            env.admin_lock = None  # released here, once
            await lock.release()
            await env.close()
            await masters.close()

    async def _run_command(self, session: Session, command: str) -> tuple[bool, str]:
        out, err = io.StringIO(), io.StringIO()
        session.env.out, session.err = out, err
        try:
            invocations = parse_script(command)
        except ScriptSyntaxError as error:
            return False, str(error)
        ok = True
        for invocation in invocations:
            if invocation.name in NO_OP_COMMANDS:
                out.write(f"{invocation.name}: the run holds the admin lock throughout\n")
                continue
            try:
                ok = await session.run_one(invocation) and ok
            except ExitRequested:
                break
        return ok, out.getvalue() + err.getvalue()

    async def _finish(self, run_id: int, ok: bool, reason: str) -> None:
        await self._core.record([events_pb2.Event(maintenance_run_finished=events_pb2.MaintenanceRunFinished(
            run_id=run_id, time_ns=self._core.now_ns(), ok=ok, reason=reason))])
        log.info("maintenance run finished run=%d ok=%s %s", run_id, ok, reason)
