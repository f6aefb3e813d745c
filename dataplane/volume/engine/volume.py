"""Volume: one `.dat` of needle records with its `.idx`, `.vif` and needle map.

Files: `<dir>/<collection>_<vid>.{dat,idx,vif}`, or `<dir>/<vid>.*` for the empty collection;
`<base>.ldb/` holds the LMDB index when index="leveldb".

Invariants, all kept under the per-volume lock:
- a record is appended to .dat before its .idx entry, and the needle map is updated last, so
  whatever the map says is on disk;
- AppendAtNs strictly increases within a volume;
- .dat's length is a multiple of 8 and ends at a record boundary.
Reads look up the map under the lock, then pread the whole record outside it; the data file
is reference-counted so a vacuum swap never closes a descriptor a reader is using.

Opening a volume repairs what a crash can leave (see `repair.py`).
Synchronous; no network, asyncio or grpc imports.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from dataplane.volume.engine import repair, vacuum
from dataplane.volume.engine.errors import (
    CookieMismatch,
    CorruptNeedle,
    CorruptVolume,
    InvalidNeedle,
    NeedleNotFound,
    VolumeFull,
    VolumeNotFound,
    VolumeReadOnly,
)
from dataplane.volume.engine.files import unlink_if_exists, write_all
from dataplane.volume.engine.idx import TOMBSTONE_SIZE, IdxFormat, summarize
from dataplane.volume.engine.needle import (
    CURRENT_VERSION,
    FLAG_HAS_LAST_MODIFIED,
    FLAG_HAS_TTL,
    HEADER_SIZE,
    Needle,
    checksum,
    decode,
    encode_body,
    encode_tail,
    encode_tombstone,
    parse_header,
    record_length,
)
from dataplane.volume.engine.needle_map import CompactNeedleMap, NeedleMap, release_freed_memory
from dataplane.volume.engine.needle_map_lmdb import LmdbNeedleMap
from dataplane.volume.engine.superblock import SUPER_BLOCK_SIZE, SuperBlock
from dataplane.volume.engine.types import ReplicaPlacement, Ttl, VolumeId
from dataplane.volume.engine.volume_info import VolumeInfo, read_volume_info, write_volume_info

log = logging.getLogger(__name__)

INDEX_MEMORY = "memory"
INDEX_LMDB = "leveldb"
# weed's -index names; its three LevelDB variants differ only in cache sizes.
INDEX_KINDS = {"memory": INDEX_MEMORY, "leveldb": INDEX_LMDB, "leveldbMedium": INDEX_LMDB,
               "leveldbLarge": INDEX_LMDB, "lmdb": INDEX_LMDB}
_NS = 1_000_000_000


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
    modified_at_second: int  # newest needle last-modified (or .dat mtime at load), as weed
    disk_type: str = ""  # "" is hdd
    content_size: int = 0  # Size fields of every put summed: what weed's /status calls "Size"
    max_file_key: int = 0  # highest needle key ever stored (the master never issues at or below it)


@dataclass(frozen=True, slots=True)
class WriteResult:
    """Outcome of Store.write_needle."""

    size: int  # the needle's Size field
    unchanged: bool = False  # identical re-upload: nothing was appended
    checksum: int = 0  # stored CRC32-C (the ETag)
    offset: int = 0  # byte offset of the record in .dat


def volume_base_name(collection: str, vid: int) -> str:
    return f"{collection}_{vid}" if collection else str(vid)


class DataFile:
    """A .dat descriptor shared by readers; closed when retired and no reader holds it."""

    __slots__ = ("fd", "readers", "retired")

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.readers = 0
        self.retired = False

    def retire(self) -> None:
        self.retired = True
        if self.readers == 0:
            os.close(self.fd)

    def release(self) -> None:
        """A reader is done (volume lock held)."""
        self.readers -= 1
        if self.retired and self.readers == 0:
            os.close(self.fd)


class Volume:
    """Use Volume.create or Volume.open."""

    def __init__(self, directory: str, collection: str, vid: VolumeId, *, fmt: IdxFormat, index: str,
                 clock: Callable[[], int], disk_type: str) -> None:
        if index not in INDEX_KINDS:
            raise ValueError(f"unknown index kind {index!r}; expected one of {sorted(INDEX_KINDS)}")
        self.id = vid
        self.collection = collection
        self.directory = directory
        self.base = os.path.join(directory, volume_base_name(collection, vid))
        self.fmt = fmt
        self._pack_entry = fmt.pack
        self._max_size = fmt.max_volume_size
        self.index = INDEX_KINDS[index]
        self.disk_type = disk_type
        self._clock = clock
        self._lock = threading.Lock()
        self._closed = False
        self._compacting = False
        self.super_block = SuperBlock()
        self.info = VolumeInfo()
        self._dat = DataFile(-1)
        self._idx_fd = -1
        self._dat_end = 0
        self._idx_end = 0
        self._map: NeedleMap = CompactNeedleMap()
        self._last_append_ns = 0
        self._last_modified = 0

    # ---- lifecycle -------------------------------------------------------------------

    @classmethod
    def create(cls, directory: str, collection: str, vid: VolumeId, rp: ReplicaPlacement, ttl: Ttl, *,
               fmt: IdxFormat, index: str = INDEX_MEMORY, clock: Callable[[], int] = time.time_ns,
               disk_type: str = "") -> Volume:
        v = cls(directory, collection, vid, fmt=fmt, index=index, clock=clock, disk_type=disk_type)
        sb = SuperBlock(CURRENT_VERSION, rp, ttl, 0)
        fd = os.open(v.base + ".dat", os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, sb.to_bytes())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.close(os.open(v.base + ".idx", os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644))
        expire = clock() // _NS + ttl.seconds if ttl else 0
        write_volume_info(v.base + ".vif", VolumeInfo(version=sb.version, bytes_offset=fmt.offset_bytes,
                                                      expire_at_sec=expire))
        v._load()
        return v

    @classmethod
    def open(cls, directory: str, collection: str, vid: VolumeId, *, fmt: IdxFormat,
             index: str = INDEX_MEMORY, clock: Callable[[], int] = time.time_ns,
             disk_type: str = "") -> Volume:
        v = cls(directory, collection, vid, fmt=fmt, index=index, clock=clock, disk_type=disk_type)
        v._load()
        return v

    def _load(self) -> None:
        vacuum.finish_interrupted(self.base)
        dat_path = self.base + ".dat"
        self._dat = DataFile(os.open(dat_path, os.O_RDWR))
        try:
            self.super_block = SuperBlock.from_bytes(os.pread(self._dat.fd, SUPER_BLOCK_SIZE, 0), dat_path)
            info = read_volume_info(self.base + ".vif")
            if info is None:
                info = VolumeInfo(version=self.super_block.version, bytes_offset=self.fmt.offset_bytes)
                write_volume_info(self.base + ".vif", info)
            elif info.bytes_offset and info.bytes_offset != self.fmt.offset_bytes:
                raise CorruptVolume(dat_path, f".vif says {info.bytes_offset}-byte offsets, this store uses "
                                              f"{self.fmt.offset_bytes}")
            self.info = info
            self._idx_fd = os.open(self.base + ".idx", os.O_RDWR | os.O_CREAT, 0o644)
            self._last_modified = int(os.fstat(self._dat.fd).st_mtime)
            self._open_index()
        except BaseException:
            self._map.close()
            self._close_files()
            raise

    def _open_index(self) -> None:
        """Repair the files, then build (or catch up) the needle map and the tail state."""
        version = self.super_block.version
        self._idx_end = repair.trim_idx(self._idx_fd, self._dat.fd, self.fmt, version, self.id)
        self._map = self._build_map()
        result = repair.recover_tail(self._dat.fd, self._idx_fd, self._idx_end, self._map, self.fmt, version,
                                     self.id)
        self._dat_end = result.dat_end
        self._idx_end = result.idx_end
        self._last_append_ns = result.last_append_ns

    def _build_map(self) -> NeedleMap:
        idx_len = self._idx_end
        if self.index == INDEX_MEMORY:
            entries = self.fmt.decode_all(self._read_idx(0, idx_len))
            compact = CompactNeedleMap.from_summary(summarize(*entries))
            del entries
            release_freed_memory()
            return compact
        m = LmdbNeedleMap(self.base + ".ldb", self.fmt)
        try:
            entry_size = self.fmt.entry_size
            covered_ok = entry_size <= m.covered <= idx_len
            before = self._read_idx(m.covered - entry_size, entry_size) if covered_ok else b""
            revision = self.super_block.compaction_revision
            if m.matches(idx_len, before, revision):
                tail = self.fmt.decode_all(self._read_idx(m.covered, idx_len - m.covered))
                m.replay(*tail, covered=idx_len)
            else:
                log.info("rebuilding lmdb index vid=%d covered=%d idx=%d", self.id, m.covered, idx_len)
                last = self._read_idx(idx_len - entry_size, entry_size) if idx_len else b""
                whole = summarize(*self.fmt.decode_all(self._read_idx(0, idx_len)))
                m.rebuild(whole, idx_len, last, revision)
        except BaseException:
            m.close()
            raise
        return m

    def _read_idx(self, offset: int, length: int) -> bytes:
        data = os.pread(self._idx_fd, length, offset)
        if len(data) != length:
            raise CorruptVolume(self.base + ".idx", f"read {len(data)} of {length} bytes at {offset}")
        return data

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._map.close()
            self._close_files()

    def _close_files(self) -> None:
        if self._dat.fd >= 0 and not self._dat.retired:
            self._dat.retire()
        if self._idx_fd >= 0:
            os.close(self._idx_fd)
            self._idx_fd = -1

    def destroy(self) -> None:
        """Close and remove every file of the volume."""
        self.close()
        for ext in (".dat", ".idx", ".vif", ".cpd", ".cpx", ".note"):
            unlink_if_exists(self.base + ext)
        shutil.rmtree(self.base + ".ldb", ignore_errors=True)

    # ---- facts -------------------------------------------------------------------------

    @property
    def version(self) -> int:
        return self.super_block.version

    @property
    def ttl(self) -> Ttl:
        return self.super_block.ttl

    @property
    def read_only(self) -> bool:
        return self.info.read_only

    @property
    def size(self) -> int:
        return self._dat_end

    def set_read_only(self, read_only: bool) -> None:
        with self._lock:
            self._check_open()
            if read_only != self.info.read_only:
                info = self.info.with_read_only(read_only)
                write_volume_info(self.base + ".vif", info)
                self.info = info

    def set_replica_placement(self, rp: ReplicaPlacement) -> None:
        """Rewrite the superblock's placement byte (volume.configure.replication); the other
        replicas are told separately, each by its own server."""
        with self._lock:
            self._check_open()
            if rp != self.super_block.replica_placement:
                sb = SuperBlock(self.super_block.version, rp, self.super_block.ttl,
                                self.super_block.compaction_revision)
                write_all(self._dat.fd, sb.to_bytes(), 0)
                os.fsync(self._dat.fd)
                self.super_block = sb

    def statistics(self) -> VolumeStatistics:
        m = self._map
        return VolumeStatistics(
            id=self.id, collection=self.collection, replica_placement=self.super_block.replica_placement,
            ttl=self.super_block.ttl, version=self.super_block.version, read_only=self.info.read_only,
            size=self._dat_end, file_count=m.file_count, delete_count=m.delete_count,
            deleted_byte_count=m.deleted_byte_count, compact_revision=self.super_block.compaction_revision,
            modified_at_second=self._last_modified, disk_type=self.disk_type, content_size=m.file_byte_count,
            max_file_key=m.max_key)

    def garbage_ratio(self) -> float:
        """Deleted bytes over all bytes ever put, as SeaweedFS computes its garbage level."""
        m = self._map
        return m.deleted_byte_count / m.file_byte_count if m.file_byte_count else 0.0

    def expired(self, now_s: int) -> bool:
        """A TTL volume with content whose newest needle is older than the TTL."""
        ttl = self.super_block.ttl.seconds
        return bool(ttl) and self._dat_end > SUPER_BLOCK_SIZE and now_s - self._last_modified > ttl

    def expired_long_ago(self, now_s: int, max_delay_s: int) -> bool:
        """Expired, plus a grace period (a tenth of the TTL, capped) before removal."""
        ttl = self.super_block.ttl.seconds
        delay = min(ttl // 10, max_delay_s)
        return bool(ttl) and self._dat_end > SUPER_BLOCK_SIZE and now_s > self._last_modified + ttl + delay

    def _check_open(self) -> None:
        if self._closed:
            raise VolumeNotFound(self.id)

    # ---- needles ----------------------------------------------------------------------

    def write(self, n: Needle, *, fsync: bool = False) -> WriteResult:
        if self.info.read_only:
            raise VolumeReadOnly(self.id)
        if n.id == 0:
            raise InvalidNeedle(0, "key 0 is never issued and marks garbage during repair")
        version = self.super_block.version
        if self.super_block.ttl and not n.flags & FLAG_HAS_TTL and n.data:
            n.flags |= FLAG_HAS_TTL
            n.ttl = self.super_block.ttl
        n.checksum = checksum(n.data)
        buffers = encode_body(n)
        size = n.size
        length = record_length(size, version)
        with self._lock:
            self._check_open()
            existing = self._map.get(n.id)
            if existing is not None and not existing[2]:
                old_offset = existing[0] << 3
                if self._is_unchanged(n, old_offset, existing[1]):
                    return WriteResult(size, True, n.checksum, old_offset)
            offset = self._dat_end
            ns = self._next_append_ns()
            n.append_at_ns = ns
            buffers.append(encode_tail(n.checksum, ns, size, version))
            self._append(buffers, length, n.id, offset, size, fsync)
            self._map.put(n.id, offset >> 3, size)
            self._last_append_ns = ns
            modified = n.last_modified if n.flags & FLAG_HAS_LAST_MODIFIED else ns // _NS
            if modified > self._last_modified:
                self._last_modified = modified
        return WriteResult(size, False, n.checksum, offset)

    def _is_unchanged(self, n: Needle, offset: int, old_size: int) -> bool:
        """Whether the live needle at offset is byte-identical; CookieMismatch if not ours.

        SeaweedFS skips an identical re-upload (same cookie, CRC and data, non-empty, volume
        without TTL) instead of appending it again.
        """
        version = self.super_block.version
        compare = bool(n.data) and not self.super_block.ttl and old_size > 0
        length = record_length(old_size, version) if compare else HEADER_SIZE
        buf = os.pread(self._dat.fd, length, offset)
        cookie, key, size = parse_header(buf)
        if key != n.id or size != old_size:
            raise CorruptNeedle(self.id, n.id, offset, f"header says key {key:x} Size {size}")
        if cookie != n.cookie:
            raise CookieMismatch(self.id, n.id, cookie, n.cookie)
        if not compare:
            return False
        old = decode(buf, version, volume_id=self.id, offset=offset, verify=False)
        return old.checksum == n.checksum and old.data == n.data

    def needle_size(self, key: int) -> int:
        """The indexed Size field of the key's newest record (0 if unknown): lets a caller
        decide, before reading, whether the read is big enough to move off its event loop."""
        with self._lock:
            entry = self._map.get(key)
        return entry[1] if entry is not None else 0

    def read(self, key: int, cookie: int, *, read_deleted: bool = False) -> Needle:
        lock = self._lock
        with lock:
            self._check_open()
            entry = self._map.get(key)
            if entry is None:
                raise NeedleNotFound(self.id, key)
            offset_units, size, deleted = entry
            if deleted and not read_deleted:
                raise NeedleNotFound(self.id, key, deleted=True)
            f = self._dat
            f.readers += 1
        offset = offset_units << 3
        version = self.super_block.version
        length = record_length(size, version)
        try:
            buf = os.pread(f.fd, length, offset)
        finally:
            with lock:
                f.release()
        if len(buf) != length:
            raise CorruptNeedle(self.id, key, offset, f"record cut short: {len(buf)} of {length} bytes")
        n = decode(buf, version, volume_id=self.id, offset=offset)
        if n.id != key or n.size != size:
            raise CorruptNeedle(self.id, key, offset, f"header says key {n.id:x} Size {n.size}, index {size}")
        if n.cookie != cookie:
            raise CookieMismatch(self.id, key, n.cookie, cookie)
        if n.flags & FLAG_HAS_TTL and n.ttl:
            born = n.append_at_ns // _NS if n.append_at_ns else n.last_modified
            if self._clock() // _NS >= born + n.ttl.seconds:
                raise NeedleNotFound(self.id, key, expired=True)
        return n

    def delete(self, key: int, cookie: int, *, last_modified: int = 0) -> int:
        """Append a tombstone for a live needle; return its Size field."""
        if self.info.read_only:
            raise VolumeReadOnly(self.id)
        version = self.super_block.version
        with self._lock:
            self._check_open()
            entry = self._map.get(key)
            if entry is None or entry[2]:
                raise NeedleNotFound(self.id, key, deleted=entry is not None)
            offset_units, size, _ = entry
            old_offset = offset_units << 3
            header = os.pread(self._dat.fd, HEADER_SIZE, old_offset)
            stored_cookie, stored_key, stored_size = parse_header(header)
            if stored_key != key or stored_size != size:
                raise CorruptNeedle(self.id, key, old_offset,
                                    f"header says key {stored_key:x} Size {stored_size}")
            if stored_cookie != cookie:
                raise CookieMismatch(self.id, key, stored_cookie, cookie)
            crc = int.from_bytes(os.pread(self._dat.fd, 4, old_offset + HEADER_SIZE + size), "big")
            ns = self._next_append_ns()
            record = encode_tombstone(cookie, key, crc, ns, version)
            offset = self._dat_end
            self._append([record], len(record), key, offset, TOMBSTONE_SIZE, False)
            self._map.delete(key, offset >> 3)
            self._last_append_ns = ns
            modified = last_modified or ns // _NS
            if modified > self._last_modified:
                self._last_modified = modified
        return size

    def _next_append_ns(self) -> int:
        ns = self._clock()
        return ns if ns > self._last_append_ns else self._last_append_ns + 1

    def _append(self, buffers: list[bytes | bytearray], length: int, key: int, offset: int, size_field: int,
                fsync: bool) -> None:
        """Write one record at the end of .dat, then its .idx entry; undo .dat on failure."""
        if offset + length > self._max_size:
            raise VolumeFull(self.id, offset, self._max_size)
        fd = self._dat.fd
        try:
            written = os.pwritev(fd, buffers, offset)
            if written != length:
                write_all(fd, b"".join(buffers)[written:], offset + written)
            entry = self._pack_entry(key, offset >> 3, size_field)
            if os.pwrite(self._idx_fd, entry, self._idx_end) != len(entry):
                write_all(self._idx_fd, entry, self._idx_end)
        except OSError:
            # Leave no half record behind; the .idx may hold a partial entry, trimmed at load.
            os.ftruncate(fd, offset)
            os.ftruncate(self._idx_fd, self._idx_end)
            raise
        if fsync:
            os.fdatasync(fd)
            os.fdatasync(self._idx_fd)
        self._dat_end = offset + length
        self._idx_end += len(entry)

    # ---- vacuum -----------------------------------------------------------------------

    def vacuum(self) -> int:
        """Compact to .cpd/.cpx and swap in; writes during the copy are carried over.

        Returns the bytes reclaimed from .dat.
        """
        with self._lock:
            self._check_open()
            if self._compacting:
                raise vacuum.VacuumInProgress(self.id)
            self._compacting = True
            f = self._dat
            f.readers += 1
            dat_before, idx_mark = self._dat_end, self._idx_end
            sb = self.super_block.with_revision(self.super_block.compaction_revision + 1)
        try:
            copy = vacuum.copy_live(f.fd, self._read_idx(0, idx_mark), self.base, sb, self.fmt, self.id)
            with self._lock:
                try:
                    self._check_open()
                    tail = self._read_idx(idx_mark, self._idx_end - idx_mark)
                    vacuum.copy_entries(copy, f.fd, tail, sb.version, self.fmt)
                    vacuum.commit(copy, self.base)
                except BaseException:
                    if not vacuum.committed(self.base):
                        vacuum.discard(copy, self.base)
                        raise
                    self._finish_failed_commit()
                    raise
                self._swap(sb)
        finally:
            with self._lock:
                self._compacting = False
                f.release()
        reclaimed = dat_before - self._dat_end
        log.info("vacuumed vid=%d reclaimed=%d size=%d revision=%d", self.id, reclaimed, self._dat_end,
                 sb.compaction_revision)
        return reclaimed

    def _finish_failed_commit(self) -> None:
        """The new .dat is in place but the commit did not complete: the old descriptors now
        name unlinked files, so this volume must not take writes. Finish the renames and
        close it; reopening it loads the compacted files (lock held)."""
        log.error("vacuum commit interrupted vid=%d: closing the volume until it is reopened", self.id)
        self._closed = True
        self._map.close()
        self._close_files()
        vacuum.finish_interrupted(self.base)

    def _swap(self, sb: SuperBlock) -> None:
        """Switch to the just-renamed files (lock held)."""
        self._dat.retire()
        os.close(self._idx_fd)
        self._idx_fd = -1
        self._map.close()
        shutil.rmtree(self.base + ".ldb", ignore_errors=True)
        self._dat = DataFile(os.open(self.base + ".dat", os.O_RDWR))
        self._idx_fd = os.open(self.base + ".idx", os.O_RDWR)
        self.super_block = sb
        self._open_index()

