"""The kelp.v1.Control gRPC adapter: control-event subscriptions, served by every master.

`Subscribe(since_index)` streams what `core.hub.follow(since_index, core.snapshot)` yields, each as
a `ControlMessage` (an event with its index, or a snapshot with the index it covers), from this
master's replicated state, leader or not. Besides those, a message with neither event nor
snapshot, carrying the index of the last one sent on the stream (or `since_index`), is sent

- first, at once, when nothing is ready to send (the subscriber learns that the stream is open,
  the leader, and that it is caught up);
- when the leader changes while no event flows (checked every `leader_poll_seconds`);
- after `keepalive_seconds` without any message, so a subscriber can tell a quiet stream from a
  master that stopped (SIGSTOP, a cut network) that TCP has not noticed.

`leader` (the leader's HTTP "host:port", "" if unknown) is set on the first message of a stream and
whenever it changes.

Must not import kelp_http or the core's internals (state, raft); only `core` and its hub.
"""

from __future__ import annotations

import asyncio
import logging

import grpc
from kelp_pb import control_pb2

from controlplane.master.core import MasterCore
from controlplane.master.event_hub import HubItem

log = logging.getLogger(__name__)

# A subscriber treats ~3 missed keepalives as a dead master (dataplane/client/control.py: 6 s).
DEFAULT_KEEPALIVE_SECONDS = 2.0
# How quickly a leader change reaches subscribers when no event carries it; a failover takes
# about a second, so this adds little, and each idle stream wakes only this often.
DEFAULT_LEADER_POLL_SECONDS = 0.5


def control_message(item: HubItem) -> control_pb2.ControlMessage:
    if item.snapshot is not None:
        return control_pb2.ControlMessage(index=item.index, snapshot=item.snapshot)
    return control_pb2.ControlMessage(index=item.index, event=item.event)


class ControlServicer:
    """kelp.v1.Control; register with `control_pb2_grpc.add_ControlServicer_to_server`."""

    def __init__(
        self,
        core: MasterCore,
        *,
        keepalive_seconds: float = DEFAULT_KEEPALIVE_SECONDS,
        leader_poll_seconds: float = DEFAULT_LEADER_POLL_SECONDS,
    ) -> None:
        self._core = core
        self._keepalive = keepalive_seconds
        self._poll = min(leader_poll_seconds, keepalive_seconds)

    async def Subscribe(
        self,
        request: control_pb2.SubscribeRequest,
        context: grpc.aio.ServicerContext[control_pb2.SubscribeRequest, control_pb2.ControlMessage],
    ) -> None:
        hub = self._core.hub
        loop = asyncio.get_running_loop()
        items = hub.follow(request.since_index, self._core.snapshot)
        # The next item is awaited in a task that survives the poll timeouts (cancelling a
        # generator's __anext__ would end the generator).
        pending = asyncio.ensure_future(anext(items))
        index = request.since_index
        sent_leader: str | None = None
        last_sent = loop.time()
        # Something is ready now exactly when the subscriber is behind (or new to a non-empty log).
        ready_now = request.since_index < hub.last_index or (request.since_index == 0 and hub.last_index > 0)
        log.debug("control subscribe client=%r since=%d peer=%s", request.client_name, index, context.peer())
        try:
            first = True
            while True:
                if first and ready_now:
                    await asyncio.wait({pending})
                elif not first:
                    await asyncio.wait({pending}, timeout=self._poll)
                leader = self._core.leader() or ""
                if pending.done():
                    item = pending.result()
                    pending = asyncio.ensure_future(anext(items))
                    msg = control_message(item)
                    index = item.index
                elif first or leader != sent_leader or loop.time() - last_sent >= self._keepalive:
                    msg = control_pb2.ControlMessage(index=index)
                else:
                    continue
                if leader != sent_leader:
                    msg.leader = leader
                    sent_leader = leader
                first = False
                await context.write(msg)
                last_sent = loop.time()
        finally:
            pending.cancel()
            await asyncio.wait({pending})  # never raises the pending step's own cancellation
            await items.aclose()  # type: ignore[attr-defined]  # follow() is an async generator
