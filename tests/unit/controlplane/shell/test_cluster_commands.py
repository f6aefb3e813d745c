"""cluster.status, cluster.raft.ps, cluster.raft.add and cluster.raft.remove against an
in-memory master cluster: what they print, whom they ask, and the mutation hook."""

from __future__ import annotations

import asyncio
import io

import pytest

from controlplane.shell.env import ShellEnv
from controlplane.shell.errors import CommandFailed
from controlplane.shell.master_pool import MasterPool
from controlplane.shell.registry import Registry
from controlplane.shell.session import Session
from tests.unit.controlplane.shell.fake_masters import FakeCluster

M1, M2, M3 = "m1:9333", "m2:9333", "m3:9333"


class FakeLock:
    def __init__(self, held: bool) -> None:
        self.held = held
        self.asked: list[str] = []

    async def confirm_held(self, command: str) -> None:
        self.asked.append(command)
        if not self.held:
            raise CommandFailed(command, "the admin lock is not held (run lock first)")


def run(cluster: FakeCluster, script: str, *, seeds: tuple[str, ...] = (M1,),
        lock: FakeLock | None = None) -> tuple[bool, str, str]:
    out, err = io.StringIO(), io.StringIO()
    masters = MasterPool(list(seeds), cluster.connect, leader_wait_seconds=0.2, poll_seconds=0.01)
    session = Session(Registry.load(), ShellEnv(masters, out, admin_lock=lock), err=err)
    ok = asyncio.run(session.run_script(script))
    return ok, out.getvalue(), err.getvalue()


def test_status_shows_leader_term_indexes_topology_and_members() -> None:
    ok, out, err = run(FakeCluster([M1, M2, M3], leader=M2), "cluster.status")
    assert ok and err == ""
    lines = out.splitlines()
    assert lines[:7] == [
        "leader:        m2:9333",
        "term:          3",
        "event index:   42",
        "state digest:  abababababababab",
        "raft log:      commit index 57, applied index 56",
        "max volume id: 7",
        "topology:      1 data center, 2 racks, 3 volume servers, 7 volumes",
    ]
    assert lines[7] == "members:       3"
    assert lines[8].split() == ["ADDRESS", "RAFT", "ROLE", "HEALTHY", "LAST", "CONTACT"]
    assert lines[9].split() == ["m1:9333", "m1:29333", "follower", "yes", "0.2", "s", "ago"]
    assert lines[10].split() == ["m2:9333", "m2:29333", "leader", "yes", "-"]


def test_status_from_a_follower_says_so_when_the_leader_is_unreachable() -> None:
    cluster = FakeCluster([M1, M2, M3], leader=M2, down={M2})
    ok, out, _ = run(cluster, "cluster.status")
    assert ok
    assert "answered by:   m1:9333 (a follower: its view may lag)" in out.splitlines()
    assert out.splitlines()[0] == "leader:        m2:9333"


def test_status_without_topology_says_why() -> None:
    cluster = FakeCluster([M1], leader=M1, topology=None)
    ok, out, _ = run(cluster, "cluster.status")
    assert ok and "topology:      unavailable (UNIMPLEMENTED: VolumeList)" in out.splitlines()


def test_status_during_an_election_names_no_leader() -> None:
    ok, out, _ = run(FakeCluster([M1, M2], leader=M1, elect_after=100), "cluster.status")
    assert ok and out.splitlines()[0] == "leader:        none (an election may be under way)"


def test_status_with_no_master_up_fails_with_one_line() -> None:
    ok, out, err = run(FakeCluster([M1, M2], leader=M1, down={M1, M2}), "cluster.status", seeds=(M1, M2))
    assert not ok and out == ""
    assert err.count("\n") == 1
    assert err.startswith("cluster.status: no master available (m1:9333, m2:9333): UNAVAILABLE")


