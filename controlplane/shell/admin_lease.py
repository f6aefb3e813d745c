"""The cluster admin lock as one shell session holds it: taken by `lock`, renewed in the
background, checked before every mutating command, given back by `unlock` or at exit.

The lock itself lives in the masters' Raft log (controlplane/master/admin_lock.py): a grant carries
a token that only grows and is fenced by term, and lapses when not renewed for its lease (10 s).
This side takes it with master_pb LeaseAdminToken (lock name "shell", as weed shell does, so kelp
and weed shells exclude each other), renews every RENEW_SECONDS with the token it holds, and
remembers a failed renewal: once the master refused a renewal (the lease lapsed and someone else
took the lock, or a new leader fenced it), `confirm_held` fails until `lock` is run again, so a
command never acts on a lock the session no longer has.

Standard library only; the masters are reached through MasterPool / MasterAdmin.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable

from controlplane.shell.errors import CommandFailed, MasterCallError, NoMasterAvailable
from controlplane.shell.master_admin import MasterAdmin
from controlplane.shell.master_pool import MasterPool

LOCK_NAME = "shell"
RENEW_SECONDS = 4.0  # as weed shell; the masters' lease is 10 s


class AdminLease:
    """Implements env.AdminLock for one session."""

    def __init__(self, masters: MasterPool, client_name: str = "") -> None:
        self._masters = masters
        self.client_name = client_name or f"kelp shell@{socket.gethostname()}"
        self.token = 0
        self.lock_ts_ns = 0
        self.lost = ""  # why the lock was lost ("" while held or never taken)
        self._message = ""
        self._renewer: asyncio.Task[None] | None = None

    @property
    def held(self) -> bool:
        return self.token != 0 and not self.lost

    async def acquire(self, message: str = "") -> None:
        """Take the lock (raises the master's refusal, e.g. another client holds it)."""
        self._message = message
        self.token, self.lock_ts_ns = await self._masters.call_leader(
            lambda master: master.lease_admin_lock(LOCK_NAME, 0, self.client_name, message))
        self.lost = ""
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.ensure_future(self._renew_forever(message))

    async def release(self) -> None:
        """Give the lock back (if held); the session then refuses mutating commands again."""
        renewer, self._renewer = self._renewer, None
        if renewer is not None:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
        token, self.token = self.token, 0
        if token and not self.lost:
            with contextlib.suppress(MasterCallError, NoMasterAvailable):  # it lapses anyway
                await self._masters.call_leader(lambda master: master.release_admin_lock(LOCK_NAME, token))
        self.lost = "released by unlock"

    async def confirm_held(self, command: str) -> None:
        """Fenced: the leader itself confirms the grant (a renewal, committed in its term) right
        before the command acts. A grant of an older term is re-issued under the new leader's
        term, so whatever still presents the old token is refused; a refusal here means the lock
        was lost and the session stops acting until `lock` is run again."""
        if not self.token and not self.lost:
            raise CommandFailed(command, "needs the cluster admin lock: run `lock` first")
        if not self.lost:
            try:
                self.token, self.lock_ts_ns = await self._masters.call_leader(self._renewal(self._message))
            except (MasterCallError, NoMasterAvailable) as err:
                self.lost = f"the leader did not confirm it: {err}"
        if self.lost:
            raise CommandFailed(command, f"the cluster admin lock is not held ({self.lost}): "
                                         "run `lock` again")

    def _renewal(self, message: str) -> Callable[[MasterAdmin], Awaitable[tuple[int, int]]]:
        token = self.token  # the grant held now: a renewal presents it and keeps it

        def renew(master: MasterAdmin) -> Awaitable[tuple[int, int]]:
            return master.lease_admin_lock(LOCK_NAME, token, self.client_name, message)

        return renew

    async def _renew_forever(self, message: str) -> None:
        while True:
            await asyncio.sleep(RENEW_SECONDS)
            try:
                self.token, self.lock_ts_ns = await self._masters.call_leader(self._renewal(message))
            except (MasterCallError, NoMasterAvailable) as err:
                self.lost = f"renewal failed: {err}"
                return
