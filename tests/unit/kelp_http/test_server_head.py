"""Server HEAD semantics: headers of the body the handler produced, never the body itself."""

from __future__ import annotations

from kelp_http import Request, Response
from tests.unit.kelp_http.wire import read_response, run_scenario, serving


async def _blob(req: Request) -> Response:
    if req.path == "/declared":
        # A handler that knows the length without producing the body (cheap HEAD on a volume).
        return Response(200, [("Content-Length", "12345")], b"")
    return Response(200, [("Content-Type", "application/x-foo"), ("Etag", '"abc"')], b"x" * 40)


def test_head_reports_length_of_handler_body_without_sending_it() -> None:
    async def scenario() -> None:
        server, reader, writer = await serving(_blob)
        writer.write(b"HEAD /blob HTTP/1.1\r\nHost: x\r\n\r\n")
        resp = await read_response(reader, head=True)
        assert resp.status == 200
        assert resp.headers["content-length"] == "40"
        assert resp.headers["etag"] == '"abc"'
        # If a body had been sent, the next response's status line would be garbage.
        writer.write(b"GET /blob HTTP/1.1\r\nHost: x\r\n\r\n")
        resp = await read_response(reader)
        assert resp.body == b"x" * 40
        writer.close()
        await server.close()

    run_scenario(scenario())


def test_head_uses_handler_declared_content_length() -> None:
    async def scenario() -> None:
        server, reader, writer = await serving(_blob)
        writer.write(b"HEAD /declared HTTP/1.1\r\nHost: x\r\n\r\n")
        resp = await read_response(reader, head=True)
        assert resp.headers["content-length"] == "12345"
        writer.write(b"GET /blob HTTP/1.1\r\nHost: x\r\n\r\n")
        assert (await read_response(reader)).status == 200
        writer.close()
        await server.close()

    run_scenario(scenario())


def test_204_and_304_carry_no_body_or_length() -> None:
    async def no_content(req: Request) -> Response:
        return Response(204 if req.path == "/a" else 304, [], b"ignored")

    async def scenario() -> None:
        server, reader, writer = await serving(no_content)
        writer.write(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
        first = await read_response(reader)
        second = await read_response(reader)
        assert (first.status, second.status) == (204, 304)
        assert "content-length" not in first.headers
        writer.close()
        await server.close()

    run_scenario(scenario())


def test_head_without_body_or_declared_length_sends_no_content_length() -> None:
    # Go's net/http answers HEAD of a missing needle (404, empty) without Content-Length.
    async def missing(req: Request) -> Response:
        return Response(404, [], b"")

    async def scenario() -> None:
        server, reader, writer = await serving(missing)
        writer.write(b"HEAD /gone HTTP/1.1\r\nHost: x\r\n\r\n")
        resp = await read_response(reader, head=True)
        assert resp.status == 404
        assert "content-length" not in resp.headers
        writer.write(b"GET /gone HTTP/1.1\r\nHost: x\r\n\r\n")
        resp = await read_response(reader)
        assert resp.status == 404 and resp.headers["content-length"] == "0"
        writer.close()
        await server.close()

    run_scenario(scenario())
