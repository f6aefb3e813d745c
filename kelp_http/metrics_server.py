"""Prometheus exposition over kelp_http: the `-metricsPort` listener every kelp server can open,
and the metric families of a `RequestStats`.

SeaweedFS serves `/metrics` on a separate port (`-metricsPort`, off by default); kelp does the same,
so a scrape never queues behind data traffic and the data port's routes stay SeaweedFS's.

Imports kelp_http and prometheus_client only.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric

from kelp_http.request import Request
from kelp_http.response import Response, error_response
from kelp_http.server import HttpServer, start_server
from kelp_http.stats import LATENCY_BUCKETS, RequestStats


def request_families(stats: RequestStats, prefix: str, label: str = "method") -> Iterator[Metric]:
    """`<prefix>_requests_total{<label>,code}` and `<prefix>_request_duration_seconds{<label>}`."""
    total = CounterMetricFamily(f"{prefix}_requests", "HTTP requests answered", labels=[label, "code"])
    merged: dict[str, tuple[list[int], float]] = {}
    for series in stats.series():
        total.add_metric([series.label, str(series.status)], series.count)
        buckets, seconds = merged.get(series.label, ([0] * len(series.buckets), 0.0))
        summed = [a + b for a, b in zip(buckets, series.buckets, strict=True)]
        merged[series.label] = (summed, seconds + series.seconds)
    yield total
    duration = HistogramMetricFamily(
        f"{prefix}_request_duration_seconds", "Time from request parsed to reply written", labels=[label]
    )
    bounds = [str(b) for b in LATENCY_BUCKETS] + ["+Inf"]
    for name, (buckets, seconds) in sorted(merged.items()):
        duration.add_metric([name], list(zip(bounds, buckets, strict=True)), seconds)
    yield duration


async def start_metrics_server(registry: CollectorRegistry, host: str, port: int) -> HttpServer:
    """Answer `GET /metrics` with the registry in Prometheus text format; anything else is 404."""

    async def handle(req: Request) -> Response:
        if req.path != "/metrics":
            return error_response(404, "only /metrics is served here")
        return Response(200, [("Content-Type", CONTENT_TYPE_LATEST)], generate_latest(registry))

    return await start_server(handle, host, port)
