"""Store: every volume in every directory of one volume server.

The engine's public face for the volume server's adapters. Synchronous and thread-safe
(one lock per volume; the adapters call it from worker threads). No network, asyncio,
grpc or HTTP imports.

Contract notes (additions to the brief, nothing removed):
- Store(..., clock=time.time_ns) takes an injectable nanosecond clock (TTL tests).
- WriteResult also carries `checksum` (the ETag) and `offset`.
- Needle.size holds the Size field after a read or write; Needle.for_upload(...) builds a
  needle flagged the way SeaweedFS's HTTP write path flags one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dataplane.volume.engine.needle import Needle
from dataplane.volume.engine.types import NeedleId, ReplicaPlacement, Ttl, VolumeId
from dataplane.volume.engine.volume import VolumeStatistics, WriteResult

__all__ = ["DiskStatus", "Needle", "Store", "StoreStatistics", "VolumeStatistics", "WriteResult"]


@dataclass(frozen=True, slots=True)
class DiskStatus:
    """Space on one data directory's file system (os.statvfs), in bytes."""

    dir: str
    all: int
    used: int
    free: int


@dataclass(frozen=True, slots=True)
class StoreStatistics:
    volumes: tuple[VolumeStatistics, ...]
    max_volume_count: int
    disks: tuple[DiskStatus, ...]


class Store:
    """All volumes of one server, spread over `dirs` with at most `max_volumes[i]` in dirs[i].

    index: "memory" (compact in-memory map rebuilt from .idx at load) or "leveldb"
    (a persistent LMDB map in `<base>.ldb/`, so load only replays the .idx tail).
    large_disk: 5-byte .idx offsets (17-byte entries, volumes up to 8 TiB) as the PyPI weed
    build writes; False gives the standard 16-byte entries (32 GiB).
    """

    def __init__(self, dirs: Sequence[str], max_volumes: Sequence[int], *, large_disk: bool = True,
                 index: str = "memory", clock: Callable[[], int] = time.time_ns) -> None:
        raise NotImplementedError

    def load(self) -> None:
        """Open every volume found in the dirs, repairing torn tails."""
        raise NotImplementedError

    def allocate_volume(self, vid: VolumeId, collection: str, rp: ReplicaPlacement, ttl: Ttl,
                        preallocate: int = 0) -> None:
        """Create an empty volume. Raises VolumeExists, NoFreeSlot."""
        raise NotImplementedError

    def delete_volume(self, vid: VolumeId) -> None:
        """Close and remove the volume's files. Raises VolumeNotFound."""
        raise NotImplementedError

    def delete_collection(self, name: str) -> None:
        """Delete every volume of the collection (none is not an error)."""
        raise NotImplementedError

    def mark_read_only(self, vid: VolumeId, read_only: bool) -> None:
        """Set or clear read-only, persisted in the .vif. Raises VolumeNotFound."""
        raise NotImplementedError

    def has_volume(self, vid: VolumeId) -> bool:
        raise NotImplementedError

    def volume_info(self, vid: VolumeId) -> VolumeStatistics:
        """Raises VolumeNotFound."""
        raise NotImplementedError

    def write_needle(self, vid: VolumeId, needle: Needle, *, fsync: bool = False) -> WriteResult:
        """Append the needle (checksum and AppendAtNs are set here).

        Raises VolumeNotFound, VolumeReadOnly, VolumeFull, CookieMismatch (key exists with
        another cookie), InvalidNeedle. An identical re-upload returns unchanged=True.
        """
        raise NotImplementedError

    def read_needle(self, vid: VolumeId, key: NeedleId, cookie: int, *,
                    read_deleted: bool = False) -> Needle:
        """Raises VolumeNotFound, NeedleNotFound (missing, deleted, expired), CookieMismatch,
        CorruptNeedle (CRC mismatch or unparsable record)."""
        raise NotImplementedError

    def delete_needle(self, vid: VolumeId, key: NeedleId, cookie: int, *, last_modified: int = 0) -> int:
        """Append a tombstone; return the deleted needle's Size field.

        Raises VolumeNotFound, NeedleNotFound (missing or already deleted), CookieMismatch,
        VolumeReadOnly.
        """
        raise NotImplementedError

    def garbage_ratio(self, vid: VolumeId) -> float:
        """Deleted bytes over content bytes (0.0 for an empty volume)."""
        raise NotImplementedError

    def vacuum(self, vid: VolumeId) -> int:
        """Compact the volume, keeping writes that arrive meanwhile; return bytes reclaimed."""
        raise NotImplementedError

    def statistics(self) -> StoreStatistics:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError
