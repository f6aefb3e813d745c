"""`kelp server -dir=DIR` is a working one-node blob store: the master answers /cluster/status,
the volume server answers /status, and SeaweedFS's quick start (assign, upload with a multipart
form, lookup, read, delete) works against it."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
import uuid
from typing import Any

import pytest

from ops.localcluster import http_get_json

from .conftest import ClusterFactory

REQUEST_SECONDS = 30.0  # the first assign grows volumes synchronously on a loaded machine


def request(
    method: str, url: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body or None, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=REQUEST_SECONDS) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def multipart(name: str, data: bytes) -> tuple[bytes, str]:
    """What `curl -F file=@name` sends."""
    boundary = uuid.uuid4().hex
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
        f"Content-Type: application/octet-stream\r\n\r\n"
    ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def json_of(status_and_body: tuple[int, bytes], status: int) -> Any:
    got, body = status_and_body
    assert got == status, body
    return json.loads(body)


@pytest.fixture
def server(cluster_factory: ClusterFactory) -> Any:
    return cluster_factory(all_in_one=True)


def test_status_endpoints_answer(server: Any) -> None:
    cluster_status = http_get_json(server.master, "/cluster/status")
    assert cluster_status["IsLeader"] is True
    volume_status = http_get_json(server.volume_addresses[0], "/status")
    assert "Volumes" in volume_status


def test_quick_start_round_trip(server: Any) -> None:
    assigned = json_of(request("GET", f"http://{server.master}/dir/assign"), 200)
    fid, url = assigned["fid"], assigned["url"]
    assert url == server.volume_addresses[0]

    data = os.urandom(1000)  # incompressible, so the stored size is predictable
    body, content_type = multipart("blob.bin", data)
    written = json_of(request("POST", f"http://{url}/{fid}", body, {"Content-Type": content_type}), 201)
    assert written["size"] == len(data)
    assert written["name"] == "blob.bin"

    vid = fid.split(",")[0]
    located = json_of(request("GET", f"http://{server.master}/dir/lookup?volumeId={vid}"), 200)
    assert [loc["url"] for loc in located["locations"]] == [url]

    status, read_back = request("GET", f"http://{url}/{fid}")
    assert (status, read_back) == (200, data)

    deleted = json_of(request("DELETE", f"http://{url}/{fid}"), 202)
    assert deleted["size"] > len(data)  # the needle's Size field, metadata included
    status, _ = request("GET", f"http://{url}/{fid}")
    assert status == 404
