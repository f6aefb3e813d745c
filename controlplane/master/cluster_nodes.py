"""Cluster nodes that announce themselves over KeepConnected (filers, s3 gateways): in memory only.

SeaweedFS's master knows a filer exactly while the filer holds a KeepConnected stream to it
(client_type "filer", client_address "ip:port.grpcPort"); ListClusterNodes answers from that list
and the shell picks its filer there. The leader holds these streams, so this registry is the
leader's; it is not replicated (a filer reconnects to a new leader within a second or two).

A node may briefly hold two streams (a reconnect overlapping the old stream's end): it stays
listed until its last stream ends.

Watchers (`watch`) hear every join and departure of a listed node, as SeaweedFS's master pushes a
ClusterNodeUpdate on every client's KeepConnected stream (the joiner's own included). A filer's
watcher first hears every node already listed, as joins (a kelp addition: SeaweedFS's filer
asks ListClusterNodes at start, which races the pushes; replayed in order on the one stream, the
peer list it builds is exact). Pure bookkeeping: no grpc, no I/O; callbacks run synchronously in
join/leave, on the caller's thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# client_type values that are not nodes the master lists from here: tools (benchmark, shell),
# and the node kinds ListClusterNodes answers from the replicated state.
NOT_REGISTERED = frozenset({"", "client", "adminShell", "master", "volumeServer"})


@dataclass(frozen=True, slots=True)
class ClusterNode:
    client_type: str
    address: str
    version: str
    filer_group: str
    data_center: str
    rack: str
    created_at_ns: int


# A watcher: called with a node and True when it joins, False when it leaves.
NodeWatcher = Callable[[ClusterNode, bool], None]


class ClusterNodes:
    def __init__(self) -> None:
        self._nodes: dict[tuple[str, str], ClusterNode] = {}
        self._streams: dict[tuple[str, str], int] = {}
        self._watchers: list[NodeWatcher] = []

    def watch(self, watcher: NodeWatcher, *, replay: bool = False) -> Callable[[], None]:
        """Call `watcher` on every join and departure from now on (first, with replay, once for
        every node listed now); returns the function that stops it."""
        if replay:
            for node in sorted(self._nodes.values(), key=lambda n: (n.client_type, n.address)):
                watcher(node, True)
        self._watchers.append(watcher)

        def unwatch() -> None:
            if watcher in self._watchers:
                self._watchers.remove(watcher)

        return unwatch

    def _tell(self, node: ClusterNode, is_add: bool) -> None:
        for watcher in list(self._watchers):
            watcher(node, is_add)

    def join(self, node: ClusterNode) -> tuple[str, str] | None:
        """Record a stream's node; returns the key to `leave` with, or None if it is not listed."""
        if node.client_type in NOT_REGISTERED or not node.address:
            return None
        key = (node.client_type, node.address)
        self._streams[key] = self._streams.get(key, 0) + 1
        if key not in self._nodes:
            self._nodes[key] = node
            self._tell(node, True)
        return key

    def leave(self, key: tuple[str, str] | None) -> None:
        if key is None or key not in self._streams:
            return
        self._streams[key] -= 1
        if self._streams[key] <= 0:
            del self._streams[key]
            self._tell(self._nodes.pop(key), False)

    def listed(self, client_type: str, filer_group: str = "") -> list[ClusterNode]:
        """The connected nodes of one type and group, by address."""
        return sorted(
            (n for n in self._nodes.values()
             if n.client_type == client_type and n.filer_group == filer_group),
            key=lambda n: n.address,
        )
