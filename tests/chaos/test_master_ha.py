"""Three masters under a steady assign + write load survive, in one run: ten kill -9s of the
leader (each restarted), three SIGSTOPs of the leader for a few seconds, and three stops of all
three masters at once (SIGTERM, SIGKILL, SIGTERM), each followed by a start of all three.

At the end: no (volume, key) pair was handed out twice, no volume id lives on two servers (the
volumes are unreplicated, so a volume id allocated twice would show two locations), every write a
volume server acknowledged reads back, and the three masters have applied the same events (same
EventIndex) into the same state (same StateDigest). The time from each kill to the next
successful assign is printed (pytest -s) and written to $KELP_CHAOS_REPORT when set.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections import Counter

from ops.localcluster import LocalCluster, http_call, http_get_json

from .assign_load import AssignLoad, fid_pair
from .conftest import ClusterFactory

LEADER_KILLS = 10
LEADER_PAUSES = 3
PAUSE_SECONDS = 3.0  # the fault: how long the leader stays stopped
FULL_STOPS = (signal.SIGTERM, signal.SIGKILL, signal.SIGTERM)
RECOVERY_SECONDS = 30.0  # a failover or a full restart until assigns succeed again
CONVERGE_SECONDS = 30.0
LOAD_SECONDS = 400.0  # upper bound for the whole run; normally about two minutes


def _wait_for_assign_after(load: AssignLoad, t: float, what: str) -> float:
    """Seconds from `t` to the load's next successful assign (polled, bounded)."""
    deadline = time.monotonic() + RECOVERY_SECONDS
    while time.monotonic() < deadline:
        when = load.first_success_after(t)
        if when is not None:
            return when - t
        time.sleep(0.02)
    raise AssertionError(f"no successful assign within {RECOVERY_SECONDS:.0f} s after {what}")


def _restart_all(cluster: LocalCluster, sig: signal.Signals) -> None:
    """Signal all three masters at once, then start all three."""
    nodes = [cluster.nodes[name] for name in cluster.master_names]
    for node in nodes:
        if node.running():
            assert node.process is not None
            node.process.send_signal(sig)
    for node in nodes:
        assert node.process is not None
        node.exit_codes.append(node.process.wait(timeout=30))
    for name in cluster.master_names:
        cluster.restart(name, wait=False)
    for name in cluster.master_names:
        cluster.wait_ready(name)


def _statuses(cluster: LocalCluster) -> dict[str, dict[str, object]]:
    return {
        name: http_get_json(cluster.nodes[name].address, "/cluster/status") for name in cluster.master_names
    }


def _converged(cluster: LocalCluster) -> dict[str, dict[str, object]]:
    deadline = time.monotonic() + CONVERGE_SECONDS
    while True:
        statuses = _statuses(cluster)
        applied = {(s.get("EventIndex"), s.get("StateDigest")) for s in statuses.values()}
        if len(applied) == 1 and None not in next(iter(applied)):
            return statuses
        if time.monotonic() > deadline:
            raise AssertionError(f"masters did not converge: {json.dumps(statuses, indent=1)}")
        time.sleep(0.1)


def test_leader_kills_pauses_and_full_stops_lose_nothing(cluster_factory: ClusterFactory) -> None:
    cluster = cluster_factory(volumes=2, masters=3, replication="000")
    failovers: list[float] = []
    pauses: list[float] = []
    full_restarts: list[float] = []
    with AssignLoad(cluster.master_addresses, threads=2, max_seconds=LOAD_SECONDS) as load:
        _wait_for_assign_after(load, time.monotonic(), "the start")
        for n in range(LEADER_KILLS):
            leader = cluster.leader_name()
            t = time.monotonic()
            cluster.kill(leader)
            failovers.append(_wait_for_assign_after(load, t, f"leader kill {n} ({leader})"))
            cluster.restart(leader, wait=False)
            cluster.wait_ready(leader)
        for n in range(LEADER_PAUSES):
            leader = cluster.leader_name()
            t = time.monotonic()
            cluster.kill(leader, signal.SIGSTOP)
            try:
                pauses.append(_wait_for_assign_after(load, t, f"leader pause {n} ({leader})"))
                cluster.leader_name(exclude=[leader])
                time.sleep(max(0.0, t + PAUSE_SECONDS - time.monotonic()))  # the fault's length
            finally:
                cluster.kill(leader, signal.SIGCONT)
        for n, sig in enumerate(FULL_STOPS):
            t = time.monotonic()
            _restart_all(cluster, sig)
            full_restarts.append(_wait_for_assign_after(load, t, f"full stop {n} ({sig.name})"))
        _wait_for_assign_after(load, time.monotonic(), "the last fault")
    record = load.record

    report = {
        "kill_to_assign_s": failovers,
        "pause_to_assign_s": pauses,
        "full_restart_to_assign_s": full_restarts,
        "assigned": len(record.assigned),
        "acked_writes": len(record.acked),
        "failed_assigns": record.failures,
        "failed_writes": record.write_failures,
    }
    print(json.dumps(report))
    if os.environ.get("KELP_CHAOS_REPORT"):
        with open(os.environ["KELP_CHAOS_REPORT"], "w") as f:
            json.dump(report, f, indent=1)

    pairs = Counter(fid_pair(fid) for _, _, fid in record.assigned)
    twice = [pair for pair, n in pairs.items() if n > 1]
    assert not twice, f"{len(twice)} (volume, key) pairs handed out twice, e.g. {twice[:5]}"

    statuses = _converged(cluster)
    leader = cluster.master
    volume_ids = sorted({vid for vid, _ in pairs})
    for vid in volume_ids:
        # A server the new leader declared silent during the full stops rejoins with its next
        # heartbeat; poll (bounded) rather than read one instant.
        deadline = time.monotonic() + CONVERGE_SECONDS
        while (reply := http_call(leader, "GET", f"/dir/lookup?volumeId={vid}")).status != 200:
            assert time.monotonic() < deadline, (vid, reply.body)
            time.sleep(0.1)
        locations = reply.json()["locations"]
        assert len(locations) == 1, f"volume {vid} allocated more than once: {locations}"

    lost = []
    for acked in record.acked:
        reply = http_call(acked.url, "GET", f"/{acked.fid}")
        if reply.status != 200 or reply.body != acked.payload:
            lost.append((acked.fid, reply.status))
    assert not lost, f"{len(lost)} of {len(record.acked)} acknowledged writes lost, e.g. {lost[:5]}"
    assert len(record.acked) > 100, report  # the load really ran through the faults
    print(json.dumps({n: {k: s[k] for k in ("EventIndex", "StateDigest")} for n, s in statuses.items()}))
