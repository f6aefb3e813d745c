"""Errors raised by the master core.

Each names the condition and carries its data as attributes, so the HTTP and
gRPC adapters map them to statuses in one table without parsing message text.
Message texts follow SeaweedFS's (clients match on some of them). The status
each one maps to on the HTTP API is noted in its docstring.

Must not import grpc, kelp_http or pysyncobj.
"""

from __future__ import annotations

from dataplane.volume.engine.errors import InvalidReplication, InvalidTtl

__all__ = [
    "CollectionNotFound",
    "InvalidCount",
    "InvalidReplication",
    "InvalidTtl",
    "MasterError",
    "NoFreeVolumes",
    "NoWritableVolume",
    "NotEnoughFreeVolumes",
    "NotLeader",
    "PlacementImpossible",
    "VolumeNotFound",
    "VolumeServerFailed",
    "WarmingUp",
]


class MasterError(Exception):
    """Base of every master-core error (InvalidReplication/InvalidTtl come from the engine's types)."""


class NoWritableVolume(MasterError):
    """503 + `Retry-After: 1`: no writable volume for the layout; growth was started (or is impossible
    right now) and has not produced one yet. `option` is the grow-option JSON text."""

    def __init__(self, option: str, reason: str = "") -> None:
        super().__init__(f"no writable volumes for {option}, volume growth in progress")
        self.option = option
        self.reason = reason  # why growth has not succeeded (placement error text), for logs


class NoFreeVolumes(MasterError):
    """406: no writable volume and no free slot anywhere for the layout (e.g. `disk=ssd`, no ssd)."""

    def __init__(self, collection: str, replication: str, ttl: str, option: str) -> None:
        super().__init__(
            f"failed to find writable volumes for collection:{collection} replication:{replication} "
            f"ttl:{ttl} error: No writable volumes and no free volumes left for {option}"
        )
        self.collection = collection
        self.replication = replication
        self.ttl = ttl
        self.option = option


class PlacementImpossible(MasterError):
    """406 on `/vol/grow`: the topology cannot hold a volume with this placement now.
    (On assign it surfaces as NoWritableVolume, as SeaweedFS answers 503.)"""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotEnoughFreeVolumes(MasterError):
    """406 on `/vol/grow`: asked for more volumes than free slots allow."""

    def __init__(self, left: int, wanted: int) -> None:
        super().__init__(f"only {left} volumes left, not enough for {wanted}")
        self.left = left
        self.wanted = wanted


class InvalidCount(MasterError):
    """406 on `/vol/grow`: `count` missing, not a number or not positive."""

    def __init__(self, text: str) -> None:
        super().__init__(f"can not parse parameter count {text}")
        self.text = text


class NotLeader(MasterError):
    """This master is not the Raft leader: proxy the request to `leader` (HTTP "host:port"),
    or 503 when `leader` is None (no leader known, election in progress)."""

    def __init__(self, leader: str | None, reason: str = "") -> None:
        super().__init__(f"not the leader ({reason or 'follower'}); leader is {leader or 'unknown'}")
        self.leader = leader
        self.reason = reason  # why the log refused: follower, commit timed out, leader changed


class WarmingUp(MasterError):
    """503 + Retry-After: a new leader has not yet heard from the volume servers."""

    def __init__(self) -> None:
        super().__init__("master is warming up, topology is still loading")


class VolumeNotFound(MasterError):
    """404 on `/dir/lookup`, `/{fid}`."""

    def __init__(self, volume_id: int) -> None:
        super().__init__(f"volume id {volume_id} not found")
        self.volume_id = volume_id


class CollectionNotFound(MasterError):
    """400 on `/col/delete`, `/collection/info`."""

    def __init__(self, name: str) -> None:
        super().__init__(f"collection {name} does not exist")
        self.name = name


class VolumeServerFailed(MasterError):
    """500 (or 406 on `/vol/grow`): a volume server refused or failed an admin call."""

    def __init__(self, node: str, operation: str, reason: str) -> None:
        super().__init__(f"{operation} on {node} failed: {reason}")
        self.node = node
        self.operation = operation
        self.reason = reason
