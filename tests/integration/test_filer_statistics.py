"""A kelp filer's gRPC Statistics (what `df` on a weed mount shows) against a real cluster: the
capacity is the volume servers' slots times the volume size limit, and used bytes and file counts
come from the master's VolumeList after files were written through the filer."""

from __future__ import annotations

import json
import time

import grpc
from kelp_pb import weed_filer_pb2 as filer_pb
from kelp_pb import weed_filer_pb2_grpc

from ops.localcluster import LocalCluster, VolumeSpec, http_call
from tests.integration.conftest import ClusterFactory

HEARTBEAT_SECONDS = 30.0  # volume sizes reach the master with the next heartbeat
POLL_SECONDS = 0.1
FILES = 3


def master_file_count(cluster: LocalCluster) -> int:
    reply = http_call(cluster.master, "GET", "/vol/status")
    count = 0
    for racks in json.loads(reply.body)["Volumes"]["DataCenters"].values():
        for servers in racks.values():
            for volumes in servers.values():
                count += sum(v["FileCount"] for v in volumes or [])
    return count


def test_statistics_reports_cluster_usage(cluster_factory: ClusterFactory) -> None:
    cluster = cluster_factory(volumes=[VolumeSpec(max_volumes=5)], filers=1, volume_size_limit_mb=64)
    for index in range(FILES):
        assert http_call(cluster.filer, "PUT", f"/stats/f{index}", b"x" * 1000).status == 201
    deadline = time.monotonic() + HEARTBEAT_SECONDS
    while master_file_count(cluster) < FILES:
        assert time.monotonic() < deadline, "the master never saw the files"
        time.sleep(POLL_SECONDS)
    grpc_port = cluster.filer_nodes[0].grpc_port
    with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        stub = weed_filer_pb2_grpc.SeaweedFilerStub(channel)
        stats = stub.Statistics(filer_pb.StatisticsRequest(ttl="0s"), timeout=10)
    assert stats.total_size == 5 * (64 << 20)
    assert stats.file_count >= FILES
    assert stats.used_size >= FILES * 1000
