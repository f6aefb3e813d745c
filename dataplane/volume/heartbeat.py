"""The volume server's heartbeat: a bidirectional stream to kelp.v1.Master/Heartbeat.

Every message carries the full inventory (the leader diffs it against its state), sent
on connect, every pulse, and promptly after `notify_nowait()` (a volume was allocated,
deleted, or turned read-only). A reply naming another `leader` moves the stream there;
a broken stream is retried across the configured masters with capped exponential
backoff.

This module translates engine statistics into protos (the engine never imports them).
Server-side adapter: grpc, kelp_pb, the Store's statistics(); no HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from asyncio import FIRST_COMPLETED as FIRST_DONE
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
import grpc.aio
from kelp_pb import master_pb2, master_pb2_grpc

from dataplane.client.addresses import GRPC_CHANNEL_OPTIONS, ServerAddress
from dataplane.volume.engine.store import Store, StoreStatistics

log = logging.getLogger(__name__)

DEFAULT_DATA_CENTER = "DefaultDataCenter"
DEFAULT_RACK = "DefaultRack"
FIRST_BACKOFF_SECONDS = 0.1
DEFAULT_MAX_BACKOFF_SECONDS = 5.0
ELECTION_RETRY_SECONDS = 0.15  # retry interval while masters report no leader
# Must match controlplane.master.grpc_api.NO_LEADER_YET (dataplane may not import controlplane).
NO_LEADER_YET = "no leader elected yet"


@dataclass(frozen=True, slots=True)
class NodeIdentity:
    """What the master knows this server by."""

    ip: str
    port: int
    public_url: str
    grpc_port: int
    data_center: str = ""
    rack: str = ""
    disk_type: str = ""  # "" is hdd


def heartbeat_request(
    node: NodeIdentity, stats: StoreStatistics, ec_shards: Sequence[tuple[int, str, int]] = ()
) -> master_pb2.HeartbeatRequest:
    """One heartbeat: identity plus the whole inventory (volumes, and EC shards as
    (volume id, collection, shard bits))."""
    return master_pb2.HeartbeatRequest(
        ip=node.ip,
        port=node.port,
        public_url=node.public_url,
        grpc_port=node.grpc_port,
        data_center=node.data_center or DEFAULT_DATA_CENTER,
        rack=node.rack or DEFAULT_RACK,
        max_volume_count=stats.max_volume_count,
        max_file_key=stats.max_file_key,
        disk_type=node.disk_type,
        volumes=[
            master_pb2.VolumeReport(
                id=v.id,
                collection=v.collection,
                replica_placement=v.replica_placement.to_byte(),
                ttl=v.ttl.to_u16(),
                version=v.version,
                read_only=v.read_only,
                size=v.size,
                file_count=v.file_count,
                delete_count=v.delete_count,
                deleted_byte_count=v.deleted_byte_count,
                compact_revision=v.compact_revision,
                modified_at_second=v.modified_at_second,
                disk_type=v.disk_type,
            )
            for v in stats.volumes
        ],
        ec_shards=[
            master_pb2.EcShardReport(id=vid, collection=collection, shard_bits=bits, disk_type=node.disk_type)
            for vid, collection, bits in ec_shards
        ],
    )


@dataclass(frozen=True, slots=True)
class HeartbeatStatistics:
    connected: bool
    master: str  # the master the stream is (or was last) open to
    sent: int  # heartbeats sent since start
    sessions: int  # streams opened since start
    volume_size_limit: int  # bytes, from the leader's last reply (0 = not heard yet)


class _LeaderMoved(Exception):
    def __init__(self, leader: str) -> None:
        super().__init__(f"leader is {leader}")
        self.leader = leader


class Heartbeat:
    def __init__(
        self,
        store: Store,
        node: NodeIdentity,
        masters: Sequence[str],
        *,
        pulse_seconds: float,
        max_backoff_seconds: float = DEFAULT_MAX_BACKOFF_SECONDS,
        on_leader: Callable[[str], None] | None = None,
    ) -> None:
        if not masters:
            raise ValueError("at least one master address is needed")
        self._store = store
        self._node = node
        self._masters = list(masters)
        self._pulse = pulse_seconds
        self._max_backoff = max_backoff_seconds
        self._on_leader = on_leader
        self._changed = asyncio.Event()
        # A master announced it was elected (VolumeAdmin/LeaderChanged): move there now, even when
        # the stream to the old leader hangs (a paused or cut-off process never closes it).
        self._announced = asyncio.Event()
        self._announced_leader = ""
        self._connected = False
        self._master = self._masters[0]
        self._sent = 0
        self._sessions = 0
        self._volume_size_limit = 0

    @property
    def connected(self) -> bool:
        """A master has answered on the current stream."""
        return self._connected

    def notify_nowait(self) -> None:
        """The inventory changed: send a heartbeat now rather than at the next pulse."""
        self._changed.set()

    def follow_leader(self, leader: str) -> None:
        """A master says it is the new leader: reconnect there unless already streaming to it."""
        try:
            if self._connected and _same_server(leader, ServerAddress.parse(self._master)):
                return
        except ValueError:
            return
        self._announced_leader = leader
        self._announced.set()

    def statistics(self) -> HeartbeatStatistics:
        return HeartbeatStatistics(
            self._connected, self._master, self._sent, self._sessions, self._volume_size_limit
        )

    async def run(self) -> None:
        """Keep a stream open to the leader until cancelled."""
        index = 0
        backoff = FIRST_BACKOFF_SECONDS
        target = self._masters[0]
        hops = 0  # leader moves without a working stream in between
        quiet = False  # a failure was already logged at WARNING since the last working stream
        while True:
            self._master = target
            was_connected = False
            try:
                await self._session(target)
                reason = "stream ended"
            except _LeaderMoved as moved:
                was_connected = self._connected
                hops = 0 if was_connected else hops + 1
                if hops <= len(self._masters):
                    # Masters mid-election may point at each other; past a round of hops, back off.
                    log.info("following leader master=%s leader=%s", target, moved.leader)
                    target, backoff = moved.leader, FIRST_BACKOFF_SECONDS
                    continue
                reason = f"leader moves in a circle, last to {moved.leader}"
            except grpc.aio.AioRpcError as err:
                reason = f"{err.code().name} {err.details()}"
                if err.code() == grpc.StatusCode.UNAVAILABLE and NO_LEADER_YET in (err.details() or ""):
                    # An election is under way: it ends within a second or two, so keep retrying
                    # at a short interval instead of backing off past the new leader's arrival.
                    backoff = min(backoff, ELECTION_RETRY_SECONDS)
            except (ConnectionError, OSError, ValueError) as err:
                reason = str(err)
            except Exception as err:  # a bug must not stop heartbeats for good: log it and retry
                log.exception("heartbeat failed unexpectedly master=%s", target)
                reason = repr(err)
            finally:
                was_connected = was_connected or self._connected
                self._connected = False
            if was_connected:
                backoff, hops, quiet = FIRST_BACKOFF_SECONDS, 0, False
            log.log(
                logging.DEBUG if quiet else logging.WARNING,
                "heartbeat lost master=%s reason=%s retry_in=%.1fs", target, reason, backoff,
            )
            quiet = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._announced.wait(), backoff)
            backoff = min(backoff * 2, self._max_backoff)
            index = (index + 1) % len(self._masters)
            target = self._masters[index]
            if self._announced.is_set():
                self._announced.clear()
                target, hops = self._announced_leader, 0

    async def _session(self, master: str) -> None:
        """One stream: send now, then on every pulse or change, until the reader sees it end."""
        address = ServerAddress.parse(master)
        async with grpc.aio.insecure_channel(address.grpc, options=GRPC_CHANNEL_OPTIONS) as channel:
            call = master_pb2_grpc.MasterStub(channel).Heartbeat()
            self._sessions += 1
            # The reader is a child this method owns (cancelled and awaited in `finally`). Not a
            # TaskGroup: on Python 3.11 a TaskGroup whose child fails while the parent waits in
            # __aexit__ leaves the parent's cancel count raised, which would later swallow stop().
            reader = asyncio.ensure_future(self._read_loop(call, address))
            try:
                await self._send(call)
                while True:
                    changed = asyncio.ensure_future(self._changed.wait())
                    announced = asyncio.ensure_future(self._announced.wait())
                    try:
                        await asyncio.wait(
                            {reader, changed, announced}, timeout=self._pulse, return_when=FIRST_DONE
                        )
                    finally:
                        changed.cancel()
                        announced.cancel()
                    if reader.done():
                        reader.result()  # raises why the stream ended
                        raise ConnectionError("heartbeat reader stopped")
                    if self._announced.is_set():
                        self._announced.clear()
                        raise _LeaderMoved(self._announced_leader)
                    await self._send(call)
            finally:
                reader.cancel()
                call.cancel()
                await asyncio.wait({reader})

    async def _send(self, call: grpc.aio.StreamStreamCall[Any, Any]) -> None:
        self._changed.clear()
        # Inline, not in a worker thread: a cancelled heartbeat must leave no engine call running
        # behind it when the server then closes the store. Statistics are counters, cheap to read.
        stats = self._store.statistics()
        await call.write(heartbeat_request(self._node, stats, self._store.ec.shard_report()))
        self._sent += 1

    async def _read_loop(self, call: grpc.aio.StreamStreamCall[Any, Any], address: ServerAddress) -> None:
        while True:
            reply = await call.read()
            if reply is grpc.aio.EOF:  # type: ignore[attr-defined]  # missing from grpc-stubs
                raise ConnectionError("master closed the heartbeat stream")
            assert isinstance(reply, master_pb2.HeartbeatResponse)
            if reply.pulse_seconds:
                self._pulse = float(reply.pulse_seconds)
            if reply.volume_size_limit:
                self._volume_size_limit = reply.volume_size_limit
            leader = reply.leader
            if leader and not _same_server(leader, address):
                raise _LeaderMoved(leader)
            if not self._connected:
                log.info("heartbeat connected master=%s", address)
                self._connected = True
                if self._on_leader is not None:
                    self._on_leader(str(address))


def _same_server(text: str, address: ServerAddress) -> bool:
    try:
        other = ServerAddress.parse(text)
    except ValueError:
        return False
    return other.host == address.host and other.http_port == address.http_port
