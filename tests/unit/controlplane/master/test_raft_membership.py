"""Bootstrapping happens once: the membership recorded in -mdir wins over -peers, and a start
that would create a second cluster identity is refused (also by `kelp master`, in one line)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from controlplane.master import raft_membership
from controlplane.master.raft import RaftLog
from controlplane.master.raft_membership import MembershipConflict, resolve
from ops.localcluster import REPO_ROOT

A, B, C, D = (f"127.0.0.1:{p}" for p in (22901, 22902, 22903, 22904))


def test_first_start_records_peers_and_later_starts_use_the_record(tmp_path: Path) -> None:
    mdir = str(tmp_path)
    assert resolve(mdir, A, (A, B, C)).members == (A, B, C)
    raft_membership.save(mdir, A, (A, B, D))  # as after replacing C with D
    assert resolve(mdir, A, (A, B, C)).members == (A, B, D)  # old -peers: the record wins


def test_a_cluster_member_started_alone_refuses(tmp_path: Path) -> None:
    mdir = str(tmp_path)
    resolve(mdir, A, (A, B, C))
    with pytest.raises(MembershipConflict) as info:
        resolve(mdir, A, ())
    assert info.value.recorded == (A, B, C)
    assert "refusing to start a new cluster of one" in str(info.value)


def test_a_cluster_of_one_cannot_be_turned_into_three_by_flags(tmp_path: Path) -> None:
    mdir = str(tmp_path)
    resolve(mdir, A, ())
    with pytest.raises(MembershipConflict):
        resolve(mdir, A, (A, B, C))
    assert resolve(mdir, "127.0.0.1:22999", ()).members == ("127.0.0.1:22999",)  # a lone one may move


def test_another_masters_mdir_refuses(tmp_path: Path) -> None:
    mdir = str(tmp_path)
    resolve(mdir, A, (A, B, C))
    with pytest.raises(MembershipConflict):
        resolve(mdir, B, (A, B, C))


def test_the_raft_log_refuses_before_electing_itself(tmp_path: Path) -> None:
    raft_membership.save(str(tmp_path), A, (A, B, C))

    async def scenario() -> None:
        log = RaftLog(str(tmp_path), A)
        with pytest.raises(MembershipConflict):
            await log.start()
        await log.close()

    asyncio.run(scenario())
    assert not (tmp_path / "raft.journal").exists()


def test_kelp_master_refuses_in_one_line(tmp_path: Path) -> None:
    raft_membership.save(str(tmp_path), A, (A, B, C))
    env = {"PYTHONPATH": f"{REPO_ROOT}:{REPO_ROOT / 'proto'}", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "ops.cli.main", "master", "-ip=127.0.0.1", "-port=22901", f"-mdir={tmp_path}"],
        capture_output=True, text=True, timeout=60, cwd=REPO_ROOT, env=env,
    )
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "3-master cluster" in lines[0] and f"-peers={A},{B},{C}" in lines[0]
