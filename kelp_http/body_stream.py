"""A request body handed to the handler while it arrives: an async iterator of byte chunks.

The server feeds it from the parser and the handler consumes it (`async for chunk in req.stream`).
Flow control: when more than `HIGH_WATER` bytes wait unread, the connection stops reading from the
socket (TCP then slows the sender); once the handler has consumed it below `LOW_WATER`, reading
resumes. So a 1 GiB upload holds about a megabyte in memory, whatever the peer's speed.

Imports only asyncio and the standard library.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

HIGH_WATER = 1 << 20
LOW_WATER = 256 << 10


class BodyIncomplete(ConnectionError):
    """The peer closed the connection (or sent malformed framing) before the body ended."""

    def __init__(self, received: int, reason: str) -> None:
        super().__init__(f"request body ended early after {received} bytes: {reason}")
        self.received = received
        self.reason = reason


class BodyStream:
    __slots__ = (
        "_backlogged",
        "_buffered",
        "_chunks",
        "_done",
        "_error",
        "_on_backlog",
        "_waiter",
        "received",
    )

    def __init__(self, on_backlog: Callable[[bool], None]) -> None:
        """`on_backlog(True)` asks the connection to stop reading, `on_backlog(False)` to resume."""
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._done = False
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._on_backlog = on_backlog
        self._backlogged = False
        self.received = 0  # bytes fed so far

    # -- the connection's side ---------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        self._chunks.append(data)
        self._buffered += len(data)
        self.received += len(data)
        if self._buffered > HIGH_WATER and not self._backlogged:
            self._backlogged = True
            self._on_backlog(True)
        self._wake()

    def finish(self) -> None:
        self._done = True
        self._wake()

    def fail(self, reason: str) -> None:
        if not self._done and self._error is None:
            self._error = BodyIncomplete(self.received, reason)
            self._wake()

    @property
    def finished(self) -> bool:
        """The whole body arrived (it may not all be consumed yet)."""
        return self._done

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- the handler's side ------------------------------------------------------------------

    def __aiter__(self) -> BodyStream:
        return self

    async def __anext__(self) -> bytes:
        while not self._chunks:
            if self._error is not None:
                raise self._error
            if self._done:
                raise StopAsyncIteration
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        data = self._chunks.popleft()
        self._buffered -= len(data)
        if self._backlogged and self._buffered < LOW_WATER:
            self._backlogged = False
            self._on_backlog(False)
        return data

    async def read_all(self) -> bytes:
        """The rest of the body in one piece (for handlers that need it whole)."""
        return b"".join([chunk async for chunk in self])
