"""kelp.v1.VolumeAdmin on a running volume server: allocate, mark read-only, vacuum check and
vacuum, delete (only_empty honoured), delete collection; engine errors arrive as gRPC status
codes with the engine's message; each change is heartbeated promptly."""

from __future__ import annotations

from pathlib import Path

import grpc
import grpc.aio
import pytest
from kelp_pb import volume_pb2, volume_pb2_grpc

from dataplane.client.addresses import GRPC_CHANNEL_OPTIONS
from tests.unit.dataplane.client.fake_master import wait_for
from tests.unit.dataplane.volume.volume_harness import Http, fake_master, known_to, run, volume_server


def test_admin_calls(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with fake_master() as master, volume_server(tmp_path, master, pulse_seconds=60) as server:
            target = f"127.0.0.1:{server.grpc_port}"
            async with grpc.aio.insecure_channel(target, options=GRPC_CHANNEL_OPTIONS) as ch:
                admin = volume_pb2_grpc.VolumeAdminStub(ch)
                await admin.AllocateVolume(
                    volume_pb2.AllocateVolumeRequest(volume_id=6, collection="c", ttl=0x0103)
                )
                await known_to(master, server, 6)
                reported = master.volumes_of(server.url)[6]
                assert (reported.collection, reported.ttl) == ("c", 0x0103)

                with pytest.raises(grpc.aio.AioRpcError) as exists:
                    await admin.AllocateVolume(volume_pb2.AllocateVolumeRequest(volume_id=6))
                assert exists.value.code() == grpc.StatusCode.ALREADY_EXISTS

                http = Http(server)
                assert (await http("PUT", "/6,01637037d6", b"a" * 1000)).status == 201
                assert (await http("PUT", "/6,02637037d6", b"b" * 1000)).status == 201
                assert (await http("DELETE", "/6,01637037d6")).status == 202
                await http.close()
                check = await admin.VacuumCheck(volume_pb2.VacuumCheckRequest(volume_id=6))
                assert check.garbage_ratio > 0.3
                vacuumed = await admin.Vacuum(volume_pb2.VacuumRequest(volume_id=6))
                assert vacuumed.reclaimed_bytes > 0

                await admin.MarkReadOnly(volume_pb2.MarkReadOnlyRequest(volume_id=6, read_only=True))
                await wait_for(lambda: master.volumes_of(server.url)[6].read_only, "read-only heartbeated")

                with pytest.raises(grpc.aio.AioRpcError) as not_empty:
                    await admin.DeleteVolume(volume_pb2.DeleteVolumeRequest(volume_id=6, only_empty=True))
                assert not_empty.value.code() == grpc.StatusCode.FAILED_PRECONDITION
                await admin.DeleteCollection(volume_pb2.DeleteCollectionRequest(collection="c"))
                await wait_for(lambda: 6 not in master.volumes_of(server.url), "deletion heartbeated")

                with pytest.raises(grpc.aio.AioRpcError) as missing:
                    await admin.DeleteVolume(volume_pb2.DeleteVolumeRequest(volume_id=6))
                assert missing.value.code() == grpc.StatusCode.NOT_FOUND
                assert "volume 6 not found" in (missing.value.details() or "")

    run(scenario)
