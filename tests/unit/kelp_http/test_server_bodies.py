"""Server request bodies: Content-Length, chunked, Expect: 100-continue and the body limit (413)."""

from __future__ import annotations

import asyncio
import json

from tests.unit.kelp_http.wire import READ_TIMEOUT_S, read_eof, read_response, run_scenario, serving


def test_chunked_body_is_reassembled() -> None:
    async def scenario() -> None:
        server, reader, writer = await serving()
        writer.write(
            b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
        )
        resp = await read_response(reader)
        assert resp.body == b"POST /c hello world"
        writer.close()
        await server.close()

    run_scenario(scenario())


def test_body_split_across_many_packets() -> None:
    async def scenario() -> None:
        server, reader, writer = await serving()
        payload = bytes(range(256)) * 400
        writer.write(f"PUT /p HTTP/1.1\r\nHost: x\r\nContent-Length: {len(payload)}\r\n\r\n".encode())
        for i in range(0, len(payload), 999):
            writer.write(payload[i : i + 999])
            await writer.drain()
        resp = await read_response(reader)
        assert resp.body == b"PUT /p " + payload
        writer.close()
        await server.close()

    run_scenario(scenario())


def test_expect_100_continue_is_answered_before_the_body() -> None:
    async def scenario() -> None:
        server, reader, writer = await serving()
        writer.write(b"POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n")
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT_S)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        writer.write(b"abc")
        resp = await read_response(reader)
        assert resp.body == b"POST /e abc"
        writer.close()
        await server.close()

    run_scenario(scenario())


def test_declared_body_over_limit_gets_413_json_and_close() -> None:
    async def scenario() -> None:
        server, reader, writer = await serving(max_body=100)
        writer.write(b"POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\nExpect: 100-continue\r\n\r\n")
        resp = await read_response(reader)
        assert resp.status == 413
        assert resp.headers["content-type"] == "application/json"
        assert "error" in json.loads(resp.body)
        assert await read_eof(reader) == b""
        writer.close()
        await server.close()

    run_scenario(scenario())


def test_chunked_body_over_limit_gets_413_after_earlier_pipelined_reply() -> None:
    async def scenario() -> None:
        server, reader, writer = await serving(max_body=10)
        writer.write(
            b"GET /first HTTP/1.1\r\nHost: x\r\n\r\n"
            b"POST /big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n"
        )
        first = await read_response(reader)
        assert first.body == b"GET /first "
        second = await read_response(reader)
        assert second.status == 413
        writer.close()
        await server.close()

    run_scenario(scenario())
