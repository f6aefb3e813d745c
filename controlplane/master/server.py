"""The master process's entry point: `serve(config)` wires MasterCore to its listeners.

It binds the HTTP (kelp_http) and gRPC (grpc.aio) listeners first, so port 0 works and the core is
built with the ports actually bound, opens the Raft log in `config.mdir`, starts the background
leader duties in a TaskGroup, and returns a `RunningMaster` once everything listens.

Must not import dataplane server code; the CLI (`ops/cli`) is the only caller besides tests.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable

import grpc
from kelp_pb import control_pb2_grpc, master_admin_pb2_grpc, master_pb2_grpc, weed_master_pb2_grpc

from controlplane.master.admin_grpc_api import MasterAdminServicer
from controlplane.master.config import MasterConfig
from controlplane.master.control_grpc_api import ControlServicer
from controlplane.master.core import MasterCore
from controlplane.master.grpc_api import MasterServicer
from controlplane.master.http_api import MasterHttpApi
from controlplane.master.maintenance_runner import MaintenanceRunner
from controlplane.master.metrics import http_stats, master_registry
from controlplane.master.volume_admin_client import CHANNEL_OPTIONS, GrpcVolumeAdmin
from controlplane.master.weed_grpc_api import WeedServicer
from kelp_http import HttpClient, HttpServer, Request, Response, error_response, start_server
from kelp_http.metrics_server import start_metrics_server

log = logging.getLogger(__name__)

# The gRPC port is the HTTP port + 10000 unless configured (SeaweedFS's convention).
GRPC_PORT_OFFSET = 10000
GRPC_SERVER_OPTIONS: tuple[tuple[str, int], ...] = (
    *CHANNEL_OPTIONS,
    # Volume servers keep heartbeat streams open for days and may ping to detect dead masters;
    # without these the server answers their pings with GOAWAY ("too_many_pings").
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_recv_ping_interval_without_data_ms", 5_000),
    ("grpc.http2.max_ping_strikes", 0),
)
# stop(): how long in-flight gRPC calls get before they are cancelled.
_GRPC_STOP_GRACE_SECONDS = 1.0


class _Gate:
    """The HTTP handler: 503 until the core is up, then the API's handler with no extra await."""

    def __init__(self) -> None:
        self.target: Callable[[Request], Awaitable[Response]] = self._starting

    def __call__(self, req: Request) -> Awaitable[Response]:
        return self.target(req)

    @staticmethod
    async def _starting(req: Request) -> Response:
        return error_response(503, "master is starting")


@dataclasses.dataclass(eq=False)
class RunningMaster:
    """A master that listens; `stop()` ends every task it started and releases its ports."""

    http_port: int
    grpc_port: int
    core: MasterCore
    _http: HttpServer
    _grpc: grpc.aio.Server
    _servicer: MasterServicer
    _client: HttpClient
    _admin: GrpcVolumeAdmin
    _jobs: asyncio.Task[None]
    _stopping: asyncio.Event
    _stopped: bool = False
    _weed: WeedServicer | None = None  # master_pb.Seaweed: its forwarding channels close on stop
    metrics: HttpServer | None = None  # the -metricsPort listener, if any

    async def wait(self) -> None:
        """Return when the background jobs end by `stop()`; raise if one of them failed."""
        await asyncio.shield(self._jobs)

    async def stop(self) -> None:
        """Close the listeners, end the background jobs, close the Raft log. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        # Our own shutdown ends every heartbeat stream; that is not the volume servers leaving.
        self._servicer.shutting_down = True
        try:
            await self._http.close()
            if self.metrics is not None:
                await self.metrics.close()
            await self._grpc.stop(_GRPC_STOP_GRACE_SECONDS)
            self._stopping.set()
            # A job's failure stays in the task for wait(); stop() only waits for the end.
            await asyncio.wait([self._jobs])
        finally:
            await self.core.stop()
            await self._client.close()
            await self._admin.close()
            if self._weed is not None:
                await self._weed.close()
        log.info("master stopped http_port=%d grpc_port=%d", self.http_port, self.grpc_port)


async def _run_jobs(core: MasterCore, stopping: asyncio.Event) -> None:
    """One TaskGroup owns every background loop. `stopping` ends them; if one fails first, the
    group cancels the others and this task ends with the failure (seen by `RunningMaster.wait`)."""
    async with asyncio.TaskGroup() as tg:
        jobs = [tg.create_task(core.run_forever(), name="master-leader-duties"),
                tg.create_task(MaintenanceRunner(core).run_forever(), name="master-maintenance")]
        await stopping.wait()
        for job in jobs:
            job.cancel()


async def serve(config: MasterConfig) -> RunningMaster:
    """Start a master and return once its HTTP and gRPC listeners accept connections."""
    gate = _Gate()
    client = HttpClient()
    admin = GrpcVolumeAdmin()
    http: HttpServer | None = None
    grpc_server: grpc.aio.Server | None = None
    core: MasterCore | None = None
    try:
        stats = http_stats()
        http = await start_server(gate, config.bind_ip, config.port, stats=stats)
        grpc_server = grpc.aio.server(options=GRPC_SERVER_OPTIONS)
        wanted = config.grpc_port or (config.port + GRPC_PORT_OFFSET if config.port else 0)
        host = f"[{config.bind_ip}]" if ":" in config.bind_ip else config.bind_ip  # IPv6 literal
        try:
            grpc_port = grpc_server.add_insecure_port(f"{host}:{wanted}")
        except RuntimeError as err:  # grpc's way of saying the address is taken or invalid
            raise OSError(f"cannot bind gRPC address {host}:{wanted}: {err}") from err
        core = MasterCore(dataclasses.replace(config, port=http.port, grpc_port=grpc_port), admin)
        await core.start()
        servicer = MasterServicer(core)
        master_pb2_grpc.add_MasterServicer_to_server(servicer, grpc_server)
        master_admin_pb2_grpc.add_MasterAdminServicer_to_server(MasterAdminServicer(core), grpc_server)
        control_pb2_grpc.add_ControlServicer_to_server(ControlServicer(core), grpc_server)
        weed = WeedServicer(core)
        weed_master_pb2_grpc.add_SeaweedServicer_to_server(weed, grpc_server)
        await grpc_server.start()
        gate.target = MasterHttpApi(core, client).handle
        stopping = asyncio.Event()
        jobs = asyncio.get_running_loop().create_task(_run_jobs(core, stopping), name="master-jobs")
    except BaseException:
        if grpc_server is not None:
            await grpc_server.stop(None)
        if http is not None:
            await http.close()
        if core is not None:
            await core.stop()
        await client.close()
        await admin.close()
        raise
    running = RunningMaster(
        http.port, grpc_port, core, http, grpc_server, servicer, client, admin, jobs, stopping, _weed=weed
    )
    if config.metrics_port:
        try:
            running.metrics = await start_metrics_server(
                master_registry(core, stats), config.bind_ip, config.metrics_port
            )
        except BaseException:
            await running.stop()
            raise
    log.info("master ready http_port=%d grpc_port=%d mdir=%s", http.port, grpc_port, config.mdir)
    return running