def test_raft_ps_lists_the_members() -> None:
    ok, out, _ = run(FakeCluster([M1, M2, M3], leader=M3), "cluster.raft.ps")
    assert ok
    rows = [line.split() for line in out.splitlines()]
    assert rows == [
        ["ADDRESS", "RAFT", "ROLE", "HEALTHY"],
        ["m1:9333", "m1:29333", "follower", "yes"],
        ["m2:9333", "m2:29333", "follower", "yes"],
        ["m3:9333", "m3:29333", "leader", "yes"],
    ]


def test_raft_add_goes_to_the_leader_and_prints_the_new_members() -> None:
    cluster = FakeCluster([M1, M2, M3], leader=M2)
    ok, out, _ = run(cluster, "cluster.raft.add -id=ignored -address=m4:9333")
    assert ok
    assert (M2, "add_server") in cluster.calls and cluster.members[-1] == "m4:9333"
    assert out.splitlines()[0] == "added m4:9333 to the master cluster; members now:"
    assert out.splitlines()[-1].split()[:3] == ["m4:9333", "m4:29333", "follower"]


def test_raft_add_takes_a_grpc_form_address_by_its_http_part() -> None:
    cluster = FakeCluster([M1], leader=M1)
    assert run(cluster, "cluster.raft.add -address=m4:9333.19999")[0]
    assert cluster.members == [M1, "m4:9333"]


def test_raft_remove_accepts_weeds_id_as_the_address() -> None:
    cluster = FakeCluster([M1, M2, M3], leader=M1)
    ok, out, _ = run(cluster, "cluster.raft.remove -id=m3:9333")
    assert ok and cluster.members == [M1, M2]
    assert out.startswith("removed m3:9333 from the master cluster")


@pytest.mark.parametrize(
    ("script", "line"),
    [
        ("cluster.raft.add", "cluster.raft.add: -address is required (e.g. -address=10.0.0.4:9333)"),
        ("cluster.raft.add -address=nohost", 'cluster.raft.add: -address: "nohost" is not host:port '
                                              "(e.g. 127.0.0.1:9333)"),
        ("cluster.raft.add -address=m4:1 -voter=false", "cluster.raft.add: -voter=false: kelp has no "
                                                         "non-voting masters"),
        ("cluster.raft.remove -id=srv1", "cluster.raft.remove: -id: 'srv1' is not a master address "
                                         "(use -address=host:port)"),
        ("cluster.raft.remove -address=m9:9333", "cluster.raft.remove: master m1:9333: NOT_FOUND: m9:9333 "
                                                 "is not a member"),
    ],
)
def test_membership_mistakes_are_one_line(script: str, line: str) -> None:
    cluster = FakeCluster([M1, M2, M3], leader=M1)
    ok, _, err = run(cluster, script)
    assert not ok and err == line + "\n"
    assert cluster.members == [M1, M2, M3]


def test_membership_changes_pass_the_admin_lock_hook() -> None:
    cluster = FakeCluster([M1, M2, M3], leader=M1)
    held = FakeLock(held=True)
    assert run(cluster, "cluster.raft.add -address=m4:9333; cluster.status", lock=held)[0]
    assert held.asked == ["cluster.raft.add"]  # status does not mutate

    refused = FakeLock(held=False)
    ok, _, err = run(cluster, "cluster.raft.remove -address=m4:9333", lock=refused)
    assert not ok and "admin lock is not held" in err
    assert "m4:9333" in cluster.members
    assert not any(method == "remove_server" for _, method in cluster.calls)


def test_every_mutating_command_is_marked() -> None:
    mutating = {c.name for c in Registry.load() if c.mutating}
    assert mutating == {"cluster.raft.add", "cluster.raft.remove", "fs.configure", "volume.mark",
                        "volume.delete", "volume.vacuum", "volume.fix.replication", "volume.balance",
                        "volume.configure.replication", "ec.encode", "ec.rebuild", "ec.balance", "ec.decode"}
