"""multipart/form-data: parsing an upload body into parts, and encoding one.

Parsing follows what Go's mime/multipart accepts for uploads: a boundary from the Content-Type
(quoted or bare), an optional preamble, CRLF (or bare LF) line ends, part headers up to a blank line,
and a closing ``--boundary--``. Anything else raises MultipartError.

``parse_multipart`` works on a whole body in memory; ``MultipartStream`` applies the same rules
incrementally to an async iterable of pieces (a streamed request body), so a large file part
flows through in bounded memory: it holds at most one piece plus a boundary's length.

Imports only kelp_http.headers, kelp_http.errors and the standard library.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterable, AsyncIterator, Iterable
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


def _part_names(headers: Headers) -> tuple[str, str]:
    disposition = headers.get("content-disposition")
    if not disposition:
        return "", ""
    _, params = parse_header_params(disposition)
    return params.get("name", ""), _base_name(params.get("filename", ""))


class StreamedPart:
    """One part of a MultipartStream: its names and headers at once, its data by `async for`
    (pieces in order; MultipartError if the body ends before the part's closing boundary)."""

    __slots__ = ("_owner", "filename", "headers", "name")

    def __init__(self, owner: MultipartStream, headers: Headers) -> None:
        self._owner = owner
        self.headers = headers
        self.name, self.filename = _part_names(headers)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type") or ""

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._owner._data(self)

    async def read_all(self, limit: int) -> bytes:
        """The part's data; MultipartError if it is longer than `limit` bytes."""
        out = bytearray()
        async for piece in self:
            out += piece
            if len(out) > limit:
                raise MultipartError(f"form part {self.name!r} is larger than {limit} bytes")
        return bytes(out)


class MultipartStream:
    """multipart/form-data read part by part from an async iterable of body pieces.

        stream = MultipartStream(request.stream, content_type)
        while (part := await stream.next_part()) is not None:
            async for piece in part: ...

    `next_part` skips whatever the previous part left unread, and returns None after the closing
    boundary. Malformed input (no opening boundary, bad boundary line, unterminated or oversized
    part headers, a body that ends inside a part) raises MultipartError, as parse_multipart does.
    """

    def __init__(self, source: AsyncIterable[bytes], content_type: str) -> None:
        self._delim = b"--" + boundary_of(content_type).encode("latin-1")
        self._sep = b"\n" + self._delim  # between parts; a CR before it belongs to the line end
        self._pieces = source.__aiter__()
        self._buf = bytearray()
        self._eof = False
        self._started = False
        self._finished = False
        self._current: StreamedPart | None = None
        self._in_data = False

    async def _fill(self) -> bool:
        """Append the next piece to the buffer; False at the end of the body."""
        if self._eof:
            return False
        try:
            piece = await self._pieces.__anext__()
        except StopAsyncIteration:
            self._eof = True
            return False
        self._buf += piece
        return True

    async def _open(self) -> None:
        # The first delimiter starts the body or a line after a preamble; the preamble is dropped
        # as it is scanned (keeping a boundary's length, which may hold a split delimiter).
        while True:
            if self._buf.startswith(self._delim):
                del self._buf[: len(self._delim)]
                return
            found = self._buf.find(self._sep)
            if found >= 0:
                del self._buf[: found + len(self._sep)]
                return
            keep = len(self._sep)
            if len(self._buf) > keep:
                del self._buf[: len(self._buf) - keep]
            if not await self._fill():
                raise MultipartError("no opening boundary")

    async def next_part(self) -> StreamedPart | None:
        if self._finished:
            return None
        if not self._started:
            self._started = True
            await self._open()
        elif self._current is not None:
            async for _ in self._data(self._current):  # the rest of the previous part, unread
                pass
        self._current = None
        # After a delimiter: "--" ends the body; otherwise optional blanks then a line end.
        while len(self._buf) < 2 and await self._fill():
            pass
        if self._buf.startswith(b"--"):
            self._finished = True
            return None
        while (eol := self._buf.find(b"\n")) < 0:
            if len(self._buf) > _MAX_PART_HEADER_BYTES or not await self._fill():
                raise MultipartError("malformed boundary line")
        if self._buf[:eol].strip(b" \t\r"):
            raise MultipartError("malformed boundary line")
        del self._buf[: eol + 1]
        headers = await self._headers()
        self._current = StreamedPart(self, headers)
        self._in_data = True
        return self._current

    async def _headers(self) -> Headers:
        while True:
            if self._buf.startswith(b"\r\n") or self._buf.startswith(b"\n"):
                del self._buf[: 2 if self._buf.startswith(b"\r\n") else 1]
                return Headers()  # a part with no headers at all
            crlf = self._buf.find(b"\r\n\r\n")
            lf = self._buf.find(b"\n\n")
            ends = [(at, size) for at, size in ((crlf, 4), (lf, 2)) if at >= 0]
            if ends:
                at, size = min(ends)
                if at > _MAX_PART_HEADER_BYTES:
                    raise MultipartError("part headers too large")
                block = bytes(self._buf[:at])
                del self._buf[: at + size]
                return _parse_part_headers(block)
            if len(self._buf) > _MAX_PART_HEADER_BYTES + 4:
                raise MultipartError("part headers too large")
            if not await self._fill():
                raise MultipartError("part headers not terminated")

    async def _data(self, part: StreamedPart) -> AsyncIterator[bytes]:
        if part is not self._current or not self._in_data:
            return
        sep = self._sep
        while True:
            found = self._buf.find(sep)
            if found >= 0:
                end = found - 1 if found > 0 and self._buf[found - 1] == 0x0D else found
                piece = bytes(self._buf[:end])
                del self._buf[: found + len(sep)]
                self._in_data = False
                if piece:
                    yield piece
                return
            # Everything but the tail that may hold a split "\r" + separator is part data.
            safe = len(self._buf) - len(sep)
            if safe > 0:
                piece = bytes(self._buf[:safe])
                del self._buf[:safe]
                yield piece
            if not await self._fill():
                self._in_data = False
                raise MultipartError("part not terminated by a boundary")


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
