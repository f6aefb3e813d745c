"""`kelp shell`: the admin shell. `-c "cmd1; cmd2"` (or a script piped on stdin) runs the
commands in order and stops at the first failure, exiting 1 after one line on stderr saying what
failed; otherwise an interactive prompt with history and completion (controlplane.shell.repl).

The shell finds the leader itself from any master in `-master` and follows it across failovers.

Imports controlplane.shell (its flags too); grpc only through
controlplane.shell.grpc_master_admin.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys

from controlplane.shell.env import ShellEnv
from controlplane.shell.flags import FlagSet, host_ports, parse_or_exit
from controlplane.shell.grpc_master_admin import GrpcMasterAdmin
from controlplane.shell.master_pool import MasterPool
from controlplane.shell.registry import Registry
from controlplane.shell.repl import Repl
from controlplane.shell.session import ExitRequested, Session
from controlplane.shell.volume_servers import GrpcVolumeServers

SUMMARY = 'run admin commands: an interactive prompt, or -c "cmd; cmd" for scripts'
# The prompt's history: $KELP_SHELL_HISTORY, else ~/.kelp/shell_history (the directory is made).
DEFAULT_HISTORY = os.environ.get("KELP_SHELL_HISTORY") or "~/.kelp/shell_history"


def flag_set() -> FlagSet:
    fs = FlagSet("shell", SUMMARY, example='kelp shell -master=m1:9333,m2:9333,m3:9333 -c "cluster.status"')
    fs.strings("master", ["localhost:9333"], "masters to ask: any of the cluster (host:port[.grpcPort])",
               check=host_ports)
    fs.string("c", "", "commands to run, separated by ';' or newlines; stops at the first failure")
    fs.boolean("lock", False, "take the admin lock at the first mutating command, as if the script "
                              "began with `lock` (kelp)")
    fs.string("history", DEFAULT_HISTORY, 'history file of the interactive prompt ("" keeps no history)')
    return fs


async def run_script(session: Session, script: str) -> bool:
    """The script's commands; `exit` ends it successfully."""
    try:
        return await session.run_script(script)
    except ExitRequested:
        return True


def main(argv: list[str]) -> int:
    flags = parse_or_exit(flag_set(), argv)
    script: str | None = flags.text("c") if flags.given("c") else None
    if script is None and not sys.stdin.isatty():
        script = sys.stdin.read()  # `echo cluster.status | kelp shell`, as weed shell takes it
    registry = Registry.load()
    with asyncio.Runner() as runner:
        masters = MasterPool(flags.texts("master"), GrpcMasterAdmin)
        # As weed's, a script's mutating commands need a `lock` line; -lock takes it on demand.
        env = ShellEnv(masters, sys.stdout, volume_servers=GrpcVolumeServers(),
                       lock_on_demand=flags.boolean("lock"))
        session = Session(registry, env, err=sys.stderr)
        try:
            if script is not None:
                return 0 if runner.run(run_script(session, script)) else 1
            history = os.path.expanduser(flags.text("history"))
            if history:
                with contextlib.suppress(OSError):  # no history is better than no shell
                    os.makedirs(os.path.dirname(history) or ".", exist_ok=True)
            Repl(session, runner.run, history_path=history, err=sys.stderr).loop()
            return 0
        finally:
            runner.run(session.env.close())  # gives back the admin lock, if `lock` took it
            runner.run(masters.close())
