"""`kelp.v1.MasterAdmin` on the master's gRPC port: the Raft group's status and membership.

Any master answers ClusterStatus and RaftListClusterServers from its own view. RaftAddServer and
RaftRemoveServer change membership on the leader: a follower forwards the call to the leader it
knows (once: a forwarded call that lands on a non-leader is answered FAILED_PRECONDITION with
"leader=host:port" in the details, "leader=" when none is known).

Must not import pysyncobj or kelp_http.
"""

from __future__ import annotations

import logging
from typing import Any

import grpc
from kelp_pb import master_admin_pb2, master_admin_pb2_grpc

from controlplane.master.core import MasterCore
from controlplane.master.errors import NotLeader
from controlplane.master.maintenance_state import MaintenanceLog
from controlplane.master.raft import MembershipChangeFailed, MemberStatus
from controlplane.master.volume_admin_client import CHANNEL_OPTIONS

log = logging.getLogger(__name__)

Context = grpc.aio.ServicerContext[Any, Any]

GRPC_PORT_OFFSET = 10000
FORWARDED_KEY = "kelp-forwarded"  # metadata on a call a follower passed to the leader
FORWARD_TIMEOUT_SECONDS = 15.0


def member_pb(m: MemberStatus) -> master_admin_pb2.ClusterMember:
    out = master_admin_pb2.ClusterMember(
        address=m.address, raft_address=m.raft_address, role=m.role, healthy=m.healthy
    )
    if m.last_contact_seconds is not None:
        out.last_contact_seconds = m.last_contact_seconds
    return out


def maintenance_history_pb(history: MaintenanceLog) -> master_admin_pb2.MaintenanceHistoryResponse:
    """The replicated maintenance configuration and runs (the caller holds the log's lock)."""
    config = history.config
    out = master_admin_pb2.MaintenanceHistoryResponse(configured=config is not None and bool(config.commands))
    if config is not None:
        out.commands.extend(config.commands)
        out.interval_seconds = config.interval_ns / 1e9
    for run in history.runs:
        out.runs.append(master_admin_pb2.MaintenanceRun(
            run_id=run.run_id, term=run.term, leader=run.leader, started_ns=run.started_ns,
            finished_ns=run.finished_ns, ok=run.ok, abandoned=run.abandoned, reason=run.reason,
            commands=[master_admin_pb2.MaintenanceCommandOutcome(
                command=c.command, ok=c.ok, output=c.output, time_ns=c.time_ns, lock_token=c.lock_token)
                for c in run.commands]))
    last = history.runs[-1] if history.runs else None
    if out.configured and config is not None and (last is None or not last.open):
        out.next_due_ns = max(config.configured_ns, last.finished_ns if last else 0) + config.interval_ns
    return out


def _check_address(address: str) -> str | None:
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) <= 65535 - 20000:
        return f"address must be a master's HTTP host:port (Raft port = port + 20000), got {address!r}"
    return None


class MasterAdminServicer:
    def __init__(self, core: MasterCore) -> None:
        self._core = core

    async def ClusterStatus(
        self, request: master_admin_pb2.ClusterStatusRequest, context: Context
    ) -> master_admin_pb2.ClusterStatusResponse:
        raft = self._core.raft_status()
        event_index, digest = self._core.state_digest()
        statistics = self._core.statistics()
        return master_admin_pb2.ClusterStatusResponse(
            is_leader=self._core.is_leader(),
            leader=self._core.leader() or "",
            term=raft.term,
            event_index=event_index,
            state_digest=digest,
            commit_index=raft.commit_index,
            applied_index=raft.applied_index,
            members=[member_pb(m) for m in raft.member_status],
            max_volume_id=statistics.max_volume_id,
            self=self._core.address,
        )

    async def RaftListClusterServers(
        self, request: master_admin_pb2.RaftListClusterServersRequest, context: Context
    ) -> master_admin_pb2.RaftListClusterServersResponse:
        raft = self._core.raft_status()
        return master_admin_pb2.RaftListClusterServersResponse(
            members=[member_pb(m) for m in raft.member_status]
        )

    async def MaintenanceHistory(
        self, request: master_admin_pb2.MaintenanceHistoryRequest, context: Context
    ) -> master_admin_pb2.MaintenanceHistoryResponse:
        return self._core.read_view(lambda state, _: maintenance_history_pb(state.maintenance))

    async def RaftAddServer(
        self, request: master_admin_pb2.RaftAddServerRequest, context: Context
    ) -> master_admin_pb2.RaftAddServerResponse:
        members = await self._change(request.address, "add", context)
        return master_admin_pb2.RaftAddServerResponse(members=members)

    async def RaftRemoveServer(
        self, request: master_admin_pb2.RaftRemoveServerRequest, context: Context
    ) -> master_admin_pb2.RaftRemoveServerResponse:
        members = await self._change(request.address, "remove", context)
        return master_admin_pb2.RaftRemoveServerResponse(members=members)

    async def _change(
        self, address: str, kind: str, context: Context
    ) -> list[master_admin_pb2.ClusterMember]:
        """Apply the change here (leader) or on the leader; the members after it, as the
        leader sees them."""
        problem = _check_address(address)
        if problem:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, problem)
        try:
            if kind == "add":
                await self._core.add_master(address)
            else:
                await self._core.remove_master(address)
            return [member_pb(m) for m in self._core.raft_status().member_status]
        except MembershipChangeFailed as err:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(err))
        except NotLeader as err:
            leader = err.leader
            forwarded = any(k == FORWARDED_KEY for k, _ in (context.invocation_metadata() or ()))
            if leader and leader != self._core.address and not forwarded:
                return await self._forward(leader, address, kind, context)
            await context.abort(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"not the leader; leader={leader or ''}",
            )
        raise AssertionError("context.abort returned")  # it raises

    async def _forward(
        self, leader: str, address: str, kind: str, context: Context
    ) -> list[master_admin_pb2.ClusterMember]:
        host, port = leader.rsplit(":", 1)
        target = f"{host}:{int(port) + GRPC_PORT_OFFSET}"
        log.info("membership change forwarded kind=%s address=%s leader=%s", kind, address, leader)
        async with grpc.aio.insecure_channel(target, options=CHANNEL_OPTIONS) as channel:
            stub = master_admin_pb2_grpc.MasterAdminStub(channel)
            metadata = ((FORWARDED_KEY, "1"),)
            try:
                if kind == "add":
                    reply = await stub.RaftAddServer(
                        master_admin_pb2.RaftAddServerRequest(address=address),
                        metadata=metadata, timeout=FORWARD_TIMEOUT_SECONDS,
                    )
                else:
                    reply = await stub.RaftRemoveServer(
                        master_admin_pb2.RaftRemoveServerRequest(address=address),
                        metadata=metadata, timeout=FORWARD_TIMEOUT_SECONDS,
                    )
                return list(reply.members)
            except grpc.aio.AioRpcError as err:
                await context.abort(err.code(), err.details() or "")
        raise AssertionError("context.abort returned")
