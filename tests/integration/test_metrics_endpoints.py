"""`-metricsPort` on `kelp master` and `kelp volume` serves Prometheus text on /metrics: request
counts move with traffic, and the store's and the master's state appear under kelp_* names."""

from __future__ import annotations

import urllib.request

from ops.localcluster import PortAllocator, http_call, port_range_from_env

from .conftest import ClusterFactory


def _scrape(port: int) -> str:
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
        f"http://127.0.0.1:{port}/metrics", timeout=5
    ) as reply:
        assert reply.status == 200
        assert reply.headers["Content-Type"].startswith("text/plain")
        text: str = reply.read().decode()
        return text


def _value(text: str, series: str) -> float:
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{series} not in metrics:\n{text}")


def test_master_and_volume_metrics(cluster_factory: ClusterFactory) -> None:
    ports = PortAllocator(*port_range_from_env())
    master_metrics, volume_metrics = ports.take(grpc_pair=False), ports.take(grpc_pair=False)
    cluster = cluster_factory(
        volumes=1,
        master_flags=[f"-metricsPort={master_metrics}"],
        volume_flags=[f"-metricsPort={volume_metrics}"],
    )
    for n in range(5):
        assign = http_call(cluster.master, "GET", "/dir/assign").json()
        assert http_call(assign["url"], "PUT", f"/{assign['fid']}", body=b"m" * (10 + n)).status == 201

    master = _scrape(master_metrics)
    assert _value(master, "kelp_master_is_leader") == 1
    assert _value(master, 'kelp_master_http_requests_total{code="200",route="/dir/assign"}') == 5
    assert _value(master, "kelp_master_nodes_alive") == 1
    assert _value(master, "kelp_master_keys_issued_total") >= 5
    assert _value(master, "kelp_master_event_index") > 0

    volume = _scrape(volume_metrics)
    assert _value(volume, 'kelp_volume_http_requests_total{code="201",method="PUT"}') == 5
    needles = [line for line in volume.splitlines() if line.startswith("kelp_volume_needles{")]
    assert sum(float(line.rsplit(" ", 1)[1]) for line in needles) == 5
    assert _value(volume, "kelp_volume_heartbeat_connected") == 1
    assert "kelp_volume_disk_free_bytes{" in volume
    missing = http_call(f"127.0.0.1:{volume_metrics}", "GET", "/other")
    assert missing.status == 404
