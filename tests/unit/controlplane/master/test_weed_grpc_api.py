"""master_pb.Seaweed over grpc.aio against a real MasterCore on an in-memory log: the calls the
weed tools make (Assign, LookupVolume echoing ids, GetMasterConfiguration, CollectionList,
VolumeList, the admin lock), KeepConnected's full view then deltas, and a follower that forwards
leader-only calls and redirects KeepConnected."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import grpc
import pytest
from kelp_pb import weed_master_pb2 as wpb
from kelp_pb import weed_master_pb2_grpc

from controlplane.master.core import MasterCore
from controlplane.master.raft import MemoryLog
from controlplane.master.weed_grpc_api import WeedServicer
from tests.unit.controlplane.master.fakes import FakeServer, FakeVolumeAdmin, make_core
from tests.unit.controlplane.master.test_http_api_support import run

READ_TIMEOUT_SECONDS = 5.0  # one stream message; the master answers in milliseconds


@dataclass
class Master:
    core: MasterCore
    admin: FakeVolumeAdmin
    log: MemoryLog
    stub: weed_master_pb2_grpc.SeaweedStub
    grpc_port: int


@asynccontextmanager
async def master(
    servers: list[FakeServer], *, leading: bool = True, leader: str | None = None, **config: object
) -> AsyncIterator[Master]:
    core, admin, event_log, _ = make_core(servers, **config)
    event_log.leading = leading
    event_log.leader_address = leader
    await core.start()
    server = grpc.aio.server()
    servicer = WeedServicer(core, leader_check_seconds=0.05)
    weed_master_pb2_grpc.add_SeaweedServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield Master(core, admin, event_log, weed_master_pb2_grpc.SeaweedStub(channel), port)
    finally:
        await channel.close(None)
        await server.stop(None)
        await servicer.close()
        await core.stop()


def fleet() -> list[FakeServer]:
    return [FakeServer("10.0.0.1", 8080, "dc1", "r1"), FakeServer("10.0.0.2", 8080, "dc1", "r2")]


async def beat(m: Master) -> None:
    for server in m.admin.servers.values():
        await m.core.heartbeat(server.heartbeat())


async def read(call: grpc.aio.StreamStreamCall) -> wpb.VolumeLocation:  # type: ignore[type-arg]
    reply = await asyncio.wait_for(call.read(), READ_TIMEOUT_SECONDS)
    assert reply is not grpc.aio.EOF
    location: wpb.VolumeLocation = reply.volume_location
    return location


def test_assign_grows_and_answers_with_a_location() -> None:
    async def scenario() -> None:
        async with master(fleet()) as m:
            await beat(m)
            reply = await m.stub.Assign(wpb.AssignRequest(count=3, collection="benchmark", replication="000"))
            assert reply.error == ""
            assert reply.count == 3 and "," in reply.fid
            assert reply.location.url in ("10.0.0.1:8080", "10.0.0.2:8080")
            assert reply.location.grpc_port == 18080 and reply.location.data_center == "dc1"
            bad = await m.stub.Assign(wpb.AssignRequest(replication="9x9"))
            assert bad.error and not bad.fid

    run(scenario())


def test_lookup_echoes_every_requested_string() -> None:
    async def scenario() -> None:
        async with master(fleet()) as m:
            await beat(m)
            fid = (await m.stub.Assign(wpb.AssignRequest())).fid
            vid = fid.split(",")[0]
            asked = [vid, fid, "999", "x7"]
            reply = await m.stub.LookupVolume(wpb.LookupVolumeRequest(volume_or_file_ids=asked))
            got = {e.volume_or_file_id: e for e in reply.volume_id_locations}
            assert list(got) == asked
            assert got[vid].locations[0].url == got[fid].locations[0].url != ""
            assert got[vid].error == "" and got[fid].auth == ""  # no JWT key configured
            assert "not found" in got["999"].error and "unknown volume id" in got["x7"].error

    run(scenario())


def test_lookup_of_a_file_id_carries_its_jwt_when_signing_is_on() -> None:
    async def scenario() -> None:
        async with master(fleet(), jwt_signing_key="k" * 32) as m:
            await beat(m)
            fid = (await m.stub.Assign(wpb.AssignRequest())).fid
            vid = fid.split(",")[0]
            reply = await m.stub.LookupVolume(wpb.LookupVolumeRequest(volume_or_file_ids=[fid, vid]))
            by_id = {e.volume_or_file_id: e.auth for e in reply.volume_id_locations}
            assert by_id[fid].count(".") == 2  # a JWT
            assert by_id[vid] == ""  # a bare volume id names no file to sign

    run(scenario())


def test_configuration_collections_and_volume_list() -> None:
    async def scenario() -> None:
        async with master(fleet()) as m:
            await beat(m)
            await m.stub.Assign(wpb.AssignRequest())
            await m.stub.Assign(wpb.AssignRequest(collection="pics"))
            conf = await m.stub.GetMasterConfiguration(wpb.GetMasterConfigurationRequest())
            assert conf.default_replication == "000"
            assert conf.leader == "127.0.0.1:9333.19333"
            assert conf.volume_size_limit_m_b == 30 * 1024
            cols = await m.stub.CollectionList(
                wpb.CollectionListRequest(include_normal_volumes=True, include_ec_volumes=True)
            )
            assert sorted(c.name for c in cols.collections) == ["", "pics"]
            listing = await m.stub.VolumeList(wpb.VolumeListRequest())
            nodes = [
                n.id
                for dc in listing.topology_info.data_center_infos
                for rack in dc.rack_infos
                for n in rack.data_node_infos
            ]
            assert nodes == ["10.0.0.1:8080", "10.0.0.2:8080"]
            assert listing.topology_info.diskInfos[""].volume_count == 14  # 7 per collection
            # The stream: the tree without volumes, then batches naming their disk; put back together
            # it is the VolumeList answer.
            messages = [msg async for msg in m.stub.VolumeListStream(wpb.VolumeListRequest())]
            rebuilt = messages[0].header
            assert (
                not rebuilt.topology_info.data_center_infos[0]
                .rack_infos[0]
                .data_node_infos[0]
                .diskInfos[""]
                .volume_infos
            )
            for batch in messages[1:]:
                (dc,) = [d for d in rebuilt.topology_info.data_center_infos if d.id == batch.data_center]
                (rack,) = [r for r in dc.rack_infos if r.id == batch.rack]
                (node,) = [n for n in rack.data_node_infos if n.id == batch.data_node]
                node.diskInfos[batch.disk_type].volume_infos.extend(batch.volume_infos)
            assert rebuilt == listing
            volume_servers = await m.stub.ListClusterNodes(
                wpb.ListClusterNodesRequest(client_type="volumeServer")
            )
            assert [n.address for n in volume_servers.cluster_nodes] == nodes
            filers = await m.stub.ListClusterNodes(wpb.ListClusterNodesRequest(client_type="filer"))
            assert list(filers.cluster_nodes) == []

    run(scenario())


def test_admin_lock_lease_status_refusal_and_release() -> None:
    async def scenario() -> None:
        async with master([]) as m:
            status = await m.stub.GetAdminLockStatus(wpb.GetAdminLockStatusRequest(lock_name="shell"))
            assert not status.is_locked
            lease = await m.stub.LeaseAdminToken(
                wpb.LeaseAdminTokenRequest(lock_name="shell", client_name="me")
            )
            assert lease.token > 0 and lease.lock_ts_ns > 0
            renewed = await m.stub.LeaseAdminToken(
                wpb.LeaseAdminTokenRequest(
                    lock_name="shell",
                    client_name="me",
                    previous_token=lease.token,
                    previous_lock_time=lease.lock_ts_ns,
                    message="volume.list",
                )
            )
            assert renewed.token == lease.token
            status = await m.stub.GetAdminLockStatus(wpb.GetAdminLockStatusRequest(lock_name="shell"))
            assert (status.is_locked, status.client_name, status.message) == (True, "me", "volume.list")
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await m.stub.LeaseAdminToken(wpb.LeaseAdminTokenRequest(lock_name="shell", client_name="you"))
            assert "already locked by me" in (err.value.details() or "")
            await m.stub.ReleaseAdminToken(
                wpb.ReleaseAdminTokenRequest(lock_name="shell", previous_token=lease.token)
            )
            status = await m.stub.GetAdminLockStatus(wpb.GetAdminLockStatusRequest(lock_name="shell"))
            assert not status.is_locked

    run(scenario())


def test_keep_connected_on_an_empty_cluster_names_the_leader_at_once() -> None:
    async def scenario() -> None:
        async with master([]) as m:
            call = m.stub.KeepConnected()
            await call.write(wpb.KeepConnectedRequest(client_type="client"))
            first = await read(call)
            assert (first.leader, first.url, list(first.new_vids)) == ("127.0.0.1:9333.19333", "", [])
            call.cancel()

    run(scenario())


def test_keep_connected_sends_every_node_then_new_and_deleted_volume_ids() -> None:
    async def scenario() -> None:
        async with master(fleet()) as m:
            await beat(m)
            await m.stub.Assign(wpb.AssignRequest())  # grows 7 volumes over the two nodes
            await beat(m)
            expected = {s.node_id: sorted(s.volumes) for s in m.admin.servers.values()}
            call = m.stub.KeepConnected()
            await call.write(wpb.KeepConnectedRequest(client_type="adminShell"))
            first, second = await read(call), await read(call)
            assert first.leader == "127.0.0.1:9333.19333" and second.leader == ""
            assert {first.url: sorted(first.new_vids), second.url: sorted(second.new_vids)} == expected
            assert first.grpc_port == 18080 and first.data_center == "dc1"
            # More volumes: pushed as new_vids of the node that got them.
            await m.stub.Assign(wpb.AssignRequest(collection="more"))
            grown: dict[str, set[int]] = {}
            while sum(len(v) for v in grown.values()) < 7:
                loc = await read(call)
                grown.setdefault(loc.url, set()).update(loc.new_vids)
                assert not loc.deleted_vids
            # A node that leaves: all its volume ids are deleted.
            gone = "10.0.0.1:8080"
            await m.core.node_disconnected(gone)
            loc = await read(call)
            assert loc.url == gone and set(loc.deleted_vids) == set(expected[gone]) | grown.get(gone, set())
            call.cancel()

    run(scenario())


def test_keep_connected_ends_with_the_new_leader_when_leadership_is_lost() -> None:
    async def scenario() -> None:
        async with master(fleet()) as m:
            call = m.stub.KeepConnected()
            await call.write(wpb.KeepConnectedRequest(client_type="client"))
            await read(call)
            m.log.leading = False
            m.log.leader_address = "127.0.0.1:9400"
            redirect = await read(call)
            assert (redirect.leader, redirect.url) == ("127.0.0.1:9400.19400", "")
            assert await asyncio.wait_for(call.read(), READ_TIMEOUT_SECONDS) is grpc.aio.EOF

    run(scenario())


def test_a_follower_forwards_leader_calls_and_redirects_keep_connected() -> None:
    async def scenario() -> None:
        async with master(fleet()) as leader:
            await beat(leader)
            # The follower names the leader by an HTTP port whose +10000 is the leader's gRPC port.
            address = f"127.0.0.1:{leader.grpc_port - 10000}"
            async with master(fleet(), leading=False, leader=address) as follower:
                reply = await follower.stub.Assign(wpb.AssignRequest(count=2))
                assert reply.error == "" and reply.count == 2
                assert leader.core.statistics().keys_issued == 2
                lease = await follower.stub.LeaseAdminToken(wpb.LeaseAdminTokenRequest(lock_name="shell"))
                assert leader.core.admin_lock_status("shell").token == lease.token
                call = follower.stub.KeepConnected()
                await call.write(wpb.KeepConnectedRequest(client_type="client"))
                only = await read(call)
                assert (only.leader, only.url) == (f"{address}.{leader.grpc_port}", "")
                assert await asyncio.wait_for(call.read(), READ_TIMEOUT_SECONDS) is grpc.aio.EOF

    run(scenario())


def test_a_follower_without_a_leader_answers_unavailable() -> None:
    async def scenario() -> None:
        async with master([], leading=False, leader=None) as m:
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await m.stub.Assign(wpb.AssignRequest())
            assert err.value.code() == grpc.StatusCode.UNAVAILABLE
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await m.stub.VolumeListStream(wpb.VolumeListRequest()).read()
            assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED  # the shell falls back to VolumeList
            lookup = await m.stub.LookupVolume(wpb.LookupVolumeRequest(volume_or_file_ids=["1"]))
            assert "not found" in lookup.volume_id_locations[0].error  # reads still answer

    run(scenario())


class _HungLeader(weed_master_pb2_grpc.SeaweedServicer):  # type: ignore[misc]  # generated, untyped
    """A paused leader: it takes the call and never answers."""

    def __init__(self) -> None:
        self.arrived = asyncio.Event()

    async def Assign(self, request: wpb.AssignRequest, context: object) -> wpb.AssignResponse:
        self.arrived.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


def test_a_forwarded_assign_hung_on_the_old_leader_goes_to_the_new_one() -> None:
    async def scenario() -> None:
        hung = _HungLeader()
        server = grpc.aio.server()
        weed_master_pb2_grpc.add_SeaweedServicer_to_server(hung, server)
        hung_port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        try:
            async with master(fleet()) as leader:
                await beat(leader)
                old = f"127.0.0.1:{hung_port - 10000}"
                async with master(fleet(), leading=False, leader=old) as follower:
                    call = asyncio.ensure_future(follower.stub.Assign(wpb.AssignRequest(count=1)))
                    await asyncio.wait_for(hung.arrived.wait(), READ_TIMEOUT_SECONDS)
                    follower.log.leader_address = f"127.0.0.1:{leader.grpc_port - 10000}"  # elected
                    reply = await asyncio.wait_for(call, READ_TIMEOUT_SECONDS)
                    assert reply.error == "" and reply.count == 1
                    assert leader.core.statistics().keys_issued == 1
        finally:
            await server.stop(None)

    run(scenario())
