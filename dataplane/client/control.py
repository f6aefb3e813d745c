"""A control-event subscriber: keeps a `LocationView` current from kelp.v1.Control/Subscribe.

`ControlSubscriber.run()` is a background loop (run it in the owner's TaskGroup; cancel it to
stop). It subscribes to one master at a time with `since_index = view.index`, so every event is
applied once, in order, across any number of reconnects:

- an event message must carry `view.index + 1`; anything else (a gap or a duplicate) ends the
  stream and the subscriber subscribes again from its own index;
- a snapshot message replaces the view (a master that no longer retains the events after our
  index sends one); one that would move the view backwards is refused the same way;
- a message with neither (the master's keepalive, or a leader change) must carry `view.index`;
  its `leader` (non-empty on the first message of a stream and whenever it changes) is noted.

Which master: any master serves subscriptions (followers from their replicated state). After an
error the subscriber tries the leader it last heard of, if that is not the master that just failed,
else the next configured master, with capped exponential backoff (reset once a stream delivers).
A stream that stays silent for `silence_seconds` (masters send a keepalive every couple of
seconds) is treated as broken: the master may be stopped or cut off.

The view is *fresh* while a stream is open, has delivered its first message and has not been
silent too long. A `VolumeLocator` given to the subscriber answers lookups from the view while it
is fresh (`fresh_locations`) and falls back to the master's Lookup RPC otherwise; the subscriber
also updates or invalidates the locator's cache entries of every volume a change touches.

Client code: grpc, kelp_pb and dataplane.client only; never server code.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import grpc
import grpc.aio
from kelp_pb import control_pb2, control_pb2_grpc

from dataplane.client.addresses import ServerAddress
from dataplane.client.channels import ChannelPool
from dataplane.client.control_view import LocationView, NodeDelta
from dataplane.client.lookup import Location, VolumeLocations, VolumeLocator
from dataplane.volume.engine.types import ReplicaPlacement

log = logging.getLogger(__name__)

FIRST_BACKOFF_SECONDS = 0.05  # a master that just restarted usually answers within this
DEFAULT_MAX_BACKOFF_SECONDS = 2.0  # cap: a failover takes ~1 s, so retries stay close to it
# Masters send a keepalive after ~2 s without events; three missed ones mean the master is
# stopped or unreachable even if TCP has not noticed.
DEFAULT_SILENCE_SECONDS = 6.0


@dataclass(frozen=True, slots=True)
class ControlStatistics:
    index: int  # last event index applied to the view
    master: str  # the master of the current stream ("" between streams)
    leader: str  # the leader's HTTP "host:port" as last heard ("" unknown)
    fresh: bool
    subscriptions: int  # streams opened (that delivered at least one message)
    snapshots: int  # snapshots loaded
    events: int  # events applied
    resyncs: int  # streams ended because a message did not continue the view


class _Resubscribe(Exception):
    """The stream sent something that does not continue the view: subscribe again."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ControlSubscriber:
    def __init__(
        self,
        masters: Sequence[str],
        client_name: str,
        *,
        on_change: Callable[[list[NodeDelta]], None] | None = None,
        on_message: Callable[[control_pb2.ControlMessage], None] | None = None,
        on_leader: Callable[[str], None] | None = None,
        locator: VolumeLocator | None = None,
        view: LocationView | None = None,
        max_backoff_seconds: float = DEFAULT_MAX_BACKOFF_SECONDS,
        silence_seconds: float = DEFAULT_SILENCE_SECONDS,
        rng: Callable[[], float] = random.random,
    ) -> None:
        """`on_change(deltas)` after every message that changed the live locations;
        `on_message(msg)` after each event or snapshot message was applied (in order, each once);
        `on_leader(address)` when the leader hint changes. Callbacks run on the loop and must not
        block. With `locator`, lookups are answered from the view while it is fresh."""
        if not masters:
            raise ValueError("at least one master address is needed")
        self.view = view if view is not None else LocationView()
        self._masters = [ServerAddress.parse(m) for m in masters]
        self._client_name = client_name
        self._on_change = on_change
        self._on_message = on_message
        self._on_leader = on_leader
        self._locator = locator
        self._max_backoff = max_backoff_seconds
        self._silence = silence_seconds
        self._rng = rng
        self._next = 0  # index into _masters of the next master to try
        self._forced: ServerAddress | None = None  # reconnect(master=...) target
        self._current: ServerAddress | None = None
        self._streaming = False  # the current stream delivered its first message
        self._call: (
            grpc.aio.UnaryStreamCall[control_pb2.SubscribeRequest, control_pb2.ControlMessage] | None
        ) = None
        self._reconnecting = False  # reconnect() cancelled the current call
        self._channels = ChannelPool()
        self._progress = asyncio.Event()  # set on every applied message; wait_index() polls it
        self.leader = ""
        self._subscriptions = self._snapshots = self._events = self._resyncs = 0
        if locator is not None:
            locator.source = self

    # -- state -------------------------------------------------------------------------

    @property
    def fresh(self) -> bool:
        return self._streaming

    def statistics(self) -> ControlStatistics:
        return ControlStatistics(
            index=self.view.index,
            master=str(self._current) if self._current is not None else "",
            leader=self.leader,
            fresh=self.fresh,
            subscriptions=self._subscriptions,
            snapshots=self._snapshots,
            events=self._events,
            resyncs=self._resyncs,
        )

    def fresh_locations(self, volume_id: int) -> VolumeLocations | None:
        """The view's answer while it is fresh and knows the volume; None means "ask a master"."""
        if not self._streaming:
            return None
        return self._locations(volume_id)

    def _locations(self, volume_id: int) -> VolumeLocations | None:
        nodes = self.view.locations(volume_id)
        volume = self.view.volume(volume_id)
        if not nodes or volume is None:
            return None
        return VolumeLocations(
            volume_id,
            tuple(Location(n.url, n.public_url or n.url, n.grpc_port, n.data_center, n.rack) for n in nodes),
            ReplicaPlacement.from_byte(volume.replica_placement),
        )

    async def wait_index(self, index: int) -> None:
        """Return once the view has applied up to `index` (bound it with asyncio.timeout)."""
        while self.view.index < index:
            self._progress.clear()
            await self._progress.wait()

    def reconnect(self, master: str | None = None) -> None:
        """End the current stream now and subscribe again (to `master` if given), resuming
        from the view's index. For operators and tests; never needed for correctness."""
        if master is not None:
            self._forced = ServerAddress.parse(master)
        call = self._call
        if call is not None:
            self._reconnecting = True
            call.cancel()

    # -- the loop ----------------------------------------------------------------------

    async def run(self) -> None:
        """Subscribe, apply, reconnect on any failure; runs until cancelled."""
        backoff = FIRST_BACKOFF_SECONDS
        try:
            while True:
                master = self._pick()
                delivered = False
                try:
                    delivered = await self._stream(master)
                    reason = "stream ended"
                except _Resubscribe as err:
                    self._resyncs += 1
                    reason = err.reason
                except grpc.aio.AioRpcError as err:
                    reason = f"{err.code().name} {err.details()}"
                    await self._drop_channel(master)
                except TimeoutError:
                    reason = f"silent for {self._silence:.0f}s"
                    await self._drop_channel(master)
                finally:
                    self._streaming = False
                    self._call = None
                    self._current = None
                if delivered:
                    backoff = FIRST_BACKOFF_SECONDS
                self._rotate(master)
                if self._forced is not None:
                    continue  # an explicit reconnect: no backoff
                log.log(
                    logging.INFO if delivered else logging.DEBUG,
                    "control stream ended master=%s index=%d reason=%s retry_in=%.2fs",
                    master,
                    self.view.index,
                    reason,
                    backoff,
                )
                # Jitter, so subscribers that lost the same master do not return in lockstep.
                await asyncio.sleep(backoff * (0.5 + self._rng()))
                backoff = min(backoff * 2, self._max_backoff)
        finally:
            self._streaming = False

    def _pick(self) -> ServerAddress:
        if self._forced is not None:
            master, self._forced = self._forced, None
            return master
        return self._masters[self._next % len(self._masters)]

    def _rotate(self, failed: ServerAddress) -> None:
        """Choose the next master: the leader we heard of unless it just failed, else the next."""
        leader = self._known(self.leader)
        if leader is not None and leader != failed:
            self._next = self._masters.index(leader)
            return
        if failed in self._masters:
            self._next = (self._masters.index(failed) + 1) % len(self._masters)

    def _known(self, http_address: str) -> ServerAddress | None:
        """The configured master whose HTTP address is `http_address`; a leader this client was
        not configured with (a master added later) joins the rotation."""
        if not http_address:
            return None
        try:
            wanted = ServerAddress.parse(http_address)
        except ValueError:
            return None
        for m in self._masters:
            if m.host == wanted.host and m.http_port == wanted.http_port:
                return m
        self._masters.append(wanted)
        return wanted

    async def _stream(self, master: ServerAddress) -> bool:
        """One subscription; returns whether it delivered anything (it ends only by an error)."""
        self._current = master
        stub = control_pb2_grpc.ControlStub(self._channels.get(master.grpc))
        request = control_pb2.SubscribeRequest(since_index=self.view.index, client_name=self._client_name)
        call = stub.Subscribe(request)
        self._call, self._reconnecting = call, False
        delivered = False
        try:
            while True:
                try:
                    async with asyncio.timeout(self._silence):
                        msg = await call.read()
                except asyncio.CancelledError:
                    # grpc reports a locally cancelled call as CancelledError: reconnect()'s doing
                    # unless this task itself is being cancelled.
                    task = asyncio.current_task()
                    if self._reconnecting and task is not None and not task.cancelling():
                        return delivered
                    raise
                if msg is grpc.aio.EOF:  # type: ignore[attr-defined]  # missing from grpc-stubs
                    return delivered
                if not delivered:
                    delivered = True
                    self._subscriptions += 1
                    log.debug("control stream open master=%s since=%d", master, request.since_index)
                self._apply(msg)
                self._streaming = True
        finally:
            call.cancel()

    def _apply(self, msg: control_pb2.ControlMessage) -> None:
        if msg.HasField("event"):
            if msg.index != self.view.index + 1:
                raise _Resubscribe(f"event {msg.index} does not follow {self.view.index}")
            deltas = self.view.apply_event(msg.index, msg.event)
            self._events += 1
        elif msg.HasField("snapshot"):
            if msg.snapshot.event_index < self.view.index or msg.index != msg.snapshot.event_index:
                raise _Resubscribe(f"snapshot at {msg.snapshot.event_index} behind {self.view.index}")
            deltas = self.view.load_snapshot(msg.snapshot)
            self._snapshots += 1
        else:
            if msg.index != self.view.index:
                raise _Resubscribe(f"master at {msg.index}, view at {self.view.index}")
            deltas = []
        if msg.leader and msg.leader != self.leader:
            self.leader = msg.leader
            if self._on_leader is not None:
                self._on_leader(msg.leader)
        if msg.HasField("event") or msg.HasField("snapshot"):
            self._progress.set()
            if self._on_message is not None:
                self._on_message(msg)
        if deltas:
            self._feed_locator(deltas)
            if self._on_change is not None:
                self._on_change(deltas)

    def _feed_locator(self, deltas: list[NodeDelta]) -> None:
        if self._locator is None:
            return
        for vid in {vid for d in deltas for vid in (*d.added, *d.removed)}:
            found = self._locations(vid)
            if found is None:
                self._locator.invalidate(vid)
            else:
                self._locator.update(found)

    # -- channels ----------------------------------------------------------------------

    async def _drop_channel(self, master: ServerAddress) -> None:
        """Forget a failed master's channel (see ChannelPool.drop)."""
        await self._channels.drop(master.grpc)

    async def close(self) -> None:
        """Close the channels (after `run()` was cancelled)."""
        if self._locator is not None and self._locator.source is self:
            self._locator.source = None
        await self._channels.close()
