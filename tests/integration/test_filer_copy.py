"""`POST /dst?cp.from=/src` against real processes: a copied tree has needles of its own, so after
the source is deleted recursively and the chunk collector has freed the source's needles on the
volume server, every copied file still reads back whole."""

from __future__ import annotations

import json
import os
import time
from typing import Any

from ops.localcluster import LocalCluster, http_call
from tests.integration.conftest import ClusterFactory

GC_SECONDS = 30.0  # the collector looks at its queue every second; a loaded box needs several passes
POLL_SECONDS = 0.1


def chunk_fids(cluster: LocalCluster, path: str) -> list[str]:
    doc: dict[str, Any] = json.loads(http_call(cluster.filer, "GET", f"{path}?metadata=true").body)
    return [c["file_id"] for c in doc.get("chunks") or []]


def test_copy_survives_deleting_the_source(cluster_factory: ClusterFactory) -> None:
    cluster = cluster_factory(volumes=1, filers=1, filer_flags=["-maxMB=1"])
    big, small = os.urandom((2 << 20) + 11), b"s" * 1000
    assert http_call(cluster.filer, "PUT", "/src/sub/big.bin", big).status == 201
    assert http_call(cluster.filer, "PUT", "/src/small.txt", small).status == 201
    reply = http_call(cluster.filer, "POST", "/dst?cp.from=/src")
    assert reply.status == 204 and reply.header("X-Seaweedfs-Copy-Committed") == "true"
    source_fids = chunk_fids(cluster, "/src/sub/big.bin") + chunk_fids(cluster, "/src/small.txt")
    copied_fids = chunk_fids(cluster, "/dst/sub/big.bin") + chunk_fids(cluster, "/dst/small.txt")
    assert len(source_fids) == 4 and len(copied_fids) == 4 and not set(source_fids) & set(copied_fids)

    assert http_call(cluster.filer, "DELETE", "/src?recursive=true").status == 204
    volume = cluster.volume_addresses[0]
    deadline = time.monotonic() + GC_SECONDS
    while any(http_call(volume, "GET", f"/{fid}").status != 404 for fid in source_fids):
        assert time.monotonic() < deadline, "the source's needles were never freed"
        time.sleep(POLL_SECONDS)
    assert http_call(cluster.filer, "GET", "/dst/sub/big.bin").body == big
    assert http_call(cluster.filer, "GET", "/dst/small.txt").body == small


def live_needles(cluster: LocalCluster) -> int:
    """Needles written and not deleted, over every volume of every volume server."""
    total = 0
    for volume in cluster.volume_addresses:
        status = json.loads(http_call(volume, "GET", "/status").body)
        total += sum(v["FileCount"] - v["DeleteCount"] for v in status.get("Volumes") or [])
    return total


def test_failed_tree_copy_leaves_no_partial_tree_and_no_chunk(cluster_factory: ClusterFactory) -> None:
    """One source needle deleted on the volume server: the copy reads a.bin whole, then fails on
    b.bin. Nothing of /dst is committed, and every chunk the copy stored is deleted on the volume
    server by the collector (the live needle count comes back to the source's)."""
    cluster = cluster_factory(volumes=1, filers=1, filer_flags=["-maxMB=1"])
    data = os.urandom((2 << 20) + 5)  # three chunks each
    for name in ("a.bin", "b.bin", "c.bin"):
        assert http_call(cluster.filer, "PUT", f"/src/sub/{name}", data).status == 201
    lost = chunk_fids(cluster, "/src/sub/b.bin")[1]
    assert http_call(cluster.volume_addresses[0], "DELETE", f"/{lost}").status in (200, 202)
    source_live = live_needles(cluster)
    assert source_live == 8

    reply = http_call(cluster.filer, "POST", "/dst?cp.from=/src")
    assert reply.status == 500, reply.body
    assert http_call(cluster.filer, "GET", "/dst").status == 404
    assert http_call(cluster.filer, "GET", "/dst/sub/a.bin").status == 404
    deadline = time.monotonic() + GC_SECONDS
    while live_needles(cluster) != source_live:
        assert time.monotonic() < deadline, (
            f"{live_needles(cluster) - source_live} chunks of the failed copy were never deleted")
        time.sleep(POLL_SECONDS)
    assert http_call(cluster.filer, "GET", "/src/sub/a.bin").body == data
