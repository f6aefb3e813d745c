"""Server write backpressure: while the peer is not draining, no further request starts and reading pauses."""

from __future__ import annotations

from typing import Any

from kelp_http import HttpServer, Request, Response
from kelp_http.server import _Connection
from tests.unit.kelp_http.wire import run_scenario


class _SlowPeerTransport:
    """A transport whose buffer is 'full' after every write, like a peer that stopped reading."""

    def __init__(self) -> None:
        self.protocol: Any = None
        self.writes: list[bytes] = []
        self.reading = True
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))
        self.protocol.pause_writing()

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 1) if name == "peername" else default


def test_next_pipelined_request_waits_for_resume_writing() -> None:
    started: list[str] = []

    async def big(req: Request) -> Response:
        started.append(req.path)
        return Response(200, [], b"z" * 100_000)

    async def scenario() -> None:
        server = HttpServer(big, max_body=1 << 20, server_header=None)
        transport = _SlowPeerTransport()
        conn = _Connection(server)
        transport.protocol = conn
        conn.connection_made(transport)  # type: ignore[arg-type]  # a fake with the methods used
        conn.data_received(b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n")
        assert started == ["/1"]
        assert transport.reading is False
        conn.resume_writing()
        assert started == ["/1", "/2"]
        conn.resume_writing()
        assert transport.reading is True
        assert sum(w.count(b"HTTP/1.1 200 OK") for w in transport.writes) == 2

    run_scenario(scenario())
