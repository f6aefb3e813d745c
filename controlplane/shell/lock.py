"""`lock` and `unlock`: the cluster admin lock for this session (admin_lease.py), as weed shell's.

Imports controlplane.shell only.
"""

from __future__ import annotations

from controlplane.shell.admin_lease import AdminLease
from controlplane.shell.env import ShellEnv
from controlplane.shell.flags import Flags, FlagSet
from controlplane.shell.registry import Command


class LockCommand(Command):
    name = "lock"
    summary = "take the cluster admin lock for this session (mutating commands need it)"
    details = (
        "The lock is held in the masters' Raft log and renewed every 4 s while the session lives;\n"
        "weed shells and kelp shells exclude each other. It is given back by `unlock` or at exit,\n"
        "and lapses 10 s after the last renewal if the session dies."
    )

    def declare(self, flags: FlagSet) -> None:
        flags.string("message", "", "a note other sessions see while the lock is held")

    async def run(self, env: ShellEnv, flags: Flags) -> None:
        lease = env.admin_lock if isinstance(env.admin_lock, AdminLease) else AdminLease(env.masters)
        await lease.acquire(flags.text("message"))
        env.admin_lock = lease
        env.write(f"locked by {lease.client_name}")


class UnlockCommand(Command):
    name = "unlock"
    summary = "give the cluster admin lock back"

    async def run(self, env: ShellEnv, flags: Flags) -> None:
        if isinstance(env.admin_lock, AdminLease) and env.admin_lock.held:
            await env.admin_lock.release()
            env.write("unlocked")
        else:
            env.write("the lock was not held by this session")


COMMANDS: tuple[type[Command], ...] = (LockCommand, UnlockCommand)
