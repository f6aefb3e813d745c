"""Streamed bodies both ways: a handler's Response.stream is written as it is produced, with
backpressure and an exact Content-Length (a short or failing stream aborts the connection); a
server with stream_body_over hands large and chunked request bodies to the handler as they arrive,
pausing the socket while the handler is behind."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator

from kelp_http import BodyIncomplete, HttpClient, HttpClientError, Request, Response, start_server
from kelp_http.body_stream import HIGH_WATER
from tests.unit.kelp_http.wire import read_eof, read_response, run_scenario, serving

PIECE = 64 << 10


def _pattern(size: int) -> bytes:
    return bytes(range(256)) * (size // 256)


async def _pieces(data: bytes, produced: list[int] | None = None) -> AsyncIterator[bytes]:
    for at in range(0, len(data), PIECE):
        if produced is not None:
            produced[0] = at + PIECE
        yield data[at : at + PIECE]
        await asyncio.sleep(0)


def test_a_streamed_response_arrives_whole_and_the_connection_is_reused() -> None:
    data = _pattern(3 << 20)

    async def handler(req: Request) -> Response:
        if req.path == "/small":
            return Response(200, [], b"after")
        return Response(200, [("Content-Length", str(len(data)))], stream=_pieces(data))

    async def scenario() -> None:
        server = await start_server(handler, "127.0.0.1", 0)
        client = HttpClient()
        hp = f"127.0.0.1:{server.port}"
        try:
            assert (await client.request("GET", hp, "/big")).body == data
            assert (await client.request("GET", hp, "/small")).body == b"after"
            assert client.connections_opened == 1
        finally:
            await client.close()
            await server.close()

    run_scenario(scenario())


def test_a_short_or_failing_stream_aborts_instead_of_lying() -> None:
    async def short() -> AsyncIterator[bytes]:
        yield b"only this"

    async def failing() -> AsyncIterator[bytes]:
        yield b"x" * 10
        raise OSError("the chunk's volume server went away")

    async def handler(req: Request) -> Response:
        stream = short() if req.path == "/short" else failing()
        return Response(200, [("Content-Length", "100")], stream=stream)

    async def scenario() -> None:
        for path in ("/short", "/failing"):
            server, reader, writer = await serving(handler)
            writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            assert b"Content-Length: 100" in head
            rest = await read_eof(reader)  # the server closes: fewer than 100 bytes ever arrive
            assert len(rest) < 100
            writer.close()
            await server.close()

    run_scenario(scenario())


def test_head_and_unknown_length_streams() -> None:
    closed: list[str] = []
    started: list[str] = []

    async def body(tag: str) -> AsyncIterator[bytes]:
        started.append(tag)
        try:
            yield b"abc"
            yield b"def"
        finally:
            closed.append(tag)

    async def handler(req: Request) -> Response:
        if req.path == "/nolength":
            return Response(200, [], stream=body("nolength"))
        return Response(200, [("Content-Length", "6")], stream=body(req.method))

    async def scenario() -> None:
        server, reader, writer = await serving(handler)
        writer.write(b"HEAD /x HTTP/1.1\r\nHost: x\r\n\r\n")
        reply = await read_response(reader, head=True)
        assert (reply.status, reply.headers["content-length"], reply.body) == (200, "6", b"")
        writer.write(b"GET /nolength HTTP/1.1\r\nHost: x\r\n\r\n")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert b"Content-Length" not in head and b"Connection: close" in head
        assert await read_eof(reader) == b"abcdef"
        writer.close()
        await server.close()
        assert started == closed == ["nolength"]  # the HEAD stream was closed unread

    run_scenario(scenario())


def test_a_reader_that_does_not_read_holds_the_producer_back() -> None:
    size = 64 << 20
    produced = [0]

    async def handler(req: Request) -> Response:
        return Response(200, [("Content-Length", str(size))], stream=_pieces(_pattern(size), produced))

    async def scenario() -> None:
        server, reader, writer = await serving(handler)
        writer.write(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
        # Read nothing; wait until the producer stops advancing (the socket buffers are full).
        last, still = -1, 0
        async with asyncio.timeout(10):
            while still < 20:
                await asyncio.sleep(0.01)
                still = still + 1 if produced[0] == last else 0
                last = produced[0]
        assert produced[0] < size // 4, f"produced {produced[0]} bytes for a peer that read nothing"
        reply = await read_response(reader)  # now read it all: the rest flows
        assert len(reply.body) == size
        writer.close()
        await server.close()

    run_scenario(scenario())


async def _digest(req: Request) -> Response:
    if req.stream is None:
        return Response(200, [], b"buffered " + hashlib.sha256(req.body).hexdigest().encode())
    h = hashlib.sha256()
    peak = 0
    async for chunk in req.stream:
        h.update(chunk)
        peak = max(peak, req.stream._buffered)
        await asyncio.sleep(0)  # a handler slower than the socket
    return Response(200, [("X-Peak", str(peak))], b"streamed " + h.hexdigest().encode())


def test_large_and_chunked_request_bodies_are_streamed_small_ones_buffered() -> None:
    big = _pattern(24 << 20)

    async def scenario() -> None:
        server = await start_server(_digest, "127.0.0.1", 0, max_body=1 << 20, stream_body_over=64 << 10)
        client = HttpClient()
        hp = f"127.0.0.1:{server.port}"
        try:
            r = await client.request("PUT", hp, "/big", body=big)
            assert r.body == b"streamed " + hashlib.sha256(big).hexdigest().encode()
            assert int(r.headers.get("x-peak") or 0) <= HIGH_WATER + (1 << 20)  # flow control held
            r = await client.request("PUT", hp, "/small", body=b"tiny")
            assert r.body == b"buffered " + hashlib.sha256(b"tiny").hexdigest().encode()
            assert client.connections_opened == 1
        finally:
            await client.close()
            await server.close()
        # Chunked framing has no length: streamed.
        server, reader, writer = await serving(_digest, stream_body_over=64 << 10)
        head = b"PUT /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        writer.write(head + b"5\r\nhello\r\n0\r\n\r\n")
        reply = await read_response(reader)
        assert reply.body == b"streamed " + hashlib.sha256(b"hello").hexdigest().encode()
        writer.close()
        await server.close()

    run_scenario(scenario())


def test_an_early_answer_closes_and_a_vanished_peer_fails_the_body() -> None:
    seen: asyncio.Queue[BaseException | None] = asyncio.Queue()

    async def handler(req: Request) -> Response:
        assert req.stream is not None
        if req.path == "/early":
            return Response(400, [], b"no thanks")
        try:
            await req.stream.read_all()
            seen.put_nowait(None)
        except BodyIncomplete as err:
            seen.put_nowait(err)
        return Response(200)

    async def scenario() -> None:
        server, reader, writer = await serving(handler, stream_body_over=10)
        writer.write(b"PUT /early HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + b"a" * 100)
        reply = await read_response(reader)
        assert (reply.status, reply.body) == (400, b"no thanks")
        assert await read_eof(reader) == b""  # the unread rest of the body ends the connection
        writer.close()
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"PUT /gone HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + b"a" * 100)
        await writer.drain()
        writer.close()
        err = await asyncio.wait_for(seen.get(), 5)
        assert isinstance(err, BodyIncomplete) and err.received == 100
        await server.close()

    run_scenario(scenario())


def test_a_streamed_body_over_its_limit_fails_for_the_handler() -> None:
    async def scenario() -> None:
        server = await start_server(_digest, "127.0.0.1", 0, stream_body_over=10, max_streamed_body=1000)
        client = HttpClient()
        try:
            try:
                r = await client.request("PUT", f"127.0.0.1:{server.port}", "/x", body=b"z" * 5000)
                assert r.status in (413, 500)
            except HttpClientError:
                pass  # or the connection is closed under the upload: either way nothing is accepted
        finally:
            await client.close()
            await server.close()

    run_scenario(scenario())
