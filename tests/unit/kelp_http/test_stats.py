"""RequestStats counts answered requests by (label, status) with cumulative latency buckets, and
request_families renders them as Prometheus counters and histograms."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from kelp_http import HttpClient, Request, Response, start_server
from kelp_http.metrics_server import request_families
from kelp_http.stats import LATENCY_BUCKETS, RequestStats
from tests.unit.kelp_http.wire import run_scenario


def test_series_are_cumulative_per_label_and_status() -> None:
    stats = RequestStats()
    stats.observe("GET", 200, 0.0002)
    stats.observe("GET", 200, 3.0)
    stats.observe("GET", 404, 0.01)
    get_ok, get_missing = stats.series()
    assert (get_ok.label, get_ok.status, get_ok.count) == ("GET", 200, 2)
    assert get_ok.seconds == 3.0002
    assert get_ok.buckets[0] == 0  # 0.1 ms: nothing that fast
    assert get_ok.buckets[LATENCY_BUCKETS.index(0.00025)] == 1
    assert get_ok.buckets[LATENCY_BUCKETS.index(5.0)] == 2 and get_ok.buckets[-1] == 2
    assert (get_missing.status, get_missing.count) == (404, 1)


class _Collector:
    def __init__(self, stats: RequestStats) -> None:
        self.stats = stats

    def collect(self):  # type: ignore[no-untyped-def]  # prometheus_client's collector protocol
        return request_families(self.stats, "kelp_test_http", label="route")


def test_the_server_records_each_answer_and_prometheus_renders_it() -> None:
    async def handler(req: Request) -> Response:
        return Response(404 if req.path == "/missing" else 200, [], b"x")

    async def scenario() -> None:
        stats = RequestStats(lambda method, path: path)
        server = await start_server(handler, "127.0.0.1", 0, stats=stats)
        client = HttpClient()
        try:
            for path in ("/a", "/a", "/missing"):
                await client.request("GET", f"127.0.0.1:{server.port}", path)
        finally:
            await client.close()
            await server.close()
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Collector(stats))
        text = generate_latest(registry).decode()
        assert 'kelp_test_http_requests_total{code="200",route="/a"} 2.0' in text
        assert 'kelp_test_http_requests_total{code="404",route="/missing"} 1.0' in text
        assert 'kelp_test_http_request_duration_seconds_count{route="/a"} 2.0' in text
        assert 'kelp_test_http_request_duration_seconds_bucket{le="+Inf",route="/a"} 2.0' in text

    run_scenario(scenario())
