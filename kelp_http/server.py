"""A small HTTP/1.1 server: asyncio.Protocol + httptools, one handler coroutine per request.

What it does per connection: keep-alive; pipelined requests answered strictly in order; Content-Length
and chunked request bodies; ``Expect: 100-continue``; a body limit (413 and close); HEAD (headers of
the handler's body, no body); ``Connection: close`` and HTTP/1.0; malformed input (400 and close);
handler exceptions (500 JSON, logged, connection kept); write backpressure (no further request is
started and reading pauses while the peer is not draining its socket).

Hot-path choices: the handler coroutine is stepped eagerly inside ``data_received``; a task is created
only if it actually suspends (a disk read in a thread, a proxied request). Response heads are built
as one string and written with the body in one ``transport.write`` when the body is small.

Imports only kelp_http modules, asyncio, httptools and the standard library.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import socket
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from email.utils import formatdate
from http import HTTPStatus
from types import CoroutineType
from typing import Any, cast

import httptools

from kelp_http.body_stream import BodyStream
from kelp_http.headers import Headers
from kelp_http.request import Request
from kelp_http.request_id import REQUEST_ID, accept_or_new
from kelp_http.response import Response, error_response
from kelp_http.stats import RequestStats

log = logging.getLogger(__name__)

Handler = Callable[[Request], Awaitable[Response]]

# Pipelined requests queued beyond this pause reading, so a client that pipelines without reading
# replies cannot make the server buffer unbounded work.
_MAX_QUEUED = 32
# A body at or below this size is concatenated with the head into one write (one syscall); larger
# bodies are written separately to avoid copying them.
_COALESCE_LIMIT = 16 * 1024
# How long close() waits for busy connections to finish their current response before aborting them.
_CLOSE_GRACE_S = 5.0
# Request line plus headers may not exceed this (Go's net/http default is 1 MiB). httptools
# buffers an unfinished header internally, so without a cap a peer that never ends its header
# grows the process without bound.
MAX_HEADER_BYTES = 1 << 20
# A connection that neither sends nor reads for this long is dropped: an idle keep-alive
# connection, a request head or body that stalls (slowloris), or a peer that stopped reading
# its reply. A handler still working on a request is never counted as inactivity.
DEFAULT_IDLE_TIMEOUT_S = 120.0
# The sweep runs a few times per timeout, and at least this often, so a dead connection
# outlives its timeout by at most a fraction of it.
_MAX_SWEEP_INTERVAL_S = 5.0
# A streamed request body may be this long unless the server says otherwise (1 TiB: no practical cap).
DEFAULT_MAX_STREAMED_BODY = 1 << 40

_REASONS = {s.value: s.phrase for s in HTTPStatus}
_STATUS_LINES: dict[int, str] = {}
_METHODS = {
    m.encode(): m for m in ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "CONNECT")
}
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_NO_BODY_STATUSES = frozenset({204, 304})


def _status_line(status: int) -> str:
    line = _STATUS_LINES.get(status)
    if line is None:
        line = f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}\r\n"
        _STATUS_LINES[status] = line
    return line


_date_second = 0
_date_line = ""


def _date_header() -> str:
    """``Date: ...\\r\\n`` for the current second, formatted once per second."""
    global _date_second, _date_line
    now = int(time.time())
    if now != _date_second:
        _date_second = now
        _date_line = f"Date: {formatdate(now, usegmt=True)}\r\n"
    return _date_line


def _clean(value: str) -> str:
    if type(value) is not str:
        value = str(value)  # tolerate ints (a Content-Range length, a count) from handlers
    # A CR or LF in a header value would let a stored value inject headers; Go replaces them too.
    if "\r" in value or "\n" in value:
        return value.replace("\r", " ").replace("\n", " ")
    return value


class _BodyTooLarge(Exception):
    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"request body of {size} bytes is over the limit of {limit} bytes")
        self.size = size
        self.limit = limit


class _Resume:
    """Continues a coroutine that was already stepped once, as an awaitable a Task can drive."""

    __slots__ = ("coro", "first")

    def __init__(self, coro: Any, first: Any) -> None:
        self.coro = coro
        self.first = first

    def __await__(self) -> Generator[Any, Any, Any]:
        coro = self.coro
        value = self.first
        self.first = None
        while True:
            try:
                sent = yield value
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:
                try:
                    value = coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    value = coro.send(sent)
                except StopIteration as stop:
                    return stop.value


class _Pending:
    """A queued unit of work: a parsed request, or a canned reply (413/400) after which we close."""

    __slots__ = ("canned", "keep_alive", "request", "stream")

    def __init__(
        self,
        request: Request | None,
        keep_alive: bool,
        canned: Response | None = None,
        stream: BodyStream | None = None,
    ) -> None:
        self.request = request
        self.keep_alive = keep_alive
        self.canned = canned
        self.stream = stream  # the request's streamed body, if it has one


class _Connection(asyncio.Protocol):
    __slots__ = (
        "_body",
        "_body_backlogged",
        "_body_size",
        "_body_stream",
        "_busy",
        "_closed",
        "_continue_pending",
        "_drain_waiter",
        "_head_bytes",
        "_head_done",
        "_headers",
        "_in_message",
        "_last_active",
        "_loop",
        "_parser",
        "_parser_dead",
        "_peer_eof",
        "_queue",
        "_reading_paused",
        "_remote",
        "_server",
        "_shutting_down",
        "_started",
        "_streaming_out",
        "_transport",
        "_url",
        "_writing_paused",
    )

    def __init__(self, server: HttpServer) -> None:
        self._server = server
        self._loop = server._loop
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._remote = ""
        self._queue: deque[_Pending] = deque()
        self._busy = False
        self._closed = False
        self._parser_dead = False
        self._writing_paused = False
        self._reading_paused = False
        self._shutting_down = False
        self._peer_eof = False
        self._continue_pending = False
        self._in_message = False
        self._url: list[bytes] = []
        self._headers = Headers()
        self._body: list[bytes] = []
        self._body_size = 0
        self._head_bytes = 0  # bytes received since the current head began, until it completes
        self._head_done = False
        self._last_active = self._loop.time()  # last byte received or reply written
        self._body_stream: BodyStream | None = None  # the request body being streamed in, if any
        self._body_backlogged = False  # its handler is behind: reading paused until it catches up
        self._streaming_out = False  # a Response.stream is being written
        self._started = 0.0  # loop time the current request's handler started (for RequestStats)
        self._drain_waiter: asyncio.Future[None] | None = None

    # ---- transport callbacks -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self._transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple) and len(peer) >= 2:
            host = peer[0]
            self._remote = f"[{host}]:{peer[1]}" if ":" in host else f"{host}:{peer[1]}"
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # Latency over batching for request/response traffic; a no-op for non-TCP sockets.
            with contextlib.suppress(OSError, AttributeError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._server._connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._queue.clear()
        if self._body_stream is not None:
            self._body_stream.fail("connection closed")
            self._body_stream = None
        self._wake_drain()
        self._server._connection_done(self)

    def pause_writing(self) -> None:
        self._writing_paused = True
        self._pause_reading()

    def resume_writing(self) -> None:
        self._last_active = self._loop.time()
        self._writing_paused = False
        self._wake_drain()
        self._resume_reading()
        self._pump()

    def _wake_drain(self) -> None:
        waiter = self._drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def data_received(self, data: bytes) -> None:
        if self._parser_dead or self._closed:
            return
        self._last_active = self._loop.time()
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserCallbackError as err:
            self._parser_dead = True
            cause = err.__context__
            if isinstance(cause, _BodyTooLarge):
                if self._body_stream is not None:
                    self._body_stream.fail(str(cause))
                    self._body_stream = None
                else:
                    self._queue.append(_Pending(None, False, error_response(413, str(cause))))
            else:
                log.error("http parser callback failed remote=%s", self._remote, exc_info=cause or err)
                self._queue.append(_Pending(None, False, error_response(500, "internal error")))
        except httptools.HttpParserUpgrade:
            self._parser_dead = True
            self._queue.append(_Pending(None, False, error_response(400, "protocol upgrade not supported")))
        except httptools.HttpParserError as err:
            self._parser_dead = True
            if self._body_stream is not None:
                # The streamed request is already with its handler: it sees the body fail, and
                # the connection closes after its reply.
                self._body_stream.fail(f"malformed request: {err}")
                self._body_stream = None
            else:
                self._queue.append(_Pending(None, False, error_response(400, f"malformed request: {err}")))
        if not self._head_done and not self._parser_dead:
            # Counted after feeding: a chunk that completes the head resets the count first.
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEADER_BYTES:
                self._parser_dead = True
                message = f"request header over the limit of {MAX_HEADER_BYTES} bytes"
                self._queue.append(_Pending(None, False, error_response(431, message)))
        if self._parser_dead or len(self._queue) >= _MAX_QUEUED:
            self._pause_reading()
        self._pump()

    def eof_received(self) -> bool | None:
        # Half-close from the peer: finish queued replies, then close (returning True keeps it open).
        if self._body_stream is not None:
            self._body_stream.fail("peer closed its side before the body ended")
            self._body_stream = None
        if self._busy or self._queue:
            self._peer_eof = True
            return True
        return None

    # ---- parser callbacks ----------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._in_message = True
        self._url = []
        self._headers = Headers()
        self._body = []
        self._body_size = 0

    def on_url(self, url: bytes) -> None:
        self._url.append(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.add(name.decode("latin-1"), value.decode("utf-8", "surrogateescape"))

    def on_headers_complete(self) -> None:
        self._head_done = True
        self._head_bytes = 0
        headers = self._headers
        length = headers.get("content-length")
        server = self._server
        if server.stream_body_over is not None and self._wants_stream(length):
            if length is not None and length.isdigit() and int(length) > server.max_streamed_body:
                raise _BodyTooLarge(int(length), server.max_streamed_body)
            self._start_stream()
        else:
            limit = server.max_body
            if length is not None and length.isdigit() and int(length) > limit:
                raise _BodyTooLarge(int(length), limit)
        expect = headers.get("expect")
        wants_continue = expect is not None and expect.lower() == "100-continue"
        if wants_continue and self._parser.get_http_version() == "1.1":
            if self._busy or self._queue:
                self._continue_pending = True
            elif self._transport is not None:
                self._transport.write(_CONTINUE)

    def _wants_stream(self, length: str | None) -> bool:
        threshold = self._server.stream_body_over
        assert threshold is not None
        if length is not None:
            return length.isdigit() and int(length) > threshold
        encoding = self._headers.get("transfer-encoding")
        return encoding is not None and "chunked" in encoding.lower()  # size unknown: stream it

    def _start_stream(self) -> None:
        """Queue the request now, with a body stream the parser feeds as the body arrives."""
        parser = self._parser
        method_b = parser.get_method()
        url = self._url[0] if len(self._url) == 1 else b"".join(self._url)
        request = Request(
            _METHODS.get(method_b) or method_b.decode("latin-1"),
            url.decode("utf-8", "surrogateescape"),
            self._headers,
            b"",
            self._remote,
            parser.get_http_version(),
        )
        stream = self._body_stream = request.stream = BodyStream(self._on_body_backlog)
        self._queue.append(_Pending(request, parser.should_keep_alive(), stream=stream))

    def _on_body_backlog(self, backlogged: bool) -> None:
        self._body_backlogged = backlogged
        if backlogged:
            self._pause_reading()
        elif not self._writing_paused and not self._parser_dead and len(self._queue) < _MAX_QUEUED:
            self._resume_reading()

    def on_body(self, body: bytes) -> None:
        self._body_size += len(body)
        stream = self._body_stream
        if stream is not None:
            if self._body_size > self._server.max_streamed_body:
                raise _BodyTooLarge(self._body_size, self._server.max_streamed_body)
            stream.feed(body)
            return
        if self._body_size > self._server.max_body:
            raise _BodyTooLarge(self._body_size, self._server.max_body)
        self._body.append(body)

    def on_message_complete(self) -> None:
        self._in_message = False
        self._head_done = False
        self._continue_pending = False
        if self._body_stream is not None:
            self._body_stream.finish()  # its request was queued when the head arrived
            self._body_stream = None
            return
        parser = self._parser
        method_b = parser.get_method()
        method = _METHODS.get(method_b) or method_b.decode("latin-1")
        url = self._url[0] if len(self._url) == 1 else b"".join(self._url)
        body = self._body
        request = Request(
            method,
            url.decode("utf-8", "surrogateescape"),
            self._headers,
            body[0] if len(body) == 1 else b"".join(body),
            self._remote,
            parser.get_http_version(),
        )
        self._queue.append(_Pending(request, parser.should_keep_alive()))

    # ---- request processing --------------------------------------------------------------------

    def _pump(self) -> None:
        """Start queued requests in order until one suspends or the peer stops draining."""
        queue = self._queue
        while queue and not self._busy and not self._writing_paused and not self._closed:
            item = queue.popleft()
            request = item.request
            if request is None:
                assert item.canned is not None
                self._write(None, item.canned, False)
                continue
            self._busy = True
            self._started = self._loop.time()
            ctx = contextvars.copy_context()
            ctx.run(REQUEST_ID.set, accept_or_new(request.headers.get("x-request-id")))
            try:
                coro = self._server._handler(request)
                if type(coro) is not CoroutineType:
                    coro = _await(coro)
                first = ctx.run(coro.send, None)
            except StopIteration as stop:
                self._busy = False
                self._finish(request, item.keep_alive, stop.value)
                continue
            except Exception as exc:
                self._busy = False
                self._finish(request, item.keep_alive, self._failed(request, exc))
                continue
            self._loop.create_task(self._resume(coro, first, request, item.keep_alive), context=ctx)
        if not queue and not self._busy:
            if self._continue_pending and self._transport is not None and not self._closed:
                self._continue_pending = False
                self._transport.write(_CONTINUE)
            transport = self._transport
            finished = self._peer_eof or (self._shutting_down and not self._in_message)
            if finished and transport is not None and not self._closed:
                self._closed = True
                transport.close()
            elif not self._writing_paused and not self._parser_dead:
                self._resume_reading()

    async def _resume(self, coro: Any, first: Any, request: Request, keep_alive: bool) -> None:
        try:
            response = await _Resume(coro, first)
        except Exception as exc:
            response = self._failed(request, exc)
        self._busy = False
        self._finish(request, keep_alive, response)
        self._pump()

    def _failed(self, request: Request, exc: BaseException) -> Response:
        log.exception(
            "handler failed method=%s path=%s remote=%s",
            request.method,
            request.raw_path,
            request.remote,
            exc_info=exc,
        )
        return error_response(500, str(exc) or type(exc).__name__)

    def _finish(self, request: Request, keep_alive: bool, response: Any) -> None:
        if not isinstance(response, Response):
            response = self._failed(request, TypeError(f"handler returned {type(response).__name__}"))
        stats = self._server.stats
        if stats is not None:
            stats.observe(
                stats.label(request.method, request.path), response.status, self._loop.time() - self._started
            )
        if request.stream is not None and not request.stream.finished:
            # The handler answered before the body ended (an error, say): the rest of the body is
            # still on the wire, so this connection cannot carry another request.
            keep_alive = False
        self._write(request, response, keep_alive)

    def _write(self, request: Request | None, response: Response, keep_alive: bool) -> None:
        transport = self._transport
        if transport is None or self._closed:
            return
        self._last_active = self._loop.time()
        status = response.status
        body = response.body
        # A memoryview over a non-byte format (array('I')) has len() in items, not bytes.
        size = body.nbytes if type(body) is memoryview else len(body)
        parts = [_status_line(status), _date_header()]
        server_line = self._server._server_line
        if server_line:
            parts.append(server_line)
        declared: str | None = None
        for name, value in response.headers:
            if len(name) == 14 and name.lower() == "content-length":
                declared = value
                continue
            parts.append(f"{name}: {_clean(value)}\r\n")
        stream = response.stream
        send_body = True
        if status in _NO_BODY_STATUSES or status < 200:
            send_body = False
        elif request is not None and request.method == "HEAD":
            send_body = False
            # As Go's net/http: a HEAD answer with no body and no declared length (a 404, say)
            # carries no Content-Length at all.
            if declared is not None and not size:
                parts.append(f"Content-Length: {declared}\r\n")
            elif size:
                parts.append(f"Content-Length: {size}\r\n")
        elif stream is not None:
            if declared is not None:
                parts.append(f"Content-Length: {declared}\r\n")
            else:
                keep_alive = False  # no length: the body ends when the connection does
        else:
            parts.append(f"Content-Length: {size}\r\n")
        close = not keep_alive or self._shutting_down or self._server._closing
        if close:
            parts.append("Connection: close\r\n")
        elif request is not None and request.version == "1.0":
            parts.append("Connection: keep-alive\r\n")
        parts.append("\r\n")
        head = "".join(parts).encode("utf-8", "surrogateescape")
        if stream is not None:
            transport.write(head)
            expected = int(declared) if declared is not None and declared.isdigit() else None
            # Busy until the stream ends: no later pipelined reply may overtake it.
            self._busy = self._streaming_out = True
            self._loop.create_task(self._send_stream(stream, expected if send_body else 0, close, send_body))
            return
        if not send_body or not size:
            transport.write(head)
        elif size <= _COALESCE_LIMIT:
            transport.write(head + body)
        else:
            transport.write(head)
            transport.write(body)
        if close:
            self._closed = True
            self._queue.clear()
            transport.close()

    async def _send_stream(
        self, stream: AsyncIterator[bytes], expected: int | None, close: bool, send_body: bool
    ) -> None:
        """Write a Response.stream after its head, pausing while the peer is not draining."""
        sent = 0
        ok = False
        try:
            if send_body:
                async for piece in stream:
                    if self._closed:
                        break
                    if piece:
                        sent += len(piece)
                        if expected is not None and sent > expected:
                            raise ValueError(f"response stream yielded over its Content-Length {expected}")
                        assert self._transport is not None
                        self._transport.write(piece)
                        self._last_active = self._loop.time()
                    while self._writing_paused and not self._closed:
                        self._drain_waiter = self._loop.create_future()
                        await self._drain_waiter
                        self._drain_waiter = None
            ok = not self._closed and (expected is None or sent == expected)
            if not ok and not self._closed:
                log.warning("response stream ended at %d of %s bytes; aborting", sent, expected)
        except Exception:
            log.exception("response stream failed after %d bytes; aborting", sent)
        finally:
            closer = getattr(stream, "aclose", None)
            if closer is not None:
                with contextlib.suppress(Exception):
                    await closer()
            self._streaming_out = False
        transport = self._transport
        if self._closed or transport is None:
            return
        if not ok or close:
            self._closed = True
            self._queue.clear()
            if ok:
                transport.close()
            else:
                transport.abort()
            return
        self._busy = False
        self._pump()

    # ---- flow control and shutdown -------------------------------------------------------------

    def _pause_reading(self) -> None:
        if not self._reading_paused and self._transport is not None and not self._closed:
            self._reading_paused = True
            self._transport.pause_reading()

    def _resume_reading(self) -> None:
        if self._body_backlogged:
            return  # a streamed body's handler is behind; it resumes reading when it catches up
        if self._reading_paused and self._transport is not None and not self._closed:
            self._reading_paused = False
            self._transport.resume_reading()

    def inactive_for(self, now: float) -> float:
        """Seconds without traffic; 0 while a handler works on a request (but a streamed reply
        that the peer stopped reading counts as inactive)."""
        return 0.0 if self._busy and not self._streaming_out else now - self._last_active

    def shutdown(self) -> None:
        """Close now if idle; otherwise close after the reply being produced."""
        self._shutting_down = True
        if not self._busy and not self._queue and not self._in_message and self._transport is not None:
            self._closed = True
            self._transport.close()

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()


async def _await(fut: Awaitable[Any]) -> Any:
    return await fut


class HttpServer:
    """A listening server; ``port`` is the bound port (useful with port 0)."""

    def __init__(
        self,
        handler: Handler,
        *,
        max_body: int,
        server_header: str | None,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT_S,
        stream_body_over: int | None = None,
        max_streamed_body: int = DEFAULT_MAX_STREAMED_BODY,
        stats: RequestStats | None = None,
    ) -> None:
        self._handler = handler
        self.stats = stats  # per-request counts and latencies, when the owner exports metrics
        self.max_body = max_body
        # Bodies longer than this (and chunked ones) reach the handler as `Request.stream` while they
        # arrive, up to max_streamed_body; None buffers every body (up to max_body).
        self.stream_body_over = stream_body_over
        self.max_streamed_body = max_streamed_body
        self.idle_timeout = idle_timeout
        self._sweep_handle: asyncio.TimerHandle | None = None
        self._server_line = f"Server: {server_header}\r\n" if server_header else ""
        self._loop = asyncio.get_running_loop()
        self._connections: set[_Connection] = set()
        self._closing = False
        self._drained: asyncio.Event | None = None
        self._listener: asyncio.AbstractServer | None = None
        self.host = ""
        self.port = 0

    async def _listen(self, host: str, port: int) -> None:
        self._listener = await self._loop.create_server(
            lambda: _Connection(self), host, port, reuse_address=True, backlog=1024
        )
        sockets = self._listener.sockets
        if sockets:
            addr = sockets[0].getsockname()
            self.host, self.port = addr[0], addr[1]
        self._schedule_sweep()

    def _schedule_sweep(self) -> None:
        interval = min(self.idle_timeout / 4, _MAX_SWEEP_INTERVAL_S)
        self._sweep_handle = self._loop.call_later(interval, self._sweep)

    def _sweep(self) -> None:
        now = self._loop.time()
        for conn in list(self._connections):
            if conn.inactive_for(now) > self.idle_timeout:
                log.debug("dropping inactive connection remote=%s", conn._remote)
                conn.abort()
        if not self._closing:
            self._schedule_sweep()

    def _connection_done(self, conn: _Connection) -> None:
        self._connections.discard(conn)
        if self._closing and not self._connections and self._drained is not None:
            self._drained.set()

    @property
    def connection_count(self) -> int:
        return len(self._connections)

    async def close(self) -> None:
        """Stop accepting, close idle connections, let busy ones finish their reply, then return."""
        if self._closing:
            return
        self._closing = True
        if self._sweep_handle is not None:
            self._sweep_handle.cancel()
        self._drained = asyncio.Event()
        if self._listener is not None:
            self._listener.close()
        for conn in list(self._connections):
            conn.shutdown()
        if self._connections:
            try:
                await asyncio.wait_for(self._drained.wait(), _CLOSE_GRACE_S)
            except TimeoutError:
                for conn in list(self._connections):
                    conn.abort()
        if self._listener is not None:
            await self._listener.wait_closed()


async def start_server(
    handler: Handler,
    host: str,
    port: int,
    *,
    max_body: int = 256 << 20,
    server_header: str | None = None,
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT_S,
    stream_body_over: int | None = None,
    max_streamed_body: int = DEFAULT_MAX_STREAMED_BODY,
    stats: RequestStats | None = None,
) -> HttpServer:
    """Listen on host:port (0 picks a free port) and serve ``handler``; returns once listening.

    ``stream_body_over``: request bodies longer than this many bytes (and chunked ones) are handed
    to the handler as ``Request.stream`` while they arrive, up to ``max_streamed_body``."""
    server = HttpServer(
        handler,
        max_body=max_body,
        server_header=server_header,
        idle_timeout=idle_timeout,
        stream_body_over=stream_body_over,
        max_streamed_body=max_streamed_body,
        stats=stats,
    )
    await server._listen(host, port)
    log.debug("listening host=%s port=%d", server.host, server.port)
    return server
