"""Finding an EC volume's files across a server's data directories, and writing new shard
files so that no reader ever sees a half-written one.

A server with several data directories may hold a volume's shards in any of them, and its
`.ecx`/`.ecj`/`.vif` next to some of them. Files are named `<base name>.ecNN` (`base name` is
`<collection>_<vid>`, or `<vid>` for the empty collection).

New shard files are written under unique temporary names and renamed into place on commit
(after fsync), so two runs on the same volume never interleave their bytes in one file: the
last rename wins and every file is whole. File I/O only; no network imports.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Sequence

import numpy as np

from dataplane.volume.engine.ec.errors import ShardReadError, ShardSizeMismatch
from dataplane.volume.engine.ec.geometry import shard_ext
from dataplane.volume.engine.files import fsync_dir, unlink_if_exists

MAX_SHARD_ID = 31  # SeaweedFS's shard bitmask is 32 bits


def find_shards(directories: Sequence[str], base_name: str, total_shards: int) -> dict[int, str]:
    """Shard id -> path of each non-empty shard file in the directories (first one found wins).

    A zero-length shard file is the residue of a failed copy or encode, not a shard."""
    found: dict[int, str] = {}
    for shard in range(total_shards):
        for directory in directories:
            path = os.path.join(directory, base_name + shard_ext(shard))
            try:
                size = os.stat(path).st_size
            except FileNotFoundError:
                continue
            if size > 0:
                found[shard] = path
                break
    return found


def find_file(directories: Sequence[str], base_name: str, ext: str) -> str | None:
    """Path of `<base name><ext>` in the first directory that has it."""
    for directory in directories:
        path = os.path.join(directory, base_name + ext)
        if os.path.exists(path):
            return path
    return None


def pwrite_all(fd: int, data: bytes | memoryview, offset: int) -> None:
    """pwrite until every byte is written (any buffer; files.write_all takes bytes)."""
    view = memoryview(data).cast("B")
    while view:
        n = os.pwrite(fd, view, offset)
        if n <= 0:
            raise OSError(f"write made no progress at offset {offset}")
        view = view[n:]
        offset += n


class ShardFileSet:
    """New files for some shards of a volume, under temporary names until commit()."""

    def __init__(self, directory: str, base_name: str, shards: Iterable[int]) -> None:
        self.directory = directory
        token = uuid.uuid4().hex[:12]
        self.final = {s: os.path.join(directory, base_name + shard_ext(s)) for s in shards}
        self.temp = {s: f"{path}.{token}.tmp" for s, path in self.final.items()}
        self.fds: dict[int, int] = {}
        try:
            for s, path in self.temp.items():
                self.fds[s] = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except BaseException:
            self.abort()
            raise

    def write(self, shard: int, data: bytes | memoryview, offset: int) -> None:
        pwrite_all(self.fds[shard], data, offset)

    def writev(self, shard: int, buffers: list[memoryview], offset: int) -> None:
        """Write several buffers back to back at offset (one syscall when the kernel takes it all)."""
        total = sum(len(b) for b in buffers)
        written = os.pwritev(self.fds[shard], buffers, offset)
        if written != total:
            pwrite_all(self.fds[shard], b"".join(buffers)[written:], offset + written)

    def commit(self) -> list[str]:
        """fsync every file, rename each over its final name, fsync the directory."""
        for fd in self.fds.values():
            os.fsync(fd)
        self._close()
        for s, tmp in self.temp.items():
            os.replace(tmp, self.final[s])
        fsync_dir(self.directory)
        self.temp = {}
        return [self.final[s] for s in sorted(self.final)]

    def abort(self) -> None:
        """Close and remove the temporary files; final names are untouched."""
        self._close()
        for tmp in self.temp.values():
            unlink_if_exists(tmp)
        self.temp = {}

    def _close(self) -> None:
        for fd in self.fds.values():
            os.close(fd)
        self.fds = {}


class ShardReaders:
    """Open descriptors on a volume's local shard files (all of one size), for preads.

    Descriptors of removed shards are closed only at close(), so a read racing a removal
    never touches a recycled descriptor number."""

    def __init__(self, volume_id: int, paths: dict[int, str]) -> None:
        self.volume_id = volume_id
        self.paths: dict[int, str] = {}
        self._fds: dict[int, int] = {}
        self._retired: list[int] = []
        self.size = -1
        try:
            for shard, path in sorted(paths.items()):
                self.add(shard, path)
        except BaseException:
            self.close()
            raise

    def add(self, shard: int, path: str) -> None:
        fd = os.open(path, os.O_RDONLY)
        size = os.fstat(fd).st_size
        if self.size >= 0 and size != self.size:
            os.close(fd)
            sizes = {s: os.path.getsize(p) for s, p in self.paths.items()} | {shard: size}
            raise ShardSizeMismatch(self.volume_id, sizes)
        if shard in self._fds:
            self._retired.append(self._fds[shard])
        self._fds[shard] = fd
        self.paths[shard] = path
        self.size = size

    def remove(self, shard: int) -> None:
        fd = self._fds.pop(shard, None)
        self.paths.pop(shard, None)
        if fd is not None:
            self._retired.append(fd)
        if not self._fds:
            self.size = -1

    @property
    def ids(self) -> tuple[int, ...]:
        return tuple(sorted(self._fds))

    def __contains__(self, shard: object) -> bool:
        return shard in self._fds

    def read(self, shard: int, offset: int, length: int) -> bytes:
        """length bytes at offset of a local shard; ShardReadError if absent or short."""
        fd = self._fds.get(shard)
        if fd is None:
            raise ShardReadError(self.volume_id, shard, offset, length, "shard not present here")
        try:
            data = os.pread(fd, length, offset)
        except OSError as err:
            raise ShardReadError(self.volume_id, shard, offset, length, str(err)) from err
        if len(data) != length:
            raise ShardReadError(self.volume_id, shard, offset, length,
                                 f"shard ends early ({len(data)} bytes)")
        return data

    def read_into(self, shard: int, buf: np.ndarray, offset: int) -> None:
        """Fill buf from a local shard at offset; ShardReadError if short."""
        fd = self._fds.get(shard)
        length = len(buf)
        if fd is None:
            raise ShardReadError(self.volume_id, shard, offset, length, "shard not present here")
        view = buf.data
        got = 0
        try:
            while got < length:
                n = os.preadv(fd, [view[got:]], offset + got)
                if n <= 0:
                    raise ShardReadError(self.volume_id, shard, offset, length,
                                         f"shard ends early ({got} bytes)")
                got += n
        except OSError as err:
            raise ShardReadError(self.volume_id, shard, offset, length, str(err)) from err

    def close(self) -> None:
        for fd in [*self._fds.values(), *self._retired]:
            os.close(fd)
        self._fds = {}
        self._retired = []
        self.paths = {}
