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

from dataclasses import dataclass
from typing import Protocol, TextIO

from controlplane.shell.master_pool import MasterPool


class AdminLock(Protocol):
    """The cluster admin lock as a session holds it (issue 6: master_pb LeaseAdminToken)."""

    async def confirm_held(self, command: str) -> None:
        """Return if this session holds the lock now; raise a ShellError naming `command` if not."""


@dataclass(slots=True)
class ShellEnv:
    masters: MasterPool
    out: TextIO  # command output (tables, plans); errors go to the session's error stream
    admin_lock: AdminLock | None = None

    def write(self, text: str) -> None:
        """Print `text`, ending it with a newline if it has none."""
        self.out.write(text if text.endswith("\n") else text + "\n")

    async def close(self) -> None:
        """The session ends: give back the admin lock if it holds one."""
        release = getattr(self.admin_lock, "release", None)
        if release is not None:
            await release()

    async def before_mutation(self, command: str) -> None:
        """Call right before changing the cluster: fails unless the admin lock is held (once
        the session has one)."""
        if self.admin_lock is not None:
            await self.admin_lock.confirm_held(command)
