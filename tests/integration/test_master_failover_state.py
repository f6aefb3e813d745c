"""After the leader of three masters is killed, the new leader has what the old one had:

- soft state (volume sizes and file counts, which live only in heartbeats, not in the log) is
  rebuilt within about one heartbeat interval of the election: the new leader announces itself
  and every volume server reconnects and reports its full inventory at once;
- the admin lock (held in the Raft log) keeps its holder: another client is refused, the holder
  renews with its token on the new leader (getting a new-term token: fencing) and releases it there.
"""

from __future__ import annotations

import time
from typing import Any

import grpc
import pytest
from kelp_pb import weed_master_pb2 as wpb
from kelp_pb import weed_master_pb2_grpc

from ops.localcluster import LocalCluster, http_call, http_get_json

from .conftest import ClusterFactory

PULSE_SECONDS = 1.0
FILES = 40
DEADLINE_SECONDS = 30.0


def _volume_facts(master: str) -> dict[int, tuple[int, int]]:
    """Volume id -> (size, file count), as the master reports them from heartbeats."""
    racks = http_get_json(master, "/vol/status")["Volumes"]["DataCenters"]
    out: dict[int, tuple[int, int]] = {}
    for dc in racks.values():
        for rack in dc.values():
            for volumes in rack.values():
                for v in volumes:
                    out[v["Id"]] = (v["Size"], v["FileCount"])
    return out


def _poll(what: str, check: Any) -> Any:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        try:
            found = check()
            if found:
                return found
        except (OSError, ValueError, KeyError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {DEADLINE_SECONDS:.0f} s")
        time.sleep(0.02)


def test_soft_state_is_rebuilt_within_a_heartbeat_of_the_election(cluster_factory: ClusterFactory) -> None:
    cluster = cluster_factory(volumes=2, masters=3, replication="000", pulse_seconds=PULSE_SECONDS)
    for n in range(FILES):
        reply = http_call(cluster.master, "GET", "/dir/assign")
        assert reply.status == 200, reply.body
        fid, url = reply.json()["fid"], reply.json()["url"]
        assert http_call(url, "PUT", f"/{fid}", body=b"x" * (100 + n)).status == 201
    old_leader = cluster.leader_name()

    def all_files_counted() -> dict[int, tuple[int, int]] | None:
        facts = _volume_facts(cluster.master)
        return facts if sum(count for _, count in facts.values()) == FILES else None

    before = _poll("file counts on the leader", all_files_counted)
    cluster.kill(old_leader)
    new_leader = cluster.leader_name(exclude=[old_leader])
    elected = time.monotonic()
    address = cluster.nodes[new_leader].address
    _poll("the same sizes and counts on the new leader", lambda: _volume_facts(address) == before)
    rebuilt = time.monotonic() - elected
    print(f"soft state rebuilt {rebuilt:.2f} s after the new leader was seen")
    assert rebuilt < 2 * PULSE_SECONDS + 1, f"soft state took {rebuilt:.2f} s after the election"


def _stub(cluster: LocalCluster, name: str) -> tuple[grpc.Channel, weed_master_pb2_grpc.SeaweedStub]:
    channel = grpc.insecure_channel(f"127.0.0.1:{cluster.nodes[name].grpc_port}")
    return channel, weed_master_pb2_grpc.SeaweedStub(channel)


def test_the_admin_lock_survives_a_leader_kill(cluster_factory: ClusterFactory) -> None:
    cluster = cluster_factory(volumes=1, masters=3)
    old_leader = cluster.leader_name()
    channel, stub = _stub(cluster, old_leader)
    with channel:
        lease = stub.LeaseAdminToken(wpb.LeaseAdminTokenRequest(lock_name="shell", client_name="alice"))
    assert lease.token
    cluster.kill(old_leader)
    new_leader = cluster.leader_name(exclude=[old_leader])
    channel, stub = _stub(cluster, new_leader)
    with channel:
        status = stub.GetAdminLockStatus(wpb.GetAdminLockStatusRequest(lock_name="shell"))
        assert (status.is_locked, status.client_name) == (True, "alice")
        with pytest.raises(grpc.RpcError) as refused:
            stub.LeaseAdminToken(wpb.LeaseAdminTokenRequest(lock_name="shell", client_name="bob"))
        assert "alice" in (refused.value.details() or "")  # type: ignore[attr-defined]
        renewed = stub.LeaseAdminToken(
            wpb.LeaseAdminTokenRequest(
                lock_name="shell",
                client_name="alice",
                previous_token=lease.token,
                previous_lock_time=lease.lock_ts_ns,
            )
        )
        # Fenced by term: the renewal re-grants the lock to alice under the new leader's term.
        assert renewed.token > lease.token and renewed.lock_ts_ns >= lease.lock_ts_ns
        stub.ReleaseAdminToken(
            wpb.ReleaseAdminTokenRequest(
                lock_name="shell", previous_token=renewed.token, previous_lock_time=renewed.lock_ts_ns
            )
        )
        assert not stub.GetAdminLockStatus(wpb.GetAdminLockStatusRequest(lock_name="shell")).is_locked
        taken = stub.LeaseAdminToken(wpb.LeaseAdminTokenRequest(lock_name="shell", client_name="bob"))
        assert taken.token > lease.token  # fencing: a later grant always carries a larger token
