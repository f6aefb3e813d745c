"""The volume server's HTTP API (SeaweedFS-compatible): GET/HEAD reads, POST/PUT writes,
DELETE, OPTIONS, `/status`, `/healthz`, `/readyz`.

A thin adapter: each handler decodes the URL into a FidPath, makes one store call (inline
for small needles: a pread/pwrite of a few KB costs less than a thread hop; in a worker
thread for large ones and fsync writes), and encodes the reply. Errors are left to the
per-operation tables in `http_errors.py`. Reply building lives in `read_response.py`,
request parsing in `upload.py`, fan-out in `replicate.py`.

Server-side adapter: imports the engine, kelp_http and dataplane.client; no grpc.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import quote

from dataplane.client.chunk_manifest import ChunkManifest, iter_span, read_span
from dataplane.client.errors import ChunkUnavailable, InvalidChunkManifest
from dataplane.client.fetch import delete_fid, fetch_fid
from dataplane.client.lookup import Location, VolumeLocations, VolumeLocator
from dataplane.volume import http_errors
from dataplane.volume.config import VolumeServerConfig
from dataplane.volume.content_types import OCTET_STREAM, detect_content_type
from dataplane.volume.engine.ec.ec_volume import EcVolume
from dataplane.volume.engine.errors import EngineError, InvalidFileId, NeedleNotFound, VolumeNotFound
from dataplane.volume.engine.needle import Needle, checksum
from dataplane.volume.engine.store import Store
from dataplane.volume.engine.types import FileId, NeedleId, VolumeId
from dataplane.volume.errors import ReplicationFailed
from dataplane.volume.fid_path import FidPath, parse_fid_path, split_fid_path
from dataplane.volume.jwt_auth import checker_for, token_of
from dataplane.volume.read_response import (
    Headers,
    body_reply,
    describe,
    has_header,
    http_date,
    needle_response,
    not_modified,
    range_not_satisfiable,
    ranges_exceed,
)
from dataplane.volume.replicate import Replicator
from dataplane.volume.upload import ParsedUpload, parse_bool, parse_upload, upload_params
from kelp_http import HttpClient, RangeNotSatisfiable, Request, Response, error_response, json_response
from kelp_http.ranges import content_range, parse_ranges

log = logging.getLogger(__name__)

# Needles above this size are written and read in a worker thread; below it the pwrite or
# pread is cheaper than the hop.
INLINE_LIMIT = 256 * 1024
# A chunked file larger than this is streamed to the client chunk by chunk instead of assembled.
STREAM_MANIFEST_OVER = 8 << 20
PROXY_TIMEOUT_SECONDS = 60.0
# The owner's headers a proxied read copies, minus these (ours, or hop-by-hop).
_NOT_PROXIED = frozenset(
    {"server", "date", "connection", "keep-alive", "transfer-encoding", "content-length"}
)
_CORS = [("Access-Control-Allow-Origin", "*"), ("Access-Control-Allow-Credentials", "true")]
_OPTIONS = [
    ("Access-Control-Allow-Methods", "PUT, POST, GET, DELETE, OPTIONS"),
    ("Access-Control-Allow-Headers", "*"),
]


class VolumeHttpApi:
    def __init__(
        self,
        store: Store,
        config: VolumeServerConfig,
        *,
        locator: VolumeLocator,
        http: HttpClient,
        replicator: Replicator,
        version: str,
        volumes_changed: Callable[[], None],
        is_ready: Callable[[], bool],
    ) -> None:
        self._store = store
        self._locator = locator
        self._http = http
        self._replicator = replicator
        self._version = version
        self._volumes_changed = volumes_changed
        self._is_ready = is_ready
        self._size_limit = config.file_size_limit_mb * 1024 * 1024
        self._read_mode = config.read_mode
        self._fsync = config.fsync
        self._jwt_write = checker_for(config.jwt_signing_key)
        self._jwt_read = checker_for(config.jwt_read_key)
        self._copy_counts: dict[int, int] = {}
        # EC volumes (issue 6), set by server.py: the read that fetches shards held elsewhere
        # (ec_service.read_ec_needle) and the delete that journals on every holder
        # (ec_service.delete_ec_needle).
        self.ec_read: Callable[[EcVolume, int, int], Needle] = lambda ec, key, cookie: ec.read_needle(
            key, cookie
        )
        self.ec_delete: Callable[[EcVolume, int, int], Awaitable[int]] | None = None
        self._routes: dict[str, Callable[[Request], Response]] = {
            "/status": self._status,
            "/healthz": self._health,
            "/readyz": self._health,
        }

    # -- dispatch ------------------------------------------------------------

    async def handle(self, request: Request) -> Response:
        method = request.method
        try:
            if method == "GET" or method == "HEAD":
                route = self._routes.get(request.path)
                response = route(request) if route is not None else await self._read(request)
            elif method == "POST" or method == "PUT":
                response = await self._write(request)
            elif method == "DELETE":
                response = await self._delete(request)
            elif method == "OPTIONS":
                response = Response(200, list(_OPTIONS))
            else:
                response = error_response(400, f"unsupported method {method}")
        except Exception as exc:
            table = http_errors.READ if method in ("GET", "HEAD") else (
                http_errors.DELETE if method == "DELETE" else http_errors.WRITE
            )
            mapped = http_errors.reply_for(table, exc)
            if mapped is None:
                raise
            log.debug("request failed method=%s path=%s error=%s", method, request.raw_path, exc)
            response = mapped
        if "origin" in request.headers:
            response.headers.extend(_CORS)
        return response

    def volumes_changed(self) -> None:
        """Forget cached per-volume facts (called after admin RPCs change the inventory)."""
        self._copy_counts.clear()

    # -- reads ---------------------------------------------------------------

    async def _read(self, request: Request) -> Response:
        target = parse_fid_path(request.path)
        if self._jwt_read is not None:
            self._jwt_read.check(request, target.jwt_fid)
        vid = VolumeId(target.volume_id)
        if not self._store.has_volume(vid):
            ec = self._store.ec.get(vid)
            if ec is not None:  # an erasure-coded volume held here: read (reconstructing) from shards
                needle = await asyncio.to_thread(self.ec_read, ec, target.key, target.cookie)
                return needle_response(request, needle, target)
            return await self._read_elsewhere(request, target)
        query = request.query
        key = NeedleId(target.key)
        read_deleted = query.get("readDeleted") == "true"
        if self._store.needle_size(vid, key) > INLINE_LIMIT:
            # A big pread and CRC would stall every other request on the loop.
            needle = await asyncio.to_thread(
                self._store.read_needle, vid, key, target.cookie, read_deleted=read_deleted
            )
        else:
            needle = self._store.read_needle(vid, key, target.cookie, read_deleted=read_deleted)
        if needle.is_chunk_manifest and query.get("cm") != "false":
            try:
                manifest = ChunkManifest.parse(needle.data, needle.is_compressed)
            except InvalidChunkManifest:
                log.warning("unreadable chunk manifest served raw vid=%d key=%x", vid, target.key)
            else:
                return await self._read_manifest(request, needle, manifest, target)
        return needle_response(request, needle, target)

    async def _read_elsewhere(self, request: Request, target: FidPath) -> Response:
        """A read for a volume this server does not hold: proxy, redirect or 404 (`-readMode`)."""
        if self._read_mode == "local" or request.query.get("proxied") == "true":
            return Response(404)
        owner = self._other_location(await self._locator.lookup(target.volume_id))
        if owner is None:
            return Response(404)
        if self._read_mode == "redirect":
            collection = request.query.get("collection")
            query = f"collection={quote(collection)}&proxied=true" if collection else "proxied=true"
            url = f"http://{owner.public_url}/{target.vid_text},{target.fid_text}?{query}"
            body = f'<a href="{url}">Moved Permanently</a>.\n\n'.encode()
            return Response(301, [("Location", url), ("Content-Type", "text/html; charset=utf-8")], body)
        qs = request.query_string
        path = f"{request.raw_path}?{qs}&proxied=true" if qs else f"{request.raw_path}?proxied=true"
        forwarded = [(k, v) for k, v in request.headers.items() if k.lower() not in ("host", "connection")]
        reply = await self._http.request(
            request.method, owner.url, path, headers=forwarded, timeout=PROXY_TIMEOUT_SECONDS
        )
        headers = [(k, v) for k, v in reply.headers.items() if k.lower() not in _NOT_PROXIED]
        if request.method == "HEAD" and (length := reply.headers.get("content-length")) is not None:
            headers.append(("Content-Length", length))
        return Response(reply.status, headers, reply.body)

    def _other_location(self, found: VolumeLocations) -> Location | None:
        for loc in found.locations:
            if loc.url not in self._replicator.self_urls:
                return loc
        return None

    async def _read_manifest(
        self, request: Request, needle: Needle, manifest: ChunkManifest, target: FidPath
    ) -> Response:
        """A chunked file: the chunks joined, under the manifest's name and MIME."""
        headers: Headers = []
        if needle.last_modified:
            headers.append(("Last-Modified", http_date(needle.last_modified)))
        etag = needle.etag()
        early = not_modified(request, needle.last_modified, etag, headers)
        if early is not None:
            return early
        headers += [("Etag", f'"{etag}"'), ("X-File-Store", "chunked")]
        for_octets = manifest.mime.startswith(OCTET_STREAM)
        filename = target.filename or manifest.name
        mime = describe(request, headers, "" if for_octets else manifest.mime, filename)
        total = manifest.size
        if request.method == "HEAD":
            headers.append(("Content-Length", str(total)))
            return Response(200, headers)
        spec = request.headers.get("range")
        if spec:
            try:
                ranges = parse_ranges(spec, total)
            except RangeNotSatisfiable as err:
                return range_not_satisfiable(headers, total, err)
            if len(ranges) == 1 and not ranges_exceed(ranges, total):
                # Only the chunks under the one range are fetched.
                start, end = ranges[0]
                span = await read_span(manifest, start, end + 1, self._fetch_chunk)
                headers.append(("Content-Range", content_range(start, end, total)))
                if not mime and span:
                    headers.append(("Content-Type", detect_content_type(span)))
                return Response(206, headers, span)
        if total > STREAM_MANIFEST_OVER and not spec and not manifest.overlapping:
            # Served as the chunks arrive, a few fetched ahead: a large file never sits in memory.
            pieces = iter_span(manifest, 0, total, self._fetch_chunk)
            first = await anext(pieces, b"")  # a failure here is still a clean 500
            if first and not has_header(headers, "Content-Type"):
                headers.append(("Content-Type", detect_content_type(first)))
            headers.append(("Content-Length", str(total)))
            return Response(200, headers, stream=_prepend(first, pieces))
        data = await read_span(manifest, 0, total, self._fetch_chunk)
        return body_reply(request, headers, data, mime)

    async def _fetch_chunk(self, fid_text: str) -> bytes:
        try:
            fid = FileId.parse(fid_text)
        except InvalidFileId as err:
            raise ChunkUnavailable(fid_text, str(err)) from err
        if self._store.has_volume(fid.volume_id):
            try:
                chunk = await asyncio.to_thread(self._store.read_needle, fid.volume_id, fid.key, fid.cookie)
                return _plain_data(chunk)
            except (EngineError, OSError, EOFError, zlib.error) as err:
                # A missing chunk fails the whole file (500), it does not make the file "not found".
                raise ChunkUnavailable(fid_text, str(err)) from err
        return await fetch_fid(self._http, self._locator, fid_text)

    # -- writes --------------------------------------------------------------

    async def _write(self, request: Request) -> Response:
        target = parse_fid_path(request.path)
        if self._jwt_write is not None:
            self._jwt_write.check(request, target.jwt_fid)
        params = upload_params(request)
        replicate = params.get("type") == "replicate"
        upload = parse_upload(request, params, size_limit=self._size_limit, replicate=replicate)
        needle = Needle.for_upload(
            target.cookie,
            target.key,
            upload.data,
            name=upload.name.encode("utf-8", "surrogateescape"),
            mime=upload.mime.encode("utf-8", "surrogateescape"),
            last_modified=upload.last_modified or int(time.time()),
            ttl=upload.ttl,
            pairs=upload.pairs_json,
            compressed=upload.compressed,
            chunk_manifest=upload.chunk_manifest,
        )
        fsync = self._fsync or parse_bool(params.get("fsync"))
        vid = VolumeId(target.volume_id)
        store = self._store
        local = store.has_volume(vid)
        peers: tuple[Location, ...] = ()
        if not replicate:
            copies = self._copy_count(vid) if local else 0
            if not local or copies > 1:
                peers = await self._replicator.peers(vid, copies)
        unchanged = False
        if local:
            if fsync or len(upload.data) > INLINE_LIMIT:
                result = await asyncio.to_thread(store.write_needle, vid, needle, fsync=fsync)
            else:
                result = store.write_needle(vid, needle)
            etag, unchanged = f"{result.checksum:08x}", result.unchanged
        elif peers:
            etag = f"{checksum(upload.data):08x}"
        else:
            raise VolumeNotFound(vid)
        if peers:
            try:
                await self._replicator.write(
                    vid, peers, request.raw_path, upload, needle.last_modified,
                    jwt=token_of(request), fsync=fsync,
                )
            except ReplicationFailed as err:
                if local:
                    await self._fence(vid, err)
                raise
        if unchanged:
            return Response(204, [("Etag", f'"{etag}"')])
        return self._upload_reply(request, upload, etag)

    def _upload_reply(self, request: Request, upload: ParsedUpload, etag: str) -> Response:
        reply: dict[str, Any] = {}
        if upload.name:
            reply["name"] = upload.name
        if upload.original_size:
            reply["size"] = upload.original_size
        reply["eTag"] = etag
        if upload.mime:
            reply["mime"] = upload.mime
        if upload.md5_sent:
            reply["contentMd5"] = upload.content_md5
        headers = [("Etag", f'"{etag}"'), ("Content-Md5", upload.content_md5)]
        pretty = bool(request.query_string) and bool(request.query.get("pretty"))
        return json_response(reply, 201, headers, pretty=pretty)

    def _copy_count(self, vid: VolumeId) -> int:
        count = self._copy_counts.get(vid)
        if count is None:
            count = self._store.volume_info(vid).replica_placement.copy_count
            self._copy_counts[vid] = count
        return count

    async def _fence(self, vid: VolumeId, err: ReplicationFailed) -> None:
        """A replica missed a write: stop taking writes here so the master assigns elsewhere."""
        log.warning("replication failed, marking volume read-only vid=%d failures=%s", vid, err.failures)
        try:
            await asyncio.to_thread(self._store.mark_read_only, vid, True)
        except VolumeNotFound:
            return
        self._volumes_changed()

    # -- deletes -------------------------------------------------------------

    async def _delete(self, request: Request) -> Response:
        if not split_fid_path(request.path)[0].isdigit():
            # weed answers a volume id that is no number as an unknown volume, not a bad fid.
            return json_response({"size": 0}, 404)
        target = parse_fid_path(request.path)
        if self._jwt_write is not None:
            self._jwt_write.check(request, target.jwt_fid)
        query = request.query
        ts = query.get("ts", "")
        held = self._store.has_volume(VolumeId(target.volume_id))
        ec = None if held else self._store.ec.get(target.volume_id)
        if ec is not None and self.ec_delete is not None:  # an erasure-coded volume held here
            return json_response({"size": await self.ec_delete(ec, target.key, target.cookie)}, 202)
        size = await self._delete_needle(
            VolumeId(target.volume_id),
            NeedleId(target.key),
            target.cookie,
            path=request.raw_path,
            jwt=token_of(request),
            replicate=query.get("type") == "replicate",
            last_modified=int(ts) if ts.isdigit() else int(time.time()),
        )
        return json_response({"size": size}, 202)

    async def _delete_needle(
        self,
        vid: VolumeId,
        key: NeedleId,
        cookie: int,
        *,
        path: str,
        jwt: str,
        replicate: bool,
        last_modified: int,
    ) -> int:
        """Delete here and on the other replicas; returns the reply's size (the Size field, or
        a chunked file's total size)."""
        store = self._store
        needle = store.read_needle(vid, key, cookie)
        size = needle.size
        if needle.is_chunk_manifest:
            manifest = ChunkManifest.parse(needle.data, needle.is_compressed)
            if not replicate:
                # Chunks go first: a manifest left pointing at deleted chunks is worse than the reverse.
                for chunk in manifest.chunks:
                    await self._delete_chunk(chunk.fid, jwt, last_modified)
            size = manifest.size
        peers: tuple[Location, ...] = ()
        if not replicate and (copies := self._copy_count(vid)) > 1:
            peers = await self._replicator.peers(vid, copies)
        store.delete_needle(vid, key, cookie, last_modified=last_modified)
        if peers:
            try:
                await self._replicator.delete(vid, peers, path, jwt=jwt)
            except ReplicationFailed as err:
                await self._fence(vid, err)
                raise
        return size

    async def _delete_chunk(self, fid_text: str, jwt: str, last_modified: int) -> None:
        try:
            fid = FileId.parse(fid_text)
        except InvalidFileId as err:
            raise ChunkUnavailable(fid_text, str(err)) from err
        if not self._store.has_volume(fid.volume_id):
            await delete_fid(self._http, self._locator, fid_text, jwt=jwt)
            return
        try:
            await self._delete_needle(
                fid.volume_id, fid.key, fid.cookie, path=f"/{fid_text}", jwt=jwt, replicate=False,
                last_modified=last_modified,
            )
        except NeedleNotFound:
            return  # already gone: the goal of a delete

    # -- status --------------------------------------------------------------

    def _status(self, request: Request) -> Response:
        stats = self._store.statistics()
        disks = [
            {
                "dir": d.dir,
                "all": d.all,
                "used": d.used,
                "free": d.free,
                "percent_free": round(d.free * 100 / d.all, 5) if d.all else 0,
                "percent_used": round(d.used * 100 / d.all, 5) if d.all else 0,
            }
            for d in stats.disks
        ]
        volumes = [volume_info_json(v) for v in sorted(stats.volumes, key=lambda v: v.id)]
        body = {"DiskStatuses": disks, "Version": self._version, "Volumes": volumes}
        return json_response(body, pretty=bool(request.query_string) and bool(request.query.get("pretty")))

    def _health(self, request: Request) -> Response:
        return Response(200) if self._is_ready() else Response(503)


