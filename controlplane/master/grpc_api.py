"""The kelp.v1.Master gRPC adapter: volume-server heartbeat streams and volume lookups.

Thin over `MasterCore`: each heartbeat message becomes one `core.heartbeat` call, the end of a
stream (closed, broken or cancelled) one `core.node_disconnected` call.

Must not import kelp_http or the core's internals (state, raft, placement); only `core`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import grpc
from kelp_pb import master_pb2

from controlplane.master.core import MasterCore, MasterError, VolumeNotFound

log = logging.getLogger(__name__)

# The status detail a heartbeat stream ends with while no leader is known; volume servers retry
# it at a short constant interval (dataplane/volume/heartbeat.py matches on it).
NO_LEADER_YET = "no leader elected yet"


class MasterServicer:
    """kelp.v1.Master; register with `master_pb2_grpc.add_MasterServicer_to_server`."""

    def __init__(self, core: MasterCore) -> None:
        self._core = core
        # node id -> token of its newest stream. A server that reconnects before its old stream's
        # end is noticed has two streams for a while; only the newest one's end means "gone".
        self._streams: dict[str, object] = {}
        # Set by serve()'s stop(): streams then end because this master stops, not because the
        # volume servers left, so nothing is recorded.
        self.shutting_down = False

    async def Heartbeat(
        self,
        request_iterator: AsyncIterator[master_pb2.HeartbeatRequest],
        context: grpc.aio.ServicerContext[master_pb2.HeartbeatRequest, master_pb2.HeartbeatResponse],
    ) -> None:
        token = object()
        node_id = ""
        # Set when this master ends the stream itself: the server did not go away, it is told to
        # retry, so its leaving is not recorded (liveness still catches a server that stays away).
        ended_here = False
        try:
            async for hb in request_iterator:
                if not node_id:
                    node_id = MasterCore.node_id(hb)
                    self._streams[node_id] = token
                    log.info("heartbeat stream opened node=%s peer=%s", node_id, context.peer())
                reply = await self._core.heartbeat(hb)
                if not reply.leader and not self._core.is_leader():
                    # A follower that knows no leader (an election is under way, or this master's
                    # lease lapsed for a moment): end the stream so the server retries soon, rather
                    # than "connect" to a master that records nothing.
                    ended_here = True
                    await context.abort(grpc.StatusCode.UNAVAILABLE, NO_LEADER_YET)
                await context.write(reply)
        except MasterError as err:
            ended_here = True
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(err))
        finally:
            if node_id and self._streams.get(node_id) is token:
                del self._streams[node_id]
                by = "master" if ended_here else "server"
                log.info("heartbeat stream closed node=%s by=%s", node_id, by)
                if not self.shutting_down and not ended_here:
                    await self._core.node_disconnected(node_id)

    async def Lookup(
        self,
        request: master_pb2.LookupRequest,
        context: grpc.aio.ServicerContext[master_pb2.LookupRequest, master_pb2.LookupResponse],
    ) -> master_pb2.LookupResponse:
        reply = master_pb2.LookupResponse()
        for vid in request.volume_ids:
            entry = reply.volumes.add(volume_id=vid)
            try:
                locations = self._core.lookup(vid)
            except VolumeNotFound as err:
                entry.error = str(err)
                continue
            for loc in locations:
                entry.locations.add(
                    url=loc.url,
                    public_url=loc.public_url,
                    grpc_port=loc.grpc_port,
                    data_center=loc.data_center,
                    rack=loc.rack,
                )
            for shard, loc in self._core.lookup_ec_shards(vid):  # an EC volume: who holds which shard
                entry.ec_shards.add(shard_id=shard).location.CopyFrom(
                    master_pb2.Location(url=loc.url, public_url=loc.public_url, grpc_port=loc.grpc_port,
                                        data_center=loc.data_center, rack=loc.rack)
                )
        return reply
