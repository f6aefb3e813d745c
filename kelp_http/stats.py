"""Request counts and latency histograms kept cheaply on the hot path, read at scrape time.

The server calls `observe(label, status, seconds)` once per answered request: two dict lookups and a
few integer additions, no locks (everything runs on the event loop). A component's metrics
collector turns `series()` into Prometheus families when `/metrics` is scraped, so the per-request
cost stays near zero (prometheus_client's own Histogram.observe takes a lock per call).

Imports only the standard library.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass

# Upper bounds in seconds, as Prometheus `le` labels; the last bucket (+Inf) is implied.
LATENCY_BUCKETS: tuple[float, ...] = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)


@dataclass(frozen=True, slots=True)
class Series:
    """One (label, status) series: a count, a sum of seconds and cumulative bucket counts."""

    label: str
    status: int
    count: int
    seconds: float
    buckets: tuple[int, ...]  # cumulative, one per LATENCY_BUCKETS bound, then +Inf (== count)


class _Counts:
    __slots__ = ("count", "per_bucket", "seconds")

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0
        self.per_bucket = [0] * (len(LATENCY_BUCKETS) + 1)


class RequestStats:
    def __init__(self, label: Callable[[str, str], str] | None = None) -> None:
        """`label(method, path)` names a request's series (default: the method), so a server with
        unbounded paths (file ids, filer paths) keeps a bounded number of series."""
        self.label = label or (lambda method, path: method)
        self._series: dict[tuple[str, int], _Counts] = {}

    def observe(self, label: str, status: int, seconds: float) -> None:
        key = (label, status)
        counts = self._series.get(key)
        if counts is None:
            counts = self._series[key] = _Counts()
        counts.count += 1
        counts.seconds += seconds
        counts.per_bucket[bisect_left(LATENCY_BUCKETS, seconds)] += 1

    def series(self) -> list[Series]:
        out = []
        for (label, status), c in sorted(self._series.items()):
            running = 0
            cumulative = []
            for n in c.per_bucket:
                running += n
                cumulative.append(running)
            out.append(Series(label, status, c.count, c.seconds, tuple(cumulative)))
        return out
