"""Server connection reuse: keep-alive, pipelining in order, HTTP/1.0 and Connection: close."""

from __future__ import annotations

import asyncio

from kelp_http import Request, Response
from tests.unit.kelp_http.wire import read_eof, read_response, run_scenario, serving


def test_keep_alive_serves_many_requests_on_one_connection() -> None:
    async def scenario() -> None:
        server, reader, writer = await serving()
        for i in range(5):
            writer.write(f"GET /k{i} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            resp = await read_response(reader)
            assert resp.status == 200
            assert resp.body == f"GET /k{i} ".encode()
            assert "date" in resp.headers
        assert server.connection_count == 1
        writer.close()
        await server.close()

    run_scenario(scenario())


def test_pipelined_requests_are_answered_in_order_even_when_handlers_finish_out_of_order() -> None:
    async def slow_first(req: Request) -> Response:
        # The first request finishes last; responses must still come back in request order.
        if req.path == "/0":
            await asyncio.sleep(0.05)
        return Response(200, [], req.path.encode())

    async def scenario() -> None:
        server, reader, writer = await serving(slow_first)
        writer.write(b"".join(f"GET /{i} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for i in range(10)))
        bodies = [(await read_response(reader)).body for _ in range(10)]
        assert bodies == [f"/{i}".encode() for i in range(10)]
        writer.close()
        await server.close()

    run_scenario(scenario())


def test_connection_close_is_honoured() -> None:
    async def scenario() -> None:
        server, reader, writer = await serving()
        writer.write(b"GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        resp = await read_response(reader)
        assert resp.headers.get("connection") == "close"
        assert await read_eof(reader) == b""
        writer.close()
        await server.close()

    run_scenario(scenario())


def test_http10_closes_unless_keep_alive_asked() -> None:
    async def scenario() -> None:
        server, reader, writer = await serving()
        writer.write(b"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        resp = await read_response(reader)
        assert resp.headers.get("connection") == "keep-alive"
        writer.write(b"GET /b HTTP/1.0\r\n\r\n")
        resp = await read_response(reader)
        assert resp.body == b"GET /b "
        assert await read_eof(reader) == b""
        writer.close()
        await server.close()

    run_scenario(scenario())


def test_close_drops_idle_connections_and_stops_listening() -> None:
    async def scenario() -> None:
        server, reader, writer = await serving()
        writer.write(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
        await read_response(reader)
        port = server.port
        await server.close()
        assert await read_eof(reader) == b""
        assert server.connection_count == 0
        try:
            _, w2 = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            pass
        else:
            w2.close()
            raise AssertionError("server still accepting after close()")

    run_scenario(scenario())


def test_half_closed_client_still_gets_its_pipelined_replies() -> None:
    async def slow(req: Request) -> Response:
        await asyncio.sleep(0.01)
        return Response(200, [], req.path.encode())

    async def scenario() -> None:
        server, reader, writer = await serving(slow)
        writer.write(b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n")
        writer.write_eof()
        assert (await read_response(reader)).body == b"/1"
        assert (await read_response(reader)).body == b"/2"
        assert await read_eof(reader) == b""
        writer.close()
        await server.close()

    run_scenario(scenario())
