"""A master core reduced to what kelp.v1.Control needs (a real EventHub on an in-memory log,
`snapshot()`, `leader()`), and an in-process gRPC server serving ControlServicer over it.

Test support only; not a test module.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import grpc
import grpc.aio
from kelp_pb import control_pb2_grpc, events_pb2

from controlplane.master.control_grpc_api import ControlServicer
from controlplane.master.event_hub import EventHub
from controlplane.master.raft import MemoryLog, commit


class ControlCore:
    """The duck-typed core ControlServicer uses: `hub`, `snapshot()`, `leader()`."""

    def __init__(self, retain: int = 1000) -> None:
        self.hub = EventHub(retain)
        self.log = MemoryLog()
        self.log.add_observer(self.hub)
        self.leader_address: str | None = "127.0.0.1:9333"

    async def start(self) -> None:
        self.hub.bind(asyncio.get_running_loop())
        await self.log.start()

    async def append(self, events: Sequence[events_pb2.Event]) -> None:
        await commit(self.log, events)

    def snapshot(self) -> events_pb2.StateSnapshot:
        with self.log.lock:
            return self.log.state.snapshot()

    def leader(self) -> str | None:
        return self.leader_address

    @property
    def index(self) -> int:
        return self.log.state.event_index


class ControlMaster:
    """ControlServicer over a ControlCore on 127.0.0.1, port 0 (or a given port)."""

    def __init__(
        self, core: ControlCore, *, keepalive_seconds: float = 2.0, leader_poll_seconds: float = 0.05
    ):
        self.core = core
        self._servicer = ControlServicer(
            core,  # type: ignore[arg-type]  # duck-typed core
            keepalive_seconds=keepalive_seconds,
            leader_poll_seconds=leader_poll_seconds,
        )
        self._server: grpc.aio.Server | None = None
        self.port = 0

    @property
    def address(self) -> str:
        """As a client is told: `host:httpPort.grpcPort` (no HTTP port here; reuse the gRPC one)."""
        return f"127.0.0.1:{self.port}.{self.port}"

    async def start(self, port: int = 0) -> None:
        self._server = grpc.aio.server()
        control_pb2_grpc.add_ControlServicer_to_server(self._servicer, self._server)
        self.port = self._server.add_insecure_port(f"127.0.0.1:{port}")
        await self._server.start()

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop(None)
            self._server = None


def node_joined(i: int) -> events_pb2.Event:
    node = f"127.0.0.1:{8000 + i}"
    return events_pb2.Event(
        node_joined=events_pb2.NodeJoined(node_id=node, public_url=node, grpc_port=18000 + i, rack="r1")
    )


def volume_added(vid: int, i: int) -> events_pb2.Event:
    return events_pb2.Event(
        volume_added=events_pb2.VolumeAdded(volume_id=vid, node_id=f"127.0.0.1:{8000 + i}", version=3)
    )


def reserve() -> events_pb2.Event:
    return events_pb2.Event(sequence_reserved=events_pb2.SequenceReserved(count=10))
