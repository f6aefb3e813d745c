"""EcVolume: one erasure-coded volume as a server holds it: its `.ecx`/`.ecj`/`.vif` and
whichever shard files it has (in any of its data directories), serving needle reads,
deletes, and shard ranges.

Reading a needle: binary search in `.ecx` (and the deleted set loaded from `.ecj`), map the
record to shard intervals (geometry), then for each interval read the local shard; else ask
`fetch` (the server's way to read a shard range from another server, returning None when it
cannot); else reconstruct the interval from any `data_shards` other shards, local or fetched
(the same range of each; only that range is rebuilt, no file is written).

Deleting appends the id to `.ecj` (fsynced) and to the in-memory set; `apply_journal` folds the
journal into `.ecx` (before rebuild or decode, as weed does).

Thread-safe; synchronous (a server calls it from worker threads). No network imports: remote
shards come only through the `fetch` callable the server passes in.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from dataplane.volume.engine.ec.codec import ReedSolomon
from dataplane.volume.engine.ec.errors import EcIndexMissing, ShardReadError, TooFewShards
from dataplane.volume.engine.ec.geometry import Interval, Layout
from dataplane.volume.engine.ec.index import EcIndex, Journal, apply_journal, read_journal
from dataplane.volume.engine.ec.info import EcConfig, ec_config, layout_for
from dataplane.volume.engine.ec.shard_files import ShardReaders, find_file, find_shards
from dataplane.volume.engine.errors import CookieMismatch, CorruptNeedle, NeedleNotFound
from dataplane.volume.engine.idx import IdxFormat, is_deleted_size
from dataplane.volume.engine.needle import HEADER_SIZE, Needle, decode, parse_header, record_length
from dataplane.volume.engine.superblock import SUPER_BLOCK_SIZE, SuperBlock
from dataplane.volume.engine.volume import volume_base_name
from dataplane.volume.engine.volume_info import VolumeInfo, read_volume_info

# (shard id, shard offset, length) -> those bytes from another server, or None if unavailable.
ShardFetcher = Callable[[int, int, int], bytes | None]
# Reconstruction works on at most this much of an interval at a time (so a large needle is never
# held ten times over); remote shard ranges are fetched in pieces of this size then.
RECONSTRUCT_PIECE = 4 << 20


@dataclass(frozen=True, slots=True)
class NeedleLocation:
    key: int
    offset: int  # byte offset of the record in the original .dat
    size: int  # the needle's Size field
    length: int  # whole record length
    intervals: tuple[Interval, ...]


class EcVolume:
    """Open with EcVolume(volume_id, collection, directories, fmt=...)."""

    def __init__(self, volume_id: int, collection: str, directories: Sequence[str], *, fmt: IdxFormat,
                 codec: ReedSolomon | None = None, layout: Layout | None = None) -> None:
        self.id = volume_id
        self.collection = collection
        self.directories = tuple(directories)
        self.base_name = volume_base_name(collection, volume_id)
        self.fmt = fmt
        ecx = find_file(self.directories, self.base_name, ".ecx")
        if ecx is None:
            raise EcIndexMissing(volume_id, self.directories)
        self.index_base = ecx[: -len(".ecx")]
        vif = self.index_base + ".vif"
        if not os.path.exists(vif):
            vif = find_file(self.directories, self.base_name, ".vif") or ""
        self.info: VolumeInfo | None = read_volume_info(vif) if vif else None
        self.config: EcConfig = ec_config(self.info) or EcConfig()
        self.codec = codec or ReedSolomon(self.config.data_shards, self.config.parity_shards)
        self._lock = threading.Lock()
        self._index = EcIndex(ecx, fmt)
        self._deleted = read_journal(self.index_base + ".ecj")
        self._journal: Journal | None = None
        self._layout: Layout | None = layout
        self._version = 0
        try:
            self._shards = ShardReaders(volume_id, find_shards(self.directories, self.base_name,
                                                              self.codec.total_shards))
        except BaseException:
            self._index.close()
            raise

    # ---- shards ------------------------------------------------------------------------

    @property
    def shard_ids(self) -> tuple[int, ...]:
        return self._shards.ids

    def shard_path(self, shard: int) -> str | None:
        return self._shards.paths.get(shard)

    @property
    def shard_size(self) -> int:
        """Length of every shard file (-1 while none is held here)."""
        return self._shards.size

    def add_shard(self, shard: int, path: str) -> None:
        """Mount a shard file (after a copy or rebuild)."""
        with self._lock:
            self._shards.add(shard, path)

    def remove_shard(self, shard: int) -> None:
        """Unmount a shard (its file is left alone)."""
        with self._lock:
            self._shards.remove(shard)

    def rescan(self) -> tuple[int, ...]:
        """Mount any shard files that appeared in the directories; the shard ids held."""
        with self._lock:
            for shard, path in find_shards(self.directories, self.base_name, self.codec.total_shards).items():
                if shard not in self._shards:
                    self._shards.add(shard, path)
            return self._shards.ids

    def read_shard(self, shard: int, offset: int, length: int) -> bytes:
        """A range of a local shard file (what a peer's fetch asks this server for)."""
        return self._shards.read(shard, offset, length)

    # ---- layout ------------------------------------------------------------------------

    @property
    def dat_file_size(self) -> int:
        return self.info.dat_file_size if self.info is not None else 0

    def layout(self) -> Layout:
        if self._layout is None:
            shard_size = self._shards.size
            if shard_size < 0 and not self.dat_file_size:
                raise TooFewShards(self.id, (), self.codec.data_shards)
            self._layout = layout_for(self.info, max(shard_size, 0))
        return self._layout

    def version(self, fetch: ShardFetcher | None = None) -> int:
        """The needle version: from the `.vif`, else the superblock at the start of shard 0."""
        if not self._version:
            if self.info is not None and self.info.version:
                self._version = self.info.version
            else:
                raw = self.read_range(0, SUPER_BLOCK_SIZE, fetch)
                self._version = SuperBlock.from_bytes(raw, self.index_base).version
        return self._version

    # ---- needles -----------------------------------------------------------------------

    def is_deleted(self, key: int) -> bool:
        return key in self._deleted

    def locate(self, key: int, fetch: ShardFetcher | None = None) -> NeedleLocation:
        """Where the key's record lies; NeedleNotFound (deleted=True for deleted ones)."""
        found = self._index.find(key)
        if found is None:
            raise NeedleNotFound(self.id, key)
        offset_units, size = found
        if is_deleted_size(size) or key in self._deleted:
            raise NeedleNotFound(self.id, key, deleted=True)
        offset = offset_units << 3
        length = record_length(size, self.version(fetch))
        return NeedleLocation(key, offset, size, length, tuple(self.layout().locate(offset, length)))

    def read_needle(self, key: int, cookie: int | None = None, fetch: ShardFetcher | None = None) -> Needle:
        """The needle, checked (CRC, key, Size, cookie unless None)."""
        loc = self.locate(key, fetch)
        buf = b"".join(self.read_interval(iv, fetch) for iv in loc.intervals)
        n = decode(buf, self.version(fetch), volume_id=self.id, offset=loc.offset)
        if n.id != key or n.size != loc.size:
            raise CorruptNeedle(self.id, key, loc.offset,
                                f"record says key {n.id:x} Size {n.size}, index {loc.size}")
        if cookie is not None and n.cookie != cookie:
            raise CookieMismatch(self.id, key, n.cookie, cookie)
        return n

    def delete_needle(self, key: int, cookie: int | None = None, fetch: ShardFetcher | None = None) -> int:
        """Journal a delete of a live needle (after checking its cookie unless None); return
        its Size. NeedleNotFound if absent or already deleted."""
        loc = self.locate(key, fetch)
        if cookie is not None:
            first = loc.intervals[0]
            head_iv = Interval(first.shard, first.shard_offset, min(first.length, HEADER_SIZE))
            head = self.read_interval(head_iv, fetch)
            if len(head) < HEADER_SIZE:
                head += self.read_range(loc.offset + len(head), HEADER_SIZE - len(head), fetch)
            stored_cookie, stored_key, _ = parse_header(head)
            if stored_key != key:
                raise CorruptNeedle(self.id, key, loc.offset, f"record says key {stored_key:x}")
            if stored_cookie != cookie:
                raise CookieMismatch(self.id, key, stored_cookie, cookie)
        self.journal_delete(key)
        return loc.size

    def journal_delete(self, key: int) -> bool:
        """Record key as deleted (no checks; for deletes replicated from a peer). False if it
        already was."""
        with self._lock:
            if key in self._deleted:
                return False
            if self._journal is None:
                self._journal = Journal(self.index_base + ".ecj")
            self._journal.append(key)
            self._deleted.add(key)
            return True

    def apply_journal(self) -> int:
        """Fold `.ecj` into `.ecx` and remove `.ecj`; the number of entries marked."""
        with self._lock:
            if self._journal is not None:
                self._journal.close()
                self._journal = None
            self._index.close()
            try:
                return apply_journal(self.index_base + ".ecx", self.index_base + ".ecj", self.fmt)
            finally:
                self._index = EcIndex(self.index_base + ".ecx", self.fmt)

    def counts(self) -> tuple[int, int]:
        """(entries in .ecx, deletions known) for heartbeats."""
        return self._index.count, len(self._deleted)

    # ---- ranges ------------------------------------------------------------------------

    def read_range(self, offset: int, length: int, fetch: ShardFetcher | None = None) -> bytes:
        """Bytes [offset, offset + length) of the original `.dat`."""
        return b"".join(self.read_interval(iv, fetch) for iv in self.layout().locate(offset, length))

    def read_interval(self, iv: Interval, fetch: ShardFetcher | None = None) -> bytes:
        """Local shard, else a fetched one, else reconstructed from any data_shards others."""
        if iv.shard in self._shards:
            try:
                return self._shards.read(iv.shard, iv.shard_offset, iv.length)
            except ShardReadError:
                pass  # a bad local shard: try a peer, then reconstruct
        if fetch is not None:
            data = fetch(iv.shard, iv.shard_offset, iv.length)
            if data is not None and len(data) == iv.length:
                return data
        return self.reconstruct_interval(iv, fetch)

    def reconstruct_interval(self, iv: Interval, fetch: ShardFetcher | None = None) -> bytes:
        """Rebuild one interval of a missing shard, RECONSTRUCT_PIECE bytes at a time so a
        large needle never needs ten copies of itself in memory at once."""
        if iv.length <= RECONSTRUCT_PIECE:
            return self._reconstruct_piece(iv, fetch)
        return b"".join(self._reconstruct_piece(Interval(iv.shard, iv.shard_offset + at,
                                                         min(RECONSTRUCT_PIECE, iv.length - at)), fetch)
                        for at in range(0, iv.length, RECONSTRUCT_PIECE))

    def _reconstruct_piece(self, iv: Interval, fetch: ShardFetcher | None) -> bytes:
        need = self.codec.data_shards
        inputs: dict[int, np.ndarray] = {}
        for shard in self._shards.ids:
            if shard == iv.shard or len(inputs) == need:
                continue
            try:
                data = self._shards.read(shard, iv.shard_offset, iv.length)
            except ShardReadError:
                continue
            inputs[shard] = np.frombuffer(data, dtype=np.uint8)
        if fetch is not None:
            for shard in range(self.codec.total_shards):
                if len(inputs) == need:
                    break
                if shard == iv.shard or shard in inputs:
                    continue
                fetched = fetch(shard, iv.shard_offset, iv.length)
                if fetched is not None and len(fetched) == iv.length:
                    inputs[shard] = np.frombuffer(fetched, dtype=np.uint8)
        if len(inputs) < need:
            raise TooFewShards(self.id, tuple(sorted(inputs)), need)
        out = np.empty(iv.length, dtype=np.uint8)
        self.codec.reconstruct(inputs, [iv.shard], [out], volume_id=self.id)
        return out.tobytes()

    def close(self) -> None:
        with self._lock:
            if self._journal is not None:
                self._journal.close()
                self._journal = None
            self._index.close()
            self._shards.close()

    def __enter__(self) -> EcVolume:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
