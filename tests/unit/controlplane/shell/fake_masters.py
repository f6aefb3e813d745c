"""An in-memory master cluster behind the shell's `MasterAdmin` seam, for unit tests only:
masters that are up or gone, a leader (or none, as during an election), followers that name a
leader (possibly a stale one), and a record of every call."""

from __future__ import annotations

from dataclasses import dataclass, field

from controlplane.shell.errors import MasterGone, MasterNotLeader, MasterRefused
from controlplane.shell.master_admin import ClusterStatus, Member, ServerReport, TopologyCounts
from dataplane.client.addresses import ServerAddress


@dataclass
class FakeCluster:
    members: list[str]
    leader: str = ""
    down: set[str] = field(default_factory=set)
    hints: dict[str, str] = field(default_factory=dict)  # what a follower names as leader, if not `leader`
    calls: list[tuple[str, str]] = field(default_factory=list)  # (master, method)
    term: int = 3
    # An election: the first `elect_after` status calls see no leader, then `leader` wins.
    elect_after: int = 0
    topology: TopologyCounts | None = field(default_factory=lambda: TopologyCounts(1, 2, 3, 7))
    closed: list[str] = field(default_factory=list)
    lock_holder: tuple[int, str] | None = None  # (token, client) of the admin lock
    servers: list[ServerReport] = field(default_factory=list)  # what volume_topology reports
    next_token: int = 1 << 32

    def connect(self, address: ServerAddress) -> FakeMaster:
        return FakeMaster(self, address.http)

    def current_leader(self) -> str:
        statuses = sum(1 for _, method in self.calls if method == "cluster_status")
        return "" if self.elect_after and statuses <= self.elect_after else self.leader

    def member_list(self) -> tuple[Member, ...]:
        leader = self.current_leader()
        return tuple(
            Member(
                address=a,
                raft_address=f"{ServerAddress.parse(a).host}:{ServerAddress.parse(a).http_port + 20000}",
                role="leader" if a == leader else "follower",
                healthy=a not in self.down,
                last_contact_seconds=None if a == leader else 0.25,
            )
            for a in self.members
        )


class FakeMaster:
    def __init__(self, cluster: FakeCluster, address: str) -> None:
        self.cluster = cluster
        self._address = address

    @property
    def address(self) -> str:
        return self._address

    def _enter(self, method: str) -> None:
        self.cluster.calls.append((self._address, method))
        if self._address in self.cluster.down or self._address not in self.cluster.members:
            raise MasterGone(self._address, "UNAVAILABLE: connection refused")

    def _leader_only(self) -> None:
        leader = self.cluster.current_leader()
        if self._address != leader:
            raise MasterNotLeader(self._address, self.cluster.hints.get(self._address, leader))

    async def cluster_status(self) -> ClusterStatus:
        self._enter("cluster_status")
        leader = self.cluster.current_leader()
        return ClusterStatus(
            answered_by=self._address,
            is_leader=self._address == leader,
            leader=self.cluster.hints.get(self._address, leader),
            term=self.cluster.term,
            event_index=42,
            state_digest="ab" * 32,
            commit_index=57,
            applied_index=56,
            max_volume_id=7,
            members=self.cluster.member_list(),
        )

    async def list_cluster_servers(self) -> tuple[Member, ...]:
        self._enter("list_cluster_servers")
        return self.cluster.member_list()

    async def topology_counts(self) -> TopologyCounts:
        self._enter("topology_counts")
        if self.cluster.topology is None:
            raise MasterRefused(self._address, "UNIMPLEMENTED: VolumeList")
        return self.cluster.topology

    async def add_server(self, address: str) -> tuple[Member, ...]:
        self._enter("add_server")
        self._leader_only()
        self.cluster.members.append(address)
        return self.cluster.member_list()

    async def remove_server(self, address: str) -> tuple[Member, ...]:
        self._enter("remove_server")
        self._leader_only()
        if address not in self.cluster.members:
            raise MasterRefused(self._address, f"NOT_FOUND: {address} is not a member")
        self.cluster.members.remove(address)
        return self.cluster.member_list()

    async def volume_topology(self) -> tuple[ServerReport, ...]:
        self._enter("volume_topology")
        return tuple(self.cluster.servers)

    async def lease_admin_lock(
        self, lock_name: str, previous_token: int, client_name: str, message: str
    ) -> tuple[int, int]:
        self._enter("lease_admin_lock")
        self._leader_only()
        holder = self.cluster.lock_holder
        if holder is not None and holder[0] != previous_token:
            raise MasterRefused(self._address, f"FAILED_PRECONDITION: already locked by {holder[1]}")
        token = previous_token or self.cluster.next_token
        self.cluster.next_token += 1
        self.cluster.lock_holder = (token, client_name)
        return token, 1000 + token

    async def release_admin_lock(self, lock_name: str, token: int) -> None:
        self._enter("release_admin_lock")
        self._leader_only()
        if self.cluster.lock_holder is not None and self.cluster.lock_holder[0] == token:
            self.cluster.lock_holder = None

    async def close(self) -> None:
        self.cluster.closed.append(self._address)
