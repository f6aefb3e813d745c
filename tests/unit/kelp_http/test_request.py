"""Request parsing as handlers see it: decoded path, raw path, query, form, headers, peer address."""

from __future__ import annotations

import json

from kelp_http import Headers, HttpClient, Request, Response, json_response, start_server
from tests.unit.kelp_http.wire import run_scenario


def test_path_query_and_form_decoding() -> None:
    headers = Headers([("Content-Type", "application/x-www-form-urlencoded")])
    req = Request("POST", "/dir/a%20b/3,01?x=1&x=2&y=%2Fz&e=&p=a+b", headers, b"y=body&n=5")
    assert req.path == "/dir/a b/3,01"
    assert req.raw_path == "/dir/a%20b/3,01"
    assert req.query == {"x": "1", "y": "/z", "e": "", "p": "a b"}
    assert req.form() == {"x": "1", "y": "body", "e": "", "p": "a b", "n": "5"}


def test_absolute_form_target_keeps_only_path_and_query() -> None:
    req = Request("GET", "http://127.0.0.1:8080/3,01637037d6?dl=true", Headers())
    assert (req.path, req.query) == ("/3,01637037d6", {"dl": "true"})


def test_form_ignores_non_form_bodies() -> None:
    req = Request("POST", "/submit?a=1", Headers([("Content-Type", "application/octet-stream")]), b"b=2")
    assert req.form() == {"a": "1"}


def test_headers_are_case_insensitive_and_keep_order() -> None:
    h = Headers([("X-A", "1"), ("x-a", "2"), ("Content-Type", "t")])
    assert h.get("x-A") == "1"
    assert h.getall("X-A") == ["1", "2"]
    assert "content-type" in h and "missing" not in h
    assert h.items() == [("X-A", "1"), ("x-a", "2"), ("Content-Type", "t")]


def test_server_builds_request_from_the_wire() -> None:
    async def inspect(req: Request) -> Response:
        return json_response(
            {
                "path": req.path,
                "raw": req.raw_path,
                "query": req.query,
                "seaweed": req.headers.getall("seaweed-color"),
                "remote_is_loopback": req.remote.startswith("127.0.0.1:"),
            }
        )

    async def scenario() -> None:
        server = await start_server(inspect, "127.0.0.1", 0)
        client = HttpClient()
        r = await client.request(
            "GET",
            f"127.0.0.1:{server.port}",
            "/3/0dbddf0918/na%C3%AFve.txt?dl=true",
            headers=[("Seaweed-Color", "blue"), ("seaweed-color", "red")],
        )
        assert json.loads(r.body) == {
            "path": "/3/0dbddf0918/naïve.txt",
            "raw": "/3/0dbddf0918/na%C3%AFve.txt",
            "query": {"dl": "true"},
            "seaweed": ["blue", "red"],
            "remote_is_loopback": True,
        }
        await client.close()
        await server.close()

    run_scenario(scenario())
