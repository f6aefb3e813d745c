"""`kelp benchmark` against the real SeaweedFS binary: it writes, deletes and reads back over HTTP only."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ops.cli.benchmark import main

pytestmark = [pytest.mark.integration, pytest.mark.interop]

# The helper's own port block, so parallel suites never collide.
PORT_RANGE = (25000, 25999)


def _result(stdout: str) -> dict:
    line = next(line for line in stdout.splitlines() if line.startswith("RESULT_JSON "))
    return json.loads(line.removeprefix("RESULT_JSON "))


def test_benchmark_writes_and_reads_back_on_seaweedfs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], weed_cluster_factory: Callable[..., Any]
) -> None:
    listing = tmp_path / "fids.txt"
    # The fixture stops the weed processes by pid even when an assertion fails.
    cluster = weed_cluster_factory(1, workdir=tmp_path / "weed", port_range=PORT_RANGE)
    common = [
        f"-master={cluster.master}",
        "-n=200",
        "-c=8",
        "-size=100",
        "-progress=false",
        f"-list={listing}",
    ]
    status = main([*common, "-assignBatch=10", "-deletePercent=10", "-upload=raw"])
    out = capsys.readouterr().out
    assert status == 0, out
    result = _result(out)
    assert result["write"]["completed"] == 200
    assert result["write"]["failed"] == 0
    deleted = result["write"]["deleted"]
    assert 0 < deleted < 200
    assert result["read"]["completed"] == 200 - deleted
    assert result["read"]["latency_ms"]["p99"] >= result["read"]["latency_ms"]["p50"]
    # A read-only run finds the same files through the saved fid list.
    assert main([*common, "-write=false"]) == 0
    assert _result(capsys.readouterr().out)["read"]["completed"] == 200 - deleted
    # The default multipart upload form, one assign per file, as weed benchmark does it.
    assert main([*common, f"-list={tmp_path / 'multipart.txt'}", "-n=20", "-read=false"]) == 0
    assert _result(capsys.readouterr().out)["write"]["completed"] == 20
