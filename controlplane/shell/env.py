"""What a shell command is given to work with: the masters, where to print, and the one hook
every mutating command passes through before it acts.

`before_mutation` is where the admin lock goes: SeaweedFS's mutating shell commands refuse to act
unless the session holds the cluster's admin lock, and issue 6 gives kelp the same rule (a
Raft-held, term-fenced lease). Until a session has an `AdminLock`, commands act directly, as
`weed shell`'s cluster.raft.* commands do. Planning commands (`-force`/`-apply`) print their
plan without calling it and call it only when they are about to act.

Standard library only.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TextIO

from controlplane.shell.admin_lease import AdminLease
from controlplane.shell.errors import CommandFailed
from controlplane.shell.master_pool import MasterPool
from controlplane.shell.progress import Progress

if TYPE_CHECKING:  # the seam's implementation imports grpc; the env does not
    from controlplane.shell.ec_servers import EcServers
    from controlplane.shell.volume_servers import VolumeServers


class AdminLock(Protocol):
    """The cluster admin lock as a session holds it (issue 6: master_pb LeaseAdminToken)."""

    async def confirm_held(self, command: str) -> None:
        """Return if this session holds the lock now; raise a ShellError naming `command` if not."""


@dataclass(slots=True)
class ShellEnv:
    masters: MasterPool
    out: TextIO  # command output (tables, plans); errors go to the session's error stream
    admin_lock: AdminLock | None = None
    volume_servers: VolumeServers | None = None  # volume.* commands' seam (volume_servers.py)
    ec_servers: EcServers | None = None  # ec.* commands' seam (ec_servers.py), made on first use
    # A `-c` script (or a maintenance run) takes the lock itself at its first mutating command,
    # rather than failing for want of a `lock` line; it is given back when the env closes.
    lock_on_demand: bool = False
    lock_client_name: str = ""  # who the lock names when taken on demand ("" = kelp shell@host)
    progress: Progress | None = None  # the bar of the long operation running now, if any

    def write(self, text: str) -> None:
        """Print `text`, ending it with a newline if it has none (above the progress bar, if
        one is drawn)."""
        if self.progress is not None:
            self.progress.note(text)
        else:
            self.out.write(text if text.endswith("\n") else text + "\n")

    @contextlib.contextmanager
    def progress_bar(self, total: int, what: str) -> Iterator[Progress]:
        """A bar of `total` steps for a long operation; `write` prints above it meanwhile."""
        bar = Progress(self.out, total, what)
        self.progress = bar
        try:
            yield bar
        finally:
            self.progress = None
            bar.done()

    async def close(self) -> None:
        """The session ends: give back the admin lock if it holds one, close volume channels."""
        release = getattr(self.admin_lock, "release", None)
        if release is not None:
            await release()
        if self.volume_servers is not None:
            await self.volume_servers.close()
        if self.ec_servers is not None:
            await self.ec_servers.close()

    async def confirm_locked(self, command: str) -> None:
        """Stricter than before_mutation, as weed's volume.* commands: the lock must have been
        taken (`lock`) and still be held."""
        if self.admin_lock is None and self.lock_on_demand:
            lease = AdminLease(self.masters, self.lock_client_name)
            await lease.acquire(f"script: {command}")
            self.admin_lock = lease
        if self.admin_lock is None:
            raise CommandFailed(command, "needs the cluster admin lock: run `lock` first")
        await self.admin_lock.confirm_held(command)

    def volumes(self, command: str) -> VolumeServers:
        if self.volume_servers is None:
            raise CommandFailed(command, "this shell cannot reach volume servers")
        return self.volume_servers

    async def before_mutation(self, command: str) -> None:
        """Call right before changing the cluster: fails unless the admin lock is held (once
        the session has one)."""
        if self.admin_lock is not None:
            await self.admin_lock.confirm_held(command)
