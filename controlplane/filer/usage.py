"""Statistics' numbers (the `df` of a weed mount) from the masters' VolumeList, cached.

total_size = every disk's volume slots times the volume size limit (the capacity the cluster can grow
into), used_size = the sum of volume sizes, file_count = the sum of live file counts (file_count
minus delete_count). A request naming a collection counts only that collection's volumes as used;
the capacity is shared by every collection, so it stays whole. Answers are cached for
CACHE_SECONDS per request shape, as the mount itself caches them; when every master fails, the
last answer (however old) is returned, and with none an error is raised.

Imports grpc, kelp_pb and dataplane.client's addresses; no ops, no kelp_http, no store.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import grpc
import grpc.aio
from kelp_pb import weed_filer_pb2 as filer_pb
from kelp_pb import weed_master_pb2 as wpb
from kelp_pb import weed_master_pb2_grpc

from controlplane.filer.errors import FilerError
from controlplane.filer.grpc_api import VolumeUsage
from dataplane.client.addresses import GRPC_CHANNEL_OPTIONS, ServerAddress

log = logging.getLogger(__name__)

CACHE_SECONDS = 20.0
CALL_TIMEOUT_SECONDS = 5.0

_Key = tuple[str, str, str, str]


class UsageUnavailable(FilerError):
    """No master answered VolumeList and nothing was cached yet."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"volume usage unavailable: {reason}")
        self.reason = reason


def usage_of(listing: wpb.VolumeListResponse, collection: str = "") -> VolumeUsage:
    """Capacity, used bytes and files of a VolumeList answer (see the module docstring)."""
    limit = listing.volume_size_limit_mb << 20
    slots = used = files = 0
    for dc in listing.topology_info.data_center_infos:
        for rack in dc.rack_infos:
            for node in rack.data_node_infos:
                for disk in node.diskInfos.values():
                    slots += disk.max_volume_count
                    for volume in disk.volume_infos:
                        if collection and volume.collection != collection:
                            continue
                        used += volume.size
                        files += max(volume.file_count - volume.delete_count, 0)
    return VolumeUsage(total_size=slots * limit, used_size=used, file_count=files)


class MasterUsage:
    """grpc_api's UsageSource: `await usage(request)`. `close()` closes its channels."""

    def __init__(self, masters: tuple[str, ...], *, clock: Callable[[], float] = time.monotonic) -> None:
        self._masters = [ServerAddress.parse(m) for m in masters]
        self._clock = clock
        self._cache: dict[_Key, tuple[float, VolumeUsage]] = {}
        self._channels: dict[str, grpc.aio.Channel] = {}
        self._preferred = 0

    async def __call__(self, request: filer_pb.StatisticsRequest) -> VolumeUsage:
        key = (request.collection, request.replication, request.ttl, request.disk_type)
        cached = self._cache.get(key)
        now = self._clock()
        if cached is not None and now - cached[0] < CACHE_SECONDS:
            return cached[1]
        try:
            listing = await self._volume_list()
        except UsageUnavailable:
            if cached is not None:
                return cached[1]
            raise
        usage = usage_of(listing, request.collection)
        self._cache[key] = (now, usage)
        return usage

    async def _volume_list(self) -> wpb.VolumeListResponse:
        reasons: list[str] = []
        for step in range(len(self._masters)):  # any master: a follower forwards VolumeList to the leader
            index = (self._preferred + step) % len(self._masters)
            master = self._masters[index]
            try:
                reply: wpb.VolumeListResponse = await self._stub(master).VolumeList(
                    wpb.VolumeListRequest(), timeout=CALL_TIMEOUT_SECONDS)
            except grpc.aio.AioRpcError as err:
                reasons.append(f"{master.grpc}: {err.code().name} {err.details()}")
                continue
            self._preferred = index
            return reply
        log.warning("statistics: no master answered VolumeList: %s", "; ".join(reasons))
        raise UsageUnavailable("; ".join(reasons) or "no masters configured")

    def _stub(self, master: ServerAddress) -> weed_master_pb2_grpc.SeaweedStub:
        channel = self._channels.get(master.grpc)
        if channel is None:
            channel = grpc.aio.insecure_channel(master.grpc, options=GRPC_CHANNEL_OPTIONS)
            self._channels[master.grpc] = channel
        return weed_master_pb2_grpc.SeaweedStub(channel)

    async def close(self) -> None:
        channels, self._channels = self._channels, {}
        for channel in channels.values():
            await channel.close(None)
