"""The volume server process: the Store, its HTTP API, the VolumeAdmin gRPC service,
the heartbeat to the masters and the control-event subscription, wired together.

`serve(config)` returns once both listeners are bound (port 0 picks free ports) with
the bound ports; the heartbeat and the subscription run in a TaskGroup owned by the
returned RunningVolumeServer until `stop()`. The subscription keeps a view of where
volumes live; replication asks it for replica locations (the master's Lookup RPC is
the fallback while the view is not live).

Server-side wiring: imports the adapters and the engine; nothing imports this but ops/.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from importlib import metadata

import grpc.aio
from kelp_pb import volume_pb2_grpc

from dataplane.client.addresses import GRPC_CHANNEL_OPTIONS, GRPC_PORT_OFFSET
from dataplane.client.control import ControlSubscriber
from dataplane.client.lookup import VolumeLocator
from dataplane.volume.config import VolumeServerConfig
from dataplane.volume.ec_peers import EcPeers
from dataplane.volume.ec_service import delete_ec_needle, read_ec_needle
from dataplane.volume.engine.store import Store
from dataplane.volume.grpc_api import VolumeAdminServicer
from dataplane.volume.heartbeat import Heartbeat, NodeIdentity
from dataplane.volume.http_api import VolumeHttpApi
from dataplane.volume.metrics import volume_registry
from dataplane.volume.replicate import Replicator
from kelp_http import HttpClient, HttpServer, start_server
from kelp_http.metrics_server import start_metrics_server
from kelp_http.stats import RequestStats

log = logging.getLogger(__name__)

# Multipart framing around a file part is small; this leaves room for it above the file size
# limit so the limit itself is reported as SeaweedFS's 400, not as the HTTP layer's 413.
BODY_SLACK = 1 << 20
GRPC_STOP_GRACE_SECONDS = 2.0


def kelp_version() -> str:
    try:
        return metadata.version("kelp")
    except metadata.PackageNotFoundError:
        return "0.1.0"


@dataclass
class RunningVolumeServer:
    http_port: int
    grpc_port: int
    url: str  # "ip:port" the master knows this server by
    store: Store
    heartbeat: Heartbeat
    api: VolumeHttpApi
    _http: HttpServer
    _grpc: grpc.aio.Server
    _locator: VolumeLocator
    _client: HttpClient
    control: ControlSubscriber
    _background: asyncio.Task[None] | None = None
    metrics: HttpServer | None = None  # the -metricsPort listener, if any
    _stopping: bool = field(default=False)

    async def stop(self) -> None:
        """Stop heartbeating, close the listeners, then the store. Safe to call twice."""
        if self._stopping:
            return
        self._stopping = True
        try:
            if self._background is not None:
                self._background.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._background
            await self._http.close()
            if self.metrics is not None:
                await self.metrics.close()
            await self._grpc.stop(GRPC_STOP_GRACE_SECONDS)
        finally:
            await self._client.close()
            await self.control.close()
            await self._locator.close()
            await asyncio.to_thread(self.store.close)
            log.info("volume server stopped url=%s", self.url)

    @property
    def ready(self) -> bool:
        return not self._stopping and self.heartbeat.connected


async def serve(config: VolumeServerConfig) -> RunningVolumeServer:
    store = Store(
        config.dirs,
        config.max_volumes,
        large_disk=config.large_disk,
        index=config.index,
        disk_type="" if config.disk_type == "hdd" else config.disk_type,
    )
    await asyncio.to_thread(store.load)
    locator = VolumeLocator(config.masters, ttl_seconds=config.lookup_ttl_seconds)
    client = HttpClient()
    replicator = Replicator(client, locator, timeout=config.replication_timeout_seconds)
    version = kelp_version()
    running: RunningVolumeServer | None = None

    def volumes_changed() -> None:
        if running is not None:
            running.api.volumes_changed()
            running.heartbeat.notify_nowait()

    api = VolumeHttpApi(
        store,
        config,
        locator=locator,
        http=client,
        replicator=replicator,
        version=f"kelp {version}",
        volumes_changed=volumes_changed,
        is_ready=lambda: running is not None and running.ready,
    )
    http: HttpServer | None = None
    grpc_server: grpc.aio.Server | None = None
    http_stats = RequestStats()
    try:
        http = await start_server(
            api.handle,
            config.bind_ip,
            config.port,
            stats=http_stats,
            max_body=config.file_size_limit_mb * 1024 * 1024 + BODY_SLACK,
            server_header=f"kelp Volume {version}",
        )
        grpc_server = grpc.aio.server(options=GRPC_CHANNEL_OPTIONS)
        servicer = VolumeAdminServicer(store, volumes_changed)
        volume_pb2_grpc.add_VolumeAdminServicer_to_server(servicer, grpc_server)
        wanted = config.grpc_port or (config.port + GRPC_PORT_OFFSET if config.port else 0)
        grpc_port = grpc_server.add_insecure_port(f"{config.bind_ip}:{wanted}")
        if grpc_port == 0:
            raise OSError(f"cannot bind gRPC port {config.bind_ip}:{wanted}")
        await grpc_server.start()
    except BaseException:
        if http is not None:
            await http.close()
        if grpc_server is not None:
            await grpc_server.stop(None)
        await client.close()
        await locator.close()
        await asyncio.to_thread(store.close)
        raise

    url = f"{config.ip}:{http.port}"
    public_url = config.public_url or url
    replicator.self_urls = frozenset({url, public_url})
    ec_peers = EcPeers(config.masters, lambda: replicator.self_urls)  # EC shards held elsewhere
    api.ec_read = lambda ec, key, cookie: read_ec_needle(ec, ec_peers, key, cookie)
    api.ec_delete = lambda ec, key, cookie: delete_ec_needle(ec, ec_peers, key, cookie)
    node = NodeIdentity(
        config.ip, http.port, public_url, grpc_port, config.data_center, config.rack, store.disk_type
    )
    heartbeat = Heartbeat(
        store,
        node,
        config.masters,
        pulse_seconds=config.pulse_seconds,
        max_backoff_seconds=config.heartbeat_max_backoff_seconds,
        on_leader=locator.prefer_master,
    )
    servicer.leader_announced = heartbeat.follow_leader
    control = ControlSubscriber(
        config.masters, f"volume {url}", locator=locator, on_leader=locator.prefer_master
    )
    running = RunningVolumeServer(
        http_port=http.port,
        grpc_port=grpc_port,
        url=url,
        store=store,
        heartbeat=heartbeat,
        api=api,
        _http=http,
        _grpc=grpc_server,
        _locator=locator,
        _client=client,
        control=control,
    )
    if config.metrics_port:
        try:
            running.metrics = await start_metrics_server(
                volume_registry(store, heartbeat, http_stats), config.bind_ip, config.metrics_port
            )
        except BaseException:
            await running.stop()
            raise
    running._background = asyncio.create_task(
        _supervise(heartbeat, control, store), name=f"volume-server-{url}"
    )
    log.info("volume server listening url=%s grpc_port=%d dirs=%s", url, grpc_port, ",".join(config.dirs))
    return running


async def _supervise(heartbeat: Heartbeat, control: ControlSubscriber, store: Store) -> None:
    """Owner of the server's background loops; cancelled by stop()."""
    async with asyncio.TaskGroup() as group:
        group.create_task(heartbeat.run(), name="heartbeat")
        group.create_task(control.run(), name="control-events")
        group.create_task(_expire_volumes(store, heartbeat), name="ttl-expiry")


# How often TTL volumes are checked for expiry. TTLs are at least a minute and removal waits
# a grace period beyond the TTL, so a minute's delay in noticing costs nothing.
TTL_CHECK_SECONDS = 60.0


async def _expire_volumes(store: Store, heartbeat: Heartbeat) -> None:
    """Delete TTL volumes whose whole lifetime has passed, and tell the master promptly."""
    while True:
        await asyncio.sleep(TTL_CHECK_SECONDS)
        removed = await asyncio.to_thread(store.remove_expired_volumes)
        if removed:
            log.info("expired ttl volumes removed vids=%s", ",".join(map(str, removed)))
            heartbeat.notify_nowait()
