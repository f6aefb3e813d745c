"""Decode an EC volume back to a normal volume: `.dat` + `.idx` from any `data_shards` of its
shards (missing data shards are reconstructed on the fly), honouring `.ecj` deletions.

As weed does: the journal is folded into `.ecx` first; the `.dat` is restored up to the end of
the furthest live record (records of needles deleted after encoding stay in it as dead bytes
until the volume is vacuumed, which a server does right after a decode, as weed compacts).
The `.idx` lists the live `.ecx` entries **in offset order** (weed copies `.ecx`, sorted by
key): walking it gives the same needle map, and its last entry ends at the end of `.dat`, so
kelp's start-up repair finds no unindexed tail and cannot resurrect a deleted needle.
The `.vif` is left as it is (weed's volume loader and kelp's both accept the EC `.vif`).

Both files are written under temporary names and renamed into place after fsync. Streamed in
`buffer_size` pieces per shard. Synchronous, disk bound. No network imports.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from dataplane.volume.engine.ec.codec import ReedSolomon
from dataplane.volume.engine.ec.errors import EcIndexMissing, TooFewShards
from dataplane.volume.engine.ec.geometry import Layout
from dataplane.volume.engine.ec.index import EcIndex, apply_journal
from dataplane.volume.engine.ec.info import ec_config, layout_for
from dataplane.volume.engine.ec.shard_files import ShardReaders, find_file, find_shards, pwrite_all
from dataplane.volume.engine.files import fsync_dir, unlink_if_exists, write_all
from dataplane.volume.engine.idx import IdxFormat
from dataplane.volume.engine.superblock import SUPER_BLOCK_SIZE, SuperBlock
from dataplane.volume.engine.volume_info import read_volume_info

DEFAULT_BUFFER_SIZE = 4 << 20


@dataclass(frozen=True, slots=True)
class DecodeResult:
    dat_path: str
    idx_path: str
    dat_size: int
    live_entries: int
    reconstructed: list[int]  # data shards that were missing and rebuilt in memory
    seconds: float


def decode_volume(base_name: str, directories: Sequence[str], *, fmt: IdxFormat, out_dir: str | None = None,
                  volume_id: int = 0, codec: ReedSolomon | None = None, layout: Layout | None = None,
                  buffer_size: int = DEFAULT_BUFFER_SIZE) -> DecodeResult:
    """Write `<out_dir>/<base_name>.dat` and `.idx` (out_dir: the `.ecx`'s directory)."""
    started = time.monotonic()
    ecx = find_file(directories, base_name, ".ecx")
    if ecx is None:
        raise EcIndexMissing(volume_id, tuple(directories))
    index_base = ecx[: -len(".ecx")]
    apply_journal(ecx, index_base + ".ecj", fmt)
    vif = index_base + ".vif"
    if not os.path.exists(vif):
        vif = find_file(directories, base_name, ".vif") or ""
    info = read_volume_info(vif) if vif else None
    config = ec_config(info)
    codec = codec or (ReedSolomon(config.data_shards, config.parity_shards) if config else ReedSolomon())
    found = find_shards(directories, base_name, codec.total_shards)
    if len(found) < codec.data_shards:
        raise TooFewShards(volume_id, tuple(sorted(found)), codec.data_shards)
    directory = out_dir or os.path.dirname(ecx)
    dat_path = os.path.join(directory, base_name + ".dat")
    idx_path = os.path.join(directory, base_name + ".idx")
    readers = ShardReaders(volume_id, found)
    try:
        plan = layout or layout_for(info, readers.size)
        version = info.version if info is not None and info.version else 0
        if not version:
            head = _read_head(readers, plan, codec, volume_id)
            version = SuperBlock.from_bytes(head, index_base).version
        with EcIndex(ecx, fmt) as index:
            extent = index.live_extent(version)
            keys, offsets, sizes = fmt.decode_all(index.read_all())
        live = sizes < 0x80000000
        order = np.argsort(offsets[live], kind="stable")
        idx_body = fmt.encode_all(keys[live][order], offsets[live][order], sizes[live][order])
        missing = [s for s in range(codec.data_shards) if s not in found]
        _write_file(dat_path, lambda fd: _write_dat(fd, readers, plan, codec, extent, missing, buffer_size,
                                                     volume_id))
        _write_file(idx_path, lambda fd: write_all(fd, idx_body, 0))
        fsync_dir(directory)
    finally:
        readers.close()
    return DecodeResult(dat_path, idx_path, extent, int(live.sum()), missing, time.monotonic() - started)


def _write_file(path: str, fill: Callable[[int], None]) -> None:
    tmp = f"{path}.{uuid.uuid4().hex[:8]}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        fill(fd)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        unlink_if_exists(tmp)
        raise
    os.close(fd)
    os.replace(tmp, path)


def _read_head(readers: ShardReaders, plan: Layout, codec: ReedSolomon, volume_id: int) -> bytes:
    iv = plan.locate(0, SUPER_BLOCK_SIZE)[0]
    if iv.shard in readers:
        return readers.read(iv.shard, iv.shard_offset, iv.length)
    inputs = {s: np.frombuffer(readers.read(s, iv.shard_offset, iv.length), dtype=np.uint8)
              for s in readers.ids[: codec.data_shards]}
    out = np.empty(iv.length, dtype=np.uint8)
    codec.reconstruct(inputs, [iv.shard], [out], volume_id=volume_id)
    return out.tobytes()


def _write_dat(fd: int, readers: ShardReaders, plan: Layout, codec: ReedSolomon, extent: int,
               missing: list[int], buffer_size: int, volume_id: int) -> None:
    k = codec.data_shards
    inputs = readers.ids[:k]
    chunk_max = max(1, buffer_size)
    src = np.empty((k, chunk_max), dtype=np.uint8)
    rebuilt = np.empty((max(1, len(missing)), chunk_max), dtype=np.uint8)
    for row in plan.rows():
        if row.dat_offset >= extent:
            break
        for pos in range(0, row.block, chunk_max):
            n = min(chunk_max, row.block - pos)
            # Which data shards hold bytes of .dat below the extent in this piece of the row.
            wanted = [s for s in range(k) if row.dat_offset + s * row.block + pos < extent]
            if not wanted:
                break
            lost = [s for s in missing if s in wanted]
            if lost:
                for j, s in enumerate(inputs):
                    readers.read_into(s, src[j, :n], row.shard_offset + pos)
                codec.reconstruct({s: src[j, :n] for j, s in enumerate(inputs)}, lost,
                                  [rebuilt[j, :n] for j in range(len(lost))], volume_id=volume_id)
            for s in wanted:
                dat_at = row.dat_offset + s * row.block + pos
                take = min(n, extent - dat_at)
                if s in lost:
                    piece = rebuilt[lost.index(s), :take]
                else:  # present data shards are always among the inputs (lowest ids first)
                    piece = src[inputs.index(s), :take]
                    if not lost:
                        readers.read_into(s, piece, row.shard_offset + pos)
                pwrite_all(fd, piece.data, dat_at)
