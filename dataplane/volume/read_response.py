"""Building a GET/HEAD reply for a needle, header by header as SeaweedFS sends it.

Order of decisions: If-Modified-Since (whole seconds) then If-None-Match (quoted ETag
only) give 304 with Last-Modified and no ETag; then ETag, stored pairs as headers,
Content-Type (stored MIME unless octet-stream, else the file name's extension, else
sniffed), gzip negotiation, Accept-Ranges, `response-*` overrides, Content-Disposition,
and finally Range (206, multipart/byteranges, 416, or the "ranges longer than the file
give 200 with no body" quirk).

Pure: builds a kelp_http Response from a Needle; no store, no network.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import re
import zlib
from email.utils import formatdate, mktime_tz, parsedate_tz
from functools import lru_cache

from dataplane.volume.content_types import OCTET_STREAM, detect_content_type, extension, type_by_extension
from dataplane.volume.engine.needle import Needle
from dataplane.volume.fid_path import FidPath
from dataplane.volume.upload import parse_bool
from kelp_http import RangeNotSatisfiable, Request, Response
from kelp_http.ranges import build_multipart_byteranges, content_range, parse_ranges

Headers = list[tuple[str, str]]

# `?response-x=` query parameters that override the matching reply header.
PASSTHROUGH = {
    "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
    "response-content-language": "Content-Language",
    "response-content-type": "Content-Type",
    "response-expires": "Expires",
}
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_FRAMING = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive", "upgrade"})
_TSPECIALS = frozenset('()<>@,;:\\"/[]?=')
_TEXT_ERROR = [("Content-Type", "text/plain; charset=utf-8"), ("X-Content-Type-Options", "nosniff")]


@lru_cache(maxsize=4096)
def http_date(seconds: int) -> str:
    """RFC 1123 GMT, as `Sun, 22 Nov 2026 01:53:05 GMT`."""
    return formatdate(seconds, usegmt=True)


def parse_http_date(text: str) -> int | None:
    parsed = parsedate_tz(text)
    if parsed is None:
        return None
    try:
        return mktime_tz(parsed)
    except (OverflowError, ValueError):
        return None


def set_header(headers: Headers, name: str, value: str) -> None:
    """Replace every `name` header (case-insensitive) with one value."""
    lower = name.lower()
    headers[:] = [(k, v) for k, v in headers if k.lower() != lower]
    headers.append((name, value))


def has_header(headers: Headers, name: str) -> bool:
    lower = name.lower()
    return any(k.lower() == lower for k, _ in headers)


def content_disposition(kind: str, filename: str) -> str:
    """`inline; filename=a.txt`, quoting or RFC 2231-encoding the name as Go's mime package does."""
    if filename.isascii():
        if filename and all(" " < ch < "\x7f" and ch not in _TSPECIALS for ch in filename):
            return f"{kind}; filename={filename}"
        escaped = filename.replace("\\", "\\\\").replace('"', '\\"')
        return f'{kind}; filename="{escaped}"'
    encoded = "".join(
        chr(b) if " " < chr(b) < "\x7f" and chr(b) not in _TSPECIALS and chr(b) not in "*'%" else f"%{b:02X}"
        for b in filename.encode("utf-8", "surrogateescape")
    )
    return f"{kind}; filename*=utf-8''{encoded}"


def not_modified(request: Request, last_modified: int, etag: str, headers: Headers) -> Response | None:
    """A 304 if the client's copy is current; `headers` already holds Last-Modified."""
    if last_modified:
        since = request.headers.get("if-modified-since")
        if since:
            when = parse_http_date(since)
            if when is not None and when >= last_modified:
                return Response(304, headers)
    match = request.headers.get("if-none-match")
    if match is not None and match == f'"{etag}"':
        return Response(304, headers)
    return None


def pair_headers(pairs: bytes, headers: Headers) -> None:
    try:
        found = json.loads(pairs)
    except ValueError:
        return  # unreadable pairs are skipped, as SeaweedFS does
    if isinstance(found, dict):
        for key, value in found.items():
            name = str(key)
            # A volume written elsewhere may hold any key: only valid header names that do not
            # change the reply's framing are sent.
            if _TOKEN.match(name) and name.lower() not in _FRAMING:
                set_header(headers, name, str(value))


