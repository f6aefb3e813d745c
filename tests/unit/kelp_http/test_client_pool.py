"""HttpClient: keep-alive reuse, bounded pool, stale-connection retry, HEAD, timeouts and errors."""

from __future__ import annotations

import asyncio

import pytest

from kelp_http import (
    ConnectFailed,
    ConnectionClosed,
    HttpClient,
    Request,
    RequestTimeout,
    Response,
    start_server,
)
from tests.unit.kelp_http.wire import echo, run_scenario


def test_sequential_requests_reuse_one_connection() -> None:
    async def scenario() -> None:
        server = await start_server(echo, "127.0.0.1", 0)
        client = HttpClient()
        hp = f"127.0.0.1:{server.port}"
        for i in range(20):
            r = await client.request("POST", hp, f"/r{i}?q=1", body=b"data")
            assert r.status == 200
            assert r.body == f"POST /r{i} data".encode()
        assert client.connections_opened == 1
        head = await client.request("HEAD", hp, "/h")
        assert head.body == b"" and head.headers.get("content-length") == "8"
        assert (await client.request("GET", hp, "/after-head")).body == b"GET /after-head "
        assert client.connections_opened == 1
        await client.close()
        await server.close()

    run_scenario(scenario())


def test_idle_pool_is_bounded() -> None:
    async def scenario() -> None:
        server = await start_server(echo, "127.0.0.1", 0)
        client = HttpClient(max_idle_per_host=3)
        hp = f"127.0.0.1:{server.port}"
        await asyncio.gather(*(client.request("GET", hp, "/") for _ in range(10)))
        assert client.connections_opened == 10
        assert client.idle_count(hp) == 3
        await client.close()
        await server.close()

    run_scenario(scenario())


async def _answer_once_per_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Replies to the first request on a connection, then drops the connection on the second
    without a byte: what a client sees when a server closes an idle keep-alive connection just
    as the client reuses it."""
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    await writer.drain()
    await reader.readuntil(b"\r\n\r\n")
    writer.close()


def test_stale_pooled_connection_is_retried_for_idempotent_methods() -> None:
    async def scenario() -> None:
        server = await asyncio.start_server(_answer_once_per_connection, "127.0.0.1", 0)
        hp = f"127.0.0.1:{server.sockets[0].getsockname()[1]}"
        client = HttpClient()
        assert (await client.request("GET", hp, "/one")).body == b"ok"
        assert (await client.request("GET", hp, "/two")).body == b"ok"
        assert client.connections_opened == 2
        await client.close()
        server.close()

    run_scenario(scenario())


def test_stale_connection_is_not_retried_for_post() -> None:
    async def scenario() -> None:
        server = await asyncio.start_server(_answer_once_per_connection, "127.0.0.1", 0)
        hp = f"127.0.0.1:{server.sockets[0].getsockname()[1]}"
        client = HttpClient()
        await client.request("POST", hp, "/one", body=b"x")
        with pytest.raises(ConnectionClosed) as info:
            await client.request("POST", hp, "/two", body=b"x")
        assert info.value.received is False
        assert client.connections_opened == 1
        await client.close()
        server.close()

    run_scenario(scenario())


def test_dead_pooled_connection_is_skipped() -> None:
    async def scenario() -> None:
        first = await start_server(echo, "127.0.0.1", 0)
        port = first.port
        client = HttpClient()
        hp = f"127.0.0.1:{port}"
        await client.request("POST", hp, "/one", body=b"x")
        await first.close()  # closes the idle connection; the client sees EOF
        second = await start_server(echo, "127.0.0.1", port)
        assert (await client.request("POST", hp, "/p", body=b"x")).body == b"POST /p x"
        assert client.connections_opened == 2
        await client.close()
        await second.close()

    run_scenario(scenario())


def test_timeout_and_connect_failure_raise_typed_errors() -> None:
    async def scenario() -> None:
        release = asyncio.Event()

        async def hang(req: Request) -> Response:
            await release.wait()
            return Response()

        server = await start_server(hang, "127.0.0.1", 0)
        client = HttpClient()
        with pytest.raises(RequestTimeout):
            await client.request("GET", f"127.0.0.1:{server.port}", "/", timeout=0.1)
        release.set()
        port = server.port
        await server.close()
        with pytest.raises(ConnectFailed):
            await client.request("GET", f"127.0.0.1:{port}", "/")
        await client.close()

    run_scenario(scenario())


def test_chunked_and_close_delimited_responses_are_read() -> None:
    async def raw_server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            req = await reader.readuntil(b"\r\n\r\n")
            if b"/chunked" in req:
                writer.write(
                    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
                )
                await writer.drain()
            else:
                writer.write(b"HTTP/1.0 200 OK\r\n\r\nuntil-close")
                writer.close()
                return

    async def scenario() -> None:
        server = await asyncio.start_server(raw_server, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = HttpClient()
        assert (await client.request("GET", f"127.0.0.1:{port}", "/chunked")).body == b"abcde"
        assert (await client.request("GET", f"127.0.0.1:{port}", "/close")).body == b"until-close"
        await client.close()
        server.close()

    run_scenario(scenario())


def test_a_connection_idle_past_the_reuse_limit_is_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    # The server may be dropping it right then; a POST on it could not be retried.
    import kelp_http.client

    async def scenario() -> None:
        server = await start_server(echo, "127.0.0.1", 0)
        client = HttpClient()
        hp = f"127.0.0.1:{server.port}"
        assert (await client.request("POST", hp, "/a", body=b"x")).status == 200
        monkeypatch.setattr(kelp_http.client, "IDLE_REUSE_S", -1.0)  # every idle one is too old
        assert (await client.request("POST", hp, "/b", body=b"y")).status == 200
        assert client.connections_opened == 2
        await client.close()
        await server.close()

    run_scenario(scenario())
