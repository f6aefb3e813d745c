"""Response shapes handlers produce: memoryviews of any item size, bytearrays, non-str header values."""

from __future__ import annotations

from array import array

from kelp_http import HttpClient, Request, Response, start_server
from tests.unit.kelp_http.wire import run_scenario

_WORDS = array("I", range(10))


async def _forms(req: Request) -> Response:
    if req.path == "/words":
        return Response(200, [("X-Count", 10)], memoryview(_WORDS))  # type: ignore[list-item]  # int value on purpose
    if req.path == "/inject":
        return Response(200, [("X-Evil", "a\r\nSet-Cookie: x=1")], b"")
    return Response(200, [], bytearray(b"mutable"))


def test_memoryview_length_is_in_bytes_and_ints_are_stringified() -> None:
    async def scenario() -> None:
        server = await start_server(_forms, "127.0.0.1", 0)
        client = HttpClient()
        hp = f"127.0.0.1:{server.port}"
        r = await client.request("GET", hp, "/words")
        assert r.body == _WORDS.tobytes()
        assert r.headers.get("x-count") == "10"
        assert (await client.request("GET", hp, "/b")).body == b"mutable"
        r = await client.request("GET", hp, "/inject")
        assert "set-cookie" not in r.headers
        assert r.headers.get("x-evil") == "a  Set-Cookie: x=1"
        await client.close()
        await server.close()

    run_scenario(scenario())
