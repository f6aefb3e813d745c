"""Soft state: what heartbeats say that is not a fact for the log (volume sizes, file counts,
when each node was last heard from, the highest needle key it holds).

The leader keeps it in memory and rebuilds it from heartbeats after a failover or restart;
nothing here is replicated or persisted. A node's silence is measured from its last
heartbeat or, if it has not sent one since this master became leader, from that moment.

Must not import pysyncobj, grpc or kelp_http (it reads kelp.v1 heartbeat messages only).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from kelp_pb import master_pb2

from controlplane.master.types import Location


@dataclass(slots=True)
class NodeReport:
    last_seen: float  # wall-clock seconds of the last heartbeat
    max_file_key: int = 0
    volumes: dict[int, master_pb2.VolumeReport] = field(default_factory=dict)


class Topology:
    def __init__(self, since: float = 0.0) -> None:
        self._since = since
        self._nodes: dict[str, NodeReport] = {}
        # (node id, vid) -> time growth created it: a heartbeat built before the allocation
        # must not make the new replica look removed.
        self._fresh: dict[tuple[str, int], float] = {}
        # Bumped on every change, so assign can cache what it derives from sizes.
        self.revision = 0

    def reset(self, since: float) -> None:
        """Start over (this master just became leader at `since`)."""
        self._since = since
        self._nodes.clear()
        self._fresh.clear()
        self.revision += 1

    def observe(self, node_id: str, hb: master_pb2.HeartbeatRequest, now: float) -> None:
        self._nodes[node_id] = NodeReport(now, hb.max_file_key, {v.id: v for v in hb.volumes})
        self.revision += 1

    def forget(self, node_id: str) -> None:
        self._nodes.pop(node_id, None)
        self.revision += 1

    def seen(self, node_id: str) -> bool:
        """Has the node heartbeated since this master became leader?"""
        return node_id in self._nodes

    def last_seen(self, node_id: str) -> float:
        report = self._nodes.get(node_id)
        return report.last_seen if report is not None else self._since

    def report(self, node_id: str, vid: int) -> master_pb2.VolumeReport | None:
        node = self._nodes.get(node_id)
        return node.volumes.get(vid) if node is not None else None

    def volume_size(self, vid: int, replicas: Iterable[Location]) -> int:
        """Largest reported size among the replicas (0 if none reported yet)."""
        size = 0
        for loc in replicas:
            node = self._nodes.get(loc.url)
            report = node.volumes.get(vid) if node is not None else None
            if report is not None and report.size > size:
                size = report.size
        return size

    def mark_fresh(self, node_id: str, vid: int, now: float) -> None:
        self._fresh[(node_id, vid)] = now

    def fresh_volumes(self, node_id: str, now: float, grace: float) -> set[int]:
        """Volumes growth created on the node within `grace` seconds."""
        for key in [k for k, t in self._fresh.items() if now - t > grace]:
            del self._fresh[key]
        return {vid for (n, vid) in self._fresh if n == node_id}
