"""The filer process's entry point: `serve(config)` opens the store, builds FilerCore and listens.

It wires: the store (filer.toml's choice, opened and migrated in a worker thread), the volume
tier (`HttpVolumeIO`: /dir/assign on any master, which forwards to the leader; volume lookups over
kelp.v1.Master/Lookup through dataplane.client's VolumeLocator; chunk POST/GET/DELETE on volume
servers), the HTTP API (kelp_http), a grpc.aio server on which grpc_api.register_grpc(server,
core) puts filer_pb.SeaweedFiler when that module is present, and background jobs in one
TaskGroup: the chunk collector (gc.py), change-log retention, the pending-upload sweep
(uploads.py: also run once at start, so a restarted filer frees what a killed one had stored for
uncommitted requests), and the master link
(master_link.py: a KeepConnected stream that lists this filer in the masters' ListClusterNodes).
`serve()` returns a `RunningFiler` once both listeners are bound.

`GET /healthz` answers 200 as SeaweedFS's filer does (the readiness probe); every other path is
the namespace.

Must not import ops or dataplane server code.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import gzip
import importlib
import json
import logging
import time
import zlib
from typing import Any
from urllib.parse import quote, urlencode

import grpc
import grpc.aio

from controlplane.filer.chunks import DEFAULT_CHUNK_MB, Assignment, AssignSpec, VolumeLocation
from controlplane.filer.core import FilerCore
from controlplane.filer.errors import ChunkReadFailed, ChunkWriteFailed
from controlplane.filer.fid_pool import FidPool
from controlplane.filer.gc import ChunkCollector
from controlplane.filer.http_api import FilerHttpApi, HttpSettings
from controlplane.filer.jwt_auth import FilerGuard
from controlplane.filer.master_link import FilerIdentity, MasterLink
from controlplane.filer.path_rules import RulesReloader
from controlplane.filer.store import FilerStore, StoreConfig, open_store
from controlplane.filer.uploads import UploadJournal
from controlplane.filer.usage import MasterUsage
from dataplane.client.addresses import GRPC_CHANNEL_OPTIONS, GRPC_PORT_OFFSET, ServerAddress
from dataplane.client.errors import ClientError, VolumeNotFound
from dataplane.client.fetch import delete_fid, volume_id_of
from dataplane.client.lookup import VolumeLocator
from dataplane.volume.engine.types import Ttl
from kelp_http import HttpClient, HttpClientError, HttpServer, Request, Response, start_server

log = logging.getLogger(__name__)

GRPC_SERVER_OPTIONS: tuple[tuple[str, int], ...] = (
    *GRPC_CHANNEL_OPTIONS,
    # Mounts and meta.backup keep SubscribeMetadata streams open for days and ping every 60 s;
    # without these grpcio answers their pings with GOAWAY ("too_many_pings").
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_recv_ping_interval_without_data_ms", 5_000),
    ("grpc.http2.max_ping_strikes", 0),
)
GRPC_STOP_GRACE_SECONDS = 1.0
# An assign answered 503 (volumes growing, a leader being elected) is asked again until this
# deadline: SeaweedFS's master itself blocks up to 10 s while growing.
ASSIGN_DEADLINE_SECONDS = 15.0
ASSIGN_RETRY_SECONDS = 0.2
VOLUME_REQUEST_SECONDS = 60.0  # one chunk POST/GET: a 4 MiB chunk on a loaded 2-core box
RETENTION_EVERY_SECONDS = 60.0  # how often the change log is trimmed to its retention
# Raw bodies longer than this reach the API while they arrive (cut into chunks as they come);
# shorter ones are buffered whole, which is faster for small files.
STREAM_BODY_OVER = 4 << 20
MAX_BUFFERED_BODY = 1 << 30  # multipart uploads are parsed whole: this bounds one in memory
SERVER_HEADER = "kelp Filer"
_ACCEPT_GZIP = [("Accept-Encoding", "gzip")]  # gzip chunks come as stored; decompressed here


@dataclasses.dataclass(frozen=True, slots=True)
class FilerConfig:
    """Everything `kelp filer` (or `kelp server -filer`) decides; weed filer flag names in comments."""

    masters: tuple[str, ...] = ("localhost:9333",)  # -master
    store: StoreConfig = dataclasses.field(default_factory=StoreConfig)  # filer.toml or -defaultStoreDir
    change_retention_seconds: float | None = 7 * 86400.0  # filer.toml [changelog]; None: forever
    ip: str = "127.0.0.1"  # -ip: advertised address
    bind_ip: str = ""  # -ip.bind: empty means ip
    port: int = 8888  # -port
    grpc_port: int = 0  # -port.grpc: 0 means port + 10000
    max_mb: int = DEFAULT_CHUNK_MB  # -maxMB
    collection: str = ""  # -collection
    replication: str = ""  # -defaultReplicaPlacement
    disk_type: str = ""  # -disk
    data_center: str = ""  # -dataCenter
    rack: str = ""  # -rack
    dir_list_limit: int = 100_000  # -dirListLimit
    disable_dir_listing: bool = False  # -disableDirListing
    expose_directory_data: bool = True  # -exposeDirectoryData
    collect_chunks: bool = True  # run the chunk collector (kelp; off only in tests)
    register_with_master: bool = True  # hold a KeepConnected stream so `weed shell` finds this filer
    jwt_signing_key: str = ""  # security.toml [jwt.filer_signing] key: writes need a token
    jwt_read_key: str = ""  # security.toml [jwt.filer_signing.read] key: reads need a token


class HttpVolumeIO:
    """chunks.VolumeIO over HTTP: masters' /dir/assign, volume servers' POST/GET/DELETE."""

    def __init__(self, masters: tuple[str, ...], http: HttpClient, locator: VolumeLocator) -> None:
        self._masters = [ServerAddress.parse(m).http for m in masters]
        self._http = http
        self._locator = locator
        self._preferred = 0
        self._spares = FidPool(self._assign)  # single fids come from count>1 assigns (fid_pool.py)

    async def assign(self, spec: AssignSpec, count: int = 1) -> Assignment:
        return await (self._spares.take(spec) if count == 1 else self._assign(spec, count))

    async def _assign(self, spec: AssignSpec, count: int) -> Assignment:
        params = {
            "count": str(count), "collection": spec.collection, "replication": spec.replication,
            "ttl": str(Ttl.from_seconds(spec.ttl_sec)) if spec.ttl_sec else "", "disk": spec.disk_type,
            "dataCenter": spec.data_center, "rack": spec.rack, "dataNode": spec.data_node,
            "writableVolumeCount": str(spec.volume_growth_count or ""),
        }
        target = "/dir/assign?" + urlencode({k: v for k, v in params.items() if v})
        deadline = time.monotonic() + ASSIGN_DEADLINE_SECONDS
        reason = "no master answered"
        while True:
            for step in range(len(self._masters)):
                index = (self._preferred + step) % len(self._masters)
                try:
                    reply = await self._http.request("GET", self._masters[index], target, timeout=10.0)
                except HttpClientError as err:
                    reason = f"{self._masters[index]}: {err}"
                    continue
                self._preferred = index
                doc = _json(reply.body)
                if reply.status == 200 and doc.get("fid"):
                    auth = (reply.headers.get("authorization") or "").removeprefix("Bearer ").strip()
                    return Assignment(
                        fid=str(doc["fid"]), url=str(doc["url"]), public_url=str(doc.get("publicUrl") or ""),
                        count=int(str(doc.get("count") or 1)), auth=auth,
                        grpc_port=int(str(doc.get("grpcPort") or 0)),
                        collection=spec.collection, replication=spec.replication,
                    )
                reason = f"assign: {reply.status} {doc.get('error') or reply.body[:200]!r}"
                if reply.status != 503:
                    raise ChunkWriteFailed("", reason)
                break  # 503: growth or an election under way; ask again shortly
            if time.monotonic() > deadline:
                raise ChunkWriteFailed("", reason)
            await asyncio.sleep(ASSIGN_RETRY_SECONDS)

    async def upload(
        self, assignment: Assignment, data: bytes, *, name: str, gzipped: bool, md5: bytes
    ) -> None:
        headers = [
            ("Content-Type", "application/octet-stream"),
            ("Content-Disposition", f"inline; filename=\"{quote(name)}\""),
            ("Content-MD5", _b64(md5)),
        ]
        if gzipped:
            headers.append(("Content-Encoding", "gzip"))
        if assignment.auth:
            headers.append(("Authorization", f"Bearer {assignment.auth}"))
        try:
            reply = await self._http.request("POST", assignment.url, f"/{assignment.fid}", headers=headers,
                                             body=data, timeout=VOLUME_REQUEST_SECONDS)
        except HttpClientError as err:
            self._spares.forget(assignment.url)
            raise ChunkWriteFailed("", f"upload {assignment.fid} to {assignment.url}: {err}") from err
        if reply.status not in (201, 204):
            self._spares.forget(assignment.url)
            error = _json(reply.body).get("error") or reply.body[:200]
            raise ChunkWriteFailed("", f"upload {assignment.fid} to {assignment.url}: {reply.status} {error}")

    async def fetch(self, fid: str) -> bytes:
        pieces = await self.fetch_pieces(fid)
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    async def fetch_pieces(self, fid: str) -> list[bytes]:
        """The needle's plain bytes as the socket delivered them (chunks.iter_range streams them
        on without joining a large chunk into one string first)."""
        try:
            found = await self._locator.lookup(volume_id_of(fid))
        except ClientError as err:
            raise ChunkReadFailed(fid, str(err)) from err
        reasons: list[str] = []
        missing = 0
        for loc in found.locations:
            try:
                reply = await self._http.request("GET", loc.url, f"/{fid}", headers=_ACCEPT_GZIP,
                                                 timeout=VOLUME_REQUEST_SECONDS)
            except HttpClientError as err:
                reasons.append(f"{loc.url}: {err}")
                continue
            if reply.status == 200:
                if (reply.headers.get("content-encoding") or "") == "gzip":
                    try:
                        return [gzip.decompress(reply.body)]
                    except (OSError, EOFError, zlib.error) as err:
                        raise ChunkReadFailed(fid, f"bad gzip data from {loc.url}: {err}") from err
                return reply.pieces
            missing += reply.status == 404
            reasons.append(f"{loc.url}: status {reply.status}")
        all_missing = bool(found.locations) and missing == len(found.locations)
        raise ChunkReadFailed(fid, "; ".join(reasons) or "no locations", missing=all_missing)

    async def delete(self, fid: str) -> None:
        await delete_fid(self._http, self._locator, fid)

    async def locations(self, volume_id: int) -> list[VolumeLocation]:
        try:
            found = await self._locator.lookup(volume_id)
        except VolumeNotFound:
            return []
        return [VolumeLocation(loc.url, loc.public_url, loc.grpc_port, loc.data_center)
                for loc in found.locations]


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _json(body: bytes) -> dict[str, object]:
    try:
        doc = json.loads(body or b"{}")
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


@dataclasses.dataclass(eq=False)
class RunningFiler:
    """A filer that listens; `stop()` ends its jobs, closes its listeners and the store."""

    http_port: int
    grpc_port: int
    core: FilerCore
    store: FilerStore
    collector: ChunkCollector
    _http: HttpServer
    _grpc: grpc.aio.Server
    _client: HttpClient
    _locator: VolumeLocator
    _jobs: asyncio.Task[None]
    _stopped: bool = False

    async def wait(self) -> None:
        """Return when the background jobs end by `stop()`; raise if one of them failed."""
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(self._jobs)

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._jobs.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._jobs
        await self._grpc.stop(GRPC_STOP_GRACE_SECONDS)
        await self._http.close()
        await self._client.close()
        await self._locator.close()
        await asyncio.to_thread(self.store.close)


def _register_grpc(server: grpc.aio.Server, core: FilerCore, config: FilerConfig, usage: MasterUsage) -> Any:
    """filer_pb.SeaweedFiler from grpc_api.py (built alongside this module): its servicer, whose
    `run()` joins the filer's jobs; None while that module is not there."""
    name = "controlplane.filer.grpc_api"
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as err:
        if err.name != name:
            raise
        log.warning("filer gRPC API not available: %s is missing", name)
        return None
    settings = module.FilerGrpcSettings(masters=config.masters, replication=config.replication,
                                        collection=config.collection, max_mb=config.max_mb)
    return module.register_grpc(server, core, settings=settings, usage=usage)


