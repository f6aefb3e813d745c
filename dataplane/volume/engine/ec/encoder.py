"""Encode a sealed volume (`.dat` + `.idx`) into SeaweedFS's EC files: `.ecx`, `.ec00`-`.ec13`,
then the `.vif` with the EC config; byte-identical to what weed 4.48 writes for the same files
(its uniform layout, see geometry; the legacy large/small-row layout on request).

Order as in weed: `.ecx` from `.idx` first, then the `.dat` length is taken and the shards are
written, so `.ecx` never names a record the shards lack. Shards go to temporary files renamed
into place only when all are complete and fsynced (see shard_files), and the `.vif` is written
last: a crash leaves either no new shards or a complete set.

Memory is bounded by `buffer_size` per shard (default 4 MiB, so ~56 MiB for 10+4): blocks larger
than that (1 GiB legacy rows, a uniform block of up to 3 GiB) are streamed in chunks of that
size, and smaller ones a batch of rows at a time (one contiguous read covers a batch's rows,
since a row's blocks are consecutive in `.dat`).

The caller must make sure nothing writes the volume meanwhile (mark it read-only first).
Synchronous and CPU/disk bound: servers run it in a worker thread. No network imports.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np

from dataplane.volume.engine.ec.codec import ReedSolomon
from dataplane.volume.engine.ec.geometry import LARGE_BLOCK_SIZE, SMALL_BLOCK_SIZE, Layout, Row
from dataplane.volume.engine.ec.index import write_ecx_from_idx
from dataplane.volume.engine.ec.info import EcConfig, ec_volume_info
from dataplane.volume.engine.ec.shard_files import ShardFileSet
from dataplane.volume.engine.idx import IdxFormat
from dataplane.volume.engine.superblock import SUPER_BLOCK_SIZE, SuperBlock
from dataplane.volume.engine.volume_info import read_volume_info, write_volume_info

DEFAULT_BUFFER_SIZE = 4 << 20


@dataclass(frozen=True, slots=True)
class EncodeResult:
    dat_size: int
    shard_size: int
    entries: int  # live needles in .ecx
    paths: list[str]  # the shard files written, in shard order
    seconds: float


UNIFORM = "uniform"
LEGACY = "legacy"


def plan_layout(dat_size: int, kind: str = UNIFORM, *, data_shards: int, large_block: int = LARGE_BLOCK_SIZE,
                small_block: int = SMALL_BLOCK_SIZE) -> Layout:
    """The layout an encode of a `.dat` of dat_size bytes uses ("uniform": weed 4.48's)."""
    if kind == UNIFORM:
        return Layout.uniform(dat_size, data_shards=data_shards, align=small_block)
    if kind == LEGACY:
        return Layout.legacy(dat_size, data_shards=data_shards, large_block=large_block,
                             small_block=small_block)
    raise ValueError(f"unknown layout {kind!r}; expected {UNIFORM} or {LEGACY}")


def encode_volume(base: str, *, fmt: IdxFormat, index_base: str | None = None, out_dir: str | None = None,
                  codec: ReedSolomon | None = None, layout: str = UNIFORM,
                  large_block: int = LARGE_BLOCK_SIZE, small_block: int = SMALL_BLOCK_SIZE,
                  buffer_size: int = DEFAULT_BUFFER_SIZE, now_ns: int | None = None) -> EncodeResult:
    """Encode `<base>.dat` (and `<index_base or base>.idx`) into `<out_dir>/<name>.ec*`.

    The `.ecx` goes next to the `.idx`, the shards and `.vif` to out_dir (default: the
    `.dat`'s directory). `layout` "legacy" writes the pre-4.48 large/small rows (a `.vif`
    without blockSize), for clusters with older weed readers. Returns sizes and timing."""
    started = time.monotonic()
    codec = codec or ReedSolomon()
    index_base = index_base or base
    directory = out_dir or os.path.dirname(base) or "."
    name = os.path.basename(base)
    entries = write_ecx_from_idx(index_base + ".idx", index_base + ".ecx", fmt)
    fd = os.open(base + ".dat", os.O_RDONLY)
    try:
        dat_size = os.fstat(fd).st_size
        super_block = SuperBlock.from_bytes(os.pread(fd, SUPER_BLOCK_SIZE, 0), base + ".dat")
        plan = plan_layout(dat_size, layout, data_shards=codec.data_shards, large_block=large_block,
                           small_block=small_block)
        shards = ShardFileSet(directory, name, range(codec.total_shards))
        try:
            encode_rows(fd, dat_size, plan, codec, shards, buffer_size)
            paths = shards.commit()
        except BaseException:
            shards.abort()
            raise
    finally:
        os.close(fd)
    old = read_volume_info(base + ".vif")
    # The uniform layout's block is what readers need; a legacy .vif records none.
    block_size = plan.groups[0].block if layout == UNIFORM else 0
    info = ec_volume_info(version=super_block.version, dat_file_size=dat_size,
                          expire_at_sec=old.expire_at_sec if old else 0,
                          config=EcConfig(codec.data_shards, codec.parity_shards,
                                          now_ns if now_ns is not None else time.time_ns(), block_size))
    write_volume_info(os.path.join(directory, name + ".vif"), info)
    return EncodeResult(dat_size, plan.shard_size, entries, paths, time.monotonic() - started)


def read_dat(fd: int, buf: np.ndarray, offset: int, dat_size: int) -> None:
    """Fill buf from .dat at offset; bytes past the end of .dat are zeros (row padding)."""
    want = max(0, min(len(buf), dat_size - offset))
    got = 0
    view = buf.data
    while got < want:
        n = os.preadv(fd, [view[got:want]], offset + got)
        if n <= 0:
            raise OSError(f".dat shrank while encoding: read 0 bytes at {offset + got}")
        got += n
    if want < len(buf):
        buf[want:] = 0


def encode_rows(fd: int, dat_size: int, layout: Layout, codec: ReedSolomon, shards: ShardFileSet,
                buffer_size: int) -> None:
    """Write every row of the layout: big blocks in chunks, small ones a batch of rows at a time."""
    k, m = codec.data_shards, codec.parity_shards
    rows = layout.rows()
    i = 0
    while i < len(rows):
        row = rows[i]
        if row.block > buffer_size:
            _encode_big_row(fd, dat_size, row, codec, shards, buffer_size)
            i += 1
            continue
        batch = [row]
        while (i + len(batch) < len(rows) and rows[i + len(batch)].block == row.block
               and (len(batch) + 1) * row.block <= buffer_size):
            batch.append(rows[i + len(batch)])
        _encode_row_batch(fd, dat_size, batch, k, m, codec, shards)
        i += len(batch)


def _encode_big_row(fd: int, dat_size: int, row: Row, codec: ReedSolomon, shards: ShardFileSet,
                    chunk: int) -> None:
    k, m = codec.data_shards, codec.parity_shards
    data = np.empty((k, chunk), dtype=np.uint8)
    parity = np.empty((m, chunk), dtype=np.uint8)
    for pos in range(0, row.block, chunk):
        n = min(chunk, row.block - pos)
        for s in range(k):
            read_dat(fd, data[s, :n], row.dat_offset + s * row.block + pos, dat_size)
        codec.encode([data[s, :n] for s in range(k)], [parity[p, :n] for p in range(m)])
        for s in range(k):
            shards.write(s, data[s, :n].data, row.shard_offset + pos)
        for p in range(m):
            shards.write(k + p, parity[p, :n].data, row.shard_offset + pos)


def _encode_row_batch(fd: int, dat_size: int, batch: list[Row], k: int, m: int, codec: ReedSolomon,
                      shards: ShardFileSet) -> None:
    """Consecutive rows of one block size: their data is one contiguous stretch of .dat."""
    block = batch[0].block
    flat = np.empty(len(batch) * k * block, dtype=np.uint8)
    parity = np.empty((m, len(batch) * block), dtype=np.uint8)
    read_dat(fd, flat, batch[0].dat_offset, dat_size)
    grid = flat.reshape(len(batch), k, block)
    for r in range(len(batch)):
        codec.encode(list(grid[r]), [parity[p, r * block:(r + 1) * block] for p in range(m)])
    shard_offset = batch[0].shard_offset
    for s in range(k):
        shards.writev(s, [grid[r, s].data for r in range(len(batch))], shard_offset)
    for p in range(m):
        shards.write(k + p, parity[p].data, shard_offset)
