"""volume.mark and volume.delete: they need the admin lock, act on every holder (or -node), and
say what they did."""

from __future__ import annotations

import asyncio
import io

from controlplane.shell.env import ShellEnv
from controlplane.shell.master_admin import ServerReport, VolumeReport
from controlplane.shell.master_pool import MasterPool
from controlplane.shell.registry import Registry
from controlplane.shell.session import Session
from tests.unit.controlplane.shell.fake_masters import FakeCluster


class FakeVolumeServers:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int, bool]] = []

    async def mark_read_only(self, server: ServerReport, volume_id: int, read_only: bool) -> None:
        self.calls.append(("mark", server.address, volume_id, read_only))

    async def delete_volume(self, server: ServerReport, volume_id: int) -> None:
        self.calls.append(("delete", server.address, volume_id, False))

    async def garbage_ratio(self, server: ServerReport, volume_id: int) -> float:
        return 0.6 if volume_id == 7 else 0.1

    async def vacuum(self, server: ServerReport, volume_id: int) -> int:
        self.calls.append(("vacuum", server.address, volume_id, False))
        return 1234

    async def copy_volume(self, target: ServerReport, source: ServerReport, volume_id: int,
                          collection: str) -> int:
        self.calls.append(("copy", f"{source.address}->{target.address}", volume_id, False))
        return 100

    async def configure_replication(self, server: ServerReport, volume_id: int, replication: str) -> None:
        self.calls.append(("configure " + replication, server.address, volume_id, False))

    async def close(self) -> None:
        pass


def replica(vid: int) -> VolumeReport:
    return VolumeReport(vid, "", 10, 1, 0, 0, False, "001", "")


def test_mark_and_delete_need_the_lock_and_reach_the_holders() -> None:
    cluster = FakeCluster(["m1:9333"], leader="m1:9333", servers=[
        ServerReport("10.0.0.1:8080", "dc", "r", 8, (replica(7), replica(8))),
        ServerReport("10.0.0.2:8080", "dc", "r", 8, (replica(7),)),
    ])
    servers = FakeVolumeServers()
    out, err = io.StringIO(), io.StringIO()
    masters = MasterPool(["m1:9333"], cluster.connect, leader_wait_seconds=0.2, poll_seconds=0.01)
    session = Session(Registry.load(), ShellEnv(masters, out, volume_servers=servers), err=err)

    async def scenario() -> None:
        assert not await session.run_script("volume.mark -volumeId=7 -readonly")
        assert "run `lock` first" in err.getvalue() and servers.calls == []
        assert await session.run_script("lock; volume.mark -volumeId=7 -readonly")
        assert servers.calls == [("mark", "10.0.0.1:8080", 7, True), ("mark", "10.0.0.2:8080", 7, True)]
        assert await session.run_script("volume.mark -volumeId=8 -writable -node=10.0.0.1:8080")
        assert await session.run_script("volume.delete -volumeId=7 -node=10.0.0.2:8080")
        assert servers.calls[-2:] == [("mark", "10.0.0.1:8080", 8, False),
                                      ("delete", "10.0.0.2:8080", 7, False)]
        assert not await session.run_script("volume.delete -volumeId=9 -node=10.0.0.2:8080")
        assert "volume 9 not found on 10.0.0.2:8080" in err.getvalue()
        assert not await session.run_script("volume.mark -volumeId=7")
        assert "exactly one of -readonly and -writable" in err.getvalue()
        assert await session.run_script("volume.vacuum -garbageThreshold=0.5")
        assert [c for c in servers.calls if c[0] == "vacuum"] == [("vacuum", "10.0.0.1:8080", 7, False),
                                                                   ("vacuum", "10.0.0.2:8080", 7, False)]
        assert "reclaimed 1234 bytes" in out.getvalue() and "vacuumed 2 volume replicas" in out.getvalue()
        await session.env.close()

    asyncio.run(scenario())
