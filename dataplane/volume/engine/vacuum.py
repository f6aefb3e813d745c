"""Vacuum (compaction): copy a volume's live needles to `.cpd/.cpx`, then swap them in.

The Volume drives three steps:
1. copy_live, without the volume lock: walk the .idx as it was when the vacuum started,
   copy every live record (in .dat order, adjacent records in one read) into `.cpd`, under
   a superblock whose compaction revision is one higher, and write `.cpx`;
2. copy_entries, under the lock: replay the .idx entries appended meanwhile (puts and
   tombstones) onto the new files, so no write or delete that arrived during step 1 is lost;
3. commit, under the lock: fsync, rename `.cpd` -> `.dat` (the commit point), then `.cpx` ->
   `.idx`. A crash between the two renames is finished at the next open by
   finish_interrupted; a crash before the first leaves `.cpd` to be discarded.

Records are copied byte for byte (a corrupt record stays detectably corrupt).
File I/O only; no network imports.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from dataplane.volume.engine.errors import VacuumInProgress
from dataplane.volume.engine.files import fsync_dir, unlink_if_exists, write_all
from dataplane.volume.engine.idx import IdxFormat, is_deleted_size, summarize
from dataplane.volume.engine.needle import CHECKSUM_SIZE, HEADER_SIZE, PADDING, TIMESTAMP_SIZE, VERSION_3
from dataplane.volume.engine.needle import record_length as needle_record_length
from dataplane.volume.engine.superblock import SUPER_BLOCK_SIZE, SuperBlock

__all__ = ["CompactCopy", "VacuumInProgress", "commit", "committed", "copy_entries", "copy_live", "discard",
           "finish_interrupted"]

# Adjacent live records are read and written in runs of up to this many bytes: large enough to
# amortize the system calls over thousands of small needles, small enough to bound memory.
_RUN_BYTES = 8 << 20


@dataclass(slots=True)
class CompactCopy:
    """The new files while they are being written."""

    cpd_fd: int
    cpx_fd: int
    dat_end: int
    idx_end: int
    version: int


def copy_live(dat_fd: int, idx_bytes: bytes, base: str, sb: SuperBlock, fmt: IdxFormat,
              volume_id: int) -> CompactCopy:
    """Steps 1: the live records named by idx_bytes, into new `.cpd`/`.cpx` files."""
    summary = summarize(*fmt.decode_all(idx_bytes))
    live = ~summary.deleted
    keys = summary.keys[live]
    offsets = summary.offsets[live].astype(np.int64) << 3
    sizes = summary.sizes[live].astype(np.int64)
    order = np.argsort(offsets, kind="stable")
    keys, offsets, sizes = keys[order], offsets[order], sizes[order]
    lengths = _record_lengths(sizes, sb.version)
    new_offsets = SUPER_BLOCK_SIZE + np.cumsum(lengths) - lengths
    cpd = os.open(base + ".cpd", os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    cpx = -1
    try:
        cpx = os.open(base + ".cpx", os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        os.pwrite(cpd, sb.to_bytes(), 0)
        _copy_runs(dat_fd, cpd, offsets.tolist(), lengths.tolist(), new_offsets.tolist())
        entries = fmt.encode_all(keys, (new_offsets >> 3).astype(np.uint64), sizes.astype(np.uint32))
        write_all(cpx, entries, 0)
    except BaseException:
        os.close(cpd)
        if cpx >= 0:
            os.close(cpx)
        unlink_if_exists(base + ".cpd")
        unlink_if_exists(base + ".cpx")
        raise
    end = int(new_offsets[-1] + lengths[-1]) if len(lengths) else SUPER_BLOCK_SIZE
    return CompactCopy(cpd, cpx, end, len(entries), sb.version)


def copy_entries(copy: CompactCopy, dat_fd: int, idx_tail: bytes, version: int, fmt: IdxFormat) -> None:
    """Step 2: apply .idx entries appended during step 1, copying each one's record."""
    entry_size = fmt.entry_size
    for at in range(0, len(idx_tail) - len(idx_tail) % entry_size, entry_size):
        key, offset_units, size = fmt.unpack(idx_tail, at)
        if offset_units == 0:
            write_all(copy.cpx_fd, idx_tail[at : at + entry_size], copy.idx_end)
        else:
            record_size = 0 if is_deleted_size(size) else size
            length = needle_record_length(record_size, version)
            record = os.pread(dat_fd, length, offset_units << 3)
            write_all(copy.cpd_fd, record, copy.dat_end)
            write_all(copy.cpx_fd, fmt.pack(key, copy.dat_end >> 3, size), copy.idx_end)
            copy.dat_end += length
        copy.idx_end += entry_size


def commit(copy: CompactCopy, base: str) -> None:
    """Step 3: make the new files durable and rename them over the old ones."""
    os.fsync(copy.cpd_fd)
    os.fsync(copy.cpx_fd)
    os.close(copy.cpd_fd)
    os.close(copy.cpx_fd)
    copy.cpd_fd = copy.cpx_fd = -1
    directory = os.path.dirname(base) or "."
    os.replace(base + ".cpd", base + ".dat")
    fsync_dir(directory)
    os.replace(base + ".cpx", base + ".idx")
    fsync_dir(directory)


def committed(base: str) -> bool:
    """Whether a commit passed its commit point (the .cpd was renamed to .dat)."""
    return not os.path.exists(base + ".cpd")


def discard(copy: CompactCopy, base: str) -> None:
    """Abandon an uncommitted copy."""
    for fd in (copy.cpd_fd, copy.cpx_fd):
        if fd >= 0:
            os.close(fd)
    copy.cpd_fd = copy.cpx_fd = -1
    unlink_if_exists(base + ".cpd")
    unlink_if_exists(base + ".cpx")


def finish_interrupted(base: str) -> None:
    """Before opening a volume: undo an uncommitted vacuum, or finish a committed one."""
    if os.path.exists(base + ".cpd"):
        unlink_if_exists(base + ".cpd")
        unlink_if_exists(base + ".cpx")
    elif os.path.exists(base + ".cpx"):
        os.replace(base + ".cpx", base + ".idx")
        fsync_dir(os.path.dirname(base) or ".")


def _record_lengths(sizes: np.ndarray, version: int) -> np.ndarray:
    tail = CHECKSUM_SIZE + (TIMESTAMP_SIZE if version == VERSION_3 else 0)
    unpadded = HEADER_SIZE + sizes + tail
    result: np.ndarray = unpadded + PADDING - unpadded % PADDING
    return result


def _copy_runs(src: int, dst: int, offsets: list[int], lengths: list[int], new_offsets: list[int]) -> None:
    """Copy records, joining neighbours that are adjacent in the source into one read."""
    i, count = 0, len(offsets)
    while i < count:
        start, run, j = offsets[i], lengths[i], i + 1
        while j < count and offsets[j] == start + run and run + lengths[j] <= _RUN_BYTES:
            run += lengths[j]
            j += 1
        data = os.pread(src, run, start)
        if len(data) != run:
            raise OSError(f"short read of {len(data)} of {run} bytes at {start} while vacuuming")
        write_all(dst, data, new_offsets[i])
        i = j
