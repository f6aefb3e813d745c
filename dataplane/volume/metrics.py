"""The volume server's Prometheus metrics, all named `kelp_volume_*`, read at scrape time.

Nothing here runs per request: HTTP counts and latencies are kept by kelp_http's `RequestStats`
(plain integers), and the store's and heartbeat's `statistics()` are read when `/metrics` on
`-metricsPort` is scraped.

| metric | type | labels |
|---|---|---|
| kelp_volume_http_requests_total | counter | method, code |
| kelp_volume_http_request_duration_seconds | histogram | method |
| kelp_volume_volumes | gauge | collection, read_only |
| kelp_volume_needles | gauge | collection (live needles) |
| kelp_volume_deleted_needles | gauge | collection |
| kelp_volume_data_bytes | gauge | collection (.dat bytes) |
| kelp_volume_deleted_bytes | gauge | collection |
| kelp_volume_max_volumes | gauge | |
| kelp_volume_disk_free_bytes | gauge | dir |
| kelp_volume_heartbeat_connected | gauge | |
| kelp_volume_heartbeats_sent_total | counter | |

Server-side adapter code: prometheus_client and the store's statistics; no HTTP handling.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from dataplane.volume.engine.store import Store
from dataplane.volume.heartbeat import Heartbeat
from kelp_http.metrics_server import request_families
from kelp_http.stats import RequestStats


class VolumeServerCollector:
    """A prometheus_client collector over one volume server's statistics."""

    def __init__(self, store: Store, heartbeat: Heartbeat, http: RequestStats) -> None:
        self._store = store
        self._heartbeat = heartbeat
        self._http = http

    def collect(self) -> Iterator[Metric]:
        yield from request_families(self._http, "kelp_volume_http")
        stats = self._store.statistics()
        per_collection: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        volumes = GaugeMetricFamily(
            "kelp_volume_volumes", "Volumes served", labels=["collection", "read_only"]
        )
        counted: dict[tuple[str, str], int] = defaultdict(int)
        for v in stats.volumes:
            counted[(v.collection, "true" if v.read_only else "false")] += 1
            totals = per_collection[v.collection]
            totals[0] += v.file_count - v.delete_count
            totals[1] += v.delete_count
            totals[2] += v.size
            totals[3] += v.deleted_byte_count
        for (collection, read_only), n in sorted(counted.items()):
            volumes.add_metric([collection, read_only], n)
        yield volumes
        names = (
            ("kelp_volume_needles", "Live needles"),
            ("kelp_volume_deleted_needles", "Deleted needles not yet vacuumed"),
            ("kelp_volume_data_bytes", "Bytes in .dat files"),
            ("kelp_volume_deleted_bytes", "Bytes of deleted needles not yet vacuumed"),
        )
        for i, (name, doc) in enumerate(names):
            family = GaugeMetricFamily(name, doc, labels=["collection"])
            for collection, totals in sorted(per_collection.items()):
                family.add_metric([collection], totals[i])
            yield family
        yield GaugeMetricFamily("kelp_volume_max_volumes", "Volume slots", value=stats.max_volume_count)
        free = GaugeMetricFamily(
            "kelp_volume_disk_free_bytes", "Free bytes per data directory", labels=["dir"]
        )
        for disk in stats.disks:
            free.add_metric([disk.dir], disk.free)
        yield free
        beat = self._heartbeat.statistics()
        yield GaugeMetricFamily(
            "kelp_volume_heartbeat_connected", "1 while a master takes heartbeats", value=int(beat.connected)
        )
        yield CounterMetricFamily("kelp_volume_heartbeats_sent", "Heartbeats sent", value=beat.sent)


def volume_registry(store: Store, heartbeat: Heartbeat, http: RequestStats) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(VolumeServerCollector(store, heartbeat, http))
    return registry
