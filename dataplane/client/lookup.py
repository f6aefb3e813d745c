"""Volume id → server locations: from a control-event view while it is fresh, else asked of
the masters over kelp.v1.Master/Lookup and kept in a small TTL cache.

A `source` (a `ControlSubscriber`, control.py) answers first when it knows the volume and its
stream is live; otherwise any master answers from the replicated state, so the locator tries the
configured masters in turn. Concurrent lookups of one volume share one RPC. `update()` and
`invalidate()` let the subscriber keep cached answers current instead of waiting for the TTL.

Client code: imports kelp_pb, grpc and engine value types only; never server code
(the master may import this package).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import grpc
import grpc.aio
from kelp_pb import master_pb2, master_pb2_grpc

from dataplane.client.addresses import ServerAddress
from dataplane.client.channels import ChannelPool
from dataplane.client.errors import MasterUnreachable, VolumeNotFound
from dataplane.volume.engine.types import ReplicaPlacement

log = logging.getLogger(__name__)

DEFAULT_TTL_SECONDS = 10.0  # how long an answer is trusted without a control event
DEFAULT_RPC_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Location:
    """One volume server holding a replica."""

    url: str  # "ip:port" of its HTTP listener
    public_url: str
    grpc_port: int = 0
    data_center: str = ""
    rack: str = ""


@dataclass(frozen=True, slots=True)
class VolumeLocations:
    volume_id: int
    locations: tuple[Location, ...]
    replica_placement: ReplicaPlacement = field(default_factory=ReplicaPlacement)


def locations_from_proto(msg: master_pb2.VolumeLocations) -> VolumeLocations:
    return VolumeLocations(
        volume_id=msg.volume_id,
        locations=tuple(
            Location(
                url=loc.url,
                public_url=loc.public_url or loc.url,
                grpc_port=loc.grpc_port,
                data_center=loc.data_center,
                rack=loc.rack,
            )
            for loc in msg.locations
        ),
        replica_placement=ReplicaPlacement.from_byte(msg.replica_placement),
    )


class LocationSource(Protocol):
    def fresh_locations(self, volume_id: int) -> VolumeLocations | None:
        """Current locations, or None when the source cannot vouch for them (ask a master)."""


class VolumeLocator:
    def __init__(
        self,
        masters: Sequence[str],
        *,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        rpc_timeout: float = DEFAULT_RPC_TIMEOUT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        source: LocationSource | None = None,
    ) -> None:
        if not masters:
            raise ValueError("at least one master address is needed")
        self.source = source  # asked before the cache and the masters (a control subscriber sets it)
        self._masters = [ServerAddress.parse(m) for m in masters]
        self._ttl = ttl_seconds
        self._timeout = rpc_timeout
        self._clock = clock
        self._cache: dict[int, tuple[float, VolumeLocations]] = {}
        self._inflight: dict[int, asyncio.Task[VolumeLocations]] = {}
        self._channels = ChannelPool()
        self._preferred = 0  # index of the master that answered last

    # -- cache ---------------------------------------------------------------

    def cached(self, volume_id: int) -> VolumeLocations | None:
        """The cached answer if still fresh; never blocks."""
        entry = self._cache.get(volume_id)
        if entry is not None and entry[0] > self._clock():
            return entry[1]
        return None

    def update(self, locations: VolumeLocations) -> None:
        """Record locations learned elsewhere (a control event, a lookup reply)."""
        self._cache[locations.volume_id] = (self._clock() + self._ttl, locations)

    def invalidate(self, volume_id: int) -> None:
        self._cache.pop(volume_id, None)

    def prefer_master(self, address: str) -> None:
        """Ask `address` first from now on (the heartbeat learned who leads)."""
        try:
            wanted = ServerAddress.parse(address)
        except ValueError:
            return
        for i, m in enumerate(self._masters):
            if m.host == wanted.host and m.http_port == wanted.http_port:
                self._preferred = i
                return

    # -- lookups -------------------------------------------------------------

    async def lookup(self, volume_id: int, *, use_source: bool = True) -> VolumeLocations:
        """Locations of `volume_id`; raises VolumeNotFound or MasterUnreachable.
        `use_source=False` skips the control-event view (to double-check it against a master)."""
        if use_source and self.source is not None:
            fresh = self.source.fresh_locations(volume_id)
            if fresh is not None:
                return fresh
        hit = self.cached(volume_id)
        if hit is not None:
            return hit
        task = self._inflight.get(volume_id)
        if task is None:
            # The locator owns this task (close() cancels it); callers only await it, shielded,
            # so one caller's cancellation does not fail the others.
            task = asyncio.ensure_future(self._fetch(volume_id))
            self._inflight[volume_id] = task
            task.add_done_callback(functools.partial(self._landed, volume_id))
        return await asyncio.shield(task)

    def _landed(self, volume_id: int, _task: asyncio.Task[VolumeLocations]) -> None:
        self._inflight.pop(volume_id, None)

    async def _fetch(self, volume_id: int) -> VolumeLocations:
        reply = await self._call(master_pb2.LookupRequest(volume_ids=[volume_id]))
        for msg in reply.volumes:
            if msg.volume_id != volume_id:
                continue
            if msg.error or not msg.locations:
                raise VolumeNotFound(volume_id, msg.error)
            found = locations_from_proto(msg)
            self.update(found)
            return found
        raise VolumeNotFound(volume_id)

    async def _call(self, request: master_pb2.LookupRequest) -> master_pb2.LookupResponse:
        last_error = "no master tried"
        count = len(self._masters)
        for step in range(count):
            index = (self._preferred + step) % count
            master = self._masters[index]
            stub = master_pb2_grpc.MasterStub(self._channels.get(master.grpc))
            try:
                reply: master_pb2.LookupResponse = await stub.Lookup(request, timeout=self._timeout)
            except grpc.aio.AioRpcError as err:
                last_error = f"{master}: {err.code().name} {err.details()}"
                log.debug("lookup failed master=%s code=%s", master, err.code().name)
                continue
            self._preferred = index
            return reply
        raise MasterUnreachable([str(m) for m in self._masters], last_error)

    async def close(self) -> None:
        for task in list(self._inflight.values()):
            task.cancel()
        self._inflight.clear()
        await self._channels.close()
