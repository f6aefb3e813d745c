"""The server parses identically however the byte stream is split into packets."""

from __future__ import annotations

import asyncio
import random

from kelp_http import Request, Response
from tests.unit.kelp_http.wire import read_response, run_scenario, serving

_STREAM = (
    b"POST /a%20b?x=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nX-Long: " + b"v" * 300 + b"\r\n\r\nhello"
    b"PUT /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n1\r\nd\r\n0\r\n\r\n"
    b"GET /e HTTP/1.1\r\nHost: x\r\n\r\n"
)
_EXPECTED = [b"POST /a b 5 hello", b"PUT /c 0 abcd", b"GET /e 0 "]


async def _describe(req: Request) -> Response:
    length = req.headers.get("content-length") or "0"
    return Response(200, [], f"{req.method} {req.path} {length} ".encode() + req.body)


def test_every_split_point_gives_the_same_requests() -> None:
    async def scenario() -> None:
        server, _, first_writer = await serving(_describe)
        first_writer.close()
        rng = random.Random(7)
        for cut in [*range(1, 40), *rng.sample(range(40, len(_STREAM)), 60)]:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(_STREAM[:cut])
            await writer.drain()
            writer.write(_STREAM[cut:])
            bodies = [(await read_response(reader)).body for _ in _EXPECTED]
            assert bodies == _EXPECTED, cut
            writer.close()
        await server.close()

    run_scenario(scenario())


def test_byte_at_a_time() -> None:
    async def scenario() -> None:
        server, reader, writer = await serving(_describe)
        for i in range(len(_STREAM)):
            writer.write(_STREAM[i : i + 1])
            await writer.drain()
        bodies = [(await read_response(reader)).body for _ in _EXPECTED]
        assert bodies == _EXPECTED
        writer.close()
        await server.close()

    run_scenario(scenario())
