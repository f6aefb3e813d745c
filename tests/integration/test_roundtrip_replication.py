"""Blobs make the whole HTTP round trip on a real cluster for each replication: `/dir/assign` →
multipart POST → `/dir/lookup` → GET from every replica → DELETE → 404 on every replica.

The cluster is one master and four volume servers over two data centers and two racks,
    dc1/r1: volume0, volume1    dc1/r2: volume2    dc2/r1: volume3
so 000 (any server), 001 (two servers of dc1/r1), 010 (dc1/r1 + dc1/r2) and 100 (dc1 + dc2)
are all placeable. Writes are W = N, so a 201 means every replica already holds the bytes: the
reads right after it are not polled. Sizes: 0 B, 1 B, 1 KiB and 1 MiB for every replication, and
64 MiB once with 000. Data is random and sent as application/octet-stream, so it is stored as
sent and its ETag is the CRC32-C of the bytes. A server holding no replica proxies the read
(SeaweedFS's default -readMode=proxy), and a DELETE sent to the last replica removes all copies.
"""

from __future__ import annotations

import os

import crc32c
import pytest

from ops.localcluster import HttpReply, LocalCluster, VolumeSpec, http_call, multipart_file

from .conftest import ClusterFactory
from .test_placement_replication import assert_placement_obeys, topology_places

TOPOLOGY = (
    VolumeSpec("dc1", "r1"),
    VolumeSpec("dc1", "r1"),
    VolumeSpec("dc1", "r2"),
    VolumeSpec("dc2", "r1"),
)
SMALL_SIZES = (0, 1, 1024, 1 << 20)
BIG_SIZE = 64 << 20
# Headers a client relies on; every replica must send the same values for them.
REPLICA_HEADERS = ("Etag", "Content-Length", "Content-Type", "Content-Disposition", "Last-Modified")


def quoted_crc(data: bytes) -> str:
    return f'"{crc32c.crc32c(data):08x}"'


def round_trip(cluster: LocalCluster, replication: str, size: int, *, via_outsider: bool = False) -> None:
    """One blob's whole life; with via_outsider the upload goes to a server that holds no replica
    of the volume, which forwards it to every replica."""
    what = f"replication {replication}, {size} bytes{', uploaded via a non-replica' if via_outsider else ''}"
    assigned = http_call(cluster.master, "GET", f"/dir/assign?replication={replication}")
    assert assigned.status == 200, (what, assigned.body)
    fid, url = assigned.json()["fid"], assigned.json()["url"]
    assert assigned.json()["count"] == 1

    vid = fid.split(",")[0]
    located = http_call(cluster.master, "GET", f"/dir/lookup?volumeId={vid}")
    assert located.status == 200, (what, located.body)
    assert located.json()["volumeOrFileId"] == vid
    urls = [loc["url"] for loc in located.json()["locations"]]
    assert url in urls, what
    places = topology_places(cluster.master)
    assert_placement_obeys(replication, [places[u] for u in urls])
    outsider = next((a for a in cluster.volume_addresses if a not in urls), None)
    if via_outsider:
        assert outsider is not None, what
        url = outsider

    data = os.urandom(size)
    body, content_type = multipart_file("blob.bin", data)
    written = http_call(url, "POST", f"/{fid}", body, {"Content-Type": content_type})
    assert written.status == 201, (what, written.body)
    assert written.json().get("size", 0) == size, (what, written.body)  # "size" is left out when 0
    assert written.header("Etag") == quoted_crc(data), what

    reads: dict[str, HttpReply] = {}
    for replica in urls:
        read = http_call(replica, "GET", f"/{fid}")
        assert read.status == 200, (what, replica, read.body[:200])
        assert read.body == data, f"{what}: {replica} returned different bytes"
        assert read.header("Etag") == quoted_crc(data), (what, replica)
        reads[replica] = read
    if outsider is not None:  # a server without the volume proxies the read to one that has it
        read = http_call(outsider, "GET", f"/{fid}")
        assert (read.status, read.body) == (200, data), f"{what}: proxied through {outsider}: {read.status}"
        reads[outsider] = read
    first = reads[urls[0]]
    for replica, read in reads.items():
        for name in REPLICA_HEADERS:
            assert read.header(name) == first.header(name), f"{what}: {name} differs on {replica}"

    deleted = http_call(urls[-1], "DELETE", f"/{fid}")  # any replica fans the delete out
    assert deleted.status == 202, (what, deleted.body)
    assert deleted.json()["size"] >= size, what  # the needle's Size field: data plus metadata
    for replica in reads:
        gone = http_call(replica, "GET", f"/{fid}")
        assert (gone.status, gone.body) == (404, b""), f"{what}: {replica} still answers {gone.status}"


@pytest.fixture
def cluster(cluster_factory: ClusterFactory) -> LocalCluster:
    return cluster_factory(volumes=list(TOPOLOGY))


@pytest.mark.parametrize("replication", ["000", "001", "010", "100"])
def test_round_trip_every_size_on_every_replica(cluster: LocalCluster, replication: str) -> None:
    for size in SMALL_SIZES:
        round_trip(cluster, replication, size)
    round_trip(cluster, replication, 1024, via_outsider=True)


def test_round_trip_64_mib(cluster: LocalCluster) -> None:
    round_trip(cluster, "000", BIG_SIZE)
