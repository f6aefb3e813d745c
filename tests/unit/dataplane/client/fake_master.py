"""An in-process fake of kelp.v1.Master for data-plane unit tests: it answers every
heartbeat, learns volume locations from the inventories it is sent, and answers Lookup
from them (plus locations a test pins by hand).

Test support only; not a test module.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Awaitable, Callable

import grpc
import grpc.aio
from kelp_pb import master_pb2, master_pb2_grpc

POLL_DEADLINE_SECONDS = 10.0  # generous: the machine is shared by several test runs
SCENARIO_TIMEOUT_SECONDS = 60.0  # a whole test scenario

# One event loop for every data-plane scenario in this process. grpc.aio keeps process-wide
# state bound to the loops it has seen; a grpc object outliving its test (until the garbage
# collector gets to it) can then report a completion to a closed loop, which has been seen to
# stall or crash later tests. A single loop that stays open avoids that whole class of failure.
_loop: asyncio.AbstractEventLoop | None = None


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    """Run one test scenario on the shared loop, bounded in time."""
    global _loop
    if _loop is None or _loop.is_closed():
        _loop = asyncio.new_event_loop()
    try:
        _loop.run_until_complete(asyncio.wait_for(scenario(), SCENARIO_TIMEOUT_SECONDS))
    finally:
        gc.collect()  # release grpc objects of this scenario now, not during a later test


async def wait_for(condition: Callable[[], bool], what: str = "condition") -> None:
    """Poll until `condition()` holds; fail after the deadline (never a fixed sleep)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + POLL_DEADLINE_SECONDS
    while not condition():
        assert loop.time() < deadline, f"{what} not met within {POLL_DEADLINE_SECONDS}s"
        await asyncio.sleep(0.01)


class FakeMaster(master_pb2_grpc.MasterServicer):  # type: ignore[misc]  # generated, untyped
    def __init__(self) -> None:
        self.heartbeats: list[master_pb2.HeartbeatRequest] = []
        self.lookups: list[list[int]] = []
        self.inventories: dict[str, master_pb2.HeartbeatRequest] = {}  # node url -> last heartbeat
        self.pinned: dict[int, list[master_pb2.Location]] = {}
        self.leader = ""  # what replies say; "" = "I lead"
        self.pulse_seconds = 0
        self.volume_size_limit = 30 << 30
        self.open_streams = 0
        self.port = 0
        self._server: grpc.aio.Server | None = None

    @property
    def address(self) -> str:
        """How a volume server is told about this master: `host:httpPort.grpcPort`."""
        return f"127.0.0.1:{self.port}.{self.port}"

    async def start(self, port: int = 0) -> None:
        self._server = grpc.aio.server()
        master_pb2_grpc.add_MasterServicer_to_server(self, self._server)
        self.port = self._server.add_insecure_port(f"127.0.0.1:{port}")
        await self._server.start()

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop(None)
            self._server = None

    def volumes_of(self, url: str) -> dict[int, master_pb2.VolumeReport]:
        hb = self.inventories.get(url)
        return {v.id: v for v in hb.volumes} if hb is not None else {}

    async def Heartbeat(
        self, requests: AsyncIterator[master_pb2.HeartbeatRequest], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[master_pb2.HeartbeatResponse]:
        self.open_streams += 1
        try:
            async for hb in requests:
                self.heartbeats.append(hb)
                self.inventories[f"{hb.ip}:{hb.port}"] = hb
                yield master_pb2.HeartbeatResponse(
                    volume_size_limit=self.volume_size_limit,
                    leader=self.leader,
                    pulse_seconds=self.pulse_seconds,
                )
        finally:
            self.open_streams -= 1

    def locations(self, vid: int) -> tuple[list[master_pb2.Location], int]:
        if vid in self.pinned:
            return self.pinned[vid], 0
        found: list[master_pb2.Location] = []
        placement = 0
        for url, hb in self.inventories.items():
            for v in hb.volumes:
                if v.id == vid:
                    placement = v.replica_placement
                    found.append(
                        master_pb2.Location(
                            url=url, public_url=hb.public_url, grpc_port=hb.grpc_port,
                            data_center=hb.data_center, rack=hb.rack,
                        )
                    )
        return found, placement

    async def Lookup(
        self, request: master_pb2.LookupRequest, context: grpc.aio.ServicerContext
    ) -> master_pb2.LookupResponse:
        self.lookups.append(list(request.volume_ids))
        reply = master_pb2.LookupResponse()
        for vid in request.volume_ids:
            locs, placement = self.locations(vid)
            entry = reply.volumes.add(volume_id=vid, replica_placement=placement)
            if locs:
                entry.locations.extend(locs)
            else:
                entry.error = f"volume id {vid} not found"
        return reply
