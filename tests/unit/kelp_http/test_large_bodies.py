"""Large bodies both ways through the real server and client (backpressure paths under load)."""

from __future__ import annotations

import hashlib

from kelp_http import HttpClient, Request, Response, start_server
from kelp_http.client import RAW_BODY_MIN
from tests.unit.kelp_http.wire import run_scenario

_SIZE = 24 << 20


async def _digest_or_blob(req: Request) -> Response:
    if req.method == "PUT":
        return Response(200, [], hashlib.sha256(req.body).hexdigest().encode())
    return Response(200, [], memoryview(bytes(range(256)) * (_SIZE // 256)))


def test_large_upload_and_download_arrive_intact() -> None:
    async def scenario() -> None:
        server = await start_server(_digest_or_blob, "127.0.0.1", 0, max_body=64 << 20)
        client = HttpClient()
        hp = f"127.0.0.1:{server.port}"
        payload = bytes(range(251)) * (_SIZE // 251)
        r = await client.request("PUT", hp, "/up", body=payload)
        assert r.body == hashlib.sha256(payload).hexdigest().encode()
        r = await client.request("GET", hp, "/down")
        assert r.body == bytes(range(256)) * (_SIZE // 256)
        assert client.connections_opened == 1
        await client.close()
        await server.close()

    run_scenario(scenario())


def test_large_response_keeps_its_pieces_and_the_connection() -> None:
    """A body over RAW_BODY_MIN bypasses the parser: pieces as received, the same bytes, and the
    connection stays usable for the next (small and large) exchange."""

    async def blob(req: Request) -> Response:
        size = int(req.path.strip("/"))
        return Response(200, [], bytes(range(256)) * (size // 256))

    async def scenario() -> None:
        server = await start_server(blob, "127.0.0.1", 0)
        client = HttpClient()
        hp = f"127.0.0.1:{server.port}"
        for size in (RAW_BODY_MIN * 12, 4096, RAW_BODY_MIN, RAW_BODY_MIN * 12):
            r = await client.request("GET", hp, f"/{size}")
            assert r.status == 200
            pieces = r.pieces
            if size > RAW_BODY_MIN * 2:
                assert len(pieces) > 1  # kept as received, not joined
            assert b"".join(pieces) == r.body == bytes(range(256)) * (size // 256)
        assert client.connections_opened == 1
        await client.close()
        await server.close()

    run_scenario(scenario())
