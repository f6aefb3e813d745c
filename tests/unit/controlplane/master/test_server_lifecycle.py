"""`serve()` returns once listening on port 0 and `stop()` ends every task it started and releases
every port; a master started again on the same -mdir keeps its volumes, max volume id and fid
sequence (no key is handed out twice)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from controlplane.master.config import MasterConfig, VolumeGrowthConfig
from controlplane.master.server import serve
from dataplane.volume.engine.types import FileId
from kelp_http import HttpClient
from tests.unit.controlplane.master.test_http_api_support import Api, FakeVolumeNode, fake_nodes, run

RAFT_PORT = 24120  # explicit, from this helper's port range


def config(mdir: Path) -> MasterConfig:
    return MasterConfig(
        port=0, grpc_port=0, raft_port=RAFT_PORT, mdir=str(mdir), growth=VolumeGrowthConfig(copy_1=1)
    )


def bindable(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_serve_listens_and_stop_leaves_nothing_behind(tmp_path: Path) -> None:
    async def scenario() -> None:
        before = asyncio.all_tasks()
        master = await serve(config(tmp_path))
        assert master.http_port and master.grpc_port and master.http_port != master.grpc_port
        client = HttpClient()
        r = await Api(f"127.0.0.1:{master.http_port}", client).call("/cluster/status")
        assert r.status == 200 and r.json()["IsLeader"] is True
        assert r.json()["Leader"] == f"127.0.0.1:{master.http_port}.{master.grpc_port}"
        await client.close()
        assert not bindable(master.http_port)
        await master.stop()
        await master.stop()  # idempotent
        await master.wait()  # the background jobs have ended
        assert asyncio.all_tasks() == before  # before includes this scenario task
        for port in (master.http_port, master.grpc_port, RAFT_PORT):
            assert bindable(port), port

    run(scenario())


def test_restart_on_the_same_mdir_keeps_volumes_and_sequence(tmp_path: Path) -> None:
    node = FakeVolumeNode(24604, max_volumes=4)

    async def assign_once() -> tuple[FileId, dict[str, object]]:
        master = await serve(config(tmp_path))
        client = HttpClient()
        try:
            await node.connect(f"127.0.0.1:{master.grpc_port}")
            api = Api(f"127.0.0.1:{master.http_port}", client)
            r = await api.call("/dir/assign?count=5")
            assert r.status == 200, r.body
            return FileId.parse(r.json()["fid"]), (await api.call("/cluster/status")).json()
        finally:
            await node.disconnect()
            await client.close()
            await master.stop()

    async def scenario() -> None:
        async with fake_nodes(node):
            first, status1 = await assign_once()
            assert len(node.allocations) == 1
            second, status2 = await assign_once()
        assert len(node.allocations) == 1  # the grown volume was remembered, not grown again
        assert second.volume_id == first.volume_id
        assert second.key >= first.key + 5
        assert status2["MaxVolumeId"] == status1["MaxVolumeId"] == first.volume_id

    run(scenario())


def test_a_busy_port_fails_serve_and_leaves_nothing_running(tmp_path: Path) -> None:
    busy = 24130

    async def scenario() -> None:
        before = asyncio.all_tasks()
        with socket.socket() as s:
            s.bind(("127.0.0.1", busy))
            s.listen()
            for cfg in (
                MasterConfig(port=busy, raft_port=RAFT_PORT, mdir=str(tmp_path)),
                MasterConfig(port=0, grpc_port=busy, raft_port=RAFT_PORT, mdir=str(tmp_path)),
            ):
                try:
                    await serve(cfg)
                except OSError:
                    pass
                else:
                    raise AssertionError("serve() bound a busy port")
        assert asyncio.all_tasks() == before
        assert bindable(RAFT_PORT)

    run(scenario())
