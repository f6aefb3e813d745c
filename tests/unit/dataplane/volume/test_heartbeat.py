"""The heartbeat stream: the first message carries the full inventory with the server's
identity; a change is reported promptly; a restarted master is reconnected to; a reply
naming another leader moves the stream there."""

from __future__ import annotations

import socket
from pathlib import Path

import grpc
from kelp_pb import master_pb2, volume_pb2, volume_pb2_grpc

from dataplane.volume.engine.types import ReplicaPlacement, Ttl
from dataplane.volume.heartbeat import NodeIdentity, heartbeat_request
from tests.unit.dataplane.client.fake_master import FakeMaster, wait_for
from tests.unit.dataplane.volume.volume_harness import allocate, fake_master, known_to, run, volume_server

PORT_RANGE = range(22900, 22999)  # this helper's range; the restarted master needs a fixed port


def free_port() -> int:
    for port in PORT_RANGE:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in range")


def test_inventory_and_identity(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with fake_master() as master, volume_server(
            tmp_path, master, data_center="dc1", rack="r7", public_url="vol.example:80"
        ) as server:
            await allocate(server, 3, collection="pics", replication="010", ttl="3d")
            await known_to(master, server, 3)
            hb = master.inventories[server.url]
            assert (hb.ip, hb.port, hb.grpc_port) == ("127.0.0.1", server.http_port, server.grpc_port)
            assert (hb.public_url, hb.data_center, hb.rack) == ("vol.example:80", "dc1", "r7")
            assert hb.max_volume_count == 8
            v = hb.volumes[0]
            assert (v.collection, v.replica_placement, v.version) == ("pics", 10, 3)
            assert v.ttl == Ttl.parse("3d").to_u16()
            first = master.heartbeats[0]
            assert first.port == server.http_port

    run(scenario)


def test_defaults_for_topology_names() -> None:
    node = NodeIdentity("10.0.0.1", 8080, "10.0.0.1:8080", 18080)

    class Stats:
        volumes = ()
        max_volume_count = 8
        max_file_key = 0

    hb = heartbeat_request(node, Stats())  # type: ignore[arg-type]  # duck-typed statistics
    assert isinstance(hb, master_pb2.HeartbeatRequest)
    assert (hb.data_center, hb.rack) == ("DefaultDataCenter", "DefaultRack")
    assert ReplicaPlacement.from_byte(0).copy_count == 1


def test_a_change_is_reported_before_the_next_pulse(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with fake_master() as master, volume_server(tmp_path, master, pulse_seconds=60) as server:
            await wait_for(lambda: server.url in master.inventories, "first heartbeat")
            await allocate(server, 4)  # notifies the heartbeat
            await known_to(master, server, 4)

    run(scenario)


def test_reconnects_to_a_restarted_master(tmp_path: Path) -> None:
    async def scenario() -> None:
        port = free_port()
        master = FakeMaster()
        await master.start(port)
        async with volume_server(tmp_path, master) as server:
            await allocate(server, 3)
            await known_to(master, server, 3)
            await master.stop()
            await wait_for(lambda: not server.heartbeat.connected, "disconnect noticed")
            reborn = FakeMaster()
            await reborn.start(port)
            try:
                await known_to(reborn, server, 3)
                await wait_for(lambda: server.heartbeat.connected, "reconnected")
            finally:
                await reborn.stop()

    run(scenario)


def test_follows_the_leader_named_in_the_reply(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with fake_master() as follower, fake_master() as leader:
            follower.leader = leader.address
            async with volume_server(tmp_path, follower) as server:
                await allocate(server, 3)
                await known_to(leader, server, 3)
                assert server.heartbeat.statistics().master == leader.address

    run(scenario)


def test_moves_on_to_the_next_master_when_one_is_down(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with fake_master() as live:
            dead = "127.0.0.1:1.1"  # nothing listens on port 1
            async with volume_server(tmp_path, live, masters=(dead, live.address)) as server:
                await allocate(server, 3)
                await known_to(live, server, 3)
                assert server.heartbeat.statistics().sessions >= 2  # the dead one was tried first

    run(scenario)


def test_the_disk_type_is_reported() -> None:
    node = NodeIdentity("10.0.0.1", 8080, "10.0.0.1:8080", 18080, disk_type="ssd")

    class Stats:
        volumes = ()
        max_volume_count = 8
        max_file_key = 0

    assert heartbeat_request(node, Stats()).disk_type == "ssd"  # type: ignore[arg-type]


def test_a_leader_announcement_moves_a_stream_that_never_broke(tmp_path: Path) -> None:
    """The old leader (paused, or cut off) keeps the stream open and silent; the new leader's
    VolumeAdmin/LeaderChanged moves the heartbeat at once."""

    async def scenario() -> None:
        async with (
            fake_master() as old,
            fake_master() as new,
            volume_server(tmp_path, old, masters=(old.address, new.address)) as server,
        ):
            await allocate(server, 3)
            await known_to(old, server, 3)
            async with grpc.aio.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
                stub = volume_pb2_grpc.VolumeAdminStub(channel)
                await stub.LeaderChanged(volume_pb2.LeaderChangedRequest(leader=new.address, term=2))
            await known_to(new, server, 3)
            assert server.heartbeat.statistics().master == new.address

    run(scenario)
