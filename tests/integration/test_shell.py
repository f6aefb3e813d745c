"""`kelp shell` against a real three-master cluster: cluster.status lists the members and the
leader, cluster.raft.ps agrees, the shell follows a failover to the new leader by itself, and a
failing -c script exits 1 with one line on stderr."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from ops.localcluster import REPO_ROOT, LocalCluster

from .conftest import ClusterFactory

# A cold interpreter start (grpc import included) on a loaded two-core machine.
SHELL_SECONDS = 30.0
# From a leader's SIGKILL until a master names a successor: ~1-2 s measured; generous for load.
FAILOVER_SECONDS = 30.0


def kelp_shell(masters: list[str], script: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "proto")]))
    return subprocess.run(
        [sys.executable, "-m", "ops.cli.main", "shell", f"-master={','.join(masters)}", "-c", script],
        capture_output=True, text=True, timeout=SHELL_SECONDS, env=env, cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
    )


def fields(out: str) -> dict[str, str]:
    """The "name: value" lines of cluster.status."""
    found = {}
    for line in out.splitlines():
        name, sep, value = line.partition(":")
        if sep and not line.startswith(" "):  # table rows are indented
            found[name] = value.strip()
    return found


def member_rows(out: str) -> dict[str, list[str]]:
    """Members table rows by address: [raft, role, healthy, ...]."""
    rows = {}
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:2] == ["ADDRESS", "RAFT"])
    for line in lines[start + 1 :]:
        cells = line.split()
        rows[cells[0]] = cells[1:]
    return rows


def status(masters: list[str]) -> tuple[dict[str, str], dict[str, list[str]]]:
    done = kelp_shell(masters, "cluster.status")
    assert done.returncode == 0, done.stderr
    return fields(done.stdout), member_rows(done.stdout)


def test_status_and_members_follow_a_failover(cluster_factory: ClusterFactory) -> None:
    cluster: LocalCluster = cluster_factory(volumes=1, masters=3)
    masters = cluster.master_addresses
    leader = cluster.master

    info, members = status(masters[:1])  # one seed is enough: the shell finds the leader
    assert info["leader"] == leader
    assert sorted(members) == sorted(masters)
    assert members[leader][1] == "leader"
    followers = [row for address, row in members.items() if address != leader]
    assert all(row[1] == "follower" and row[2] == "yes" for row in followers)
    assert info["topology"].startswith("1 data center, 1 rack, 1 volume server, ")

    ps = kelp_shell(masters, "cluster.raft.ps")
    assert ps.returncode == 0, ps.stderr
    assert {address: row[:3] for address, row in member_rows(ps.stdout).items()} == {
        address: row[:3] for address, row in members.items()
    }

    cluster.kill(cluster.leader_name())
    deadline = time.monotonic() + FAILOVER_SECONDS
    while True:
        # the dead leader first: the shell must skip it and find the new one itself
        done = kelp_shell([leader, *(m for m in masters if m != leader)], "cluster.status")
        info = fields(done.stdout) if done.returncode == 0 else {}
        if info.get("leader", leader) not in (leader, "none (an election may be under way)"):
            break
        assert time.monotonic() < deadline, f"no new leader named: {done.stdout}{done.stderr}"
    new_leader = info["leader"]
    assert new_leader in masters and "answered by" not in info  # the leader itself answered
    members = member_rows(done.stdout)
    assert members[new_leader][1] == "leader"
    assert members[leader][2] == "no"  # the killed master is unhealthy


def test_a_failing_script_exits_1_with_one_line() -> None:
    done = kelp_shell(["127.0.0.1:1"], "help; nonsense; cluster.status")
    assert done.returncode == 1
    assert done.stderr == 'unknown command "nonsense" (type "help" for the list of commands)\n'
    assert "cluster.status" in done.stdout  # help ran; nothing after the failure did