def needle_response(request: Request, needle: Needle, target: FidPath) -> Response:
    """The whole GET/HEAD reply for a plain (not chunk-manifest) needle."""
    headers: Headers = []
    last_modified = needle.last_modified
    if last_modified:
        headers.append(("Last-Modified", http_date(last_modified)))
    etag = needle.etag()
    early = not_modified(request, last_modified, etag, headers)
    if early is not None:
        return early
    headers.append(("Etag", f'"{etag}"'))
    if needle.pairs:
        pair_headers(needle.pairs, headers)
    filename = target.filename
    if not filename and needle.name:
        filename = needle.name.decode("utf-8", "replace")
    mime = needle.mime.decode("utf-8", "replace") if needle.mime else ""
    if mime.startswith(OCTET_STREAM):
        mime = ""
    data = needle.data
    if needle.is_compressed:
        accept = request.headers.get("accept-encoding")
        if accept and "gzip" in accept and data[:2] == b"\x1f\x8b":
            headers.append(("Content-Encoding", "gzip"))
        else:
            # Undecompressable data is served as stored rather than not at all, as SeaweedFS does.
            with contextlib.suppress(OSError, EOFError, zlib.error):
                data = gzip.decompress(data)
    return content_response(request, headers, data, mime, filename)


def describe(request: Request, headers: Headers, mime: str, filename: str) -> str:
    """Add Content-Type, Accept-Ranges, overrides and Content-Disposition; return the MIME type."""
    if not mime and filename:
        mime = type_by_extension(extension(filename))
    if mime:
        headers.append(("Content-Type", mime))
    headers.append(("Accept-Ranges", "bytes"))
    if "response-" in request.query_string:
        for param, value in request.query.items():
            name = PASSTHROUGH.get(param.lower())
            if name is not None:
                set_header(headers, name, value)
    if filename and not has_header(headers, "Content-Disposition"):
        kind = "attachment" if parse_bool(request.query.get("dl")) else "inline"
        headers.append(("Content-Disposition", content_disposition(kind, filename)))
    return mime


def content_response(request: Request, headers: Headers, data: bytes, mime: str, filename: str) -> Response:
    return body_reply(request, headers, data, describe(request, headers, mime, filename))


def body_reply(request: Request, headers: Headers, data: bytes, mime: str) -> Response:
    """HEAD, whole-body or Range reply for `data`, once `describe` has set the headers."""
    total = len(data)
    if request.method == "HEAD":
        headers.append(("Content-Length", str(total)))
        return Response(200, headers)
    spec = request.headers.get("range")
    if not spec:
        if data and not has_header(headers, "Content-Type"):
            headers.append(("Content-Type", detect_content_type(data)))
        return Response(200, headers, data)
    try:
        ranges = parse_ranges(spec, total)
    except RangeNotSatisfiable as err:
        return range_not_satisfiable(headers, total, err)
    if ranges_exceed(ranges, total):
        return Response(200, headers)  # more bytes asked than exist: ignored, as Go's file server does
    if len(ranges) == 1:
        start, end = ranges[0]
        headers.append(("Content-Range", content_range(start, end, total)))
        part = data[start : end + 1]
        if not has_header(headers, "Content-Type"):
            headers.append(("Content-Type", detect_content_type(part)))  # Go sniffs what it sends
        return Response(206, headers, part)
    body, ctype = build_multipart_byteranges(ranges, data, mime, total)
    set_header(headers, "Content-Type", ctype)
    return Response(206, headers, body)


def ranges_exceed(ranges: list[tuple[int, int]], total: int) -> bool:
    return sum(end - start + 1 for start, end in ranges) > total


def range_not_satisfiable(headers: Headers, total: int, err: RangeNotSatisfiable) -> Response:
    kept = [(k, v) for k, v in headers if k.lower() not in ("content-type", "content-encoding")]
    message = "invalid range: failed to overlap" if "overlap" in err.reason else "invalid range"
    kept += [*_TEXT_ERROR, ("Content-Range", f"bytes */{total}")]
    return Response(416, kept, f"{message}\n".encode())
