"""Start-up repair of a volume's `.dat`/`.idx` pair after a crash.

A record is appended to .dat before its .idx entry, so a crash can leave:
- a partial last .idx entry: cut it off;
- trailing .idx entries whose records run past the end of .dat (the .dat write was lost):
  drop them;
- records after the last indexed one: every complete record with a valid CRC is indexed
  again (it may have been acknowledged just before the crash); the first partial or
  invalid record and everything after it is truncated away.

A Size-0 record is ambiguous (tombstone or empty needle). It is taken as a tombstone when
its key is live at that point, otherwise as an empty needle.

File I/O on the volume's own descriptors only; no network imports.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from dataplane.volume.engine.errors import CorruptNeedle
from dataplane.volume.engine.idx import TOMBSTONE_SIZE, IdxFormat, is_deleted_size
from dataplane.volume.engine.needle import (
    CHECKSUM_SIZE,
    HEADER_SIZE,
    MAX_SIZE,
    VERSION_3,
    Needle,
    decode,
    parse_header,
    record_length,
)
from dataplane.volume.engine.needle_map import NeedleMap
from dataplane.volume.engine.superblock import SUPER_BLOCK_SIZE

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TailState:
    dat_end: int
    idx_end: int
    last_append_ns: int
    reindexed: int  # records found after the last .idx entry and indexed again
    truncated: int  # .dat bytes cut off


def trim_idx(idx_fd: int, dat_fd: int, fmt: IdxFormat, version: int, volume_id: int) -> int:
    """Cut a partial last entry and entries pointing past .dat's end; return the .idx length."""
    entry_size = fmt.entry_size
    length = os.fstat(idx_fd).st_size
    whole = length - length % entry_size
    dat_len = os.fstat(dat_fd).st_size
    while whole >= entry_size:
        _, offset_units, size = fmt.unpack(os.pread(idx_fd, entry_size, whole - entry_size))
        record_size = 0 if is_deleted_size(size) else size
        if offset_units == 0 or (offset_units << 3) + record_length(record_size, version) <= dat_len:
            break
        whole -= entry_size
    if whole != length:
        log.warning("trimmed idx vid=%d from=%d to=%d", volume_id, length, whole)
        os.ftruncate(idx_fd, whole)
    return whole


def recover_tail(dat_fd: int, idx_fd: int, idx_end: int, needle_map: NeedleMap, fmt: IdxFormat, version: int,
                 volume_id: int) -> TailState:
    """Index the complete records after the last indexed one; truncate the rest of .dat."""
    dat_len = os.fstat(dat_fd).st_size
    pos, last_ns = _end_of_indexed(dat_fd, idx_fd, idx_end, fmt, version)
    entry_size = fmt.entry_size
    reindexed = 0
    while pos < dat_len:
        n = _read_record(dat_fd, pos, dat_len, version)
        if n is None:
            break
        units = pos >> 3
        current = needle_map.get(n.id)
        live = current is not None and not current[2]
        if n.size == 0 and live:
            os.pwrite(idx_fd, fmt.pack(n.id, units, TOMBSTONE_SIZE), idx_end)
            needle_map.delete(n.id, units)
        elif current is None or current[0] != units:
            os.pwrite(idx_fd, fmt.pack(n.id, units, n.size), idx_end)
            needle_map.put(n.id, units, n.size)
        else:
            pos += record_length(n.size, version)
            continue
        idx_end += entry_size
        reindexed += 1
        last_ns = n.append_at_ns
        pos += record_length(n.size, version)
    truncated = dat_len - pos
    if truncated:
        os.ftruncate(dat_fd, pos)
    if reindexed or truncated:
        log.warning("repaired torn tail vid=%d reindexed=%d truncated_bytes=%d", volume_id, reindexed,
                    truncated)
    return TailState(pos, idx_end, last_ns, reindexed, truncated)


def _end_of_indexed(dat_fd: int, idx_fd: int, idx_end: int, fmt: IdxFormat, version: int) -> tuple[int, int]:
    """End of the record of the last .idx entry with a real offset, and its AppendAtNs."""
    entry_size = fmt.entry_size
    at = idx_end
    while at >= entry_size:
        at -= entry_size
        _, offset_units, size = fmt.unpack(os.pread(idx_fd, entry_size, at))
        if offset_units == 0:
            continue  # a deletion of a remote-tier needle: no record
        record_size = 0 if is_deleted_size(size) else size
        offset = offset_units << 3
        last_ns = 0
        if version == VERSION_3:
            raw = os.pread(dat_fd, 8, offset + HEADER_SIZE + record_size + CHECKSUM_SIZE)
            last_ns = int.from_bytes(raw, "big")
        return offset + record_length(record_size, version), last_ns
    return SUPER_BLOCK_SIZE, 0


def _read_record(dat_fd: int, pos: int, dat_len: int, version: int) -> Needle | None:
    """The complete, valid record at pos, or None (partial, garbage, or zero-filled)."""
    if pos + HEADER_SIZE > dat_len:
        return None
    _, key, size = parse_header(os.pread(dat_fd, HEADER_SIZE, pos))
    if key == 0 or size > MAX_SIZE:
        return None  # key 0 is never issued: zero-filled or foreign bytes
    length = record_length(size, version)
    if pos + length > dat_len:
        return None
    try:
        n = decode(os.pread(dat_fd, length, pos), version, offset=pos)
    except CorruptNeedle:
        return None
    if version == VERSION_3 and n.append_at_ns == 0:
        return None
    return n
