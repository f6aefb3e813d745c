"""Fixtures for chaos tests: the integration tier's cluster factories (real processes on free
ports, stopped after each test, every log attached to a failed test's report)."""

from __future__ import annotations

from tests.integration.conftest import (  # noqa: F401 (pytest finds fixtures and hooks by name)
    ClusterFactory,
    cluster_factory,
    pytest_runtest_makereport,
    weed_cluster_factory,
)

__all__ = ["ClusterFactory"]
