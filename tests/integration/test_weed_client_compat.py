"""The real `weed` 4.48 client tools against kelp masters and volume servers (master_pb.Seaweed):
upload + download round-trip a small and a 10 MiB (chunked, manifest) file byte for byte;
`weed benchmark` completes with 0 failed requests, also against a follower of three masters;
`weed shell` cluster.status and volume.list print kelp's topology; lock then unlock in one shell
session, with GetAdminLockStatus showing the holder in between."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from kelp_pb import weed_master_pb2 as wpb
from kelp_pb import weed_master_pb2_grpc

from ops.localcluster import LocalCluster, WeedCluster, http_get_json

pytestmark = [pytest.mark.integration, pytest.mark.interop]

TOOL_SECONDS = 60.0  # one weed command on a loaded 2-core box (they take well under 2 s here)
LOCK_SECONDS = 10.0  # the shell's lock RPCs landing (about 0.2 s here)
POLL_SECONDS = 0.05
BIG_FILE_BYTES = 10 << 20  # over upload's 4 MiB -maxMB: chunks plus a chunk manifest
BENCH_ARGS = ["-n=2000", "-c=8", "-size=1024"]


@pytest.fixture
def weed() -> str:
    try:
        return WeedCluster.binary()
    except FileNotFoundError as err:
        pytest.skip(str(err))


def run_weed(weed: str, *args: str, cwd: Path, stdin: str | None = None) -> str:
    """Run a weed command to completion; fail with its output unless it exits 0."""
    proc = subprocess.run(
        [weed, *args], input=stdin, capture_output=True, text=True, timeout=TOOL_SECONDS, cwd=cwd
    )
    assert proc.returncode == 0, (
        f"weed {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    )
    return proc.stdout


def bench_counts(output: str) -> list[tuple[int, int]]:
    """(completed, failed) of each benchmark phase (write, then read)."""
    completed = [int(n) for n in re.findall(r"Completed requests:\s+(\d+)", output)]
    failed = [int(n) for n in re.findall(r"Failed requests:\s+(\d+)", output)]
    return list(zip(completed, failed, strict=True))


def kelp_volume_ids(master: str) -> dict[str, set[int]]:
    """Volume ids by data node, as kelp's own /dir/status reports them (" 1-3 5" runs)."""
    out: dict[str, set[int]] = {}
    for dc in http_get_json(master, "/dir/status")["Topology"]["DataCenters"]:
        for rack in dc["Racks"]:
            for node in rack["DataNodes"]:
                ids: set[int] = set()
                for run in node["VolumeIds"].split():
                    low, _, high = run.partition("-")
                    ids.update(range(int(low), int(high or low) + 1))
                out[node["Url"]] = ids
    return out


def test_upload_then_download_round_trips_small_and_chunked_files(
    weed: str, tmp_path: Path, cluster_factory: Callable[..., LocalCluster]
) -> None:
    cluster = cluster_factory(1)
    files = {"small.txt": b"hello from weed to kelp\n", "big.bin": os.urandom(BIG_FILE_BYTES)}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    for name, data in files.items():
        uploaded = json.loads(run_weed(weed, "upload", f"-master={cluster.master}", name, cwd=tmp_path))
        assert uploaded[0]["size"] == len(data)
        run_weed(
            weed, "download", f"-master={cluster.master}", f"-dir={out_dir}", uploaded[0]["fid"], cwd=tmp_path
        )
        assert (out_dir / name).read_bytes() == data, name


def test_benchmark_completes_without_failures(
    weed: str, tmp_path: Path, cluster_factory: Callable[..., LocalCluster]
) -> None:
    cluster = cluster_factory(1)
    output = run_weed(weed, "benchmark", f"-master={cluster.master}", *BENCH_ARGS, cwd=tmp_path)
    assert bench_counts(output) == [(2000, 0), (2000, 0)], output


