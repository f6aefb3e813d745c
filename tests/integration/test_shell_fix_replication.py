"""volume.fix.replication and volume.configure.replication against real processes: a volume
server's directory is wiped (killed, emptied, restarted), `-doDelete=false -apply` restores every
missing replica without removing an extra one, then `-apply` removes the extra; every file reads
back from every replica. A mutating command without `lock` (or after `unlock`) is refused."""

from __future__ import annotations

import shutil
import time
from typing import Any

from ops.localcluster import LocalCluster, http_call, http_get_json, multipart_file

from .conftest import ClusterFactory
from .test_shell import kelp_shell

FILES = 12
SETTLE_SECONDS = 60.0  # heartbeats (1 s pulse) reaching the master after a change


def replicas(cluster: LocalCluster, vid: int) -> list[str]:
    try:
        found: Any = http_get_json(cluster.master, f"/dir/lookup?volumeId={vid}")
    except OSError:
        return []
    return sorted(loc["url"] for loc in found.get("locations") or [])


def wait_for(what: str, check: Any, seconds: float = SETTLE_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_fix_replication_restores_a_wiped_server(cluster_factory: ClusterFactory) -> None:
    cluster = cluster_factory(3, replication="001")
    stored: dict[str, bytes] = {}
    for i in range(FILES):
        assign = http_call(cluster.master, "GET", "/dir/assign?replication=001").json()
        data = f"file {i} ".encode() * (i + 1)
        body, ctype = multipart_file(f"f{i}", data)
        stored_reply = http_call(assign["url"], "POST", f"/{assign['fid']}", body, {"Content-Type": ctype})
        assert stored_reply.status == 201
        stored[assign["fid"]] = data
    # Every grown volume takes part, written or not: the writes may all land on volumes of one
    # pair of servers, and the test needs a server that holds some volumes and misses others.
    written = {int(fid.split(",")[0]) for fid in stored}
    before = {vid: found for vid in range(1, 64) if (found := replicas(cluster, vid))}
    vids = sorted(before)
    assert written <= set(vids), (written, before)
    assert all(len(r) == 2 for r in before.values()), before

    wiped = next(name for name, node in cluster.nodes.items() if node.role == "volume"
                 and any(node.address in r for r in before.values())
                 and any(node.address not in r for r in before.values()))
    wiped_address = cluster.nodes[wiped].address
    lost = [vid for vid in vids if wiped_address in before[vid]]
    extra = next(vid for vid in vids if vid not in lost)  # will have one replica too many

    # A mutating command is refused without the lock (none taken, or given back).
    refused = kelp_shell([cluster.master], f"volume.mark -volumeId={extra} -writable")
    assert refused.returncode == 1 and "run `lock` first" in refused.stderr, refused.stderr
    refused = kelp_shell([cluster.master], f"lock; unlock; volume.mark -volumeId={extra} -writable")
    assert refused.returncode == 1 and "lock" in refused.stderr, refused.stderr
    configured = kelp_shell([cluster.master],
                            f"lock; volume.configure.replication -volumeId={extra} -replication=000")
    assert configured.returncode == 0, configured.stderr

    def placement_reported() -> bool:
        lines = [line for line in kelp_shell([cluster.master], "volume.list").stdout.splitlines()
                 if f"id:{extra} " in line]
        return len(lines) == 2 and all("replica_placement:000" in line for line in lines)

    wait_for("placement 000 reported by both holders", placement_reported)

    cluster.kill(wiped)
    shutil.rmtree(cluster.nodes[wiped].data_dir)
    cluster.nodes[wiped].data_dir.mkdir()
    cluster.restart(wiped)
    wait_for("the wiped server's replicas dropped",
             lambda: all(wiped_address not in replicas(cluster, vid) for vid in lost))

    plan = kelp_shell([cluster.master], "volume.fix.replication")
    assert plan.returncode == 0 and "plan only" in plan.stdout, plan.stdout + plan.stderr
    assert f"volume {extra}: remove" in plan.stdout
    only_add = kelp_shell([cluster.master], "lock; volume.fix.replication -doDelete=false -apply")
    assert only_add.returncode == 0, only_add.stdout + only_add.stderr
    assert "remove" not in only_add.stdout
    wait_for("every replica restored",
             lambda: all(len(replicas(cluster, vid)) == 2 for vid in vids if vid != extra))
    assert len(replicas(cluster, extra)) == 2  # the extra replica stayed

    full = kelp_shell([cluster.master], "lock; volume.fix.replication -apply")
    assert full.returncode == 0, full.stdout + full.stderr
    wait_for("the extra replica removed", lambda: len(replicas(cluster, extra)) == 1)
    assert all(len(replicas(cluster, vid)) == 2 for vid in vids if vid != extra)

    # No [master.maintenance] in this cluster's master.toml: nothing is scheduled or has run.
    history = kelp_shell([cluster.master], "maintenance.history")
    assert history.returncode == 0 and "not configured" in history.stdout and "0 runs" in history.stdout

    for fid, data in stored.items():
        for url in replicas(cluster, int(fid.split(",")[0])):
            got = http_call(url, "GET", f"/{fid}")
            assert got.status == 200 and got.body == data, (fid, url, got.status)
