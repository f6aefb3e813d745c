"""GrpcMasterAdmin against an in-process gRPC server on loopback port 0 (fake kelp.v1.MasterAdmin
and master_pb.Seaweed servicers): messages become the shell's values, gRPC errors the shell's
errors; and `kelp shell -c` end to end over it."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from concurrent import futures

import grpc
import pytest
from kelp_pb import master_admin_pb2, master_admin_pb2_grpc, weed_master_pb2, weed_master_pb2_grpc

from controlplane.shell.errors import MasterGone, MasterNotLeader, MasterRefused
from controlplane.shell.grpc_master_admin import GrpcMasterAdmin, call_error
from dataplane.client.addresses import ServerAddress
from ops.cli import shell

SELF = "127.0.0.1:1"  # the fake master's HTTP address (never dialled: its gRPC port is explicit)


def member(address: str, role: str, contact: float | None) -> master_admin_pb2.ClusterMember:
    m = master_admin_pb2.ClusterMember(address=address, raft_address=address + "0", role=role, healthy=True)
    if contact is not None:
        m.last_contact_seconds = contact
    return m


class FakeAdmin(master_admin_pb2_grpc.MasterAdminServicer):
    def __init__(self) -> None:
        self.members = [member(SELF, "leader", None), member("127.0.0.1:2", "follower", 0.5)]
        self.leader_only_refusal = ""  # details of a FAILED_PRECONDITION for add/remove

    def ClusterStatus(self, request, context):  # type: ignore[no-untyped-def]  # generated base
        return master_admin_pb2.ClusterStatusResponse(
            is_leader=True, leader=SELF, term=5, event_index=9, state_digest="cd" * 32, commit_index=12,
            applied_index=12, members=self.members, max_volume_id=4, self=SELF,
        )

    def RaftListClusterServers(self, request, context):  # type: ignore[no-untyped-def]
        return master_admin_pb2.RaftListClusterServersResponse(members=self.members)

    def RaftAddServer(self, request, context):  # type: ignore[no-untyped-def]
        if self.leader_only_refusal:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, self.leader_only_refusal)
        self.members.append(member(request.address, "follower", None))
        return master_admin_pb2.RaftAddServerResponse(members=self.members)

    def RaftRemoveServer(self, request, context):  # type: ignore[no-untyped-def]
        context.abort(grpc.StatusCode.NOT_FOUND, f"{request.address} is not a member")


class FakeSeaweed(weed_master_pb2_grpc.SeaweedServicer):
    def VolumeList(self, request, context):  # type: ignore[no-untyped-def]
        disk = weed_master_pb2.DiskInfo(volume_infos=[weed_master_pb2.VolumeInformationMessage(id=i)
                                                      for i in (1, 2, 3)])
        node = weed_master_pb2.DataNodeInfo(id="127.0.0.1:8080", diskInfos={"": disk})
        racks = [weed_master_pb2.RackInfo(id="r1", data_node_infos=[node]), weed_master_pb2.RackInfo(id="r2")]
        dc = weed_master_pb2.DataCenterInfo(id="dc1", rack_infos=racks)
        topology = weed_master_pb2.TopologyInfo(data_center_infos=[dc])
        return weed_master_pb2.VolumeListResponse(topology_info=topology)


@pytest.fixture
def fake() -> Iterator[tuple[FakeAdmin, str]]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    admin = FakeAdmin()
    master_admin_pb2_grpc.add_MasterAdminServicer_to_server(admin, server)
    weed_master_pb2_grpc.add_SeaweedServicer_to_server(FakeSeaweed(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield admin, f"{SELF}.{port}"
    finally:
        server.stop(None)


def call(address: str, method: str, *args: str) -> object:
    async def go() -> object:
        client = GrpcMasterAdmin(ServerAddress.parse(address))
        try:
            return await getattr(client, method)(*args)
        finally:
            await client.close()

    return asyncio.run(go())


def test_status_and_members_become_the_shells_values(fake: tuple[FakeAdmin, str]) -> None:
    _, address = fake
    status = call(address, "cluster_status")
    assert status.answered_by == SELF and status.is_leader and status.term == 5  # type: ignore[attr-defined]
    assert (status.event_index, status.commit_index, status.max_volume_id) == (9, 12, 4)  # type: ignore[attr-defined]
    leader, follower = status.members  # type: ignore[attr-defined]
    assert (leader.role, leader.last_contact_seconds) == ("leader", None)
    assert (follower.role, follower.last_contact_seconds) == ("follower", 0.5)
    assert call(address, "list_cluster_servers") == status.members  # type: ignore[attr-defined]


def test_topology_counts_come_from_volume_list(fake: tuple[FakeAdmin, str]) -> None:
    counts = call(fake[1], "topology_counts")
    assert (counts.data_centers, counts.racks, counts.nodes, counts.volumes) == (1, 2, 1, 3)  # type: ignore[attr-defined]


def test_a_follower_refusal_names_the_leader(fake: tuple[FakeAdmin, str]) -> None:
    admin, address = fake
    admin.leader_only_refusal = "not the leader; leader=127.0.0.1:7"
    with pytest.raises(MasterNotLeader) as caught:
        call(address, "add_server", "127.0.0.1:4")
    assert caught.value.leader == "127.0.0.1:7"
    with pytest.raises(MasterRefused, match=r"NOT_FOUND: 127\.0\.0\.1:4 is not a member"):
        call(address, "remove_server", "127.0.0.1:4")


def test_an_unreachable_master_is_gone() -> None:
    with pytest.raises(MasterGone):
        call("127.0.0.1:1.1", "cluster_status")


@pytest.mark.parametrize(
    ("code", "details", "error", "leader"),
    [
        (grpc.StatusCode.UNAVAILABLE, "connection refused", MasterGone, None),
        (grpc.StatusCode.DEADLINE_EXCEEDED, "", MasterGone, None),
        (grpc.StatusCode.FAILED_PRECONDITION, "leader=h:9333", MasterNotLeader, "h:9333"),
        (grpc.StatusCode.FAILED_PRECONDITION, "not leader, leader=", MasterNotLeader, ""),
        (grpc.StatusCode.FAILED_PRECONDITION, "something else", MasterRefused, None),
        (grpc.StatusCode.UNIMPLEMENTED, "", MasterRefused, None),
    ],
)
def test_grpc_codes_map_to_shell_errors(
    code: grpc.StatusCode, details: str, error: type, leader: str | None
) -> None:
    err = call_error("m:1", code, details)
    assert type(err) is error
    if leader is not None:
        assert err.leader == leader  # type: ignore[attr-defined]


def test_kelp_shell_c_end_to_end(fake: tuple[FakeAdmin, str], capsys: pytest.CaptureFixture[str]) -> None:
    _, address = fake
    script = "cluster.status; cluster.raft.add -address=127.0.0.1:3"
    assert shell.main([f"-master={address}", "-c", script]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "leader:        127.0.0.1:1" in out
    assert "topology:      1 data center, 2 racks, 1 volume server, 3 volumes" in out
    assert "added 127.0.0.1:3 to the master cluster; members now:" in out

    script = "cluster.raft.remove -address=127.0.0.1:3; cluster.status"
    assert shell.main([f"-master={address}", "-c", script]) == 1
    captured = capsys.readouterr()
    assert captured.err == "cluster.raft.remove: master 127.0.0.1:1: NOT_FOUND: 127.0.0.1:3 is not a member\n"
    assert captured.out == ""  # stopped at the failure


def test_kelp_shell_reads_a_piped_script_from_stdin(
    fake: tuple[FakeAdmin, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("cluster.raft.ps\nexit\ncluster.status\n"))
    assert shell.main([f"-master={fake[1]}"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["ADDRESS", "RAFT", "ROLE", "HEALTHY"] and len(out) == 3  # stopped at exit
