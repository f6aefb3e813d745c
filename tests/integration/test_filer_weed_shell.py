"""The real `weed shell -master=<kelp>` finds kelp's filer without -filer: the filer holds a
KeepConnected stream to the leading master (client_type "filer"), the master lists it in
ListClusterNodes, and the shell's fs.ls / fs.cat show kelp's files. Three masters, the shell
pointed at a follower (it is redirected to the leader, and the listing is the leader's)."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from kelp_pb import weed_master_pb2 as wpb
from kelp_pb import weed_master_pb2_grpc

from ops.localcluster import LocalCluster, WeedCluster

pytestmark = [pytest.mark.integration, pytest.mark.interop]

TOOL_SECONDS = 60.0
REGISTER_SECONDS = 15.0  # a filer's link reaching the leader (well under a second here)
POLL_SECONDS = 0.1


@pytest.fixture
def weed() -> str:
    try:
        return WeedCluster.binary()
    except FileNotFoundError as err:
        pytest.skip(str(err))


def listed_filers(master: str) -> list[str]:
    host, port = master.rsplit(":", 1)
    with grpc.insecure_channel(f"{host}:{int(port) + 10000}") as channel:
        stub = weed_master_pb2_grpc.SeaweedStub(channel)
        reply = stub.ListClusterNodes(wpb.ListClusterNodesRequest(client_type="filer"), timeout=5)
    return [node.address for node in reply.cluster_nodes]


def put(filer: str, path: str, data: bytes) -> None:
    request = urllib.request.Request(f"http://{filer}{path}", data=data, method="PUT")
    with urllib.request.urlopen(request, timeout=TOOL_SECONDS) as reply:
        assert reply.status in (200, 201)


def test_weed_shell_without_filer_flag_lists_and_reads_kelps_files(
    weed: str, tmp_path: Path, cluster_factory: Callable[..., LocalCluster]
) -> None:
    cluster = cluster_factory(1, masters=3, filers=1)
    filer = cluster.filer_nodes[0]
    put(cluster.filer, "/docs/hello.txt", b"hello from kelp's filer\n")
    put(cluster.filer, "/top.bin", b"x" * 300_000)  # chunked: fs.cat reads it from the volume server
    follower = next(n for n in cluster.master_names if n != cluster.leader_name())
    follower_address = cluster.nodes[follower].address
    expected = f"127.0.0.1:{filer.http_port}.{filer.grpc_port}"
    deadline = time.monotonic() + REGISTER_SECONDS
    while listed_filers(follower_address) != [expected]:  # asked of a follower: forwarded to the leader
        assert time.monotonic() < deadline, f"filer {expected} never listed by {follower_address}"
        time.sleep(POLL_SECONDS)
    proc = subprocess.run(
        [weed, "shell", f"-master={follower_address}"],
        input="fs.ls /\nfs.ls /docs\nfs.cat /docs/hello.txt\nexit\n",
        capture_output=True, text=True, timeout=TOOL_SECONDS, cwd=tmp_path,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    words = output.split()
    assert "docs" in words and "top.bin" in words and "hello.txt" in words, output
    assert "hello from kelp's filer" in output, output
