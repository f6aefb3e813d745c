"""Entry TTL against real processes (kelp filer on SQLite and on PostgreSQL): an upload with
`?ttl=1m` records TtlSec 60 and its chunk lands on a volume with a 1m TTL (the ttl went to the
master's assign); once its time has passed the entry reads as 404, the listing skips it and its
chunk is deleted from the volume server.

Time: the smallest TTL is a minute, so instead of waiting the test moves the entry's creation time
back a minute with gRPC UpdateEntry (what any filer_pb client may send); the filer then finds it
expired on its own clock.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import grpc
import pytest
from kelp_pb import weed_filer_pb2 as filer_pb
from kelp_pb import weed_filer_pb2_grpc

from ops.localcluster import HttpReply, LocalCluster, http_call
from tests.pgtest import filer_cluster

GC_SECONDS = 30.0  # the chunk collector looks at its queue every second; a loaded box needs more
POLL_SECONDS = 0.1
JSON = {"Accept": "application/json"}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def cluster(request: pytest.FixtureRequest) -> Iterator[LocalCluster]:
    with filer_cluster(request.param) as made:
        yield made


def call(cluster: LocalCluster, method: str, path: str, body: bytes = b"", **headers: str) -> HttpReply:
    return http_call(cluster.filer, method, path, body, headers)


def volume_ttl(cluster: LocalCluster, vid: int) -> dict[str, int]:
    status = http_call(cluster.volume_addresses[0], "GET", "/status").json()
    found = [v for v in status["Volumes"] if v["Id"] == vid]
    assert found, status
    return dict(found[0]["Ttl"])


def backdate(cluster: LocalCluster, directory: str, name: str, seconds: int) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{cluster.filer_nodes[0].grpc_port}") as channel:
        stub = weed_filer_pb2_grpc.SeaweedFilerStub(channel)
        entry = stub.LookupDirectoryEntry(
            filer_pb.LookupDirectoryEntryRequest(directory=directory, name=name)).entry
        entry.attributes.crtime -= seconds
        stub.UpdateEntry(filer_pb.UpdateEntryRequest(directory=directory, entry=entry))


def test_ttl_upload_expires(cluster: LocalCluster) -> None:
    assert call(cluster, "PUT", "/ttl/short.txt?ttl=1m", b"short-lived").status == 201
    assert call(cluster, "PUT", "/ttl/kept.txt", b"kept").status == 201
    meta = call(cluster, "GET", "/ttl/short.txt?metadata=true").json()
    assert meta["TtlSec"] == 60
    fid = meta["chunks"][0]["file_id"]
    assert volume_ttl(cluster, int(fid.split(",")[0])) == {"Count": 1, "Unit": 1}  # 1m, on the volume
    assert call(cluster, "GET", "/ttl/short.txt").body == b"short-lived"

    backdate(cluster, "/ttl", "short.txt", 61)
    assert call(cluster, "GET", "/ttl/short.txt").status == 404
    listing = call(cluster, "GET", "/ttl/", **JSON).json()
    assert [e["FullPath"] for e in listing["Entries"]] == ["/ttl/kept.txt"]
    assert call(cluster, "GET", "/ttl/kept.txt").body == b"kept"
    # the read deleted it and queued its chunk: the collector frees the needle
    deadline = time.monotonic() + GC_SECONDS
    while http_call(cluster.volume_addresses[0], "GET", f"/{fid}").status != 404:
        assert time.monotonic() < deadline, "the expired entry's chunk is still on the volume server"
        time.sleep(POLL_SECONDS)
    # the name is free again, without a TTL this time
    assert call(cluster, "PUT", "/ttl/short.txt", b"again").status == 201
    assert call(cluster, "GET", "/ttl/short.txt?metadata=true").json()["TtlSec"] == 0
