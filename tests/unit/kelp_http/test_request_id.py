"""Request ids: each handled request runs with one (the caller's if plain, else a new one), log
lines inside it carry `rid=`, and requests a handler makes pass it on in X-Request-Id."""

from __future__ import annotations

import logging

import pytest

from kelp_http import HttpClient, Request, Response, start_server
from kelp_http.request_id import REQUEST_ID, RequestIdFilter, accept_or_new
from tests.unit.kelp_http.wire import run_scenario


def test_plain_ids_are_kept_others_replaced() -> None:
    assert accept_or_new("abc-123_x.y") == "abc-123_x.y"
    for bad in (None, "", "a b", "x" * 65, "evil\r\nheader", "%s"):
        made = accept_or_new(bad)
        assert made != bad and accept_or_new(made) == made
    assert accept_or_new(None) != accept_or_new(None)


def test_an_id_follows_a_request_into_logs_and_onward_calls(caplog: pytest.LogCaptureFixture) -> None:
    seen: dict[str, str] = {}
    log = logging.getLogger("kelp.test.rid")

    async def downstream(req: Request) -> Response:
        seen[req.path] = req.headers.get("x-request-id") or ""
        return Response(200)

    async def scenario() -> None:
        down = await start_server(downstream, "127.0.0.1", 0)
        client = HttpClient()

        async def upstream(req: Request) -> Response:
            seen["up"] = REQUEST_ID.get()
            log.info("handling path=%s", req.path)
            await client.request("GET", f"127.0.0.1:{down.port}", "/onward")
            return Response(200)

        up = await start_server(upstream, "127.0.0.1", 0)
        try:
            await client.request("GET", f"127.0.0.1:{up.port}", "/x", headers=[("X-Request-Id", "op-42")])
            await client.request("GET", f"127.0.0.1:{up.port}", "/y")
        finally:
            await client.close()
            await up.close()
            await down.close()

    handler_filter = RequestIdFilter()
    caplog.handler.addFilter(handler_filter)
    try:
        with caplog.at_level(logging.INFO, logger="kelp.test.rid"):
            run_scenario(scenario())
    finally:
        caplog.handler.removeFilter(handler_filter)
    generated = seen["up"]
    assert generated and generated != "op-42"  # the second request got a new id
    assert seen["/onward"] == generated
    lines = [r.getMessage() for r in caplog.records if r.name == "kelp.test.rid"]
    assert lines == ["handling path=/x rid=op-42", f"handling path=/y rid={generated}"]
