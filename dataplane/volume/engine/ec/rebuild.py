"""Rebuild missing shard files of an EC volume from any `data_shards` present ones.

Shards may be spread over several data directories (a server with several disks); the
rebuilt files go to one output directory. Streamed: `buffer_size` bytes of each of the ten
inputs and of each rebuilt shard at a time, so memory stays near 14 x buffer_size whatever the
shard size. Rebuilt files are written under temporary names and renamed into place once whole
and fsynced. Rebuild does not depend on the block layout (every byte offset of every shard
is one Reed-Solomon codeword), so it works for weed's uniform and legacy volumes alike.

Zero-length shard files count as missing and are replaced (weed leaves them after a failed
copy). The `.ecx`/`.ecj`/`.vif` are not touched here; a server folds the journal in with
index.apply_journal first, as weed does.

Synchronous, disk bound: servers run it in a worker thread. No network imports.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from dataplane.volume.engine.ec.codec import ReedSolomon
from dataplane.volume.engine.ec.errors import TooFewShards
from dataplane.volume.engine.ec.shard_files import ShardFileSet, ShardReaders, find_shards

DEFAULT_BUFFER_SIZE = 4 << 20


@dataclass(frozen=True, slots=True)
class RebuildResult:
    rebuilt: list[int]  # shard ids written
    paths: list[str]
    shard_size: int


def rebuild_shards(base_name: str, directories: Sequence[str], *, out_dir: str | None = None,
                   volume_id: int = 0, codec: ReedSolomon | None = None, only: Iterable[int] | None = None,
                   buffer_size: int = DEFAULT_BUFFER_SIZE) -> RebuildResult:
    """Write every missing shard (or just those in `only`) of `<base_name>` into out_dir
    (default: the first directory). TooFewShards if fewer than data_shards are present."""
    codec = codec or ReedSolomon()
    found = find_shards(directories, base_name, codec.total_shards)
    present = tuple(sorted(found))
    if len(present) < codec.data_shards:
        raise TooFewShards(volume_id, present, codec.data_shards)
    wanted = sorted(set(only) - set(present)) if only is not None else \
        [s for s in range(codec.total_shards) if s not in found]
    readers = ShardReaders(volume_id, found)
    try:
        if not wanted:
            return RebuildResult([], [], readers.size)
        directory = out_dir or directories[0]
        out = ShardFileSet(directory, base_name, wanted)
        try:
            _rebuild(readers, present[: codec.data_shards], wanted, codec, out, buffer_size, volume_id)
            paths = out.commit()
        except BaseException:
            out.abort()
            raise
        # A zero-length residue in another directory would shadow nothing (find_shards skips it)
        # but confuses operators; the rebuilt file is the shard now.
        for shard in wanted:
            for d in directories:
                stale = os.path.join(d, os.path.basename(out.final[shard]))
                if d != directory and os.path.exists(stale) and os.path.getsize(stale) == 0:
                    os.unlink(stale)
        return RebuildResult(wanted, paths, readers.size)
    finally:
        readers.close()


def _rebuild(readers: ShardReaders, inputs: tuple[int, ...], wanted: list[int], codec: ReedSolomon,
             out: ShardFileSet, buffer_size: int, volume_id: int) -> None:
    size = readers.size
    chunk = max(1, min(buffer_size, size))
    src = np.empty((len(inputs), chunk), dtype=np.uint8)
    dst = np.empty((len(wanted), chunk), dtype=np.uint8)
    for pos in range(0, size, chunk):
        n = min(chunk, size - pos)
        for j, shard in enumerate(inputs):
            readers.read_into(shard, src[j, :n], pos)
        codec.reconstruct({shard: src[j, :n] for j, shard in enumerate(inputs)}, wanted,
                          [dst[j, :n] for j in range(len(wanted))], volume_id=volume_id)
        for j, shard in enumerate(wanted):
            out.write(shard, dst[j, :n].data, pos)
