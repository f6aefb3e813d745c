"""`POST /dst?cp.from=/src` (reference §5.6): copy a file or a directory tree inside the filer.

A copy never shares chunks with its source: each file's bytes are read from the volumes and
written again through the normal write path (chunks.write_data), so deleting either side cannot
free the other's data.

A copy is atomic: first every file's data is copied (each chunk recorded under ONE pending-upload
ticket before it is stored, uploads.py), then every entry of the tree is committed in ONE core
transaction (FilerCore.create_many). A copy that fails anywhere (a source chunk that cannot be
read, a volume that refuses a write, a conflict at commit) commits nothing, and the chunks it
stored go to the deletion queue through the ticket; a filer killed meanwhile leaves them to the
pending-upload sweep. The price: the tree's entries are held in memory and committed in one
transaction (fine for the trees cp.from is used on; a very large tree makes a long transaction).

Imports the core and chunks only; no kelp_http, no grpc, no ops.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kelp_pb import weed_filer_pb2 as filer_pb

from controlplane.filer import entry as entries
from controlplane.filer import paths
from controlplane.filer.chunks import AssignSpec, VolumeIO, iter_range, write_data
from controlplane.filer.core import FilerCore
from controlplane.filer.errors import FilerError
from controlplane.filer.uploads import UploadTicket

LIST_PAGE = 1000  # children listed per core call while a directory tree is copied


class InvalidCopy(FilerError):
    """A copy kelp refuses: onto itself or into its own subtree."""

    def __init__(self, src: str, dst: str, reason: str) -> None:
        super().__init__(f"copy {src} to {dst}: {reason}")
        self.src = src
        self.dst = dst
        self.reason = reason


@dataclass(slots=True)
class _Plan:
    """What one copy commits: (directory, entry) in tree order (parents first)."""

    ticket: UploadTicket
    items: list[tuple[str, filer_pb.Entry]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CopyJob:
    core: FilerCore
    volumes: VolumeIO
    spec: AssignSpec
    chunk_size: int

    async def copy(self, src: str, dst: str, source: filer_pb.Entry) -> None:
        """Copy `source` (the entry at `src`) to the full path `dst`: all of it or nothing."""
        if dst == src or dst.startswith(src.rstrip("/") + "/"):
            raise InvalidCopy(src, dst, "the destination is the source or inside it")
        plan = _Plan(self.core.uploads.ticket())
        try:
            await self._gather(plan, src, dst, source)
            await self.core.create_many(plan.items, upload=plan.ticket)
        except BaseException:
            # Every chunk this copy stored is a pending-upload row of its ticket: queued now (a
            # commit cut off after it went through left no rows, so nothing it committed is).
            await self.core.discard_chunks((), upload=plan.ticket)
            raise

    async def _gather(self, plan: _Plan, src: str, dst: str, source: filer_pb.Entry) -> None:
        directory, name = paths.split(dst)
        if not entries.is_directory(source):
            plan.items.append((directory, await self._copy_file(plan.ticket, dst, source)))
            return
        made = filer_pb.Entry()
        made.CopyFrom(source)
        made.name = name
        entries.set_times(made.attributes, self.core.now_ns(), created=True)
        plan.items.append((directory, made))
        start = ""
        while True:
            page = await self.core.list(src, start=start, limit=LIST_PAGE)
            for child in page:
                await self._gather(plan, paths.join(src, child.name), paths.join(dst, child.name), child)
            if len(page) < LIST_PAGE:
                return
            start = page[-1].name

    async def _copy_file(self, ticket: UploadTicket, dst: str, source: filer_pb.Entry) -> filer_pb.Entry:
        """The entry to commit at `dst`, its data copied into chunks of its own."""
        name = paths.split(dst)[1]
        now = self.core.now_ns()
        entry = filer_pb.Entry()
        entry.CopyFrom(source)
        entry.name = name
        del entry.chunks[:]
        entry.hard_link_id, entry.hard_link_counter = b"", 0  # the copy is a file of its own
        entries.set_times(entry.attributes, now, created=True)
        if source.content or not source.chunks:
            return entry
        body = iter_range(self.volumes, source.chunks, 0, entries.file_size(source))
        # A failure raises ChunkWriteFailed (a source read failing too); every chunk it stored was
        # recorded on the ticket first, so copy() queues them.
        written = await write_data(
            self.volumes, body, chunk_size=self.chunk_size, spec=self.spec, name=name,
            mime=source.attributes.mime, now_ns=now, path=dst, record=ticket.record)
        entry.chunks.extend(written.chunks)
        entry.attributes.file_size, entry.attributes.md5 = written.size, written.md5
        return entry
