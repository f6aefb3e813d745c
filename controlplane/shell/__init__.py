"""`kelp shell`: the admin shell's commands and the session that runs them.

Layout (one module per concern; command families are `area.verb` modules):
- `script.py`     pure: split "cmd -flag=v; cmd2" text into invocations (quotes, comments);
- `registry.py`   `Command` (name, flags, async run) and the `Registry` of every command;
- `master_admin.py` the `MasterAdmin` seam (cluster status and Raft membership calls) and the
                  values it returns; `grpc_master_admin.py` implements it over kelp.v1.MasterAdmin;
- `master_pool.py` which master to ask: finds and follows the leader, retries once elsewhere;
- `env.py`        `ShellEnv`, what a command gets: masters, output stream, mutation hook;
- `table.py`      plain-text tables and field lists;
- `session.py`    runs invocations (built-ins help/exit, errors as one line); `repl.py` the
                  interactive loop (history, completion);
- `cluster.py`    cluster.status, cluster.raft.ps, cluster.raft.add, cluster.raft.remove;
- `fs_configure.py` fs.configure (filer.conf path rules);
- `flags.py`      weed-style flag parsing, shared with the `kelp` CLI (ops/cli);
- pure planners for issue 6's commands: `ec_placement.py` (EC shards per rack/server),
  `replica_plan.py` (volume.fix.replication), `balance_plan.py` (volume.balance).

Here rather than in ops/ because the master's maintenance runner (issue 6) runs these same
commands, and controlplane never imports ops.

Imports the standard library, controlplane.shell.flags and dataplane.client only; grpc and kelp_pb only in
grpc_master_admin.py. No server code: the shell talks to masters the way any client does.
"""
