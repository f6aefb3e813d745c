"""SeaweedFS's filer HTTP API over FilerCore (reference §5): upload, read, list, delete, move, tag.

Each handler decodes the request, makes its core calls and encodes the reply; errors map to
SeaweedFS's statuses in one table (`_ERRORS`): 404 not found (empty body on reads, 204 on
DELETE), 409 for "already exists" and "is a file", 414 for over-long names, 400 for bad paths
and digests, 500 for a non-empty directory and anything unexpected, always `{"error": ...}`.

Write path: the body is cut into chunks while it arrives (chunks.write_data), then the entry is
committed in one core transaction. If anything fails after chunks were stored, they are queued
for deletion (core.discard_chunks), so a failed upload leaves nothing behind on the volumes; each
chunk is recorded as a pending upload before it is stored, so a filer killed mid-request leaves
nothing behind either (uploads.py).

Imports kelp_http (this is the HTTP adapter); no grpc, no SQL, no ops.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import email.utils
import fnmatch
import hashlib
import html
import logging
import mimetypes
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import quote

from kelp_pb import weed_filer_pb2 as filer_pb

from controlplane.filer import entry as entries
from controlplane.filer import paths
from controlplane.filer.chunks import (
    AssignSpec,
    VolumeIO,
    iter_range,
    read_range,
    referenced_fids,
    resolve_manifests,
    write_data,
)
from controlplane.filer.copies import CopyJob, InvalidCopy
from controlplane.filer.core import FilerCore
from controlplane.filer.errors import (
    ChunkReadFailed,
    ChunkWriteFailed,
    DigestMismatch,
    DirectoryNotEmpty,
    EntryExists,
    EntryNotFound,
    ExistingIsDirectory,
    ExistingIsFile,
    FilerError,
    InvalidPath,
    InvalidRename,
    NameTooLong,
    ParentIsFile,
)
from controlplane.filer.jwt_auth import FilerGuard, JwtRejected
from controlplane.filer.listing_cache import RenderedEntries
from controlplane.filer.path_rules import PathReadOnly
from dataplane.volume.engine.errors import InvalidTtl
from dataplane.volume.engine.types import Ttl
from kelp_http import MultipartError, RangeNotSatisfiable, Request, Response, error_response, json_response
from kelp_http.multipart import MultipartStream, StreamedPart, parse_multipart
from kelp_http.ranges import build_multipart_byteranges, content_range, parse_ranges
from kelp_http.response import compact_json

log = logging.getLogger(__name__)

VERSION = "kelp"  # the listing's "Version" (SeaweedFS prints its build there; clients ignore it)
# Reads above this size are streamed chunk by chunk instead of assembled in memory first.
STREAM_READ_OVER = 8 << 20
# A streamed multipart body's non-file parts (form fields) are held in memory up to this each.
MAX_FORM_FIELD = 64 << 20
_STORED_HEADERS = ("cache-control", "expires", "content-disposition")
_OCTET = "application/octet-stream"
_CORS_METHODS = "PUT, POST, GET, DELETE, OPTIONS"
DESTINATION_HEADER = "x-seaweedfs-destination"  # the path whose filer.conf rule an upload follows


@dataclass(frozen=True, slots=True)
class HttpSettings:
    """The filer flags that shape HTTP answers (weed filer's names in comments)."""

    max_mb: int = 4  # -maxMB: chunk size
    dir_list_limit: int = 100_000  # -dirListLimit: default and cap of ?limit=
    disable_dir_listing: bool = False  # -disableDirListing: directory GETs get 403
    expose_directory_data: bool = True  # -exposeDirectoryData=false: the HTML listing gets 403
    defaults: AssignSpec = field(default_factory=AssignSpec)  # -collection, -replication, ...
    guard: FilerGuard = field(default_factory=FilerGuard)  # security.toml [jwt.filer_signing] keys


class BadRequest(Exception):
    """A request kelp refuses before touching the core; `status` and message go out as JSON."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# Error class -> status; the first match in order wins (subclasses before their bases).
_ERRORS: tuple[tuple[type[Exception], int], ...] = (
    (NameTooLong, 414),
    (InvalidPath, 400),
    (EntryNotFound, 404),
    (EntryExists, 409),
    (ParentIsFile, 409),
    (ExistingIsDirectory, 409),
    (ExistingIsFile, 409),
    (DigestMismatch, 400),
    (InvalidRename, 400),
    (DirectoryNotEmpty, 500),
    (ChunkWriteFailed, 500),
    (ChunkReadFailed, 500),
    (MultipartError, 500),
    (InvalidTtl, 400),
    (PathReadOnly, 507),  # a read_only filer.conf rule
)


def error_for(err: Exception) -> Response:
    for kind, status in _ERRORS:
        if isinstance(err, kind):
            return error_response(status, str(err))
    raise err


def _http_date(seconds: int) -> str:
    return email.utils.formatdate(seconds, usegmt=True)


def _parse_http_date_ns(value: str | None) -> int | None:
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return int(parsed.timestamp()) * 1_000_000_000


def _bool(value: str | None) -> bool:
    return value is not None and value.lower() in ("1", "t", "true", "yes", "on")


def _int_param(query: dict[str, str], name: str, default: int) -> int:
    text = query.get(name, "")
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise BadRequest(400, f"{name}={text!r} is not a number") from None


def _content_disposition(kind: str, filename: str) -> str:
    if filename and all(c.isalnum() or c in "._-+" for c in filename):
        return f"{kind}; filename={filename}"
    return f"{kind}; filename*=UTF-8''{quote(filename)}" if filename else kind


def _decode_md5(text: str) -> bytes | None:
    text = text.strip()
    if len(text) == 32:
        try:
            return bytes.fromhex(text)
        except ValueError:
            pass
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == 16 else None


class FilerHttpApi:
    def __init__(self, core: FilerCore, volumes: VolumeIO, settings: HttpSettings | None = None) -> None:
        self.core = core
        self.volumes = volumes
        self.settings = settings or HttpSettings()
        self._rendered_entries = RenderedEntries()  # listing JSON per (path, stored bytes)
        self._methods: dict[str, Callable[[Request, str, bool], Awaitable[Response]]] = {
            "GET": self._get,
            "HEAD": self._get,
            "PUT": self._write,
            "POST": self._write,
            "DELETE": self._delete,
        }

    async def handle(self, req: Request) -> Response:
        if req.method == "OPTIONS":
            return Response(200, [("Access-Control-Allow-Methods", _CORS_METHODS),
                                  ("Access-Control-Allow-Headers", "*")])
        method = self._methods.get(req.method)
        if method is None:
            return error_response(405, f"unsupported method {req.method}")
        try:
            path = paths.normalize(req.path or "/")
            if self.settings.guard.enabled:
                self.settings.guard.check(req, path, also=_sources(req))
            reply = await method(req, path, req.raw_path.endswith("/") and path != paths.ROOT)
        except BadRequest as err:
            reply = error_response(err.status, err.message)
        except JwtRejected as err:
            log.info("%s", err)
            reply = error_response(401, "wrong jwt")
        except (FilerError, MultipartError, InvalidTtl) as err:
            reply = error_for(err)
            if reply.status == 404 and req.method in ("GET", "HEAD"):
                reply = Response(404)  # SeaweedFS: a missing file reads as 404 with no body
        if req.headers.get("origin"):
            reply.headers.append(("Access-Control-Allow-Origin", "*"))
            reply.headers.append(("Access-Control-Allow-Credentials", "true"))
        return reply

    # -- writes --------------------------------------------------------------------------------

    def _spec(self, query: dict[str, str], rule_path: str = "") -> AssignSpec:
        """Query values, else the filer.conf rule of `rule_path`, else the filer's defaults."""
        d = self.settings.defaults
        if rule_path:
            d = self.core.path_rules.defaults(rule_path, d)
        ttl_text = query.get("ttl", "")
        ttl_sec = Ttl.parse(ttl_text).seconds if ttl_text else d.ttl_sec
        return AssignSpec(
            collection=query.get("collection", d.collection),
            replication=query.get("replication", d.replication),
            ttl_sec=ttl_sec,
            disk_type=query.get("disk", d.disk_type),
            data_center=query.get("dataCenter", d.data_center),
            rack=query.get("rack", d.rack),
            data_node=query.get("dataNode", d.data_node),
            fsync=_bool(query.get("fsync")) or d.fsync,
            volume_growth_count=d.volume_growth_count,
        )

    async def _body(self, req: Request) -> bytes:
        return await req.stream.read_all() if req.stream is not None else req.body

    async def _write(self, req: Request, path: str, trailing: bool) -> Response:
        query = req.query
        if req.method == "PUT" and "tagging" in query:
            return await self._put_tags(req, path)
        self.core.path_rules.check_write(path, req.headers.get(DESTINATION_HEADER) or "")  # filer.conf
        if query.get("mv.from"):
            return await self._move(query["mv.from"], path, trailing)
        if query.get("cp.from"):
            return await self._copy(req, query["cp.from"], path, trailing)
        ctype = req.headers.get("content-type") or ""
        if req.method == "POST" and trailing and not ctype:
            await self.core.mkdir(path)
            return json_response({"name": paths.split(path)[1]}, 201)
        if query.get("offset") and query.get("op") == "append":
            raise BadRequest(500, "cannot set offset when op=append")
        multipart = ctype.lower().startswith("multipart/form-data")
        if req.method == "POST" and not multipart:
            raise BadRequest(500, "request Content-Type isn't multipart/form-data")

        source: bytes | AsyncIterable[bytes]
        if multipart and req.stream is not None:
            source, filename, mime = await _streamed_file_part(req.stream, ctype)
        elif multipart:
            parts = parse_multipart(await self._body(req), ctype)
            if not parts:
                raise MultipartError("no part in the multipart body")
            part = next((p for p in parts if p.filename), parts[0])
            source, filename, mime = part.data, part.filename, part.content_type
        else:
            source = req.stream if req.stream is not None else req.body
            filename, mime = "", ctype
        target, reply_name = await self._target(path, trailing, filename)
        return await self._store(req, target, reply_name, source, "" if mime == _OCTET else mime)

    async def _target(self, path: str, trailing: bool, filename: str) -> tuple[str, str]:
        """Where an upload goes and the name its reply shows (SeaweedFS's rules, §5.1)."""
        last = paths.split(path)[1]
        if filename:
            paths.check_name(filename)
        if trailing or path == paths.ROOT:
            name = filename or last
            if not name:
                raise BadRequest(400, "no file name: PUT to a file path, or POST a multipart file")
            return paths.join(path, name), name
        existing, parent = await self.core.find_with_parent(path)  # parent only when nothing is there
        if existing is not None and entries.is_directory(existing):
            name = filename or last
            return paths.join(path, name), name
        if parent is not None and not entries.is_directory(parent):
            raise ParentIsFile(path, paths.split(path)[0])  # refused before any chunk is stored
        return path, filename or last

    async def _store(
        self, req: Request, target: str, reply_name: str, source: bytes | AsyncIterable[bytes], mime: str
    ) -> Response:
        query = req.query
        directory, name = paths.split(target)
        spec = self._spec(query, req.headers.get(DESTINATION_HEADER) or req.path)
        chunk_mb = _int_param(query, "maxMB", self.settings.max_mb)
        if chunk_mb <= 0:
            raise BadRequest(400, f"maxMB={chunk_mb} must be positive")
        try:
            mode = int(query.get("mode", "") or "660", 8) & 0o7777
        except ValueError:
            raise BadRequest(400, f"mode={query['mode']!r} is not an octal number") from None
        now = self.core.now_ns()
        entry = filer_pb.Entry(name=name)
        attributes = entry.attributes
        attributes.file_mode, attributes.mime, attributes.ttl_sec = mode, mime, spec.ttl_sec
        entries.set_times(attributes, now, created=True)
        entry.extended.update(_stored_headers(req))

        if _bool(query.get("saveInside")) or req.path.startswith("/etc"):  # SeaweedFS keeps /etc inline
            data = source if isinstance(source, bytes) else b"".join([p async for p in source])
            entry.content = data
            attributes.file_size = len(data)
            attributes.md5 = _md5(data)
            self._check_digest(req, attributes.md5)
            await self.core.create(directory, entry)
            return self._written(reply_name, len(data), attributes.md5)

        ticket = self.core.uploads.ticket()  # each chunk is recorded before it is stored (uploads.py)
        try:
            written = await write_data(self.volumes, source, chunk_size=chunk_mb << 20, spec=spec, name=name,
                                       mime=mime, now_ns=now, path=target, record=ticket.record)
        except ChunkWriteFailed as err:
            await self.core.discard_chunks(err.written, upload=ticket)
            raise
        try:
            self._check_digest(req, written.md5)
            op_append = query.get("op") == "append"
            if op_append or query.get("offset"):
                at = None if op_append else _int_param(query, "offset", 0)
                if at is not None and at < 0:
                    raise BadRequest(400, "offset must not be negative")
                updated, _ = await self.core.write_chunks(target, written.chunks, template=entry, at=at,
                                                          upload=ticket)
                return json_response({"name": reply_name, "size": entries.file_size(updated)}, 201)
            entry.chunks.extend(written.chunks)
            attributes.file_size, attributes.md5 = written.size, written.md5
            await self.core.create(directory, entry, upload=ticket)
        except BaseException:
            await self.core.discard_chunks(referenced_fids(written.chunks), upload=ticket)
            raise
        return self._written(reply_name, written.size, written.md5)

    @staticmethod
    def _written(name: str, size: int, md5: bytes) -> Response:
        return json_response({"name": name, "size": size}, 201,
                             [("Content-Md5", base64.b64encode(md5).decode())])

    @staticmethod
    def _check_digest(req: Request, md5: bytes) -> None:
        sent = req.headers.get("content-md5")
        if not sent:
            return
        expected = _decode_md5(sent)
        if expected != md5:
            raise DigestMismatch(sent, base64.b64encode(md5).decode())

    async def _move(self, source: str, path: str, trailing: bool) -> Response:
        src = paths.normalize(source)
        dst = paths.join(path, paths.split(src)[1]) if trailing else path
        try:
            await self.core.rename(*paths.split(src), *paths.split(dst))
        except EntryNotFound as err:
            if err.path != src:
                raise
            raise BadRequest(400, f"failed to get src entry '{src}', err: {err}") from err
        except (ExistingIsDirectory, ExistingIsFile, DirectoryNotEmpty, ParentIsFile) as err:
            raise BadRequest(400, f"move {src} to {dst}: {err}") from err
        return Response(204)

    async def _copy(self, req: Request, source: str, path: str, trailing: bool) -> Response:
        src = paths.normalize(source)
        try:
            entry = await self.core.lookup(*paths.split(src))
        except EntryNotFound as err:
            raise BadRequest(400, f"failed to get src entry '{src}', err: {err}") from err
        dst = path
        if trailing or path == paths.ROOT:
            dst = paths.join(path, paths.split(src)[1])
        else:
            existing = await self.core.find(path)
            if existing is not None and entries.is_directory(existing):
                dst = paths.join(path, paths.split(src)[1])  # onto a directory: inside it, as cp does
        chunk_mb = _int_param(req.query, "maxMB", self.settings.max_mb)
        if chunk_mb <= 0:
            raise BadRequest(400, f"maxMB={chunk_mb} must be positive")
        spec = self._spec(req.query, req.headers.get(DESTINATION_HEADER) or req.path)
        job = CopyJob(self.core, self.volumes, spec, chunk_mb << 20)
        try:
            await job.copy(src, dst, entry)
        except InvalidCopy as err:
            raise BadRequest(400, str(err)) from err
        except (ExistingIsDirectory, ExistingIsFile, ParentIsFile) as err:
            raise BadRequest(400, f"copy {src} to {dst}: {err}") from err
        return Response(204, [("X-Seaweedfs-Copy-Committed", "true")])

    async def _put_tags(self, req: Request, path: str) -> Response:
        entry = await self.core.lookup(*paths.split(path))
        for key, value in req.headers.items():
            if key.lower().startswith("seaweed-"):
                entry.extended[key] = value.encode()
        await self.core.update(paths.split(path)[0], entry)
        return json_response(None, 202)

    # -- deletes -------------------------------------------------------------------------------

    async def _delete(self, req: Request, path: str, trailing: bool) -> Response:
        query = req.query
        if "tagging" in query:
            return await self._delete_tags(path, query["tagging"])
        directory, name = paths.split(path)
        with contextlib.suppress(EntryNotFound):  # SeaweedFS: deleting what is not there succeeds
            await self.core.delete(
                directory, name,
                recursive=_bool(query.get("recursive")),
                ignore_recursive_error=_bool(query.get("ignoreRecursiveError")),
                delete_data=not _bool(query.get("skipChunkDeletion")),
            )
        return Response(204)

    async def _delete_tags(self, path: str, names: str) -> Response:
        directory, name = paths.split(path)
        entry = await self.core.lookup(directory, name)
        wanted = {f"seaweed-{n.strip().lower()}" for n in names.split(",") if n.strip()}
        doomed = [k for k in entry.extended
                  if k.lower().startswith("seaweed-") and (not wanted or k.lower() in wanted)]
        if not doomed:
            return Response(304)
        for key in doomed:
            del entry.extended[key]
        await self.core.update(directory, entry)
        return json_response(None, 202)

    # -- reads ---------------------------------------------------------------------------------

    async def _get(self, req: Request, path: str, trailing: bool) -> Response:
        query = req.query
        if path == paths.ROOT and query.get("proxyChunkId"):
            return Response(200, [("Content-Type", _OCTET)], await self.volumes.fetch(query["proxyChunkId"]))
        entry = await self.core.lookup(*paths.split(path))
        if _bool(query.get("metadata")):
            chunks = None
            if _bool(query.get("resolveManifest")):
                chunks = await resolve_manifests(self.volumes, entry.chunks)
            return json_response(entries.entry_json(path, entry, chunks), pretty=bool(query.get("pretty")))
        if entries.is_directory(entry):
            return await self._listing(req, path)
        return await self._read_file(req, path, entry)

    async def _listing(self, req: Request, path: str) -> Response:
        s = self.settings
        if s.disable_dir_listing:
            return error_response(403, "directory listing is disabled")
        query = req.query
        limit = min(max(_int_param(query, "limit", s.dir_list_limit), 1), s.dir_list_limit)
        last = query.get("lastFileName", "")
        pattern, exclude = query.get("namePattern", ""), query.get("namePatternExclude", "")
        found: list[tuple[filer_pb.Entry, bytes | None]] = []
        more = False
        start = last
        while True:  # pages until limit + 1 entries pass the name patterns (the +1 says "more")
            page = await self.core.list_stored(path, start=start, limit=limit + 1)
            for child, stored in page:
                if pattern and not fnmatch.fnmatchcase(child.name, pattern):
                    continue
                if exclude and fnmatch.fnmatchcase(child.name, exclude):
                    continue
                if len(found) == limit:
                    more = True
                    break
                found.append((child, stored))
            if more or len(page) < limit + 1:
                break
            start = page[-1][0].name
        if req.headers.get("accept") != "application/json":
            if not s.expose_directory_data:
                return error_response(403, "ui is disabled")
            return _html_listing(path, [e for e, _ in found], more)
        body: dict[str, object] = {
            "Version": VERSION,
            "Path": "" if path == paths.ROOT else path,
            "Entries": None,
            "Limit": limit,
            "LastFileName": found[-1][0].name if found else last,
            "ShouldDisplayLoadMore": more,
            "EmptyFolder": not found,
        }
        if query.get("pretty"):
            body["Entries"] = [entries.entry_json(paths.join(path, e.name), e) for e, _ in found] or None
            return json_response(body, pretty=True)
        # The entries are spliced in as rendered bytes, most from the cache (listing_cache.py):
        # the same bytes json_response would write for the whole dict.
        head = compact_json(body)
        if found:
            rendered = b"[" + b",".join(self._rendered(path, found)) + b"]"
            head = head.replace(b'"Entries":null', b'"Entries":' + rendered, 1)
        return Response(200, [("Content-Type", "application/json")], head)

    def _rendered(self, path: str, found: list[tuple[filer_pb.Entry, bytes | None]]) -> list[bytes]:
        cache = self._rendered_entries
        out = []
        for entry, stored in found:
            full_path = paths.join(path, entry.name)
            rendered = cache.get(full_path, stored) if stored is not None else None
            if rendered is None:
                rendered = compact_json(entries.entry_json(full_path, entry))
                if stored is not None:
                    cache.put(full_path, stored, rendered)
            out.append(rendered)
        return out

    async def _read_file(self, req: Request, path: str, entry: filer_pb.Entry) -> Response:
        etag = entries.etag(entry)
        mtime_ns = entries.mtime_ns(entry)
        headers: list[tuple[str, str]] = [
            ("Etag", f'"{etag}"'),
            ("Last-Modified", _http_date(entry.attributes.mtime)),
        ]
        status = _precondition(req, etag, mtime_ns)
        if status is not None:
            return Response(status, headers if status == 304 else [])
        name = entry.name
        mime = entry.attributes.mime or mimetypes.guess_type(name)[0] or _OCTET
        disposition = "attachment" if _bool(req.query.get("dl")) else "inline"
        exposed = ["Content-Disposition"]
        for key, value in sorted(entry.extended.items()):
            if key.lower().startswith("xattr-"):
                continue
            headers.append((key, value.decode("utf-8", "replace")))
            if key.lower().startswith("seaweed-"):
                exposed.insert(len(exposed) - 1, key)
            if key.lower() == "content-disposition":
                disposition = ""
        if disposition:
            headers.append(("Content-Disposition", _content_disposition(disposition, name)))
        headers += [("Accept-Ranges", "bytes"), ("Access-Control-Expose-Headers", ",".join(exposed))]
        size = entries.file_size(entry)
        range_header = req.headers.get("range")
        if range_header:
            try:
                ranges = parse_ranges(range_header, size)
            except RangeNotSatisfiable:
                return Response(416, [("Content-Range", f"bytes */{size}")])
            if len(ranges) > 1:
                whole = await self._bytes(entry, 0, size)
                body, ctype = build_multipart_byteranges(ranges, whole, mime, size)
                return Response(206, [*headers, ("Content-Type", ctype)], body)
            start, end = ranges[0]
            headers.append(("Content-Range", content_range(start, end, size)))
            return await self._body_response(req, 206, headers, mime, entry, start, end + 1)
        return await self._body_response(req, 200, headers, mime, entry, 0, size)

    async def _body_response(
        self, req: Request, status: int, headers: list[tuple[str, str]], mime: str, entry: filer_pb.Entry,
        start: int, stop: int,
    ) -> Response:
        headers.append(("Content-Type", mime))
        if req.method == "HEAD":
            return Response(status, [*headers, ("Content-Length", str(stop - start))])
        if entry.content or stop - start <= STREAM_READ_OVER:
            return Response(status, headers, await self._bytes(entry, start, stop))
        stream = iter_range(self.volumes, entry.chunks, start, stop)
        return Response(status, [*headers, ("Content-Length", str(stop - start))], stream=stream)

    async def _bytes(self, entry: filer_pb.Entry, start: int, stop: int) -> bytes:
        if entry.content:
            data = bytes(entry.content[start:stop])
            return data + bytes(stop - start - len(data))
        chunks = entry.chunks
        if len(chunks) == 1 and chunks[0].offset == 0 and not chunks[0].is_chunk_manifest:
            # The common small file: one fetch, no interval planning or read-ahead tasks. Past
            # the needle's end (a short needle, a hole) reads as zeros, as read_range does.
            data = (await self.volumes.fetch(entries.chunk_fid(chunks[0])))[start:stop]
            return data + bytes(stop - start - len(data))
        return await read_range(self.volumes, chunks, start, stop)


async def _streamed_file_part(
    body: AsyncIterable[bytes], ctype: str
) -> tuple[bytes | AsyncIterable[bytes], str, str]:
    """The upload of a streamed multipart body, as parse_multipart's caller picks it: the first
    part with a file name, else the first part. Parts before it are form fields, held in memory
    up to MAX_FORM_FIELD each; the file part streams, and the body's remaining parts are read
    (and checked) after it, so a malformed tail fails the upload before its entry is committed."""
    stream = MultipartStream(body, ctype)
    first: tuple[bytes, str] | None = None
    while (part := await stream.next_part()) is not None:
        if part.filename:
            return _then_drain(part, stream), part.filename, part.content_type
        data = await part.read_all(MAX_FORM_FIELD)
        if first is None:
            first = (data, part.content_type)
    if first is None:
        raise MultipartError("no part in the multipart body")
    return first[0], "", first[1]


async def _then_drain(part: StreamedPart, stream: MultipartStream) -> AsyncIterator[bytes]:
    async for piece in part:
        yield piece
    while await stream.next_part() is not None:
        pass


def _sources(req: Request) -> tuple[str, ...]:
    """The other path a move or copy touches (its source), normalized."""
    if req.method not in ("POST", "PUT"):
        return ()
    query = req.query
    return tuple(paths.normalize(query[k]) for k in ("mv.from", "cp.from") if query.get(k))


def _precondition(req: Request, etag: str, mtime_ns: int) -> int | None:
    """412 or 304 when a conditional header says so; the filer compares times in ns (§5.3)."""
    if_match = req.headers.get("if-match")
    if if_match and if_match.strip() != "*" and etag not in _etags(if_match):
        return 412
    unmodified = _parse_http_date_ns(req.headers.get("if-unmodified-since"))
    if unmodified is not None and mtime_ns > unmodified:
        return 412
    none_match = req.headers.get("if-none-match")
    if none_match:
        return 304 if none_match.strip() == "*" or etag in _etags(none_match) else None
    modified = _parse_http_date_ns(req.headers.get("if-modified-since"))
    if modified is not None and mtime_ns <= modified:
        return 304
    return None


def _etags(header: str) -> set[str]:
    return {t.strip().removeprefix("W/").strip('"') for t in header.split(",")}


def _md5(data: bytes) -> bytes:
    return hashlib.md5(data).digest()


def _stored_headers(req: Request) -> dict[str, bytes]:
    """Request headers SeaweedFS keeps in the entry: Seaweed-* (prefix kept) and a few HTTP ones."""
    out: dict[str, bytes] = {}
    for key, value in req.headers.items():
        low = key.lower()
        if low.startswith("seaweed-"):
            out[key] = value.encode()
        elif low in _STORED_HEADERS:
            out["-".join(w.capitalize() for w in low.split("-"))] = value.encode()
        elif low == "response-content-disposition":
            out["Content-Disposition"] = value.encode()
    return out


def _html_listing(path: str, found: list[filer_pb.Entry], more: bool) -> Response:
    rows = []
    for e in found:
        href = quote(paths.join(path, e.name)) + ("/" if entries.is_directory(e) else "")
        size = "" if entries.is_directory(e) else str(entries.file_size(e))
        rows.append(f'<tr><td><a href="{href}">{html.escape(e.name)}</a></td><td>{size}</td></tr>')
    more_link = ""
    if more and found:
        more_link = f'<p><a href="?lastFileName={quote(found[-1].name)}">more</a></p>'
    page = (f"<!DOCTYPE html><html><head><title>{html.escape(path)}</title></head><body>"
            f"<h1>{html.escape(path)}</h1><table>{''.join(rows)}</table>{more_link}</body></html>")
    return Response(200, [("Content-Type", "text/html; charset=utf-8")], page.encode())
