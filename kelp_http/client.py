"""An HTTP/1.1 client with a bounded keep-alive pool per host:port, on asyncio + httptools.

One request at a time per connection (no pipelining); concurrency comes from more connections.
A request on a pooled connection that the server had already closed (the classic keep-alive race)
is retried once on a fresh connection if the method is idempotent.

Imports only kelp_http modules, asyncio, httptools and the standard library.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Iterable
from typing import Any, cast

import httptools

from kelp_http.errors import ConnectFailed, ConnectionClosed, MalformedResponse, RequestTimeout
from kelp_http.headers import Headers
from kelp_http.request_id import HEADER, REQUEST_ID

_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"})
# Idle connections kept per host:port. Enough for the c=16..64 concurrency the benchmarks and
# replication fan-out use; beyond it connections are closed after use instead of hoarded.
_DEFAULT_MAX_IDLE = 64
# A pooled connection idle for longer is closed instead of reused. Half the server's idle
# timeout (kelp_http.server.DEFAULT_IDLE_TIMEOUT_S), so a request is never sent on a connection
# the server is closing at that moment: a POST there could not be retried.
IDLE_REUSE_S = 60.0
# Request bodies up to this size are sent in the same write as the head.
_COALESCE_LIMIT = 16 * 1024
# Response bodies of at least this many bytes (with a Content-Length) bypass the parser once
# their head is parsed: their pieces are kept as received (ClientResponse.pieces).
RAW_BODY_MIN = 256 * 1024


class ClientResponse:
    """A whole response. `pieces` is the body as it arrived (large bodies are kept in the pieces
    the socket delivered, not copied into one string); `body` joins them on first use."""

    __slots__ = ("_body", "_pieces", "headers", "status")

    def __init__(self, status: int, headers: Headers, pieces: list[bytes]) -> None:
        self.status = status
        self.headers = headers
        self._pieces = pieces
        self._body: bytes | None = pieces[0] if len(pieces) == 1 else None

    @property
    def body(self) -> bytes:
        if self._body is None:
            self._body = b"".join(self._pieces)
        return self._body

    @property
    def pieces(self) -> list[bytes]:
        return self._pieces if self._body is None else [self._body]


class _Stale(Exception):
    """The connection died before any byte of the response arrived."""


class _ClientConnection(asyncio.Protocol):
    __slots__ = (
        "_body",
        "_done",
        "_got_bytes",
        "_head_only",
        "_headers",
        "_headers_complete",
        "_hostport",
        "_loop",
        "_parser",
        "_raw_left",
        "_waiter",
        "closed",
        "keep_alive",
        "transport",
    )

    def __init__(self, loop: asyncio.AbstractEventLoop, hostport: str) -> None:
        self._loop = loop
        self._hostport = hostport
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.keep_alive = False
        self._waiter: asyncio.Future[ClientResponse] | None = None
        self._parser: Any = None
        self._headers = Headers()
        self._body: list[bytes] = []
        self._raw_left = -1  # >= 0: body bytes still to come past the parser (see data_received)
        self._got_bytes = False
        self._head_only = False
        self._headers_complete = False
        self._done = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # Latency over batching for request/response traffic; a no-op for non-TCP sockets.
            with contextlib.suppress(OSError, AttributeError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self._waiter
        if waiter is None or waiter.done() or self._done:
            return
        if self._headers_complete and self._parser is not None and not self._has_framing():
            # A response delimited by connection close is complete now.
            self._complete()
            return
        if self._got_bytes:
            waiter.set_exception(ConnectionClosed(self._hostport, True))
        else:
            waiter.set_exception(_Stale())

    def _has_framing(self) -> bool:
        return "content-length" in self._headers or "transfer-encoding" in self._headers

    def data_received(self, data: bytes) -> None:
        if self._done:
            # Bytes nobody asked for: the connection is out of step; never reuse it.
            self.keep_alive = False
            if self.transport is not None:
                self.transport.close()
            return
        self._got_bytes = True
        if self._raw_left >= 0:
            self._raw_body(data)
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as err:
            self._fail(MalformedResponse(self._hostport, str(err)))

    def _raw_body(self, data: bytes) -> None:
        """The rest of a large Content-Length body, kept as the socket's own bytes objects: the
        parser would copy each into a new one (and the caller join them into a third)."""
        if len(data) > self._raw_left:
            # Bytes past the body on a connection with one request at a time: out of step.
            self._fail(MalformedResponse(self._hostport, "bytes past the end of the response body"))
            return
        self._body.append(data)
        self._raw_left -= len(data)
        if not self._raw_left:
            self._complete()

    # ---- parser callbacks ----------------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.add(name.decode("latin-1"), value.decode("utf-8", "surrogateescape"))

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if 100 <= status < 200:
            return
        self._headers_complete = True
        if self._head_only:
            # llhttp cannot be told the request was HEAD, so it would wait for Content-Length bytes
            # that never come; the response is complete with its headers.
            self._complete()
            return
        length = self._headers.get("content-length")
        if (200 <= status < 300 and status != 204 and length is not None and length.isdigit()
                and int(length) >= RAW_BODY_MIN and "transfer-encoding" not in self._headers):
            # A large body: after this feed, data_received takes the bytes past the parser.
            self._raw_left = int(length)

    def on_body(self, body: bytes) -> None:
        if not self._done:
            self._body.append(body)
            if self._raw_left > 0:
                self._raw_left -= len(body)

    def on_message_complete(self) -> None:
        if self._done:
            return
        if not self._headers_complete:
            # An interim 1xx reply: start over for the real one.
            self._headers = Headers()
            return
        self._complete()

    def _complete(self) -> None:
        self._done = True
        self._raw_left = -1
        parser = self._parser
        self.keep_alive = bool(parser.should_keep_alive()) and not self.closed
        body = self._body
        response = ClientResponse(parser.get_status_code(), self._headers, body if body else [b""])
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(response)

    def _fail(self, exc: BaseException) -> None:
        self._done = True
        self.keep_alive = False
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        if self.transport is not None:
            self.transport.close()

    def _on_timeout(self, timeout: float) -> None:
        self._fail(RequestTimeout(self._hostport, timeout))
        if self.transport is not None:
            self.transport.abort()

    # ---- one exchange --------------------------------------------------------------------------

    async def exchange(
        self, head: bytes, body: bytes | memoryview | bytearray, head_only: bool, timeout: float
    ) -> ClientResponse:
        assert self.transport is not None
        self._parser = httptools.HttpResponseParser(self)
        self._headers = Headers()
        self._body = []
        self._raw_left = -1
        self._got_bytes = False
        self._headers_complete = False
        self._head_only = head_only
        self._done = False
        self.keep_alive = False
        waiter: asyncio.Future[ClientResponse] = self._loop.create_future()
        self._waiter = waiter
        size = body.nbytes if type(body) is memoryview else len(body)
        if not size:
            self.transport.write(head)
        elif size <= _COALESCE_LIMIT:
            self.transport.write(head + body)
        else:
            self.transport.write(head)
            self.transport.write(body)
        timer = self._loop.call_later(timeout, self._on_timeout, timeout)
        try:
            return await waiter
        finally:
            timer.cancel()
            self._waiter = None
            if not self._done:
                # Cancelled mid-exchange: the connection's state is unknown.
                self._done = True
                self.keep_alive = False
                self.transport.close()

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.close()


def _split_hostport(hostport: str) -> tuple[str, int]:
    if "://" in hostport:
        hostport = hostport.split("://", 1)[1]
    hostport = hostport.split("/", 1)[0]
    if hostport.startswith("["):
        host, _, rest = hostport[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else 80
    host, sep, port = hostport.rpartition(":")
    if not sep:
        return hostport, 80
    return host, int(port)


class HttpClient:
    """Keep-alive HTTP/1.1 client; ``request`` may be called concurrently from many tasks."""

    def __init__(self, *, max_idle_per_host: int = _DEFAULT_MAX_IDLE, connect_timeout: float = 10.0) -> None:
        self._idle: dict[str, list[tuple[_ClientConnection, float]]] = {}  # with when it went idle
        self._max_idle = max_idle_per_host
        self._connect_timeout = connect_timeout
        self._closed = False
        self.connections_opened = 0

    async def request(
        self,
        method: str,
        hostport: str,
        path_and_query: str,
        *,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes | memoryview | bytearray = b"",
        timeout: float = 30.0,
    ) -> ClientResponse:
        """Send one request and return the whole response (any status; errors are exceptions)."""
        if "://" in hostport:
            hostport = hostport.split("://", 1)[1].rstrip("/")
        head = self._encode_head(method, hostport, path_and_query, headers, body)
        retried = False
        while True:
            conn = self._take_idle(hostport)
            reused = conn is not None
            if conn is None:
                conn = await self._connect(hostport, min(timeout, self._connect_timeout))
            try:
                response = await conn.exchange(head, body, method == "HEAD", timeout)
            except _Stale:
                if reused and not retried and method in _IDEMPOTENT:
                    retried = True
                    continue
                raise ConnectionClosed(hostport, False) from None
            if conn.keep_alive and not self._closed:
                self._put_idle(hostport, conn)
            else:
                conn.close()
            return response

    @staticmethod
    def _encode_head(
        method: str,
        hostport: str,
        path: str,
        headers: Iterable[tuple[str, str]],
        body: bytes | memoryview | bytearray,
    ) -> bytes:
        if not path.startswith("/"):
            path = "/" + path
        parts = [f"{method} {path} HTTP/1.1\r\n"]
        has_host = has_length = has_rid = False
        for name, value in headers:
            lname = name.lower()
            if lname == "host":
                has_host = True
            elif lname == "content-length":
                has_length = True
            elif lname == "x-request-id":
                has_rid = True
            parts.append(f"{name}: {value}\r\n")
        if not has_host:
            parts.append(f"Host: {hostport}\r\n")
        rid = REQUEST_ID.get()
        if rid and not has_rid:
            # Made while handling a request: the next server logs under the same id.
            parts.append(f"{HEADER}: {rid}\r\n")
        if not has_length and (body or method in ("POST", "PUT", "PATCH")):
            size = body.nbytes if type(body) is memoryview else len(body)
            parts.append(f"Content-Length: {size}\r\n")
        parts.append("\r\n")
        return "".join(parts).encode("utf-8", "surrogateescape")

    def _take_idle(self, hostport: str) -> _ClientConnection | None:
        pool = self._idle.get(hostport)
        now = time.monotonic()
        while pool:
            conn, since = pool.pop()
            if conn.closed:
                continue
            if now - since > IDLE_REUSE_S:
                conn.close()
                continue
            return conn
        return None

    def _put_idle(self, hostport: str, conn: _ClientConnection) -> None:
        pool = self._idle.setdefault(hostport, [])
        if len(pool) >= self._max_idle:
            conn.close()
        else:
            pool.append((conn, time.monotonic()))

    async def _connect(self, hostport: str, timeout: float) -> _ClientConnection:
        loop = asyncio.get_running_loop()
        try:
            host, port = _split_hostport(hostport)
        except ValueError as err:
            raise ConnectFailed(hostport, f"bad address: {err}") from err
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(lambda: _ClientConnection(loop, hostport), host, port), timeout
            )
        except TimeoutError as err:
            raise ConnectFailed(hostport, f"timed out after {timeout:g}s") from err
        except OSError as err:
            raise ConnectFailed(hostport, err.strerror or str(err)) from err
        self.connections_opened += 1
        return conn

    def idle_count(self, hostport: str) -> int:
        return sum(1 for c, _ in self._idle.get(hostport, ()) if not c.closed)

    async def close(self) -> None:
        """Close every idle connection; connections in use close when their request ends."""
        self._closed = True
        for pool in self._idle.values():
            for conn, _ in pool:
                conn.close()
        self._idle.clear()
