"""The cluster harness tests rely on: a restarted process keeps its ports and data, a volume
directory can be served again by a new cluster (how interop tests hand directories between kelp
and SeaweedFS), and stop() leaves no process behind."""

from __future__ import annotations

import os
import signal
import urllib.request
from pathlib import Path

import pytest

from ops.localcluster import LocalCluster, VolumeSpec, http_get_json

from .conftest import ClusterFactory

REQUEST_SECONDS = 30.0  # the first assign grows volumes synchronously on a loaded machine


def write(cluster: LocalCluster, data: bytes) -> str:
    assigned = http_get_json(cluster.master, "/dir/assign", timeout=REQUEST_SECONDS)
    request = urllib.request.Request(f"http://{assigned['url']}/{assigned['fid']}", data=data, method="POST",
                                     headers={"Content-Type": "application/octet-stream"})
    with urllib.request.urlopen(request, timeout=REQUEST_SECONDS) as reply:
        assert reply.status == 201
    return str(assigned["fid"])


def read(address: str, fid: str) -> bytes:
    with urllib.request.urlopen(f"http://{address}/{fid}", timeout=REQUEST_SECONDS) as reply:
        return bytes(reply.read())


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_a_restarted_volume_server_keeps_its_port_and_data(cluster_factory: ClusterFactory, sig: int) -> None:
    cluster = cluster_factory(volumes=1)
    data = os.urandom(4096)
    fid = write(cluster, data)
    before = cluster.volume_addresses[0]
    cluster.kill("volume0", sig)
    cluster.restart("volume0")
    assert cluster.volume_addresses[0] == before
    assert read(before, fid) == data


def test_a_volume_directory_is_served_again_by_a_new_cluster(cluster_factory: ClusterFactory,
                                                             tmp_path: Path) -> None:
    first = cluster_factory(volumes=1, workdir=tmp_path / "first")  # our workdir: stop() keeps it
    data = os.urandom(1000)
    fid = write(first, data)
    volume_dir = first.volume_nodes[0].data_dir
    first.stop()
    second = cluster_factory(volumes=[VolumeSpec(dir=str(volume_dir))])
    assert read(second.volume_addresses[0], fid) == data


def test_stop_leaves_no_process_and_removes_its_directory(cluster_factory: ClusterFactory) -> None:
    cluster = cluster_factory(volumes=2)
    pids = [node.pid for node in cluster.nodes.values()]
    cluster.stop()
    assert not cluster.workdir.exists()
    for node in cluster.nodes.values():
        assert not node.running()
        assert node.exit_codes == [0], node.name
    for pid in pids:
        assert pid is not None and not Path(f"/proc/{pid}").exists()


@pytest.mark.interop
def test_weed_cluster_has_the_same_interface(weed_cluster_factory: ClusterFactory) -> None:
    cluster = weed_cluster_factory(volumes=[VolumeSpec("dc1", "r1"), VolumeSpec("dc2", "r1")],
                                   replication="100")
    data = os.urandom(1000)
    fid = write(cluster, data)
    vid = fid.split(",")[0]
    located = http_get_json(cluster.master, f"/dir/lookup?volumeId={vid}")
    # replication 100: one copy in each data center, i.e. on both servers
    assert sorted(loc["url"] for loc in located["locations"]) == sorted(cluster.volume_addresses)
    assert read(cluster.volume_addresses[0], fid) == data
    cluster.stop()
    assert all(not node.running() for node in cluster.nodes.values())
