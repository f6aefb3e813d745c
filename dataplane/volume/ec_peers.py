"""A volume server's reach to the other holders of an EC volume's shards (issue 6).

`EcPeers` answers, from worker threads (EC reads and deletes run there, off the event loop):
- `fetcher(vid)`: the `ShardFetcher` an `EcVolume` calls for a shard it lacks: who holds the
  shard comes from the masters' Lookup (`ec_shards`, cached for SHARD_MAP_SECONDS and looked up
  again after a failed read, at most every MIN_REFRESH_SECONDS), and the range is read with
  VolumeAdmin.EcShardRead. A holder that fails is skipped for PEER_BACKOFF_SECONDS so a dead
  server costs one refused connection, not one per interval; the fetcher returns None and the
  volume reconstructs from other shards.
- `replicate_deletes(vid, keys)`: journals the deletes on every other live holder (EcBlobDelete),
  so losing any one server cannot bring a deleted needle back. Raises EcJournalNotReplicated
  naming the holders that failed.

Synchronous gRPC (one channel per peer, thread-safe) because its callers are threads.
Server-side adapter: grpc and kelp_pb only; no HTTP, no controlplane.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import grpc
from kelp_pb import master_pb2, master_pb2_grpc, volume_pb2, volume_pb2_grpc

from dataplane.client.addresses import GRPC_CHANNEL_OPTIONS, ServerAddress
from dataplane.volume.engine.ec.ec_volume import ShardFetcher

log = logging.getLogger(__name__)

SHARD_MAP_SECONDS = 10.0  # how long a volume's shard holders are trusted without asking again
MIN_REFRESH_SECONDS = 2.0  # a failed read looks the holders up again, at most this often
PEER_BACKOFF_SECONDS = 5.0  # a holder that failed is not asked again for this long
READ_TIMEOUT_SECONDS = 10.0
LOOKUP_TIMEOUT_SECONDS = 5.0
DELETE_TIMEOUT_SECONDS = 10.0


class EcJournalNotReplicated(Exception):
    """Some holders of the EC volume did not journal a delete."""

    def __init__(self, volume_id: int, failures: dict[str, str]) -> None:
        super().__init__(f"ec volume {volume_id}: delete not journaled on "
                         + ", ".join(f"{k} ({v})" for k, v in sorted(failures.items())))
        self.volume_id = volume_id
        self.failures = failures


@dataclass(frozen=True, slots=True)
class ShardMap:
    holders: dict[int, tuple[str, ...]]  # shard id -> gRPC "host:port" of its live holders
    fetched_at: float

    def servers(self) -> set[str]:
        return {a for addresses in self.holders.values() for a in addresses}


class EcPeers:
    def __init__(self, masters: Sequence[str], self_urls: Callable[[], Iterable[str]],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._masters = [ServerAddress.parse(m) for m in masters]
        self._self_urls = self_urls  # this server's "ip:port" names, known once it is bound
        self._clock = clock
        self._lock = threading.Lock()
        self._channels: dict[str, grpc.Channel] = {}
        self._maps: dict[int, ShardMap] = {}
        self._failed: dict[str, float] = {}  # peer -> when it last failed
        self._refreshed: dict[int, float] = {}  # volume -> when a failed read last looked it up
        self._preferred = 0

    # ---- locations -----------------------------------------------------------------------

    def _channel(self, target: str) -> grpc.Channel:
        with self._lock:
            channel = self._channels.get(target)
            if channel is None:
                channel = self._channels[target] = grpc.insecure_channel(target, options=GRPC_CHANNEL_OPTIONS)
            return channel

    def shard_map(self, volume_id: int, *, refresh: bool = False) -> ShardMap:
        with self._lock:
            known = self._maps.get(volume_id)
        if known is not None and not refresh and self._clock() - known.fetched_at < SHARD_MAP_SECONDS:
            return known
        found = self._lookup(volume_id)
        with self._lock:
            self._maps[volume_id] = found
            if refresh:
                self._refreshed[volume_id] = found.fetched_at
        return found

    def _lookup(self, volume_id: int) -> ShardMap:
        me = set(self._self_urls())
        request = master_pb2.LookupRequest(volume_ids=[volume_id])
        for step in range(len(self._masters)):
            index = (self._preferred + step) % len(self._masters)
            stub = master_pb2_grpc.MasterStub(self._channel(self._masters[index].grpc))
            try:
                reply = stub.Lookup(request, timeout=LOOKUP_TIMEOUT_SECONDS)
            except grpc.RpcError as err:
                log.debug("ec shard lookup failed master=%s error=%s", self._masters[index], err)
                continue
            self._preferred = index
            holders: dict[int, list[str]] = {}
            for entry in reply.volumes:
                for shard in entry.ec_shards:
                    loc = shard.location
                    if loc.url in me:
                        continue
                    host = loc.url.rsplit(":", 1)[0]
                    holders.setdefault(shard.shard_id, []).append(f"{host}:{loc.grpc_port}")
            return ShardMap({s: tuple(a) for s, a in holders.items()}, self._clock())
        return ShardMap({}, self._clock())

    def _usable(self, peer: str) -> bool:
        failed = self._failed.get(peer)
        return failed is None or self._clock() - failed > PEER_BACKOFF_SECONDS

    def _mark_failed(self, peer: str) -> None:
        with self._lock:
            self._failed[peer] = self._clock()

    # ---- reads ---------------------------------------------------------------------------

    def fetcher(self, volume_id: int) -> ShardFetcher:
        def fetch(shard: int, offset: int, length: int) -> bytes | None:
            return self.read_shard(volume_id, shard, offset, length)

        return fetch

    def read_shard(self, volume_id: int, shard: int, offset: int, length: int) -> bytes | None:
        """The range from some live holder of the shard, or None if none can give it. A holder
        that says it lacks the shard (moved by ec.balance) means the map is stale: look again.
        No usable holder looks again too, but at most every MIN_REFRESH_SECONDS per volume (a
        dead server's shards would otherwise cost a master lookup per interval)."""
        for attempt in range(2):
            shard_map = self.shard_map(volume_id, refresh=attempt > 0)
            holders = [p for p in shard_map.holders.get(shard, ()) if self._usable(p)]
            stale = False
            for peer in holders:
                data, lacks = self._read_from(peer, volume_id, shard, offset, length)
                if data is not None:
                    return data
                stale = stale or lacks
            recently = self._clock() - self._refreshed.get(volume_id, -1e9) < MIN_REFRESH_SECONDS
            if attempt == 0 and not stale and recently:
                break
        return None

    def _read_from(self, peer: str, volume_id: int, shard: int, offset: int,
                   length: int) -> tuple[bytes | None, bool]:
        """(the bytes or None, whether the peer said it does not hold the shard)."""
        stub = volume_pb2_grpc.VolumeAdminStub(self._channel(peer))
        request = volume_pb2.EcShardReadRequest(volume_id=volume_id, shard_id=shard, offset=offset,
                                                size=length)
        try:
            data = b"".join(piece.data for piece in stub.EcShardRead(request, timeout=READ_TIMEOUT_SECONDS))
        except grpc.RpcError as err:
            code = err.code() if isinstance(err, grpc.Call) else None
            log.info("ec shard read failed peer=%s vid=%d shard=%d code=%s", peer, volume_id, shard, code)
            if code == grpc.StatusCode.NOT_FOUND:
                return None, True
            self._mark_failed(peer)
            return None, False
        return (data, False) if len(data) == length else (None, False)

    # ---- deletes -------------------------------------------------------------------------

    def replicate_deletes(self, volume_id: int, keys: Sequence[int]) -> int:
        """Journal the keys on every other live holder; the number of holders reached."""
        servers = sorted(self.shard_map(volume_id, refresh=True).servers())
        failures: dict[str, str] = {}
        request = volume_pb2.EcBlobDeleteRequest(volume_id=volume_id, keys=list(keys))
        for peer in servers:
            stub = volume_pb2_grpc.VolumeAdminStub(self._channel(peer))
            try:
                stub.EcBlobDelete(request, timeout=DELETE_TIMEOUT_SECONDS)
            except grpc.RpcError as err:
                failures[peer] = f"{err.code().name if isinstance(err, grpc.Call) else err}"
        if failures:
            raise EcJournalNotReplicated(volume_id, failures)
        return len(servers)

    def forget(self, volume_id: int) -> None:
        """Drop what is cached about the volume's holders (the next read asks the masters)."""
        with self._lock:
            self._maps.pop(volume_id, None)
            self._refreshed.pop(volume_id, None)

    def close(self) -> None:
        with self._lock:
            channels = list(self._channels.values())
            self._channels.clear()
        for channel in channels:
            channel.close()
