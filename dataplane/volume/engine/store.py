"""Store: every volume in every directory of one volume server.

The engine's public face for the volume server's adapters. Synchronous and thread-safe
(one lock per volume, one for the volume table; adapters call it from worker threads).
No network, asyncio, grpc or HTTP imports.

Contract notes (additions to the brief, nothing removed):
- Store(..., clock=time.time_ns, disk_type="") takes an injectable nanosecond clock (TTL
  tests) and the disk type reported for its volumes.
- A max_volumes entry of 0 means "no limit from the engine" (weed derives one from free
  space; the adapter may do so and pass it in).
- WriteResult also carries `checksum` (the ETag) and `offset`.
- Needle.size holds the Size field after a read or write; Needle.for_upload(...) builds a
  needle flagged the way SeaweedFS's HTTP write path flags one.
- preallocate is accepted and ignored (Python has no fallocate(KEEP_SIZE)).
- remove_expired_volumes() deletes TTL volumes past their TTL plus a grace period.
- VolumeStatistics.content_size: the Size fields of all puts summed (weed's /status "Size";
  its heartbeat reports the .dat length, `size`).
- More errors: InvalidNeedle (a field over its limit, key 0), CorruptVolume (a volume that
  cannot be opened; load() skips it), VacuumInProgress.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from dataplane.volume.engine.ec.encoder import EncodeResult
from dataplane.volume.engine.ec_mounts import EcMounts
from dataplane.volume.engine.errors import CorruptVolume, NoFreeSlot, VolumeExists, VolumeNotFound
from dataplane.volume.engine.idx import IdxFormat
from dataplane.volume.engine.needle import Needle
from dataplane.volume.engine.types import NeedleId, ReplicaPlacement, Ttl, VolumeId
from dataplane.volume.engine.volume import INDEX_KINDS, Volume, VolumeStatistics, WriteResult

__all__ = ["DiskLocation", "DiskStatus", "Needle", "Store", "StoreStatistics", "VolumeStatistics",
           "WriteResult"]

log = logging.getLogger(__name__)

_DAT_NAME = re.compile(r"^(?:(?P<collection>.+)_)?(?P<vid>\d+)\.dat$")
# A TTL volume is removed once expired for a tenth of its TTL, but never later than this
# (SeaweedFS's bound), so short-lived volumes go quickly and long-lived ones do not linger.
MAX_TTL_REMOVAL_DELAY_S = 10 * 60


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
    max_file_key: int = 0  # highest needle key in any volume


@dataclass(slots=True)
class DiskLocation:
    """One data directory and the volumes in it."""

    directory: str
    max_volumes: int  # 0: no limit
    volumes: dict[VolumeId, Volume] = field(default_factory=dict)

    def has_free_slot(self) -> bool:
        return self.max_volumes == 0 or len(self.volumes) < self.max_volumes


class Store:
    """All volumes of one server, spread over `dirs` with at most `max_volumes[i]` in dirs[i].

    index: "memory" (compact in-memory map rebuilt from .idx at load) or "leveldb"
    (a persistent LMDB map in `<base>.ldb/`, so load only replays the .idx tail).
    large_disk: 5-byte .idx offsets (17-byte entries, volumes up to 8 TiB) as the PyPI weed
    build writes; False gives the standard 16-byte entries (32 GiB).
    """

    def __init__(self, dirs: Sequence[str], max_volumes: Sequence[int], *, large_disk: bool = True,
                 index: str = "memory", clock: Callable[[], int] = time.time_ns, disk_type: str = "") -> None:
        if len(dirs) != len(max_volumes):
            raise ValueError(f"{len(dirs)} dirs but {len(max_volumes)} max volume counts")
        if index not in INDEX_KINDS:
            raise ValueError(f"unknown index kind {index!r}; expected one of {sorted(INDEX_KINDS)}")
        self.fmt = IdxFormat(large_disk)
        self.index = index
        self.disk_type = disk_type
        self._clock = clock
        self._locations = [DiskLocation(os.path.abspath(d), m)
                           for d, m in zip(dirs, max_volumes, strict=True)]
        self._volumes: dict[VolumeId, Volume] = {}
        self._lock = threading.Lock()  # guards the volume table, not the volumes
        for loc in self._locations:
            os.makedirs(loc.directory, exist_ok=True)
        self.ec = EcMounts([loc.directory for loc in self._locations], self.fmt)  # EC volumes held

    # ---- volumes -----------------------------------------------------------------------

    def load(self) -> None:
        """Open every volume found in the dirs, repairing torn tails.

        A volume that cannot be opened is logged and left out, so one bad volume does not
        keep the server down.
        """
        for loc in self._locations:
            for name in sorted(os.listdir(loc.directory)):
                match = _DAT_NAME.match(name)
                if match is None:
                    continue
                vid = VolumeId(int(match["vid"]))
                collection = match["collection"] or ""
                with self._lock:
                    if vid in self._volumes:
                        log.error("duplicate volume vid=%d dir=%s kept=%s", vid, loc.directory,
                                  self._volumes[vid].directory)
                        continue
                try:
                    v = Volume.open(loc.directory, collection, vid, fmt=self.fmt, index=self.index,
                                    clock=self._clock, disk_type=self.disk_type)
                except (CorruptVolume, OSError) as err:
                    log.error("cannot open volume vid=%d dir=%s error=%s", vid, loc.directory, err)
                    continue
                with self._lock:
                    self._volumes[vid] = v
                    loc.volumes[vid] = v
                log.info("loaded volume vid=%d collection=%s size=%d", vid, collection, v.size)
        self.ec.load(skip=set(self._volumes))

    def allocate_volume(self, vid: VolumeId, collection: str, rp: ReplicaPlacement, ttl: Ttl,
                        preallocate: int = 0) -> None:
        """Create an empty volume in the directory with the most free slots.

        Raises VolumeExists, NoFreeSlot.
        """
        with self._lock:
            if vid in self._volumes:
                raise VolumeExists(vid)
            free = [loc for loc in self._locations if loc.has_free_slot()]
            if not free:
                raise NoFreeSlot(vid, self.max_volume_count)
            loc = max(free, key=lambda x: (x.max_volumes - len(x.volumes)) if x.max_volumes else 1 << 30)
            v = Volume.create(loc.directory, collection, vid, rp, ttl, fmt=self.fmt, index=self.index,
                              clock=self._clock, disk_type=self.disk_type)
            self._volumes[vid] = v
            loc.volumes[vid] = v
        log.info("created volume vid=%d collection=%s replication=%s ttl=%s dir=%s", vid, collection, rp,
                 ttl, loc.directory)

    def generate_ec(self, vid: VolumeId) -> EncodeResult:
        """ec.encode's first step on this server: EC files next to the read-only volume, which
        stays (ec_mounts.EcMounts.generate). Raises VolumeNotFound, NotReadOnly, EncodeInProgress,
        AlreadyEncoded."""
        return self.ec.generate(self._get(vid))

    def delete_volume(self, vid: VolumeId) -> None:
        """Close and remove the volume's files. Raises VolumeNotFound."""
        with self._lock:
            v = self._volumes.pop(vid, None)
            if v is None:
                raise VolumeNotFound(vid)
            for loc in self._locations:
                loc.volumes.pop(vid, None)
        v.destroy()
        self.ec.volume_deleted(vid)  # an EC volume of this id (ec.encode's result) keeps its .vif
        log.info("deleted volume vid=%d collection=%s", vid, v.collection)

    def delete_collection(self, name: str) -> None:
        """Delete every volume of the collection (none is not an error)."""
        with self._lock:
            vids = [vid for vid, v in self._volumes.items() if v.collection == name]
        for vid in vids:
            try:
                self.delete_volume(vid)
            except VolumeNotFound:
                continue  # deleted meanwhile

    def mark_read_only(self, vid: VolumeId, read_only: bool) -> None:
        """Set or clear read-only, persisted in the .vif. Raises VolumeNotFound."""
        self._get(vid).set_read_only(read_only)

    def configure_replication(self, vid: VolumeId, rp: ReplicaPlacement) -> None:
        """Change the volume's replica placement (its superblock). Raises VolumeNotFound."""
        self._get(vid).set_replica_placement(rp)

    def volume_base(self, vid: VolumeId) -> str:
        """The path of the volume's files without extension (a copy source reads them).
        Raises VolumeNotFound."""
        return self._get(vid).base

    def copy_destination(self, vid: VolumeId) -> str:
        """The directory a copy of volume `vid` from another server goes to: the one with the
        most free slots. Raises VolumeExists, NoFreeSlot."""
        with self._lock:
            if vid in self._volumes:
                raise VolumeExists(vid)
            free = [loc for loc in self._locations if loc.has_free_slot()]
            if not free:
                raise NoFreeSlot(vid, self.max_volume_count)
            emptiest = max(free, key=lambda x: (x.max_volumes - len(x.volumes)) if x.max_volumes else 1 << 30)
            return emptiest.directory

    def mount_copied(self, vid: VolumeId, collection: str, directory: str) -> None:
        """Open a volume whose files were just copied into `directory` (copy_destination) and
        serve it. Raises VolumeExists, CorruptVolume."""
        v = Volume.open(directory, collection, vid, fmt=self.fmt, index=self.index, clock=self._clock,
                        disk_type=self.disk_type)
        with self._lock:
            if vid in self._volumes:
                v.close()
                raise VolumeExists(vid)
            self._volumes[vid] = v
            for loc in self._locations:
                if loc.directory == directory:
                    loc.volumes[vid] = v
        log.info("mounted copied volume vid=%d collection=%s size=%d dir=%s", vid, collection, v.size,
                 directory)

    def has_volume(self, vid: VolumeId) -> bool:
        return vid in self._volumes

    def volume_info(self, vid: VolumeId) -> VolumeStatistics:
        """Raises VolumeNotFound."""
        return self._get(vid).statistics()

    def remove_expired_volumes(self) -> list[VolumeId]:
        """Delete TTL volumes expired for longer than their grace period; return their ids."""
        now_s = self._clock() // 1_000_000_000
        expired = [vid for vid, v in list(self._volumes.items())
                   if v.expired_long_ago(now_s, MAX_TTL_REMOVAL_DELAY_S)]
        for vid in expired:
            self.delete_volume(vid)
        return expired

    # ---- needles -----------------------------------------------------------------------

    def write_needle(self, vid: VolumeId, needle: Needle, *, fsync: bool = False) -> WriteResult:
        """Append the needle (checksum and AppendAtNs are set here).

        Raises VolumeNotFound, VolumeReadOnly, VolumeFull, CookieMismatch (key exists with
        another cookie), InvalidNeedle. An identical re-upload returns unchanged=True.
        """
        return self._get(vid).write(needle, fsync=fsync)

    def read_needle(self, vid: VolumeId, key: NeedleId, cookie: int, *,
                    read_deleted: bool = False) -> Needle:
        """Raises VolumeNotFound, NeedleNotFound (missing, deleted, expired), CookieMismatch,
        CorruptNeedle (CRC mismatch or unparsable record)."""
        return self._get(vid).read(key, cookie, read_deleted=read_deleted)

    def needle_size(self, vid: VolumeId, key: NeedleId) -> int:
        """The indexed Size field of the key (0 if unknown), without reading it. Raises VolumeNotFound."""
        return self._get(vid).needle_size(key)

    def delete_needle(self, vid: VolumeId, key: NeedleId, cookie: int, *, last_modified: int = 0) -> int:
        """Append a tombstone; return the deleted needle's Size field.

        Raises VolumeNotFound, NeedleNotFound (missing or already deleted), CookieMismatch,
        VolumeReadOnly.
        """
        return self._get(vid).delete(key, cookie, last_modified=last_modified)

    def garbage_ratio(self, vid: VolumeId) -> float:
        """Deleted bytes over content bytes (0.0 for an empty volume)."""
        return self._get(vid).garbage_ratio()

    def vacuum(self, vid: VolumeId) -> int:
        """Compact the volume, keeping writes that arrive meanwhile; return bytes reclaimed.

        Raises VolumeNotFound, VacuumInProgress.
        """
        return self._get(vid).vacuum()

    # ---- facts -------------------------------------------------------------------------

    @property
    def max_volume_count(self) -> int:
        return sum(loc.max_volumes for loc in self._locations)

    def statistics(self) -> StoreStatistics:
        volumes = tuple(v.statistics() for _, v in sorted(self._volumes.items()))
        disks = []
        for loc in self._locations:
            st = os.statvfs(loc.directory)
            total = st.f_blocks * st.f_frsize
            free = st.f_bavail * st.f_frsize
            disks.append(DiskStatus(loc.directory, total, total - free, free))  # used as weed reports it
        max_key = max((v.max_file_key for v in volumes), default=0)
        return StoreStatistics(volumes, self.max_volume_count, tuple(disks), max_key)

    def close(self) -> None:
        with self._lock:
            volumes = list(self._volumes.values())
            self._volumes.clear()
            for loc in self._locations:
                loc.volumes.clear()
        for v in volumes:
            v.close()

    def _get(self, vid: VolumeId) -> Volume:
        v = self._volumes.get(vid)
        if v is None:
            raise VolumeNotFound(vid)
        return v
