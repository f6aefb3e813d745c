"""Test helpers: run a scenario on a fresh loop and read raw HTTP/1.1 responses off a socket.

Imports kelp_http and asyncio only; used by the kelp_http unit tests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from kelp_http import HttpServer, Request, Response, run, start_server

T = TypeVar("T")

# Every socket read in these tests is bounded so a server bug fails the test instead of hanging it.
READ_TIMEOUT_S = 5.0


def run_scenario(coro: Coroutine[Any, Any, T]) -> T:
    return run(coro)


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes


async def read_response(reader: asyncio.StreamReader, *, head: bool = False) -> RawResponse:
    """One response: status line, headers (lower-cased names) and a Content-Length body."""
    block = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT_S)
    lines = block.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = b""
    if not head and status >= 200 and status not in (204, 304):
        length = int(headers.get("content-length", "0"))
        body = await asyncio.wait_for(reader.readexactly(length), READ_TIMEOUT_S)
    return RawResponse(status, headers, body)


async def read_eof(reader: asyncio.StreamReader) -> bytes:
    """Whatever is left until the server closes (fails the test if it never does)."""
    return await asyncio.wait_for(reader.read(), READ_TIMEOUT_S)


async def echo(req: Request) -> Response:
    """Echo handler: method, path and body back, so tests can see what the server parsed."""
    return Response(200, [("Content-Type", "text/plain")], f"{req.method} {req.path} ".encode() + req.body)


async def serving(
    handler: Callable[[Request], Awaitable[Response]] = echo, **kwargs: Any
) -> tuple[HttpServer, asyncio.StreamReader, asyncio.StreamWriter]:
    server = await start_server(handler, "127.0.0.1", 0, **kwargs)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    return server, reader, writer
