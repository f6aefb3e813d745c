"""`kelp shell` against a real three-master cluster: cluster.status lists the members and the
leader, cluster.raft.ps agrees, the shell follows a failover to the new leader by itself, a
fourth master is added and removed with cluster.raft.add/remove, and a failing -c script exits 1
with one line on stderr."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from ops.localcluster import REPO_ROOT, LocalCluster

from .conftest import ClusterFactory

# A cold interpreter start (grpc import included) on a loaded two-core machine.
SHELL_SECONDS = 30.0
# From a leader's SIGKILL until a master names a successor: ~1-2 s measured; generous for load.
FAILOVER_SECONDS = 30.0
# A joining master's start (interpreter, imports) plus catching up with the log after the add.
MEMBERSHIP_SECONDS = 60.0


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


def start_joining_master(cluster: LocalCluster) -> tuple[subprocess.Popen[bytes], str, Path]:
    """A fourth master started with -raft.join: it waits to be added instead of campaigning."""
    port = cluster.ports.take(raft=True)
    address = f"127.0.0.1:{port}"
    mdir = cluster.workdir / "master-new"
    log_path = cluster.workdir / "master-new.log"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "proto")]))
    argv = [sys.executable, "-m", "ops.cli.main", "master", "-ip=127.0.0.1", f"-port={port}",
            f"-port.grpc={port + 10000}", f"-mdir={mdir}", "-raft.join",
            f"-peers={','.join([*cluster.master_addresses, address])}", f"-config.dir={cluster.config_dir}"]
    with log_path.open("ab") as log:
        process = subprocess.Popen(argv, cwd=cluster.workdir, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    return process, address, log_path


def wait_members(masters: list[str], want: set[str], log_path: Path) -> dict[str, list[str]]:
    """Poll cluster.raft.ps until exactly `want` are members and all of them are healthy."""
    deadline = time.monotonic() + MEMBERSHIP_SECONDS
    while True:
        done = kelp_shell(masters, "cluster.raft.ps")
        rows = member_rows(done.stdout) if done.returncode == 0 else {}
        if set(rows) == want and all(row[2] == "yes" for row in rows.values()):
            return rows
        assert time.monotonic() < deadline, f"members {rows} != {want}: {done.stderr}\n{log_path.read_text()}"


def test_a_fourth_master_is_added_and_removed_through_the_shell(cluster_factory: ClusterFactory) -> None:
    cluster: LocalCluster = cluster_factory(volumes=1, masters=3)
    masters = cluster.master_addresses
    process, new, log_path = start_joining_master(cluster)
    try:
        added = kelp_shell(masters, f"cluster.raft.add -id=m4 -address={new}")
        assert added.returncode == 0, f"{added.stderr}\n{log_path.read_text()}"
        assert added.stdout.startswith(f"added {new} to the master cluster")
        rows = wait_members(masters, {*masters, new}, log_path)
        assert sorted(row[1] for row in rows.values()) == ["follower", "follower", "follower", "leader"]

        removed = kelp_shell([new], f"cluster.raft.remove -address={new}")  # asked via the new one
        assert removed.returncode == 0, removed.stderr
        wait_members(masters, set(masters), log_path)
    finally:
        process.kill()
        process.wait(timeout=30)
