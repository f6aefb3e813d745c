"""Connections without traffic are dropped after the idle timeout (idle keep-alive, a stalled
request head); a handler still working, or a client that keeps sending, is left alone."""

from __future__ import annotations

import asyncio

from kelp_http import Request, Response, start_server
from tests.unit.kelp_http.wire import read_eof, read_response, run_scenario

# Short enough for a unit test, long enough that the loop's scheduling noise on a busy
# 2-core machine cannot make an active connection look idle.
IDLE_TIMEOUT_S = 0.5


async def _slow_or_ok(req: Request) -> Response:
    if req.path == "/slow":
        await asyncio.sleep(IDLE_TIMEOUT_S * 3)
    return Response(200, [], b"ok")


async def _connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port)


def test_idle_keep_alive_and_stalled_heads_are_dropped() -> None:
    async def scenario() -> None:
        server = await start_server(_slow_or_ok, "127.0.0.1", 0, idle_timeout=IDLE_TIMEOUT_S)
        idle_reader, idle_writer = await _connect(server.port)
        idle_writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert (await read_response(idle_reader)).status == 200
        stalled_reader, stalled_writer = await _connect(server.port)
        stalled_writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nX-Partial: ")
        # Both are closed by the server (read_eof is bounded, so a miss fails, not hangs).
        assert await read_eof(idle_reader) == b""
        assert await read_eof(stalled_reader) == b""
        idle_writer.close()
        stalled_writer.close()
        await server.close()

    run_scenario(scenario())


def test_a_slow_handler_and_a_trickling_client_are_kept() -> None:
    async def scenario() -> None:
        server = await start_server(_slow_or_ok, "127.0.0.1", 0, idle_timeout=IDLE_TIMEOUT_S)
        slow_reader, slow_writer = await _connect(server.port)
        slow_writer.write(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        trickle_reader, trickle_writer = await _connect(server.port)
        trickle_writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\n\r\n")
        for _ in range(8):  # one byte every fifth of the timeout: slow, never silent
            await asyncio.sleep(IDLE_TIMEOUT_S / 5)
            trickle_writer.write(b"a")
        assert (await read_response(trickle_reader)).status == 200
        assert (await read_response(slow_reader)).status == 200
        for w in (slow_writer, trickle_writer):
            w.close()
        await server.close()

    run_scenario(scenario())
