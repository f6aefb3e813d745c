"""A whole master from `serve()` (real core, Raft log in tmp_path, HTTP and gRPC on loopback port 0)
with fake volume servers: heartbeats announce the nodes, the first assign grows volumes through
AllocateVolume on them, and lookups (HTTP and gRPC) find the assigned volume where it was grown."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from kelp_pb import master_pb2, master_pb2_grpc

from controlplane.master.config import MasterConfig, VolumeGrowthConfig
from controlplane.master.server import serve
from dataplane.volume.engine.types import FileId
from kelp_http import HttpClient
from tests.unit.controlplane.master.test_http_api_support import Api, FakeVolumeNode, fake_nodes, run

# Raft listens on an explicit port from this helper's range (24000-24999); one per test module.
RAFT_PORT = 24110


def config(mdir: Path, **overrides: object) -> MasterConfig:
    return MasterConfig(
        port=0,
        grpc_port=0,
        raft_port=RAFT_PORT,
        mdir=str(mdir),
        growth=VolumeGrowthConfig(copy_1=2, copy_2=2, copy_3=1),
        **overrides,  # type: ignore[arg-type]
    )


def test_assign_grows_on_fake_servers_then_lookup_finds_the_volume(tmp_path: Path) -> None:
    nodes = (FakeVolumeNode(24601, "dc1", "r1"), FakeVolumeNode(24602, "dc1", "r2"))

    async def scenario() -> None:
        master = await serve(config(tmp_path))
        client = HttpClient()
        api = Api(f"127.0.0.1:{master.http_port}", client)
        try:
            async with fake_nodes(*nodes):
                for node in nodes:
                    reply = await node.connect(f"127.0.0.1:{master.grpc_port}")
                    assert reply.leader == "" and reply.volume_size_limit == 30 * 1024 << 20

                r = await api.call("/dir/assign?replication=010&count=2")
                assert r.status == 200, r.body
                body = r.json()
                fid = FileId.parse(body["fid"])
                assert body["count"] == 2
                # Two logical volumes of 010 = one replica on each rack for each.
                assert all(len(n.allocations) == 2 for n in nodes)
                assert {a.replica_placement for n in nodes for a in n.allocations} == {10}
                assert fid.volume_id in nodes[0].volumes and fid.volume_id in nodes[1].volumes
                assert body["url"] in {n.node_id for n in nodes}

                r = await api.call(f"/dir/lookup?volumeId={fid.volume_id}")
                assert r.status == 200
                assert sorted(loc["url"] for loc in r.json()["locations"]) == [n.node_id for n in nodes]
                assert {loc["grpcPort"] for loc in r.json()["locations"]} == {n.grpc_port for n in nodes}

                # The next assign on the same layout reuses a grown volume: no new allocation.
                r = await api.call("/dir/assign?replication=010")
                assert FileId.parse(r.json()["fid"]).key >= fid.key + 2
                assert all(len(n.allocations) == 2 for n in nodes)

                channel = grpc.aio.insecure_channel(f"127.0.0.1:{master.grpc_port}")
                lookup = master_pb2_grpc.MasterStub(channel).Lookup
                reply = await lookup(master_pb2.LookupRequest(volume_ids=[fid.volume_id]))
                assert len(reply.volumes[0].locations) == 2
                await channel.close()

                status = (await api.call("/cluster/status")).json()
                assert status["IsLeader"] is True and status["MaxVolumeId"] >= fid.volume_id
        finally:
            await client.close()
            await master.stop()

    run(scenario())


@pytest.mark.parametrize(
    ("path", "status", "fragment"),
    [
        ("/dir/assign?replication=abc", 406, "unexpected replication type: abc"),
        ("/dir/assign?replication=100", 503, "volume growth in progress"),  # one data center only
        ("/dir/assign?disk=ssd", 406, "no free volumes left"),
        ("/vol/grow?count=1000", 406, "not enough for 1000"),
        ("/col/delete?collection=nope", 400, "collection nope does not exist"),
        ("/dir/lookup?volumeId=77", 404, "volume id 77 not found"),
    ],
)
def test_real_core_errors_reach_the_client(tmp_path: Path, path: str, status: int, fragment: str) -> None:
    node = FakeVolumeNode(24603)

    async def scenario() -> None:
        master = await serve(config(tmp_path, assign_growth_wait_seconds=0.5))
        client = HttpClient()
        try:
            async with fake_nodes(node):
                await node.connect(f"127.0.0.1:{master.grpc_port}")
                r = await Api(f"127.0.0.1:{master.http_port}", client).call(path)
                assert r.status == status, r.body
                assert fragment in r.json()["error"]
                if status == 503:
                    assert r.headers.get("retry-after") == "1"
        finally:
            await client.close()
            await master.stop()

    run(scenario())
