"""One volume: a `.dat` of needle records, its `.idx` and `.vif`, and its needle map.

Synchronous; no network, asyncio or grpc imports.
"""

from __future__ import annotations

from dataclasses import dataclass

from dataplane.volume.engine.types import ReplicaPlacement, Ttl, VolumeId


@dataclass(frozen=True, slots=True)
class VolumeStatistics:
    """One volume's facts and counters, as a heartbeat reports them."""

    id: VolumeId
    collection: str
    replica_placement: ReplicaPlacement
    ttl: Ttl
    version: int
    read_only: bool
    size: int  # .dat length in bytes
    file_count: int  # puts ever recorded (overwrites included), as SeaweedFS counts
    delete_count: int  # puts since deleted or overwritten
    deleted_byte_count: int  # their Size fields summed
    compact_revision: int
    modified_at_second: int  # unix seconds of the last append (or load)
    disk_type: str = ""  # "" is hdd


@dataclass(frozen=True, slots=True)
class WriteResult:
    """Outcome of Store.write_needle."""

    size: int  # the needle's Size field
    unchanged: bool = False  # identical re-upload: nothing was appended
    checksum: int = 0  # stored CRC32-C (the ETag)
    offset: int = 0  # byte offset of the record in .dat