async def _retention(store: FilerStore, keep_seconds: float) -> None:
    while True:
        cutoff = time.time_ns() - int(keep_seconds * 1e9)
        try:
            trimmed = await asyncio.to_thread(store.trim_changes, cutoff)
        except Exception as err:  # a store hiccup: retention is retried on the next round
            log.warning("change log trim failed error=%s", err)
        else:
            if trimmed:
                log.info("change log trimmed rows=%d", trimmed)
        await asyncio.sleep(RETENTION_EVERY_SECONDS)


async def serve(config: FilerConfig) -> RunningFiler:
    store = await asyncio.to_thread(open_store, config.store)
    client = HttpClient()
    locator = VolumeLocator(config.masters)
    volumes = HttpVolumeIO(config.masters, client, locator)
    collector = ChunkCollector(store, volumes)
    # Pending uploads are owned by this process at its advertised address: a restart at the same
    # address reclaims what its previous life left at once (uploads.py), before taking requests.
    uploads = UploadJournal(store, address=f"{config.ip}:{config.port}" if config.port else "")
    core = FilerCore(store, volumes, on_chunks_queued=collector.wake, uploads=uploads)
    try:
        await uploads.reclaim()
    except Exception as err:  # the sweep job tries again; a filer still serves without it
        log.warning("pending upload sweep at start failed error=%s", err)
    settings = HttpSettings(
        max_mb=config.max_mb,
        dir_list_limit=config.dir_list_limit,
        disable_dir_listing=config.disable_dir_listing,
        expose_directory_data=config.expose_directory_data,
        defaults=AssignSpec(collection=config.collection, replication=config.replication,
                            disk_type=config.disk_type, data_center=config.data_center, rack=config.rack),
        guard=FilerGuard(write_key=config.jwt_signing_key, read_key=config.jwt_read_key),
    )
    api = FilerHttpApi(core, volumes, settings)
    rules = RulesReloader(core, volumes).attach()  # filer.conf: loaded at once, then kept current
    try:
        await rules.reload()
    except Exception as err:  # run() retries; the filer serves with no rules meanwhile
        log.warning("filer.conf not loaded at start error=%s", err)
    usage = MasterUsage(config.masters)  # Statistics (a mount's df): the masters' VolumeList, cached

    async def handle(req: Request) -> Response:
        if req.path == "/healthz" and req.method in ("GET", "HEAD"):
            return Response(200)
        return await api.handle(req)

    bind = config.bind_ip or config.ip
    http: HttpServer | None = None
    grpc_server: grpc.aio.Server | None = None
    try:
        http = await start_server(handle, bind, config.port, max_body=MAX_BUFFERED_BODY,
                                  stream_body_over=STREAM_BODY_OVER, server_header=SERVER_HEADER)
        grpc_server = grpc.aio.server(options=GRPC_SERVER_OPTIONS)
        servicer = _register_grpc(grpc_server, core, config, usage)
        if servicer is not None:
            core.commit_listeners.append(servicer.notifier.committed)
        wanted = config.grpc_port or (http.port + GRPC_PORT_OFFSET if config.port else 0)
        grpc_port = grpc_server.add_insecure_port(f"{bind}:{wanted}")
        if grpc_port == 0:
            raise OSError(f"cannot listen for gRPC on {bind}:{wanted}")
        await grpc_server.start()
    except BaseException:
        if grpc_server is not None:
            await grpc_server.stop(None)
        if http is not None:
            await http.close()
        await client.close()
        await locator.close()
        await asyncio.to_thread(store.close)
        raise

    async def jobs() -> None:
        try:
            await _jobs()
        finally:
            await usage.close()

    async def _jobs() -> None:
        async with asyncio.TaskGroup() as group:
            if config.collect_chunks:
                group.create_task(collector.run())
            if config.change_retention_seconds:
                group.create_task(_retention(store, config.change_retention_seconds))
            if servicer is not None:
                group.create_task(servicer.run())
            group.create_task(uploads.run(on_reclaimed=collector.wake))
            group.create_task(rules.run())
            if config.register_with_master:
                identity = FilerIdentity(f"{config.ip}:{http.port}.{grpc_port}",
                                         data_center=config.data_center, rack=config.rack)
                group.create_task(MasterLink(config.masters, identity).run())

    running = RunningFiler(http.port, grpc_port, core, store, collector, http, grpc_server, client, locator,
                           asyncio.ensure_future(jobs()))
    log.info("filer ready http_port=%d grpc_port=%d store=%s masters=%s signature=%d", http.port, grpc_port,
             config.store.target(), ",".join(config.masters), core.signature)
    return running

