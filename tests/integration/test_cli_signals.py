"""SIGTERM and SIGINT stop every kelp server process cleanly with status 0 (SeaweedFS's
`weed server` can hang on SIGTERM; kelp must not), and -pidFile names the running process."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from ops.localcluster import LocalCluster

from .conftest import ClusterFactory


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_master_and_volume_exit_0_on_signal(cluster_factory: ClusterFactory, sig: int) -> None:
    cluster = cluster_factory(volumes=1)
    # kill() waits up to the grace period, then SIGKILLs (status -9): 0 means a clean, prompt stop.
    assert cluster.kill("volume0", sig) == 0
    assert cluster.kill("master", sig) == 0


def test_kelp_server_exits_0_on_sigterm(cluster_factory: ClusterFactory) -> None:
    cluster = cluster_factory(all_in_one=True)
    assert cluster.kill("server", signal.SIGTERM) == 0


def test_pid_file_names_the_process_and_is_removed_on_exit(cluster_factory: ClusterFactory,
                                                          tmp_path: Path) -> None:
    pid_file = tmp_path / "master.pid"
    cluster: LocalCluster = cluster_factory(volumes=0, master_flags=[f"-pidFile={pid_file}"])
    assert int(pid_file.read_text()) == cluster.nodes["master"].pid
    assert cluster.kill("master", signal.SIGTERM) == 0
    assert not pid_file.exists()
