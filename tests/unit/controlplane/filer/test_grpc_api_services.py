"""SeaweedFiler's service calls: AssignVolume / LookupVolume through the core's volumes,
GetFilerConfiguration and Statistics, KvGet / KvPut on the store, MountRegister / MountList, and
SubscribeMetadata over gRPC (live events, own signature dropped, fell-behind as OUT_OF_RANGE)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest
from kelp_pb import weed_filer_pb2 as filer_pb

from controlplane.filer.chunks import Assignment, AssignSpec
from controlplane.filer.errors import ChunkWriteFailed
from tests.unit.controlplane.filer.grpc_helpers import SETTINGS, grpc_filer
from tests.unit.controlplane.filer.subscribe_helpers import EVENT_DEADLINE_SECONDS, file_entry

MOUNT_SIGNATURE = 1234


async def test_assign_lookup_configuration_statistics(tmp_path: Path) -> None:
    async with grpc_filer(tmp_path) as f:
        got = await f.stub.AssignVolume(filer_pb.AssignVolumeRequest(count=1, path="/x/y"))
        assert got.error == "" and got.file_id.startswith("7,") and got.location.url == "127.0.0.1:1"
        found = await f.stub.LookupVolume(filer_pb.LookupVolumeRequest(volume_ids=["7", "nonsense"]))
        assert list(found.locations_map) == ["7"] and found.locations_map["7"].locations[0].url

        async def no_volume(spec: AssignSpec, count: int = 1) -> Assignment:
            raise ChunkWriteFailed("", "no writable volume")

        f.volumes.assign = no_volume  # type: ignore[method-assign]
        failed = await f.stub.AssignVolume(filer_pb.AssignVolumeRequest(count=1))
        assert "no writable volume" in failed.error and not failed.file_id
        conf = await f.stub.GetFilerConfiguration(filer_pb.GetFilerConfigurationRequest())
        assert list(conf.masters) == list(SETTINGS.masters) and conf.max_mb == SETTINGS.max_mb
        assert conf.signature == f.core.signature and conf.dir_buckets == "/buckets" and not conf.cipher
        stats = await f.stub.Statistics(filer_pb.StatisticsRequest(ttl="0s"))
        assert (stats.total_size, stats.used_size, stats.file_count) == (1 << 40, 1 << 20, 3)


async def test_kv(tmp_path: Path) -> None:
    async with grpc_filer(tmp_path) as f:
        assert (await f.stub.KvGet(filer_pb.KvGetRequest(key=b"k"))) == filer_pb.KvGetResponse()
        assert (await f.stub.KvPut(filer_pb.KvPutRequest(key=b"k", value=b"v1"))).error == ""
        await f.stub.KvPut(filer_pb.KvPutRequest(key=b"k", value=b"v2"))
        assert (await f.stub.KvGet(filer_pb.KvGetRequest(key=b"k"))).value == b"v2"


async def test_mount_registry(tmp_path: Path) -> None:
    async with grpc_filer(tmp_path) as f:
        await f.stub.MountRegister(
            filer_pb.MountRegisterRequest(peer_addr="10.0.0.1:18080", rack="r", ttl_seconds=90)
        )
        await f.stub.MountRegister(
            filer_pb.MountRegisterRequest(peer_addr="10.0.0.2:18080", data_center="dc")
        )
        listed = await f.stub.MountList(filer_pb.MountListRequest())
        assert [(m.peer_addr, m.rack, m.data_center) for m in listed.mounts] == [
            ("10.0.0.1:18080", "r", ""),
            ("10.0.0.2:18080", "", "dc"),
        ]
        assert all(m.last_seen_ns > 0 for m in listed.mounts)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await f.stub.MountRegister(filer_pb.MountRegisterRequest(peer_addr="no-port"))
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_subscribe_metadata(tmp_path: Path) -> None:
    async with grpc_filer(tmp_path) as f:
        before = await f.core.create("/m", file_entry("old"))
        call = f.stub.SubscribeMetadata(
            filer_pb.SubscribeMetadataRequest(
                client_name="mount", path_prefix="/m/", since_ns=before.ts_ns, signature=MOUNT_SIGNATURE
            )
        )
        async with asyncio.timeout(EVENT_DEADLINE_SECONDS):
            first = await call.read()
            assert first.event_notification.new_entry.name == "old"
            await f.core.create("/m", file_entry("mine"), signatures=[MOUNT_SIGNATURE])
            await f.core.create("/elsewhere", file_entry("x"))
            await f.core.create("/m", file_entry("theirs"))
            live = await call.read()
        assert live.event_notification.new_entry.name == "theirs"
        assert live.event_notification.new_parent_path == "/m"
        call.cancel()


async def test_subscriber_behind_retention_gets_out_of_range(tmp_path: Path) -> None:
    async with grpc_filer(tmp_path) as f:
        events = [await f.core.create("/", file_entry(f"f{i}")) for i in range(3)]
        f.store.trim_changes(events[-1].ts_ns)
        call = f.stub.SubscribeMetadata(
            filer_pb.SubscribeMetadataRequest(
                client_name="meta_backup", path_prefix="/", since_ns=events[0].ts_ns
            )
        )
        with pytest.raises(grpc.aio.AioRpcError) as info:
            async with asyncio.timeout(EVENT_DEADLINE_SECONDS):
                await call.read()
        assert info.value.code() == grpc.StatusCode.OUT_OF_RANGE
        assert "fell behind" in (info.value.details() or "")
