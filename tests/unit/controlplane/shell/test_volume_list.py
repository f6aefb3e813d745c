"""volume.list prints the volume servers by data center and rack with their volumes."""

from __future__ import annotations

import asyncio
import io

from controlplane.shell.env import ShellEnv
from controlplane.shell.master_admin import EcShards, ServerReport, VolumeReport
from controlplane.shell.master_pool import MasterPool
from controlplane.shell.registry import Registry
from controlplane.shell.session import Session
from tests.unit.controlplane.shell.fake_masters import FakeCluster


def volume(vid: int, collection: str = "") -> VolumeReport:
    return VolumeReport(vid, collection, 1024 * vid, vid, 0, 0, vid == 2, "001", "")


def test_tree_and_collection_filter() -> None:
    cluster = FakeCluster(["m1:9333"], leader="m1:9333", servers=[
        ServerReport("10.0.0.1:8080", "dc1", "r1", 8, (volume(1), volume(2, "pics"))),
        ServerReport("10.0.0.2:8080", "dc1", "r2", 8, (volume(1),), 0,
                     (EcShards(9, "pics", 0b1000_0000_0101),)),
    ])

    def run(script: str) -> str:
        out = io.StringIO()
        masters = MasterPool(["m1:9333"], cluster.connect, leader_wait_seconds=0.2, poll_seconds=0.01)
        session = Session(Registry.load(), ShellEnv(masters, out), err=io.StringIO())
        assert asyncio.run(session.run_script(script))
        return out.getvalue()

    lines = run("volume.list").splitlines()
    assert lines[:3] == ["DataCenter dc1", "  Rack r1", "    DataNode 10.0.0.1:8080 volumes:2/8"]
    assert lines[3] == ('      volume id:1 size:1024 collection:"" file_count:1 delete_count:0 '
                        "deleted_bytes:0 replica_placement:001 read_only:false")
    assert "read_only:true" in lines[4] and lines[5] == "  Rack r2"
    assert lines[-2] == '      ec volume id:9 collection:"pics" shards:[0 2 11]'
    assert lines[-1] == "total 2 volume servers, 3 volume replicas, 3 ec shards"
    only = run("volume.list -collection=pics")
    assert only.count("volume id:") == 2 and only.count('collection:"pics"') == 2
    assert "ec shards" not in run("volume.list -collection=other")
