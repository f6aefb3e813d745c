"""The master's SeaweedFS-compatible HTTP API (`/dir/assign`, `/dir/lookup`, `/vol/*`, `/col/delete`,
`/submit`, `/cluster/*`, `/{fid}` redirects), as one kelp_http handler over `MasterCore`.

Each route decodes parameters (query or urlencoded form, as Go's `FormValue`), makes one core call and
encodes SeaweedFS's JSON. Core errors become statuses in one table, `_ERROR_STATUS`. A follower
reverse-proxies the leader-only routes to the leader's HTTP listener, so clients never see a redirect.

Must not import grpc, pysyncobj or the core's internals (state, raft, placement); only `core`.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import random
import zlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from controlplane.master.core import (
    AssignRequest,
    CollectionNotFound,
    InvalidCount,
    InvalidReplication,
    InvalidTtl,
    Location,
    MasterCore,
    MasterError,
    NoFreeVolumes,
    NotEnoughFreeVolumes,
    NotLeader,
    NoWritableVolume,
    PlacementImpossible,
    VolumeNotFound,
    VolumeServerFailed,
    WarmingUp,
)
from kelp_http import HttpClient, HttpClientError, MultipartError, Request, Response, json_response
from kelp_http.multipart import Part, encode_multipart, parse_multipart

log = logging.getLogger(__name__)

_NOSNIFF = ("X-Content-Type-Options", "nosniff")  # SeaweedFS sends it with every JSON reply
_RETRY_AFTER = (("Retry-After", "1"),)

# The one error table: core error -> HTTP status, extra headers. The most specific class wins.
_ERROR_STATUS: dict[type[Exception], tuple[int, tuple[tuple[str, str], ...]]] = {
    InvalidReplication: (406, ()),
    InvalidTtl: (406, ()),
    InvalidCount: (406, ()),
    NoFreeVolumes: (406, ()),
    NotEnoughFreeVolumes: (406, ()),
    PlacementImpossible: (406, ()),
    NoWritableVolume: (503, _RETRY_AFTER),
    WarmingUp: (503, _RETRY_AFTER),
    NotLeader: (503, _RETRY_AFTER),  # only when no leader is known; otherwise the request is proxied
    VolumeNotFound: (404, ()),
    CollectionNotFound: (400, ()),
    VolumeServerFailed: (500, ()),
}
_CORE_ERRORS = (MasterError, InvalidReplication, InvalidTtl)
# `/vol/grow` answers 406 for every failure to grow, a volume server's refusal included.
_GROW_STATUS: dict[type[Exception], int] = {VolumeServerFailed: 406, NoWritableVolume: 406}

# Hop-by-hop headers (RFC 9110 7.6.1) and the ones the proxy or kelp_http recomputes.
_HOP_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "date",
        "server",
    }
)
# A proxied leader call or a /submit upload to a volume server: long enough for a 256 MiB body on a
# slow disk, short enough that a dead peer does not hold a client forever.
_UPSTREAM_TIMEOUT_SECONDS = 60.0
# While proxying a retryable request, how often the follower looks for a new leader.
_LEADER_WATCH_SECONDS = 0.05
_PROXIED_HEADER = "X-Kelp-Proxied"  # set on requests a follower forwards to the leader
_DEFAULT_GARBAGE_THRESHOLD = 0.3  # SeaweedFS's -garbageThreshold default
_TRUE_WORDS = frozenset({"1", "t", "T", "true", "TRUE", "True"})  # Go's strconv.ParseBool
_HTML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;"})

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class _Route:
    handler: Handler
    leader_only: bool = False  # a follower proxies it to the leader
    # Safe to send again: if the leader changes while a follower waits on the old one (paused or cut
    # off, so the request hangs), the follower drops that request and asks the new leader. An assign
    # is (an unanswered one only leaves a gap in the keys); growth and deletes are not.
    retry_on_new_leader: bool = False
    methods: frozenset[str] | None = None  # None: any method, as SeaweedFS's routes
    statuses: Mapping[type[Exception], int] = field(default_factory=dict)  # overrides of _ERROR_STATUS


def _json(
    obj: object, form: Mapping[str, str], status: int = 200, headers: tuple[tuple[str, str], ...] = ()
) -> Response:
    return json_response(obj, status, (_NOSNIFF, *headers), pretty=bool(form.get("pretty")))


def _uint(text: str | None, default: int) -> int:
    """A decimal unsigned integer, or `default` for anything else (Go's ParseUint-or-default idiom)."""
    if text and text.isascii() and text.isdigit():
        return int(text)
    return default


def assign_request(form: Mapping[str, str]) -> AssignRequest:
    """The placement parameters shared by `/dir/assign`, `/vol/grow` and `/submit`."""
    get = form.get
    return AssignRequest(
        count=_uint(get("count"), 1) or 1,
        collection=get("collection", ""),
        replication=get("replication", ""),
        ttl=get("ttl", ""),
        disk=get("disk", ""),
        data_center=get("dataCenter", ""),
        rack=get("rack", ""),
        data_node=get("dataNode", ""),
        writable_volume_count=_uint(get("writableVolumeCount"), 0),
        preallocate=_uint(get("preallocate"), 0),
    )


def _http_hostport(address: str) -> str:
    """`host:port` from a master address that may carry SeaweedFS's `.grpcPort` suffix."""
    host, _, port = address.rpartition(":")
    return f"{host}:{port.partition('.')[0]}"


class MasterHttpApi:
    """`handle` is the kelp_http handler. `client` serves proxying and `/submit` uploads; its owner
    (serve()) closes it."""

    def __init__(self, core: MasterCore, client: HttpClient, *, rng: random.Random | None = None) -> None:
        self._core = core
        self._client = client
        self._rng = rng or random.Random()
        cluster = frozenset({"GET", "HEAD"})
        self._routes: dict[str, _Route] = {
            "/dir/assign": _Route(self._assign, leader_only=True, retry_on_new_leader=True),
            "/dir/lookup": _Route(self._lookup),
            "/dir/status": _Route(self._dir_status, leader_only=True, retry_on_new_leader=True),
            "/vol/grow": _Route(self._grow, leader_only=True, statuses=_GROW_STATUS),
            "/vol/status": _Route(self._vol_status, leader_only=True, retry_on_new_leader=True),
            "/vol/vacuum": _Route(self._vacuum, leader_only=True),
            "/col/delete": _Route(self._delete_collection, leader_only=True),
            "/collection/info": _Route(self._collection_info),
            # The upload is local in SeaweedFS and only the assign goes to the leader; proxying the
            # whole request gives the client the same answer with one code path.
            "/submit": _Route(self._submit, leader_only=True),
            "/cluster/status": _Route(self._cluster_status, methods=cluster),
            "/cluster/healthz": _Route(self._cluster_healthz, methods=cluster),
            "/healthz": _Route(self._ok),
            "/readyz": _Route(self._ok),
        }

    async def handle(self, req: Request) -> Response:
        route = self._routes.get(req.path)
        if route is None:
            if req.path.count("/") == 1 and len(req.path) > 1:
                return self._redirect(req)
            return json_response({"error": "404 page not found"}, 404, (_NOSNIFF,))
        if route.methods is not None and req.method not in route.methods:
            return Response(405)
        return await self._dispatch(req, route, route.retry_on_new_leader)

    async def _dispatch(self, req: Request, route: _Route, retry: bool) -> Response:
        # A request that a follower already forwarded is never forwarded again: two masters that
        # each think the other leads (mid-election) answer 503 instead of bouncing it forever.
        may_proxy = route.leader_only and _PROXIED_HEADER not in req.headers
        try:
            if may_proxy and not self._core.is_leader():
                leader = self._core.leader()
                if leader is not None:
                    return await self._proxy(req, route, leader, retry)
            return await route.handler(req)
        except NotLeader as err:
            # Leadership moved during the call. A leader that refused its own commit (timeout) may
            # still name itself: never proxy to ourselves.
            if may_proxy and err.leader is not None and not self._core.is_leader():
                return await self._proxy(req, route, err.leader, retry)
            return self._error_response(err, req, route.statuses)
        except _CORE_ERRORS as err:
            return self._error_response(err, req, route.statuses)

    @staticmethod
    def _error_response(err: Exception, req: Request, statuses: Mapping[type[Exception], int]) -> Response:
        headers: tuple[tuple[str, str], ...] = ()
        for cls in type(err).__mro__:
            if cls in statuses:
                status = statuses[cls]
                break
            if cls in _ERROR_STATUS:
                status, headers = _ERROR_STATUS[cls]
                break
        else:  # a MasterError subclass missing from the table: still an answer, not a dead request
            status = 500
        if status == 500:
            log.warning("request failed path=%s status=%d error=%s", req.path, status, err)
        return _json({"error": str(err)}, req.query, status, headers)

    # -- leader-only routes ----------------------------------------------------------------------

    async def _assign(self, req: Request) -> Response:
        form = req.form()
        result = await self._core.assign(assign_request(form))
        body = {"fid": result.fid, "url": result.url, "publicUrl": result.public_url, "count": result.count}
        if result.auth:
            return _json(body, form, headers=(("Authorization", "Bearer " + result.auth),))
        return _json(body, form)

    async def _grow(self, req: Request) -> Response:
        form = req.form()
        count_text = form.get("count", "")
        try:
            count = int(count_text)
        except ValueError:
            raise InvalidCount(count_text) from None
        created = await self._core.grow(assign_request(form), count)
        return _json({"count": created}, form)

    async def _dir_status(self, req: Request) -> Response:
        return _json(self._core.dir_status(), req.form())

    async def _vol_status(self, req: Request) -> Response:
        return _json(self._core.vol_status(), req.form())

    async def _vacuum(self, req: Request) -> Response:
        form = req.form()
        text = form.get("garbageThreshold", "")
        threshold = _DEFAULT_GARBAGE_THRESHOLD
        if text:
            try:
                threshold = float(text)
            except ValueError:
                return _json({"error": f"garbageThreshold {text} is not a valid float number"}, form, 406)
        await self._core.vacuum(threshold)
        return _json(self._core.dir_status(), form)

    async def _delete_collection(self, req: Request) -> Response:
        await self._core.delete_collection(req.form().get("collection", ""))
        return Response(204)

    async def _submit(self, req: Request) -> Response:
        if req.method != "POST":
            return _json({"error": "Only submit via POST!"}, req.query, 405)
        form = req.form()
        try:
            upload = _Upload.from_request(req, form)
        except MultipartError as err:
            return _json({"error": str(err)}, form, 400)
        try:
            result = await self._core.assign(assign_request(form))
        except NotLeader:
            raise
        except _CORE_ERRORS as err:  # SeaweedFS answers any assign failure here with 500
            return _json({"error": str(err)}, form, 500)
        body, content_type = encode_multipart([upload.part()])
        headers = [("Content-Type", content_type), *upload.pairs]
        if result.auth:
            headers.append(("Authorization", "Bearer " + result.auth))
        target = "/" + result.fid + (f"?ts={upload.ts}" if upload.ts else "")
        try:
            reply = await self._client.request(
                "POST", result.url, target, headers=headers, body=body, timeout=_UPSTREAM_TIMEOUT_SECONDS
            )
        except HttpClientError as err:
            return _json({"error": f"upload to {result.url}{target}: {err}"}, form, 500)
        etag = _upload_etag(reply.status, reply.body, reply.headers.get("etag"))
        if reply.status >= 300 or etag is None:
            detail = reply.body.decode("utf-8", "replace")[:200]
            return _json({"error": f"upload to {result.url}{target}: {reply.status} {detail}"}, form, 500)
        return _json(
            {
                "eTag": etag,
                "fid": result.fid,
                "fileName": upload.filename,
                "fileUrl": f"{result.public_url}/{result.fid}",
                "size": upload.original_size(),
            },
            form,
            201,
        )

    # -- routes any master answers -----------------------------------------------------------------

    async def _lookup(self, req: Request) -> Response:
        form = req.form()
        file_id = form.get("fileId", "")
        text = file_id or form.get("volumeId", "")
        comma = text.find(",")
        vid_text = text[:comma] if comma > 0 else text
        if not (vid_text.isascii() and vid_text.isdigit()) or int(vid_text) > 0xFFFFFFFF:
            unknown = {"volumeOrFileId": vid_text} if vid_text else {}
            unknown["error"] = f"unknown volume id {vid_text}"
            return _json(unknown, form, 404)
        try:
            locations = self._core.lookup(int(vid_text), form.get("collection", ""))
        except VolumeNotFound:
            return _json({"volumeOrFileId": vid_text, "error": f"volume id {vid_text} not found"}, form, 404)
        body: dict[str, object] = {
            "volumeOrFileId": vid_text,
            "locations": [_location_json(loc) for loc in locations],
        }
        token = self._core.lookup_token(file_id, read=form.get("read") == "yes") if file_id else ""
        if token:
            return _json(body, form, headers=(("Authorization", "Bearer " + token),))
        return _json(body, form)

    def _redirect(self, req: Request) -> Response:
        """`/{fid}`: 308 to a random replica's public URL, keeping the path and query."""
        segment = req.path[1:]
        comma = segment.rfind(",")
        vid_text = segment[:comma] if comma > 0 else segment
        locations = None
        if vid_text.isascii() and vid_text.isdigit() and int(vid_text) <= 0xFFFFFFFF:
            try:
                locations = self._core.lookup(int(vid_text), req.query.get("collection", ""))
            except VolumeNotFound:
                locations = None
        if not locations:
            return _json({"error": f"volume id {vid_text} not found"}, req.query, 404)
        public_url = self._rng.choice(locations).public_url
        base = public_url if "://" in public_url else "http://" + public_url
        url = base + req.raw_path + ("?" + req.query_string if req.query_string else "")
        headers = [("Location", url)]
        if req.method not in ("GET", "HEAD"):
            return Response(308, headers)
        headers.append(("Content-Type", "text/html; charset=utf-8"))
        return Response(
            308, headers, f'<a href="{url.translate(_HTML_ESCAPES)}">Permanent Redirect</a>.\n\n'.encode()
        )

    async def _collection_info(self, req: Request) -> Response:
        form = req.form()
        name = form.get("collection", "")
        if not name:
            return _json({"error": "collection is required"}, form, 400)
        return _json(self._core.collection_info(name, form.get("detail", "") in _TRUE_WORDS), form)

    async def _cluster_status(self, req: Request) -> Response:
        return _json(self._core.cluster_status(), req.query)

    async def _cluster_healthz(self, req: Request) -> Response:
        return Response(200 if self._core.leader() is not None else 503)

    @staticmethod
    async def _ok(req: Request) -> Response:
        return Response(200)

    # -- follower -> leader --------------------------------------------------------------------------

    async def _proxy(self, req: Request, route: _Route, leader: str, retry: bool) -> Response:
        """Forward the request to the leader unchanged and hand back its answer unchanged. With
        `retry`, a change of leader while waiting abandons the old leader and dispatches the
        request once more (to the new leader, or here if this master now leads)."""
        headers = [(k, v) for k, v in req.headers.items() if k.lower() not in _HOP_HEADERS]
        headers.append(("X-Forwarded-For", req.remote.rpartition(":")[0]))
        headers.append((_PROXIED_HEADER, "1"))
        target = req.raw_path + ("?" + req.query_string if req.query_string else "")
        hostport = _http_hostport(leader)
        call = asyncio.ensure_future(
            self._client.request(
                req.method,
                hostport,
                target,
                headers=headers,
                body=req.body,
                timeout=_UPSTREAM_TIMEOUT_SECONDS,
            )
        )
        try:
            while retry:
                await asyncio.wait({call}, timeout=_LEADER_WATCH_SECONDS)
                if call.done():
                    break
                if self._core.is_leader() or self._core.leader() not in (leader, None):
                    log.info("leader changed while proxying path=%s old=%s", req.path, hostport)
                    call.cancel()  # closes that connection (kelp_http)
                    return await self._dispatch(req, route, False)
            reply = await call
        except HttpClientError as err:
            log.warning("proxy to leader failed leader=%s path=%s error=%s", hostport, req.path, err)
            return _json({"error": f"leader {hostport}: {err}"}, req.query, 502)
        finally:
            call.cancel()  # a no-op once it is done
        out = [(k, v) for k, v in reply.headers.items() if k.lower() not in _HOP_HEADERS]
        return Response(reply.status, out, reply.body)


def _location_json(loc: Location) -> dict[str, object]:
    # SeaweedFS leaves out empty fields (`omitempty`).
    out: dict[str, object] = {"url": loc.url, "publicUrl": loc.public_url}
    if loc.data_center:
        out["dataCenter"] = loc.data_center
    if loc.grpc_port:
        out["grpcPort"] = loc.grpc_port
    return out


def _upload_etag(status: int, body: bytes, header: str | None) -> str | None:
    """The ETag a volume server reported for an upload: its JSON `eTag`, else the header unquoted."""
    if status < 300:
        try:
            reply = json.loads(body) if body else {}
        except ValueError:
            reply = {}
        if isinstance(reply, dict) and isinstance(reply.get("eTag"), str):
            return str(reply["eTag"])
        if header:
            return header.strip('"')
    return None


@dataclass(slots=True)
class _Upload:
    """The file of a `/submit` request: the first multipart part with a file name (else the first
    part), or the raw body named after the request path, as SeaweedFS parses uploads."""

    filename: str
    data: bytes
    content_type: str
    gzipped: bool
    ts: str  # client's modification time (unix seconds), forwarded to the volume server
    pairs: list[tuple[str, str]]  # `Seaweed-*` headers, stored with the needle by the volume server

    @classmethod
    def from_request(cls, req: Request, form: dict[str, str]) -> _Upload:
        pairs = [(k, v) for k, v in req.headers.items() if k.lower().startswith("seaweed-")]
        ctype = req.headers.get("content-type") or ""
        if not ctype.lower().startswith("multipart/"):
            name = req.path.rstrip("/").rpartition("/")[2]
            gz = (req.headers.get("content-encoding") or "") == "gzip"
            return cls(name, req.body, ctype, gz, form.get("ts", ""), pairs)
        parts = parse_multipart(req.body, ctype)
        if not parts:
            raise MultipartError("no parts")
        chosen = next((p for p in parts if p.filename), parts[0])
        for p in parts:  # plain fields count as form values (Go's FormValue reads the multipart form)
            if not p.filename and p.name and p.name not in form and len(p.data) < 4096:
                form[p.name] = p.data.decode("utf-8", "replace")
        gz = (chosen.headers.get("content-encoding") or "") == "gzip"
        return cls(chosen.filename, chosen.data, chosen.content_type, gz, form.get("ts", ""), pairs)

    def part(self) -> Part:
        part = Part.file("file", self.filename, self.data, self.content_type or "application/octet-stream")
        if self.gzipped:
            part.headers.add("Content-Encoding", "gzip")
        return part

    def original_size(self) -> int:
        """Size before gzip, as SeaweedFS reports it (the stored size if it does not decompress)."""
        if self.gzipped:
            try:
                return len(gzip.decompress(self.data))
            except (OSError, EOFError, zlib.error):
                return len(self.data)
        return len(self.data)
