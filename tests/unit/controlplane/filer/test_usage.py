"""usage.py: Statistics' numbers from a VolumeList answer, and the 20 s cache with its stale fallback."""

from __future__ import annotations

import pytest
from kelp_pb import weed_filer_pb2 as filer_pb
from kelp_pb import weed_master_pb2 as wpb

from controlplane.filer import usage as usage_module
from controlplane.filer.grpc_api import VolumeUsage
from controlplane.filer.usage import MasterUsage, UsageUnavailable, usage_of


def listing(
    *volumes: tuple[str, int, int, int], slots: int = 8, limit_mb: int = 30
) -> wpb.VolumeListResponse:
    reply = wpb.VolumeListResponse(volume_size_limit_mb=limit_mb)
    node = reply.topology_info.data_center_infos.add(id="dc1").rack_infos.add(id="r1").data_node_infos.add(
        id="127.0.0.1:8080")
    disk = node.diskInfos[""]
    disk.max_volume_count = slots
    for index, (collection, size, files, deletes) in enumerate(volumes, 1):
        disk.volume_infos.add(id=index, collection=collection, size=size, file_count=files,
                              delete_count=deletes)
    other = reply.topology_info.data_center_infos[0].rack_infos[0].data_node_infos.add(id="127.0.0.1:8081")
    other.diskInfos["ssd"].max_volume_count = 2
    return reply


def test_usage_of_counts_slots_sizes_and_live_files() -> None:
    reply = listing(("", 1000, 10, 2), ("pics", 500, 5, 0))
    assert usage_of(reply) == VolumeUsage(total_size=10 * (30 << 20), used_size=1500, file_count=13)
    assert usage_of(reply, "pics") == VolumeUsage(total_size=10 * (30 << 20), used_size=500, file_count=5)


async def test_cached_for_twenty_seconds_and_stale_on_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    answers: list[wpb.VolumeListResponse | None] = [
        listing(("", 1, 1, 0)), listing(("", 2, 2, 0)), None, None]
    calls = []

    async def fake_list(self: MasterUsage) -> wpb.VolumeListResponse:
        calls.append(now[0])
        answer = answers.pop(0)
        if answer is None:
            raise UsageUnavailable("down")
        return answer

    monkeypatch.setattr(usage_module.MasterUsage, "_volume_list", fake_list)
    source = MasterUsage(("127.0.0.1:9333",), clock=lambda: now[0])
    request = filer_pb.StatisticsRequest(ttl="0s")
    assert (await source(request)).used_size == 1
    now[0] += 19
    assert (await source(request)).used_size == 1 and len(calls) == 1
    now[0] += 2
    assert (await source(request)).used_size == 2 and len(calls) == 2
    now[0] += 21
    assert (await source(request)).used_size == 2 and len(calls) == 3  # masters down: the last answer
    with pytest.raises(UsageUnavailable):  # nothing cached yet: the error goes to the caller
        await MasterUsage(("127.0.0.1:9333",), clock=lambda: now[0])(request)
