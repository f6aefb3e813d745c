"""A request head that never ends is refused with 431 and the connection closed, instead of
being buffered without bound."""

from __future__ import annotations

import asyncio

from kelp_http import Request, Response
from kelp_http.server import MAX_HEADER_BYTES
from tests.unit.kelp_http.wire import read_response, run_scenario, serving


async def _ok(req: Request) -> Response:
    return Response(200, [], b"ok")


def test_endless_header_gets_431_and_close() -> None:
    async def scenario() -> None:
        server, reader, writer = await serving(_ok)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nX-Flood: ")
        chunk = b"a" * 65536
        sent = 0
        while sent <= MAX_HEADER_BYTES + len(chunk):
            writer.write(chunk)
            sent += len(chunk)
        # The server answers 431 and closes; with our unread flood in its buffer the close may
        # turn into a reset that overtakes the answer, so either outcome shows the refusal.
        try:
            await writer.drain()
            resp = await read_response(reader)
            assert resp.status == 431
            assert await asyncio.wait_for(reader.read(), 5) == b""
        except ConnectionResetError:
            pass
        deadline = asyncio.get_running_loop().time() + 5
        while server.connection_count and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)
        assert server.connection_count == 0
        writer.close()
        await server.close()

    run_scenario(scenario())


def test_headers_under_the_limit_are_served() -> None:
    async def scenario() -> None:
        server, reader, writer = await serving(_ok)
        big = b"b" * (MAX_HEADER_BYTES // 2)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + big + b"\r\n\r\n")
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + big + b"\r\n\r\n")
        assert (await read_response(reader)).status == 200
        assert (await read_response(reader)).status == 200
        writer.close()
        await server.close()

    run_scenario(scenario())
