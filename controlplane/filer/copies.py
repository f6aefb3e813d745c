"""`POST /dst?cp.from=/src` (reference §5.6): copy a file or a directory tree inside the filer.

A copy never shares chunks with its source: each file's bytes are read from the volumes and
written again through the normal write path (chunks.write_data), so deleting either side cannot
free the other's data. Files are committed one by one (each its own core transaction, like an
upload); a directory copy that fails half way leaves the files it already copied.

Imports the core and chunks only; no kelp_http, no grpc, no ops.
"""

from __future__ import annotations

from dataclasses import dataclass

from kelp_pb import weed_filer_pb2 as filer_pb

from controlplane.filer import entry as entries
from controlplane.filer import paths
from controlplane.filer.chunks import AssignSpec, VolumeIO, iter_range, referenced_fids, write_data
from controlplane.filer.core import FilerCore
from controlplane.filer.errors import ChunkWriteFailed, FilerError

LIST_PAGE = 1000  # children listed per core call while a directory tree is copied


class InvalidCopy(FilerError):
    """A copy kelp refuses: onto itself or into its own subtree."""

    def __init__(self, src: str, dst: str, reason: str) -> None:
        super().__init__(f"copy {src} to {dst}: {reason}")
        self.src = src
        self.dst = dst
        self.reason = reason


@dataclass(frozen=True, slots=True)
class CopyJob:
    core: FilerCore
    volumes: VolumeIO
    spec: AssignSpec
    chunk_size: int

    async def copy(self, src: str, dst: str, source: filer_pb.Entry) -> None:
        """Copy `source` (the entry at `src`) to the full path `dst`."""
        if dst == src or dst.startswith(src.rstrip("/") + "/"):
            raise InvalidCopy(src, dst, "the destination is the source or inside it")
        if entries.is_directory(source):
            await self._copy_tree(src, dst, source)
        else:
            await self._copy_file(dst, source)

    async def _copy_tree(self, src: str, dst: str, source: filer_pb.Entry) -> None:
        existing = await self.core.find(dst)
        if existing is None:
            made = filer_pb.Entry()
            made.CopyFrom(source)
            made.name = paths.split(dst)[1]
            entries.set_times(made.attributes, self.core.now_ns(), created=True)
            await self.core.create(paths.split(dst)[0], made, o_excl=True)
        start = ""
        while True:
            page = await self.core.list(src, start=start, limit=LIST_PAGE)
            for child in page:
                await self.copy(paths.join(src, child.name), paths.join(dst, child.name), child)
            if len(page) < LIST_PAGE:
                return
            start = page[-1].name

    async def _copy_file(self, dst: str, source: filer_pb.Entry) -> None:
        directory, name = paths.split(dst)
        now = self.core.now_ns()
        entry = filer_pb.Entry()
        entry.CopyFrom(source)
        entry.name = name
        del entry.chunks[:]
        entry.hard_link_id, entry.hard_link_counter = b"", 0  # the copy is a file of its own
        entries.set_times(entry.attributes, now, created=True)
        if source.content or not source.chunks:
            await self.core.create(directory, entry)
            return
        size = entries.file_size(source)
        ticket = self.core.uploads.ticket()  # chunks are recorded before they are stored (uploads.py)
        try:
            body = iter_range(self.volumes, source.chunks, 0, size)
            written = await write_data(
                self.volumes, body, chunk_size=self.chunk_size, spec=self.spec, name=name,
                mime=source.attributes.mime, now_ns=now, path=dst, record=ticket.record)
        except ChunkWriteFailed as err:
            await self.core.discard_chunks(err.written, upload=ticket)
            raise
        try:
            entry.chunks.extend(written.chunks)
            entry.attributes.file_size, entry.attributes.md5 = written.size, written.md5
            await self.core.create(directory, entry, upload=ticket)
        except BaseException:
            await self.core.discard_chunks(referenced_fids(written.chunks), upload=ticket)
            raise
