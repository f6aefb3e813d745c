"""Turning a POST/PUT request into what a needle stores, by SeaweedFS's rules.

- Multipart only for POST with an empty or form-data Content-Type: the first part with a
  file name wins (the first part if none has one); otherwise the body is raw and named by
  Content-Disposition or, failing that, the last URL segment (the fid itself).
- A raw body sent as application/x-www-form-urlencoded is consumed by form parsing in
  SeaweedFS and stored as 0 bytes; kelp keeps that behaviour (clients depend on parity).
- MIME: the sent type, else the file extension's; with `cm=true` none is derived.
- Auto-gzip for text, XML/script applications and WAV when it saves at least 10%,
  unless the data is already gzipped or this is a replica copy.
- `Seaweed-*` headers become pairs: prefix removed, Go-canonical keys, compact JSON.
- A Content-MD5 header is checked against the uncompressed data.

Pure apart from reading the Request: no store, no network.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import zlib
from dataclasses import dataclass

from dataplane.volume.content_types import (
    OCTET_STREAM,
    detect_content_type,
    is_compressible,
    type_by_extension,
)
from dataplane.volume.engine.errors import InvalidTtl
from dataplane.volume.engine.types import Ttl
from dataplane.volume.errors import BadUpload, ContentMd5Mismatch, FileTooLarge
from kelp_http import MultipartError, Request
from kelp_http.multipart import parse_header_params, parse_multipart

FORM_URLENCODED = "application/x-www-form-urlencoded"
PAIR_PREFIX = "seaweed-"
MAX_PAIRS_JSON = 64 * 1024  # larger pairs are dropped, as SeaweedFS does
GZIP_LEVEL = 6
_NO_TTL = Ttl()
_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})  # Go's strconv.ParseBool


def parse_bool(text: str | None) -> bool:
    return text in _TRUE


@dataclass(slots=True)
class ParsedUpload:
    data: bytes  # as it will be stored: gzip bytes when `compressed`
    name: str
    mime: str
    compressed: bool
    original_size: int  # uncompressed length, the reply's "size"
    pairs: dict[str, str]  # key (prefix removed) -> value
    pairs_json: bytes  # what the needle stores; b"" for none
    last_modified: int  # unix seconds; 0 = "now" at write time
    ttl: Ttl
    chunk_manifest: bool
    content_md5: str  # base64 MD5 of the uncompressed data, "" unless the client sent Content-MD5
    md5_sent: bool  # the client sent Content-MD5 (the reply then echoes contentMd5)


def upload_params(request: Request) -> dict[str, str]:
    """The parameters a write reads: the query, plus urlencoded body fields (which eat the body)."""
    ctype = request.headers.get("content-type")
    if ctype is not None and ctype.startswith(FORM_URLENCODED):
        return request.form()
    return request.query


def parse_upload(
    request: Request, params: dict[str, str], *, size_limit: int, replicate: bool
) -> ParsedUpload:
    ctype = request.headers.get("content-type") or ""
    chunk_manifest = parse_bool(params.get("cm"))
    if request.method == "POST" and (not ctype or "form-data" in ctype):
        data, name, sent_type, compressed, part_md5 = _from_multipart(request.body, ctype, size_limit)
        mime = ""
    else:
        data = b"" if ctype.startswith(FORM_URLENCODED) else request.body
        if len(data) > size_limit:
            raise FileTooLarge(size_limit)
        name = _raw_name(request)
        sent_type = mime = ctype
        compressed = request.headers.get("content-encoding") == "gzip"
        part_md5 = ""
    if not chunk_manifest:
        mime = _derived_mime(name, sent_type, mime)

    original = data
    original_size = len(data)
    if compressed:
        try:
            original = gzip.decompress(data)
            original_size = len(original)
        except (OSError, EOFError, zlib.error):
            pass  # stored as sent; the size is then the stored size, as SeaweedFS reports it
    elif not replicate and data:
        data, compressed = _maybe_gzip(data, mime)

    expected = request.headers.get("content-md5") or part_md5
    # As weed 4.48: the MD5 is computed (and the Content-Md5 reply header filled) only when the
    # client sent one to check; hashing every upload cost ~40% of a 64 KiB PUT.
    content_md5 = base64.b64encode(hashlib.md5(original).digest()).decode() if expected else ""
    if expected and expected != content_md5:
        raise ContentMd5Mismatch(expected, content_md5, len(original))

    pairs = _pairs(request)
    return ParsedUpload(
        data=data,
        name=name,
        mime=mime,
        compressed=compressed,
        original_size=original_size,
        pairs=pairs,
        pairs_json=_pairs_json(pairs) if pairs else b"",
        last_modified=_int_param(params.get("ts")),
        ttl=_ttl_param(params.get("ttl")),
        chunk_manifest=chunk_manifest,
        content_md5=content_md5,
        md5_sent=bool(expected),
    )


def _from_multipart(body: bytes, ctype: str, size_limit: int) -> tuple[bytes, str, str, bool, str]:
    """(data, name, content type, gzipped, part Content-MD5) of the file part."""
    if not ctype:
        raise BadUpload("request Content-Type isn't multipart/form-data")
    try:
        parts = parse_multipart(body, ctype)
    except MultipartError as err:
        raise BadUpload(str(err)) from err
    if not parts:
        raise BadUpload("multipart body has no parts")
    first = parts[0]
    chosen = first
    if not first.filename:
        chosen = next((p for p in parts[1:] if p.filename), first)
    if len(chosen.data) > size_limit:
        raise FileTooLarge(size_limit)
    # SeaweedFS takes the MIME type from the first part even when the file is a later one.
    return (
        chosen.data,
        chosen.filename,
        first.content_type,
        chosen.headers.get("content-encoding") == "gzip",
        chosen.headers.get("content-md5") or "",
    )


def _raw_name(request: Request) -> str:
    disposition = request.headers.get("content-disposition")
    if disposition and "name=" in disposition:
        if not disposition.startswith(("inline", "attachment")):
            disposition = "attachment; " + disposition
        _, params = parse_header_params(disposition)
        name = params.get("filename") or params.get("name") or ""
        if name:
            return name.rstrip("/").rsplit("/", 1)[-1] or name
    path = request.path.rstrip("/")
    return path[path.rfind("/") + 1 :]


def _derived_mime(name: str, sent_type: str, mime: str) -> str:
    dot = name.rfind(".")
    ext_type = type_by_extension(name[dot:]) if dot > 0 else ""
    if sent_type and sent_type != OCTET_STREAM and sent_type != ext_type:
        return sent_type
    if ext_type and not mime and ext_type != OCTET_STREAM:
        return ext_type
    return mime


def _maybe_gzip(data: bytes, mime: str) -> tuple[bytes, bool]:
    kind = mime or detect_content_type(data)
    if kind == OCTET_STREAM or not is_compressible(kind):
        return data, False
    packed = gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)
    if len(packed) * 10 < len(data) * 9:
        return packed, True
    return data, False


def canonical_header_key(name: str) -> str:
    """Go's textproto canonical form: `x-test` -> `X-Test`."""
    if " " in name:
        return name
    return "-".join(word[:1].upper() + word[1:].lower() for word in name.split("-"))


def _pairs(request: Request) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for name, value in request.headers.items():
        if len(name) > len(PAIR_PREFIX) and name[:8].lower() == PAIR_PREFIX:
            key = canonical_header_key(name)[len(PAIR_PREFIX) :]
            pairs.setdefault(key, value)
    return pairs


def _pairs_json(pairs: dict[str, str]) -> bytes:
    """Compact JSON with sorted keys and Go's HTML escaping, as encoding/json writes a map."""
    clean = {k: v.encode("utf-8", "surrogateescape").decode("utf-8", "replace") for k, v in pairs.items()}
    text = json.dumps(clean, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    encoded = text.encode()
    return encoded if len(encoded) < MAX_PAIRS_JSON else b""


def _int_param(text: str | None) -> int:
    if text and text.isdigit():
        return int(text)
    return 0


def _ttl_param(text: str | None) -> Ttl:
    if not text:
        return _NO_TTL
    try:
        return Ttl.parse(text)
    except InvalidTtl:
        return _NO_TTL  # SeaweedFS ignores an unparsable ttl
