"""The SeaweedFS-compatible master gRPC adapter (`master_pb.Seaweed`), for the real `weed` tools:
benchmark and shell (KeepConnected, Assign), upload (GetMasterConfiguration, Assign), download
(LookupVolume), shell cluster.status / volume.list / lock / unlock (CollectionList, VolumeList,
ListClusterNodes, GetAdminLockStatus, LeaseAdminToken, ReleaseAdminToken).

Thin over `MasterCore`. Where each call is answered:
- any master: LookupVolume, GetMasterConfiguration, CollectionList, ListClusterNodes of masters
  and volume servers, GetAdminLockStatus (the replicated state);
- ListClusterNodes of filers: the leader, from the filers holding a KeepConnected stream to it
  (`cluster_nodes`, in memory; a filer is dropped when its stream ends); followers forward it;
- the leader: Assign, VolumeList (sizes are soft state, kept by the leader), LeaseAdminToken,
  ReleaseAdminToken. A follower forwards them to the leader over gRPC (upload and download call the
  `-master` address directly, with no redirect); a call that was already forwarded once is never
  forwarded again (two masters that each believe the other leads answer UNAVAILABLE instead);
- KeepConnected: the leader streams where volumes live, from the control event stream
  (`core.hub`) folded per stream by `LocationView`: first one VolumeLocation per live data node
  with all its volume ids (the first naming this master as leader; an empty cluster gets one
  leader-only message with an empty url), then new/deleted volume ids as events are applied, and a
  ClusterNodeUpdate whenever a filer (or other announced node) joins or leaves (cluster_nodes.py).
  A follower sends one VolumeLocation{leader} and ends the stream, so the client dials the leader;
  a leader that loses leadership does the same.
- VolumeListStream: the leader streams the tree, then the volumes in batches; a follower answers
  UNIMPLEMENTED, so the shell falls back to VolumeList (which the follower forwards).

Leader addresses are SeaweedFS's "host:httpPort.grpcPort". Application errors of Assign go in
`AssignResponse.error`; the others become gRPC statuses through `_STATUS`.

Must not import kelp_http or the core's internals (state, raft); only `core`, its hub and the
pure wire views of `weed_topology`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import grpc
from kelp_pb import weed_master_pb2 as wpb
from kelp_pb import weed_master_pb2_grpc

from controlplane.master import weed_topology
from controlplane.master.cluster_nodes import ClusterNode, ClusterNodes
from controlplane.master.core import (
    AdminLockHeld,
    AdminLockLost,
    AssignRequest,
    InvalidReplication,
    InvalidTtl,
    MasterCore,
    MasterError,
    NotLeader,
    VolumeNotFound,
)
from controlplane.master.event_hub import HubItem
from controlplane.master.volume_admin_client import CHANNEL_OPTIONS
from dataplane.client.control_view import LocationView, NodeDelta, NodeInfo

log = logging.getLogger(__name__)

_T = TypeVar("_T")
Context = grpc.aio.ServicerContext[Any, Any]

# Set on a call a follower forwards to the leader, so it is never forwarded a second time.
FORWARDED_METADATA = "x-kelp-forwarded"
# A forwarded Assign may wait for volume growth on the leader (assign_growth_wait_seconds, 5 s).
FORWARD_TIMEOUT_SECONDS = 30.0
# Forwarded calls that may be sent again: if the leader changes while a follower waits on the old
# one (paused or cut off, so the call hangs), the follower drops it and asks the new leader. An
# Assign is (an unanswered one only leaves a gap in the keys); lock leases are not.
RETRY_ON_NEW_LEADER = frozenset({"Assign", "VolumeList"})
LEADER_WATCH_SECONDS = 0.05
# How often an open KeepConnected stream checks that this master still leads; SeaweedFS checks
# every 5 s; a failover takes about a second, so clients move on within about two.
LEADER_CHECK_SECONDS = 1.0
# Volumes per VolumeListStream message: ~100 bytes each, so messages stay around 100 KiB.
VOLUME_LIST_BATCH = 1024

# Errors that are gRPC statuses (the rest of MasterError: UNKNOWN, as Go's plain errors arrive).
_STATUS: dict[type[Exception], grpc.StatusCode] = {
    NotLeader: grpc.StatusCode.UNAVAILABLE,  # clients retry UNAVAILABLE
    AdminLockHeld: grpc.StatusCode.FAILED_PRECONDITION,
    AdminLockLost: grpc.StatusCode.FAILED_PRECONDITION,
    VolumeNotFound: grpc.StatusCode.NOT_FOUND,
}


def _status_of(err: Exception) -> grpc.StatusCode:
    for cls in type(err).__mro__:
        if cls in _STATUS:
            return _STATUS[cls]
    return grpc.StatusCode.UNKNOWN


def volume_location(delta: NodeDelta) -> wpb.VolumeLocation:
    return wpb.VolumeLocation(
        url=delta.node.url,
        public_url=delta.node.public_url,
        grpc_port=delta.node.grpc_port,
        data_center=delta.node.data_center,
        new_vids=delta.added,
        deleted_vids=delta.removed,
    )


def _node_update(node: ClusterNode, is_add: bool) -> wpb.ClusterNodeUpdate:
    return wpb.ClusterNodeUpdate(node_type=node.client_type, address=node.address, is_add=is_add,
                                 filer_group=node.filer_group, created_at_ns=node.created_at_ns)


def _location(url: str, public_url: str, grpc_port: int, data_center: str) -> wpb.Location:
    return wpb.Location(url=url, public_url=public_url, grpc_port=grpc_port, data_center=data_center)


class WeedServicer:
    """master_pb.Seaweed; register with `weed_master_pb2_grpc.add_SeaweedServicer_to_server`;
    `close()` the forwarding channels when the server stops."""

    def __init__(self, core: MasterCore, *, leader_check_seconds: float = LEADER_CHECK_SECONDS) -> None:
        self._core = core
        self._leader_check = leader_check_seconds
        self._channels: dict[str, grpc.aio.Channel] = {}
        # Filers (and other announced nodes) with a KeepConnected stream open to this master.
        self.cluster_nodes = ClusterNodes()

    async def close(self) -> None:
        channels, self._channels = self._channels, {}
        for channel in channels.values():
            await channel.close(None)

    # -- plumbing -------------------------------------------------------------------------------

    def _stub(self, leader: str) -> weed_master_pb2_grpc.SeaweedStub:
        target = self._core.grpc_address_of(leader)
        channel = self._channels.get(target)
        if channel is None:
            channel = grpc.aio.insecure_channel(target, options=CHANNEL_OPTIONS)
            self._channels[target] = channel
        return weed_master_pb2_grpc.SeaweedStub(channel)

    async def _on_leader(
        self,
        method: str,
        request: Any,
        context: Context,
        local: Callable[[], Awaitable[_T]],
    ) -> _T:
        """Run `local` on the leader; on a follower forward the call to the leader unchanged and
        return its answer (statuses included)."""
        forwarded = any(k == FORWARDED_METADATA for k, _ in (context.invocation_metadata() or ()))
        leader: str | None = None
        try:
            if self._core.is_leader():
                return await local()
            leader = self._core.leader()
            if leader is None or forwarded:
                raise NotLeader(leader)
        except NotLeader as err:
            # Leadership moved during the call (or never was here).
            leader = err.leader if err.leader is not None and not self._core.is_leader() else None
            if leader is None or forwarded:
                await context.abort(grpc.StatusCode.UNAVAILABLE, str(err))
        except MasterError as err:
            await context.abort(_status_of(err), str(err))
        assert leader is not None
        call = getattr(self._stub(leader), method)(
            request, timeout=FORWARD_TIMEOUT_SECONDS, metadata=((FORWARDED_METADATA, "1"),)
        )
        answer: asyncio.Future[_T] = asyncio.ensure_future(call)
        try:
            while method in RETRY_ON_NEW_LEADER:
                await asyncio.wait({answer}, timeout=LEADER_WATCH_SECONDS)
                if answer.done():
                    break
                if self._core.is_leader() or self._core.leader() not in (leader, None):
                    log.info("leader changed while forwarding method=%s old=%s", method, leader)
                    answer.cancel()  # cancels the RPC
                    return await self._on_leader(method, request, context, local)
            reply: _T = await answer
        except grpc.aio.AioRpcError as err:
            code = err.code()
            if code == grpc.StatusCode.DEADLINE_EXCEEDED:
                code = grpc.StatusCode.UNAVAILABLE
            await context.abort(code, f"leader {leader}: {err.details()}")
        return reply

    # -- unary calls ------------------------------------------------------------------------------

    async def Assign(self, request: wpb.AssignRequest, context: Context) -> wpb.AssignResponse:
        async def local() -> wpb.AssignResponse:
            req = AssignRequest(
                count=request.count or 1,
                collection=request.collection,
                replication=request.replication,
                ttl=request.ttl,
                disk=request.disk_type,
                data_center=request.data_center,
                rack=request.rack,
                data_node=request.data_node,
                writable_volume_count=request.writable_volume_count,
            )
            try:
                result = await self._core.assign(req)
            except NotLeader:
                raise
            except (MasterError, InvalidReplication, InvalidTtl) as err:
                return wpb.AssignResponse(error=str(err))
            data_center = result.replicas[0].data_center if result.replicas else ""
            return wpb.AssignResponse(
                fid=result.fid,
                count=result.count,
                auth=result.auth,
                location=_location(result.url, result.public_url, result.grpc_port, data_center),
                # The other replicas (SeaweedFS lists all but the upload target).
                replicas=[
                    _location(r.url, r.public_url, r.grpc_port, r.data_center) for r in result.replicas[1:]
                ],
            )

        return await self._on_leader("Assign", request, context, local)

    async def LookupVolume(
        self, request: wpb.LookupVolumeRequest, context: Context
    ) -> wpb.LookupVolumeResponse:
        reply = wpb.LookupVolumeResponse()
        for text in request.volume_or_file_ids:
            # The answer echoes the requested string exactly: `weed download` indexes by it.
            entry = reply.volume_id_locations.add(volume_or_file_id=text)
            comma = text.find(",")
            vid_text = text[:comma] if comma > 0 else text
            if not (vid_text.isascii() and vid_text.isdigit()) or int(vid_text) > 0xFFFFFFFF:
                entry.error = f"unknown volume id {vid_text}"
                continue
            try:
                locations = self._core.lookup(int(vid_text), request.collection)
            except VolumeNotFound as err:
                entry.error = str(err)
                continue
            for loc in locations:
                entry.locations.append(_location(loc.url, loc.public_url, loc.grpc_port, loc.data_center))
            if comma > 0:  # a file id: the JWT a delete of it needs ("" when JWT is off)
                entry.auth = self._core.lookup_token(text)
        return reply

    async def GetMasterConfiguration(
        self, request: wpb.GetMasterConfigurationRequest, context: Context
    ) -> wpb.GetMasterConfigurationResponse:
        config = self._core.config
        return wpb.GetMasterConfigurationResponse(
            default_replication=config.default_replication,
            leader=self._core.leader_with_grpc() or "",
            volume_size_limit_m_b=config.volume_size_limit_mb,
        )

    async def CollectionList(
        self, request: wpb.CollectionListRequest, context: Context
    ) -> wpb.CollectionListResponse:
        if not request.include_normal_volumes:
            return wpb.CollectionListResponse()  # kelp has no EC volumes yet
        names = self._core.read_view(lambda state, _: weed_topology.collection_names(state))
        return wpb.CollectionListResponse(collections=[wpb.Collection(name=n) for n in names])

    async def ListClusterNodes(
        self, request: wpb.ListClusterNodesRequest, context: Context
    ) -> wpb.ListClusterNodesResponse:
        reply = wpb.ListClusterNodesResponse()
        if request.client_type == "master":
            config = self._core.config
            for address in config.peers or (f"{config.ip}:{config.port}",):
                grpc_address = self._core.grpc_address_of(address)
                reply.cluster_nodes.add(address=f"{address}.{grpc_address.rsplit(':', 1)[1]}")
        elif request.client_type == "volumeServer":
            nodes = self._core.read_view(
                lambda state, _: [(n.node_id, n.data_center, n.rack) for n in state.live_nodes()]
            )
            for node_id, data_center, rack in sorted(nodes):
                reply.cluster_nodes.add(address=node_id, data_center=data_center, rack=rack)
        else:  # filers: those holding a KeepConnected stream to the leader
            async def local() -> wpb.ListClusterNodesResponse:
                for node in self.cluster_nodes.listed(request.client_type, request.filer_group):
                    reply.cluster_nodes.add(address=node.address, version=node.version,
                                            created_at_ns=node.created_at_ns, data_center=node.data_center,
                                            rack=node.rack)
                return reply

            return await self._on_leader("ListClusterNodes", request, context, local)
        return reply

    async def VolumeList(self, request: wpb.VolumeListRequest, context: Context) -> wpb.VolumeListResponse:
        limit_mb = self._core.config.volume_size_limit_mb

        async def local() -> wpb.VolumeListResponse:
            return self._core.read_view(lambda state, soft: weed_topology.volume_list(state, soft, limit_mb))

        return await self._on_leader("VolumeList", request, context, local)

    async def VolumeListStream(self, request: wpb.VolumeListRequest, context: Context) -> None:
        """The tree without volumes first, then each disk's volumes in batches. Only the leader has
        the sizes; a follower answers UNIMPLEMENTED, so the shell falls back to VolumeList, which
        it forwards."""
        if not self._core.is_leader():
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "VolumeListStream: use VolumeList")
        limit_mb = self._core.config.volume_size_limit_mb
        listing = self._core.read_view(lambda state, soft: weed_topology.volume_list(state, soft, limit_mb))
        for message in weed_topology.stream_messages(listing, VOLUME_LIST_BATCH):
            await context.write(message)

    async def GetAdminLockStatus(
        self, request: wpb.GetAdminLockStatusRequest, context: Context
    ) -> wpb.GetAdminLockStatusResponse:
        status = self._core.admin_lock_status(request.lock_name)
        return wpb.GetAdminLockStatusResponse(
            is_locked=status.is_locked, client_name=status.client_name, message=status.message
        )

    async def LeaseAdminToken(
        self, request: wpb.LeaseAdminTokenRequest, context: Context
    ) -> wpb.LeaseAdminTokenResponse:
        async def local() -> wpb.LeaseAdminTokenResponse:
            token, ts = await self._core.lease_admin_lock(
                request.lock_name, request.client_name, request.previous_token, request.message
            )
            return wpb.LeaseAdminTokenResponse(token=token, lock_ts_ns=ts)

        return await self._on_leader("LeaseAdminToken", request, context, local)

    async def ReleaseAdminToken(
        self, request: wpb.ReleaseAdminTokenRequest, context: Context
    ) -> wpb.ReleaseAdminTokenResponse:
        async def local() -> wpb.ReleaseAdminTokenResponse:
            await self._core.release_admin_lock(request.lock_name, request.previous_token)
            return wpb.ReleaseAdminTokenResponse()

        return await self._on_leader("ReleaseAdminToken", request, context, local)

    # -- KeepConnected ------------------------------------------------------------------------------

    async def KeepConnected(
        self, request_iterator: AsyncIterator[wpb.KeepConnectedRequest], context: Context
    ) -> None:
        # The client sends one request (who it is) and then only reads.
        hello = await anext(aiter(request_iterator), None)
        if hello is None:
            return
        if not self._core.is_leader():
            await self._redirect(context)
            return
        log.debug("keep connected client_type=%s peer=%s", hello.client_type, context.peer())
        # Joins and departures of cluster nodes are pushed on every stream (cluster_nodes.py);
        # a filer first hears the nodes already listed, then its own join.
        updates: asyncio.Queue[wpb.ClusterNodeUpdate] = asyncio.Queue()
        unwatch = self.cluster_nodes.watch(
            lambda node, is_add: updates.put_nowait(_node_update(node, is_add)),
            replay=hello.client_type == "filer")
        joined = self.cluster_nodes.join(ClusterNode(
            client_type=hello.client_type, address=hello.client_address, version=hello.version,
            filer_group=hello.filer_group, data_center=hello.data_center, rack=hello.rack,
            created_at_ns=time.time_ns(),
        ))
        if joined is not None:
            log.info("cluster node joined type=%s address=%s", *joined)
        try:
            await self._keep_connected(context, updates)
        finally:
            unwatch()
            self.cluster_nodes.leave(joined)
            if joined is not None:
                log.info("cluster node left type=%s address=%s", *joined)

    async def _keep_connected(self, context: Context, updates: asyncio.Queue[wpb.ClusterNodeUpdate]) -> None:
        """The leader's side of one KeepConnected stream, until leadership moves (then redirect):
        volume locations, and the cluster node `updates` (after the full view)."""
        view = LocationView()
        snapshot = self._core.snapshot()
        view.load_snapshot(snapshot)
        await self._send_full_view(view, context)
        items = self._core.hub.follow(snapshot.event_index, self._core.snapshot)
        # The next item is awaited in a task that survives the leadership checks (cancelling a
        # generator's __anext__ would end the generator).
        pending: asyncio.Future[HubItem] = asyncio.ensure_future(anext(items))
        update = asyncio.ensure_future(updates.get())
        try:
            while True:
                await asyncio.wait({pending, update}, timeout=self._leader_check,
                                   return_when=asyncio.FIRST_COMPLETED)
                if update.done():
                    await context.write(wpb.KeepConnectedResponse(cluster_node_update=update.result()))
                    update = asyncio.ensure_future(updates.get())
                    continue
                if not pending.done():
                    if not self._core.is_leader():
                        break
                    continue
                item = pending.result()
                pending = asyncio.ensure_future(anext(items))
                if item.snapshot is not None:
                    deltas = view.load_snapshot(item.snapshot)
                else:
                    assert item.event is not None
                    deltas = view.apply_event(item.index, item.event)
                for delta in deltas:
                    await context.write(wpb.KeepConnectedResponse(volume_location=volume_location(delta)))
        finally:
            pending.cancel()
            update.cancel()
            await asyncio.wait({pending, update})  # never raises the pending step's own cancellation
            if isinstance(items, AsyncGenerator):  # follow() is one; end it now, not at GC
                await items.aclose()
        await self._redirect(context)

    async def _send_full_view(self, view: LocationView, context: Context) -> None:
        """One message per live data node with all its volume ids; the first names the leader."""
        leader = self._core.leader_with_grpc() or ""
        nodes: list[tuple[NodeInfo, tuple[int, ...]]] = view.nodes()
        if not nodes:
            await context.write(wpb.KeepConnectedResponse(volume_location=wpb.VolumeLocation(leader=leader)))
            return
        for i, (node, vids) in enumerate(nodes):
            location = volume_location(NodeDelta(node, vids, ()))
            if i == 0:
                location.leader = leader
            await context.write(wpb.KeepConnectedResponse(volume_location=location))

    async def _redirect(self, context: Context) -> None:
        """Name the leader (the client drops this stream and dials it), or fail when none is known."""
        leader = self._core.leader_with_grpc()
        if leader is None:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "no leader is known")
        await context.write(wpb.KeepConnectedResponse(volume_location=wpb.VolumeLocation(leader=leader)))
