"""The master's Prometheus metrics, all named `kelp_master_*`, read at scrape time from
`MasterCore.statistics()` and kelp_http's `RequestStats` (nothing runs per request).

| metric | type | labels |
|---|---|---|
| kelp_master_http_requests_total | counter | route, code |
| kelp_master_http_request_duration_seconds | histogram | route |
| kelp_master_is_leader | gauge | |
| kelp_master_raft_term | gauge | |
| kelp_master_raft_commit_index, kelp_master_raft_applied_index | gauge | |
| kelp_master_event_index | gauge | (last event folded into the state; equal on every master when in sync) |
| kelp_master_nodes_alive, kelp_master_volumes, kelp_master_max_volume_id | gauge | |
| kelp_master_keys_issued_total | counter | (file keys this process handed out) |

Must not import kelp_http's server or grpc; only its stats and exposition helpers.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from controlplane.master.core import MasterCore
from kelp_http.metrics_server import request_families
from kelp_http.stats import RequestStats

# Routes get their own series; anything else (fid redirects, typos) is "other", so the number of
# series stays bounded whatever clients send.
_ROUTE_PREFIXES = ("/dir/", "/vol/", "/col/", "/cluster/", "/submit", "/stats/", "/healthz", "/readyz")


def route_label(method: str, path: str) -> str:
    return path if path.startswith(_ROUTE_PREFIXES) and len(path) < 40 else "other"


def http_stats() -> RequestStats:
    return RequestStats(route_label)


class MasterCollector:
    def __init__(self, core: MasterCore, http: RequestStats) -> None:
        self._core = core
        self._http = http

    def collect(self) -> Iterator[Metric]:
        yield from request_families(self._http, "kelp_master_http", label="route")
        s = self._core.statistics()
        gauges = (
            ("kelp_master_is_leader", "1 on the leader", int(s.is_leader)),
            ("kelp_master_raft_term", "Raft term", s.term),
            ("kelp_master_raft_commit_index", "Raft commit index", s.commit_index),
            ("kelp_master_raft_applied_index", "Raft applied index", s.applied_index),
            ("kelp_master_event_index", "Last event folded into the state", self._core.hub.last_index),
            ("kelp_master_nodes_alive", "Volume servers alive", s.nodes_alive),
            ("kelp_master_volumes", "Volumes in the topology", s.volumes),
            ("kelp_master_max_volume_id", "Highest volume id reserved", s.max_volume_id),
        )
        for name, doc, value in gauges:
            yield GaugeMetricFamily(name, doc, value=value)
        yield CounterMetricFamily(
            "kelp_master_keys_issued", "File keys handed out by this process", value=s.keys_issued
        )


def master_registry(core: MasterCore, http: RequestStats) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MasterCollector(core, http))
    return registry
