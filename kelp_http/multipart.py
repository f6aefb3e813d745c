"""multipart/form-data: parsing an upload body into parts, and encoding one.

Parsing follows what Go's mime/multipart accepts for uploads: a boundary from the Content-Type
(quoted or bare), an optional preamble, CRLF (or bare LF) line ends, part headers up to a blank line,
and a closing ``--boundary--``. Anything else raises MultipartError.

Imports only kelp_http.headers, kelp_http.errors and the standard library.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field

from kelp_http.errors import MultipartError
from kelp_http.headers import Headers

# RFC 2046 caps boundaries at 70 characters; Go accepts longer, so only absurd values are refused.
_MAX_BOUNDARY = 256
# Part headers larger than this are not an upload form; refusing bounds the work on hostile input.
_MAX_PART_HEADER_BYTES = 64 * 1024


@dataclass(slots=True)
class Part:
    """One part: form field ``name``, ``filename`` (directory and Windows path removed), headers, data."""

    name: str = ""
    filename: str = ""
    headers: Headers = field(default_factory=Headers)
    data: bytes = b""

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type") or ""

    @classmethod
    def file(
        cls, name: str, filename: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> Part:
        """A file part for ``encode_multipart``."""
        return cls(name, filename, Headers([("Content-Type", content_type)]), data)


def parse_header_params(value: str) -> tuple[str, dict[str, str]]:
    """Split ``type; a=b; c="d \\" e"`` into the lower-cased first token and lower-cased-key params."""
    head, _, rest = value.partition(";")
    params: dict[str, str] = {}
    i, n = 0, len(rest)
    while i < n:
        while i < n and rest[i] in " \t;":
            i += 1
        eq = rest.find("=", i)
        if eq < 0:
            break
        key = rest[i:eq].strip().lower()
        i = eq + 1
        if i < n and rest[i] == '"':
            i += 1
            chars: list[str] = []
            while i < n and rest[i] != '"':
                if rest[i] == "\\" and i + 1 < n:
                    i += 1
                chars.append(rest[i])
                i += 1
            i += 1
            val = "".join(chars)
        else:
            end = rest.find(";", i)
            end = n if end < 0 else end
            val = rest[i:end].strip()
            i = end
        if key and key not in params:
            params[key] = val
    return head.strip().lower(), params


def _base_name(filename: str) -> str:
    # Browsers on Windows send "C:\\dir\\file.txt"; only the last component is the name.
    return os.path.basename(filename.replace("\\", "/"))


def boundary_of(content_type: str) -> str:
    """The boundary of a multipart Content-Type; MultipartError if it is not multipart or has none."""
    mtype, params = parse_header_params(content_type)
    if not mtype.startswith("multipart/"):
        raise MultipartError(f"content type {content_type!r} is not multipart")
    boundary = params.get("boundary", "")
    if not boundary:
        raise MultipartError("no boundary in content type")
    if len(boundary) > _MAX_BOUNDARY:
        raise MultipartError("boundary too long")
    return boundary


def _parse_part_headers(block: bytes) -> Headers:
    headers = Headers()
    for raw in block.split(b"\n"):
        line = raw.rstrip(b"\r")
        if not line:
            continue
        name, sep, value = line.partition(b":")
        if not sep or not name.strip():
            raise MultipartError(f"malformed part header line {line[:80]!r}")
        headers.add(name.strip().decode("latin-1"), value.strip().decode("utf-8", "surrogateescape"))
    return headers


def parse_multipart(body: bytes, content_type: str) -> list[Part]:
    """Every part of a multipart body, in order."""
    delim = b"--" + boundary_of(content_type).encode("latin-1")
    # The first delimiter may start the body or follow a preamble line.
    if body.startswith(delim):
        pos = len(delim)
    else:
        found = body.find(b"\n" + delim)
        if found < 0:
            raise MultipartError("no opening boundary")
        pos = found + 1 + len(delim)
    parts: list[Part] = []
    sep = b"\n" + delim
    while True:
        if body.startswith(b"--", pos):
            return parts
        # Rest of the delimiter line: optional whitespace then a line end.
        eol = body.find(b"\n", pos)
        if eol < 0 or body[pos:eol].strip(b" \t\r"):
            raise MultipartError("malformed boundary line")
        start = eol + 1
        head_end = body.find(b"\r\n\r\n", start, start + _MAX_PART_HEADER_BYTES + 4)
        head_len = 4
        # Bounded: a bare-LF head ends within the header limit, and an unbounded search would
        # scan every byte of a large part on each upload.
        limit = (head_end if head_end >= 0 else start + _MAX_PART_HEADER_BYTES) + 2
        lf_end = body.find(b"\n\n", start, limit)
        if lf_end >= 0 and (head_end < 0 or lf_end < head_end):
            head_end, head_len = lf_end, 2
        if body.startswith(b"\r\n", start) or body.startswith(b"\n", start):
            # A part with no headers at all.
            head_end, head_len = start, (2 if body.startswith(b"\r\n", start) else 1)
        if head_end < 0:
            raise MultipartError("part headers not terminated")
        if head_end - start > _MAX_PART_HEADER_BYTES:
            raise MultipartError("part headers too large")
        headers = _parse_part_headers(body[start:head_end])
        data_start = head_end + head_len
        nxt = body.find(sep, data_start)
        if nxt < 0:
            raise MultipartError("part not terminated by a boundary")
        data_end = nxt - 1 if nxt > data_start and body[nxt - 1 : nxt] == b"\r" else nxt
        name = filename = ""
        disposition = headers.get("content-disposition")
        if disposition:
            _, params = parse_header_params(disposition)
            name = params.get("name", "")
            filename = _base_name(params.get("filename", ""))
        parts.append(Part(name, filename, headers, body[data_start:data_end]))
        pos = nxt + len(sep)


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def encode_multipart(
    fields: Iterable[Part | tuple[str, str | bytes]], boundary: str | None = None
) -> tuple[bytes, str]:
    """Encode ``(name, value)`` pairs and ``Part``s as multipart/form-data; returns (body, content type)."""
    if boundary is None:
        boundary = os.urandom(16).hex()
    delim = b"--" + boundary.encode("latin-1")
    out: list[bytes] = []
    for item in fields:
        if isinstance(item, Part):
            disposition = f'form-data; name="{_quote(item.name)}"'
            if item.filename:
                disposition += f'; filename="{_quote(item.filename)}"'
            lines = [f"Content-Disposition: {disposition}"]
            lines += [f"{k}: {v}" for k, v in item.headers.items() if k.lower() != "content-disposition"]
            data = item.data
        else:
            name, value = item
            lines = [f'Content-Disposition: form-data; name="{_quote(name)}"']
            data = value.encode() if isinstance(value, str) else value
        out.append(delim + b"\r\n" + "\r\n".join(lines).encode("utf-8", "surrogateescape") + b"\r\n\r\n")
        out.append(data)
        out.append(b"\r\n")
    out.append(delim + b"--\r\n")
    return b"".join(out), f"multipart/form-data; boundary={boundary}"
