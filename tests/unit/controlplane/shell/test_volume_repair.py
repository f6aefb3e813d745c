"""volume.fix.replication, volume.balance and volume.configure.replication against in-memory
masters and volume servers: plans print without -apply, act with it under the lock, and
-doDelete=false only adds."""

from __future__ import annotations

import asyncio
import io

from controlplane.shell.env import ShellEnv
from controlplane.shell.master_admin import ServerReport, VolumeReport
from controlplane.shell.master_pool import MasterPool
from controlplane.shell.registry import Registry
from controlplane.shell.session import Session
from controlplane.shell.volume_repair import planner_inputs
from tests.unit.controlplane.shell.fake_masters import FakeCluster
from tests.unit.controlplane.shell.test_volume_commands import FakeVolumeServers


def vol(vid: int, replication: str = "001", read_only: bool = False) -> VolumeReport:
    return VolumeReport(vid, "", 10, 1, 0, 0, read_only, replication, "")


def session_for(servers: list[ServerReport], *, lock_on_demand: bool = False
                ) -> tuple[Session, FakeVolumeServers, io.StringIO, io.StringIO]:
    cluster = FakeCluster(["m1:9333"], leader="m1:9333", servers=servers)
    volume_servers = FakeVolumeServers()
    out, err = io.StringIO(), io.StringIO()
    masters = MasterPool(["m1:9333"], cluster.connect, leader_wait_seconds=0.2, poll_seconds=0.01)
    env = ShellEnv(masters, out, volume_servers=volume_servers, lock_on_demand=lock_on_demand)
    return Session(Registry.load(), env, err=err), volume_servers, out, err


def three_servers_one_wiped() -> list[ServerReport]:
    """Volume 7 (001) lost its replica on s2; volume 8 (000) has an extra on s3."""
    return [
        ServerReport("s1:8080", "dc", "r", 8, (vol(7), vol(8, "000"))),
        ServerReport("s2:8080", "dc", "r", 8, ()),
        ServerReport("s3:8080", "dc", "r", 8, (vol(8, "000"),)),
    ]


def test_planner_inputs_follow_the_topology() -> None:
    volumes, servers = planner_inputs(three_servers_one_wiped())
    assert [(v.volume_id, str(v.placement), v.holders) for v in volumes] == [
        (7, "001", ("s1:8080",)), (8, "000", ("s1:8080", "s3:8080"))]
    assert [s.free_slots for s in servers] == [6, 8, 7]


def test_fix_replication_plans_then_acts_under_the_lock() -> None:
    session, servers, out, err = session_for(three_servers_one_wiped())

    async def scenario() -> None:
        assert await session.run_script("volume.fix.replication"), err.getvalue()
        text = out.getvalue()
        assert "volume 7: copy from s1:8080 to s2:8080" in text
        assert "volume 8: remove the replica on s3:8080" in text and "plan only" in text
        assert servers.calls == []
        assert not await session.run_script("volume.fix.replication -apply")
        assert "run `lock` first" in err.getvalue() and servers.calls == []
        assert await session.run_script("lock; volume.fix.replication -apply"), err.getvalue()
        assert servers.calls == [("copy", "s1:8080->s2:8080", 7, False), ("delete", "s3:8080", 8, False)]
        await session.env.close()

    asyncio.run(scenario())


def test_do_delete_false_only_adds_and_a_script_takes_the_lock_itself() -> None:
    session, servers, out, err = session_for(three_servers_one_wiped(), lock_on_demand=True)

    async def scenario() -> None:
        assert await session.run_script("volume.fix.replication -doDelete=false -force"), err.getvalue()
        assert servers.calls == [("copy", "s1:8080->s2:8080", 7, False)]
        assert "remove" not in out.getvalue()
        await session.env.close()

    asyncio.run(scenario())


def test_balance_moves_from_the_fullest_server_keeping_writability() -> None:
    session, servers, _, err = session_for([
        ServerReport("s1:8080", "dc", "r", 4, (vol(1, "000"), vol(2, "000", read_only=True), vol(3, "000"))),
        ServerReport("s2:8080", "dc", "r", 4, ()),
    ])

    async def scenario() -> None:
        assert await session.run_script("lock; volume.balance -apply"), err.getvalue()
        moved = [c for c in servers.calls if c[0] == "copy"]
        assert len(moved) == 1 and moved[0][1] == "s1:8080->s2:8080"
        vid = moved[0][2]
        expected_mark = [] if vid == 2 else [("mark", "s1:8080", vid, True)]
        assert servers.calls[: len(expected_mark)] == expected_mark
        assert ("delete", "s1:8080", vid, False) in servers.calls
        if vid != 2:
            assert servers.calls[-1] == ("mark", "s2:8080", vid, False)
        await session.env.close()

    asyncio.run(scenario())


def test_configure_replication_rewrites_every_holder() -> None:
    session, servers, _, err = session_for(three_servers_one_wiped())

    async def scenario() -> None:
        assert not await session.run_script("lock; volume.configure.replication -volumeId=8 -replication=0x1")
        assert "not xyz" in err.getvalue()
        assert await session.run_script("volume.configure.replication -volumeId=8 -replication=001")
        assert servers.calls == [("configure 001", "s1:8080", 8, False),
                                 ("configure 001", "s3:8080", 8, False)]
        await session.env.close()

    asyncio.run(scenario())