def test_benchmark_and_upload_through_a_follower_of_three_masters(
    weed: str, tmp_path: Path, cluster_factory: Callable[..., LocalCluster]
) -> None:
    cluster = cluster_factory(1, masters=3)
    leader = cluster.leader_name()
    follower = cluster.nodes[next(n for n in cluster.master_names if n != leader)].address
    # benchmark is redirected to the leader by KeepConnected; upload's Assign is forwarded.
    output = run_weed(weed, "benchmark", f"-master={follower}", *BENCH_ARGS, cwd=tmp_path)
    assert bench_counts(output) == [(2000, 0), (2000, 0)], output
    (tmp_path / "f.txt").write_bytes(b"through a follower")
    uploaded = json.loads(run_weed(weed, "upload", f"-master={follower}", "f.txt", cwd=tmp_path))
    (tmp_path / "out").mkdir()
    run_weed(
        weed, "download", f"-master={follower}", f"-dir={tmp_path / 'out'}", uploaded[0]["fid"], cwd=tmp_path
    )
    assert (tmp_path / "out" / "f.txt").read_bytes() == b"through a follower"
    # The admin lock, leased through the follower, is held in the log: every master names the holder.
    with grpc.insecure_channel(grpc_address(follower)) as channel:
        stub = weed_master_pb2_grpc.SeaweedStub(channel)
        stub.LeaseAdminToken(
            wpb.LeaseAdminTokenRequest(lock_name="shell", client_name="tester"), timeout=LOCK_SECONDS
        )
    for address in cluster.master_addresses:
        with grpc.insecure_channel(grpc_address(address)) as channel:
            assert wait_lock_status(weed_master_pb2_grpc.SeaweedStub(channel), True).client_name == "tester"


def test_shell_prints_kelps_topology(
    weed: str, tmp_path: Path, cluster_factory: Callable[..., LocalCluster]
) -> None:
    cluster = cluster_factory(2)
    (tmp_path / "a.txt").write_bytes(b"grow some volumes")
    run_weed(weed, "upload", f"-master={cluster.master}", "a.txt", cwd=tmp_path)
    expected = kelp_volume_ids(cluster.master)
    assert sorted(expected) == sorted(cluster.volume_addresses)
    output = run_weed(
        weed, "shell", f"-master={cluster.master}", stdin="cluster.status\nvolume.list\nexit\n", cwd=tmp_path
    )
    total = sum(len(ids) for ids in expected.values())
    assert re.search(r"nodes:\s+2\b", output), output
    assert re.search(rf"total:\s+{total} volumes, 1 collection", output), output
    assert "DataCenter DefaultDataCenter" in output and "Rack DefaultRack" in output
    # volume.list: each data node with exactly the volume ids kelp has on it
    listed: dict[str, set[int]] = {}
    node = ""
    for line in output.splitlines():
        if m := re.match(r"\s*DataNode (\S+) hdd\(", line):
            node = m.group(1)
            listed[node] = set()
        elif m := re.match(r"\s*volume Id:(\d+),", line):
            listed[node].add(int(m.group(1)))
    assert listed == expected, output


def test_shell_lock_then_unlock_holds_the_admin_lock_in_between(
    weed: str, tmp_path: Path, cluster_factory: Callable[..., LocalCluster]
) -> None:
    cluster = cluster_factory(1)
    channel = grpc.insecure_channel(cluster.master_grpc)
    stub = weed_master_pb2_grpc.SeaweedStub(channel)
    shell = subprocess.Popen(
        [weed, "shell", f"-master={cluster.master}"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
    )
    try:
        assert shell.stdin is not None
        shell.stdin.write("lock\n")
        shell.stdin.flush()
        locked = wait_lock_status(stub, True)
        assert locked.client_name  # the shell names itself by its host address
        shell.stdin.write("cluster.status\nunlock\n")
        shell.stdin.flush()
        wait_lock_status(stub, False)
        output, _ = shell.communicate("exit\n", timeout=TOOL_SECONDS)
        assert shell.returncode == 0, output
        assert f"LOCKED by {locked.client_name}" in output, output
    finally:
        if shell.poll() is None:
            shell.kill()
            shell.wait()
        channel.close()


def grpc_address(http_address: str) -> str:
    host, _, port = http_address.rpartition(":")
    return f"{host}:{int(port) + 10000}"


def wait_lock_status(stub: weed_master_pb2_grpc.SeaweedStub, locked: bool) -> Any:
    deadline = time.monotonic() + LOCK_SECONDS
    while True:
        status = stub.GetAdminLockStatus(
            wpb.GetAdminLockStatusRequest(lock_name="shell"), timeout=LOCK_SECONDS
        )
        if status.is_locked == locked:
            return status
        assert time.monotonic() < deadline, f"admin lock never became is_locked={locked}"
        time.sleep(POLL_SECONDS)
