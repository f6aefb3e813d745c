"""Server failure handling: handler exceptions become 500 JSON, malformed requests get 400 and close."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from kelp_http import Request, Response
from tests.unit.kelp_http.wire import read_eof, read_response, run_scenario, serving


async def _fragile(req: Request) -> Response:
    if req.path == "/boom":
        raise ValueError("kaput")
    return Response(200, [], b"fine")


def test_handler_exception_gives_500_and_connection_survives(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        server, reader, writer = await serving(_fragile)
        writer.write(b"GET /boom HTTP/1.1\r\nHost: x\r\n\r\n")
        resp = await read_response(reader)
        assert resp.status == 500
        assert json.loads(resp.body) == {"error": "kaput"}
        writer.write(b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\n")
        assert (await read_response(reader)).body == b"fine"
        writer.close()
        await server.close()

    with caplog.at_level(logging.ERROR, logger="kelp_http.server"):
        run_scenario(scenario())
    failures = [r for r in caplog.records if r.exc_info]
    assert failures and "kaput" in str(failures[0].exc_info[1])


def test_handler_exception_after_suspending_gives_500() -> None:
    async def late_fail(req: Request) -> Response:
        await asyncio.sleep(0)
        raise RuntimeError("late")

    async def scenario() -> None:
        server, reader, writer = await serving(late_fail)
        writer.write(b"GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
        resp = await read_response(reader)
        assert resp.status == 500
        assert json.loads(resp.body) == {"error": "late"}
        writer.close()
        await server.close()

    run_scenario(scenario())


@pytest.mark.parametrize(
    "garbage",
    [
        b"NOT HTTP AT ALL\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Header Without Colon\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
)
def test_malformed_request_gets_400_and_close(garbage: bytes) -> None:
    async def scenario() -> None:
        server, reader, writer = await serving()
        writer.write(garbage)
        resp = await read_response(reader)
        assert resp.status == 400
        assert "error" in json.loads(resp.body)
        assert await read_eof(reader) == b""
        writer.close()
        # The server keeps serving other connections.
        reader2, writer2 = await asyncio.open_connection("127.0.0.1", server.port)
        writer2.write(b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\n")
        assert (await read_response(reader2)).status == 200
        writer2.close()
        await server.close()

    run_scenario(scenario())