def volume_info_json(v: Any) -> dict[str, Any]:
    """A VolumeStatistics as SeaweedFS's VolumeInfo JSON (§3.6 of the reference)."""
    rp = v.replica_placement
    placement = {
        k: n for k, n in (("node", rp.same_rack), ("rack", rp.diff_rack), ("dc", rp.diff_data_center)) if n
    }
    return {
        "Collection": v.collection,
        "DiskType": v.disk_type,
        "RemoteStorageName": "",
        "ReplicaPlacement": placement,
        "Ttl": {"Count": v.ttl.count, "Unit": v.ttl.unit},
        # The volume server reports content bytes: the .dat without its 8-byte superblock.
        "Size": v.content_size,
        "DeletedByteCount": v.deleted_byte_count,
        "ModifiedAtSecond": v.modified_at_second,
        "Id": v.id,
        "DiskId": 0,
        "CompactRevision": v.compact_revision,
        "FileCount": v.file_count,
        "DeleteCount": v.delete_count,
        "Version": v.version,
        "ReadOnly": v.read_only,
        "ReadOnlyCanDelete": False,
    }


def _plain_data(needle: Needle) -> bytes:
    if needle.is_compressed:
        return gzip.decompress(needle.data)
    return needle.data



async def _prepend(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield first
    async for piece in rest:
        yield piece
