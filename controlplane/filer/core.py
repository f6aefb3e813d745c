"""The filer core: the namespace (entries in directories) over a FilerStore, with no transport.

Every mutation is ONE store transaction that writes the entry rows, one change-log row per event
(`tx.log_change`, a serialized `filer_pb.SubscribeMetadataResponse`) and the chunk file ids no
entry references any more (`tx.queue_chunk_deletions`), so a crash at any point leaves either all
of it or none. The store is synchronous; each transaction runs in a worker thread.

Paths are normal (paths.normalize) absolute paths; the root "/" always exists and is not stored.
Entries are `filer_pb.Entry` messages, stored serialized. Event shapes follow the gRPC reference
§5.3: create = new only, update = old + new (same place), delete = old only, rename = old + new
with `directory` the old parent and `new_parent_path` the new one (set whenever new_entry is).
Each event carries the request's signatures plus this filer's, and a `ts_ns` that increases
strictly within this filer (several events of one transaction get consecutive stamps).

Must not import kelp_http, grpc, SQLAlchemy or ops; the store and the volume servers are reached
through their seams (`FilerStore`, chunks.VolumeIO).
"""

from __future__ import annotations

import builtins
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast

from kelp_pb import weed_filer_pb2 as filer_pb

from controlplane.filer import entry as entries
from controlplane.filer import hardlinks, paths, ttl
from controlplane.filer.chunks import Assignment, AssignSpec, VolumeIO, VolumeLocation, referenced_fids
from controlplane.filer.errors import (
    DirectoryNotEmpty,
    EntryExists,
    EntryNotFound,
    ExistingIsDirectory,
    ExistingIsFile,
    InvalidRename,
    ParentIsFile,
)
from controlplane.filer.group_commit import GroupCommitter
from controlplane.filer.path_rules import PathRules
from controlplane.filer.store.errors import EntryExists as StoreEntryExists
from controlplane.filer.store.errors import TransactionConflict
from controlplane.filer.uploads import UploadJournal, UploadReclaimed, UploadTicket

if TYPE_CHECKING:
    from controlplane.filer.store import ChangeRow, FilerStore, Tx

log = logging.getLogger(__name__)

T = TypeVar("T")
# A queued mutation: its work and the request's signatures.
_Job = tuple[Callable[["_Mutation"], Any], Sequence[int]]
# A queued read, and what it gives back: its result and the expired entries it met (ttl.py).
_ReadJob = Callable[["_Mutation"], Any]
_ReadOutcome = tuple[Any, list[tuple[str, str]]]
# A transaction that lost a race (another filer created the same parent directory, or
# PostgreSQL aborted it as a deadlock victim) is run again from the start, this many times.
TRANSACTION_ATTEMPTS = 5
LIST_PAGE = 1000  # rows per store listing while walking a tree (delete, rename)


@dataclass(frozen=True, slots=True)
class FilerStatistics:
    signature: int
    last_ts_ns: int


class _Stamps:
    """Strictly increasing ns stamps from a wall clock (two events never share one)."""

    def __init__(self, clock: Callable[[], int]) -> None:
        self._clock = clock
        self._last = 0
        self._lock = threading.Lock()  # transactions run on worker threads

    def next(self) -> int:
        with self._lock:
            self._last = max(self._clock(), self._last + 1)
            return self._last

    @property
    def last(self) -> int:
        return self._last


class _Mutation:
    """One transaction's writes: entries, events and dropped chunks go through here."""

    def __init__(self, core: FilerCore, tx: Tx, signatures: Sequence[int]) -> None:
        self.core = core
        self.tx = tx
        self.signatures = [*signatures, core.signature]
        self.events: list[filer_pb.SubscribeMetadataResponse] = []
        self.queued_chunks = False
        # After commit: the change-log rows as committed (for a batch, on its first job only).
        self.committed: Sequence[ChangeRow] = ()
        self.read_only = False  # _read's: expired entries are remembered, not deleted (load)
        self.expired: list[tuple[str, str]] = []

    def find(
        self, directory: str, name: str, *, for_update: bool = False, for_share: bool = False
    ) -> filer_pb.Entry | None:
        """The entry or None; for_update locks its row until commit (every read that a write in
        this transaction is based on: on PostgreSQL a concurrent writer of the same entry waits,
        so neither drops the other's chunks nor logs a stale old_entry); for_share takes a shared
        lock (a parent directory, see ensure_directory)."""
        if directory == paths.ROOT and not name:
            return entries.root_entry()
        blob = self.tx.find(directory, name, for_update=for_update, for_share=for_share)
        return self.load(directory, blob) if blob is not None else None

    def load(self, directory: str, blob: bytes) -> filer_pb.Entry | None:
        """A stored entry as readers see it: hard links resolved (hardlinks.py); None once its TTL
        passed (ttl.py), deleted here with its chunks queued, or in a read-only transaction
        remembered in `expired` for _read to delete after."""
        entry = filer_pb.Entry.FromString(blob)
        hardlinks.resolve(self.tx, entry)
        if not ttl.is_expired(entry, self.core.clock):
            return entry
        if self.read_only:
            self.expired.append((directory, entry.name))
        else:
            self.tx.delete(directory, entry.name)
            self.log(directory, entry, None, delete_chunks=self.drop_chunks(entry, None))
        return None

    def find_path(self, path: str) -> filer_pb.Entry | None:
        return self.find(*paths.split(path))

    def log(
        self, directory: str, old: filer_pb.Entry | None, new: filer_pb.Entry | None,
        new_parent: str = "", *, delete_chunks: bool = False,
    ) -> filer_pb.SubscribeMetadataResponse:
        ts_ns = self.core._stamps.next()
        event = filer_pb.SubscribeMetadataResponse(directory=directory, ts_ns=ts_ns)
        note = event.event_notification
        if old is not None:
            note.old_entry.CopyFrom(old)
        if new is not None:
            note.new_entry.CopyFrom(new)
            note.new_parent_path = new_parent or directory
        note.delete_chunks = delete_chunks
        note.signatures.extend(self.signatures)
        self.tx.log_change(directory, ts_ns, event.SerializeToString())
        self.events.append(event)
        return event

    def drop_chunks(
        self, old: filer_pb.Entry | None, new: filer_pb.Entry | None, *, keep_data: bool = False
    ) -> bool:
        """Queue the chunks `old` has and `new` does not; True if any were queued. Hard link
        counts are settled first: content another name still holds is never queued."""
        if not hardlinks.settle(self.tx, old, new) or keep_data:
            return False
        if old is None or not old.chunks:
            return False
        dropped = referenced_fids(old.chunks) - (referenced_fids(new.chunks) if new is not None else set())
        if dropped:
            self.tx.queue_chunk_deletions(sorted(dropped))
            self.queued_chunks = True
        return bool(dropped)

    def finish_upload(self, ticket: UploadTicket | None) -> None:
        """The commit of a request's uploads: its pending-upload rows go (the chunks are the
        entry's now). Raises UploadReclaimed (rolling back) when a sweep took some of them."""
        if ticket is None or not ticket.recorded:
            return
        found = len(self.tx.finish_upload(ticket.uploader, ticket.request))
        if found != ticket.recorded:
            raise UploadReclaimed(ticket.uploader, ticket.request, ticket.recorded, found)

    def put(
        self, directory: str, old: filer_pb.Entry | None, entry: filer_pb.Entry
    ) -> filer_pb.SubscribeMetadataResponse:
        """Insert `entry`, or replace `old` (read for update) with it: a file replaces a file, a
        directory a directory; the chunks `old` no longer shares are queued."""
        if old is None:
            _keep_identity(None, entry)
            hardlinks.settle(self.tx, None, entry)
            self.tx.insert(directory, entry.name, entry.SerializeToString())
            return self.log(directory, None, entry, directory)
        path = paths.join(directory, entry.name)
        if entries.is_directory(old) and not entries.is_directory(entry):
            raise ExistingIsDirectory(path)
        if not entries.is_directory(old) and entries.is_directory(entry):
            raise ExistingIsFile(path)
        _keep_identity(old, entry)
        self.tx.upsert(directory, entry.name, entry.SerializeToString())
        dropped = self.drop_chunks(old, entry)
        return self.log(directory, old, entry, directory, delete_chunks=dropped)

    def ensure_directory(self, path: str) -> None:
        """Make `path` and its missing ancestors directories (ModeDir|0771, one create event
        each); ParentIsFile when one of them is a file.

        The nearest existing ancestor is read FOR SHARE (PostgreSQL, READ COMMITTED), so no
        entry is ever committed under a directory a concurrent recursive delete or rename removes:
        those take the directory FOR UPDATE, and every row below it through children() (FOR
        UPDATE) before deleting it, each directory's listing a statement of its own.
        - This share lock first: the walk's FOR UPDATE of that row waits until this transaction
          commits; its next statement (listing that directory) takes a new snapshot, so it sees
          and removes what was created here.
        - The walk's lock first: this FOR SHARE waits; the walker deleted the row, so it returns
          no row when the walker commits (a locked row that was deleted is skipped), and the
          directory is made again here, up to an ancestor that still exists (locked the same way).
        Rows made here below the locked ancestor are new, so no walker can hold them. Share locks
        never block each other: creates in one directory run side by side. A lock cycle (a group
        commit batch holding a share lock a walker waits on while a later job waits on the
        walker) is a deadlock PostgreSQL breaks: TransactionConflict, and the jobs run again."""
        if path == paths.ROOT:
            return
        found = self.find(*paths.split(path), for_share=True)
        if found is not None:
            if not entries.is_directory(found):
                raise ParentIsFile(path, path)
            return
        parent, name = paths.split(path)
        self.ensure_directory(parent)
        made = entries.new_directory(name, entries.IMPLICIT_DIR_MODE, self.core._stamps.next())
        self.tx.insert(parent, name, made.SerializeToString())  # a racing twin raises: retried
        self.log(parent, None, made, parent)

    def children(self, directory: str) -> Iterable[tuple[str, filer_pb.Entry]]:
        """Every child of `directory`, paged from the store in name order, each row locked (the
        walks of delete and rename rewrite what they read)."""
        start = ""
        while True:
            page = self.tx.list(directory, start=start, inclusive=False, limit=LIST_PAGE, for_update=True)
            for name, blob in page:
                child = self.load(directory, blob)
                if child is not None:
                    yield name, child
            if len(page) < LIST_PAGE:
                return
            start = page[-1][0]


class FilerCore:
    """The filer namespace. `signature` is this filer's random int32 (loop prevention)."""

    def __init__(
        self,
        store: FilerStore,
        volumes: VolumeIO | None = None,
        *,
        signature: int | None = None,
        clock: Callable[[], int] = time.time_ns,
        on_chunks_queued: Callable[[], None] | None = None,
        uploads: UploadJournal | None = None,
    ) -> None:
        self.store = store
        # Pending-upload records of this process (uploads.py); serve() gives one with its address.
        self.uploads = uploads if uploads is not None else UploadJournal(store)
        self.volumes = volumes
        self._on_chunks_queued = on_chunks_queued  # called after a commit that queued chunks
        # Called (on the loop) after every commit that logged events, with the change-log rows it
        # committed: SubscribeMetadata's notifier wakes local subscribers at once and hands them
        # the rows, instead of their next poll and store read.
        self.commit_listeners: list[Callable[[Sequence[ChangeRow]], None]] = []
        # A non-zero int32: 0 means "no signature" to SubscribeMetadata.
        self.signature = signature if signature is not None else (secrets.randbits(31) or 1)
        self.clock = clock  # unix ns; TTL expiry reads it too
        self._stamps = _Stamps(clock)
        self._commits: GroupCommitter[_Job, tuple[Any, _Mutation]] = GroupCommitter(self._run_batch)
        # Each batcher runs one batch at a time, so each keeps one connection (store.StoreLane).
        self._write_lane = store.lane()
        self._read_lane = store.lane()
        self._reads: GroupCommitter[_ReadJob, _ReadOutcome] = GroupCommitter(self._read_batch)
        # Called (on the loop) with a commit's events, after the commit: filer.conf reloads.
        self.event_listeners: list[Callable[[Sequence[filer_pb.SubscribeMetadataResponse]], None]] = []
        self.path_rules = PathRules()  # filer.conf (path_rules.py); serve() keeps it loaded

    def statistics(self) -> FilerStatistics:
        return FilerStatistics(self.signature, self._stamps.last)

    def now_ns(self) -> int:
        """A fresh stamp from this filer's clock (strictly after every event stamped so far)."""
        return self._stamps.next()

    # -- running transactions ----------------------------------------------------------------

    async def _run(self, work: Callable[[_Mutation], T], signatures: Sequence[int] = ()) -> T:
        result, mutation = await self._commits.submit((work, signatures))
        if mutation.queued_chunks and self._on_chunks_queued is not None:
            self._on_chunks_queued()
        if mutation.events:
            for listener in self.commit_listeners:
                listener(mutation.committed)
            for event_listener in self.event_listeners:
                event_listener(mutation.events)
        return cast(T, result)

    def _run_batch(self, jobs: Sequence[_Job]) -> builtins.list[tuple[Any, _Mutation] | BaseException]:
        """Group commit (group_commit.py): the jobs in ONE transaction, each seeing the ones
        before it. If any job raises, or the batch loses a race, the transaction is rolled back and
        every job runs again in its own transaction, so one job's error or conflict never reaches
        another: each outcome is what that job would have met alone in that order."""
        if len(jobs) > 1:
            try:
                with self.store.transaction(lane=self._write_lane) as tx:
                    done = []
                    for work, signatures in jobs:
                        mutation = _Mutation(self, tx, signatures)
                        done.append((work(mutation), mutation))
                done[0][1].committed = tx.committed
                return list(done)
            except Exception as err:
                log.debug("batch of %d mutations rolled back, running each alone reason=%s", len(jobs), err)
        outcomes: builtins.list[tuple[Any, _Mutation] | BaseException] = []
        for work, signatures in jobs:
            try:
                outcomes.append(self._run_sync(work, signatures))
            except Exception as err:
                outcomes.append(err)
        return outcomes

    def _run_sync(self, work: Callable[[_Mutation], T], signatures: Sequence[int]) -> tuple[T, _Mutation]:
        for attempt in range(1, TRANSACTION_ATTEMPTS + 1):
            try:
                with self.store.transaction(lane=self._write_lane) as tx:
                    mutation = _Mutation(self, tx, signatures)
                    result = work(mutation)
                mutation.committed = tx.committed
                return result, mutation
            except (StoreEntryExists, TransactionConflict) as err:
                if attempt == TRANSACTION_ATTEMPTS:
                    raise
                log.debug("transaction retried attempt=%d reason=%s", attempt, err)
        raise AssertionError("unreachable")

    async def _read(self, work: Callable[[_Mutation], T]) -> T:
        result, expired = await self._reads.submit(work)
        if expired:  # the read came across entries whose TTL passed: delete them now (ttl.py)
            await self._expire(expired)
        return cast(T, result)

    def _read_batch(self, works: Sequence[_ReadJob]) -> builtins.list[_ReadOutcome | BaseException]:
        """Reads queued together share one read-only snapshot (taken after each was asked for)
        and one thread hop; if any raises, each runs again alone, so one read's error never
        reaches another."""
        if len(works) > 1:
            try:
                with self.store.transaction(read_only=True, lane=self._read_lane) as tx:
                    return [self._read_in(tx, work) for work in works]
            except Exception as err:
                log.debug("batch of %d reads failed, running each alone reason=%s", len(works), err)
        outcomes: builtins.list[_ReadOutcome | BaseException] = []
        for work in works:
            try:
                with self.store.transaction(read_only=True, lane=self._read_lane) as tx:
                    outcomes.append(self._read_in(tx, work))
            except Exception as err:
                outcomes.append(err)
        return outcomes

    def _read_in(self, tx: Tx, work: _ReadJob) -> _ReadOutcome:
        m = _Mutation(self, tx, ())
        m.read_only = True
        return work(m), m.expired

    async def _expire(self, places: Sequence[tuple[str, str]]) -> None:
        try:  # a find in a write transaction deletes what is (still) expired
            await self._run(lambda m: [m.find(d, n, for_update=True) for d, n in places])
        except Exception as err:  # lazy: the next read that meets them tries again
            log.warning("deleting expired entries failed count=%d error=%s", len(places), err)

    # -- reads ---------------------------------------------------------------------------------

    async def lookup(self, directory: str, name: str) -> filer_pb.Entry:
        """The entry at (directory, name); ("/", "") is the root. Raises EntryNotFound."""
        found = await self._read(lambda m: m.find(directory, name))
        if found is None:
            raise EntryNotFound(paths.join(directory, name))
        return found

    async def find(self, path: str) -> filer_pb.Entry | None:
        """The entry at a normal path, or None."""
        return await self._read(lambda m: m.find_path(path))

    async def find_with_parent(self, path: str) -> tuple[filer_pb.Entry | None, filer_pb.Entry | None]:
        """The entry at a normal path and, only when there is none, its parent's entry (None:
        missing too), in one read: an upload's target check costs one store round trip."""

        def work(m: _Mutation) -> tuple[filer_pb.Entry | None, filer_pb.Entry | None]:
            found = m.find_path(path)
            if found is not None or path == paths.ROOT:
                return found, None
            return None, m.find_path(paths.split(path)[0])

        return await self._read(work)

    async def list(
        self, directory: str, *, start: str = "", inclusive: bool = False, prefix: str = "", limit: int = 1000
    ) -> builtins.list[filer_pb.Entry]:
        """Children of `directory` in name (byte) order, after `start` (or from it, inclusive)."""
        found = await self.list_stored(directory, start=start, inclusive=inclusive, prefix=prefix,
                                       limit=limit)
        return [entry for entry, _ in found]

    async def list_stored(
        self, directory: str, *, start: str = "", inclusive: bool = False, prefix: str = "", limit: int = 1000
    ) -> builtins.list[tuple[filer_pb.Entry, bytes | None]]:
        """list(), each entry with its stored bytes when it reads exactly as stored (None for a
        hard link, whose content comes from its group): a key for what an entry renders to."""

        def work(m: _Mutation) -> builtins.list[tuple[filer_pb.Entry, bytes | None]]:
            found: builtins.list[tuple[filer_pb.Entry, bytes | None]] = []
            after, from_start = start, inclusive
            while len(found) < limit:  # expired entries are skipped: read on to fill the page
                want = limit - len(found)
                rows = m.tx.list(directory, start=after, inclusive=from_start, prefix=prefix, limit=want)
                for _, blob in rows:
                    entry = m.load(directory, blob)
                    if entry is not None:
                        found.append((entry, None if hardlinks.link_id(entry) else blob))
                if len(rows) < want:
                    break
                after, from_start = rows[-1][0], False
            return found

        return await self._read(work)

    # -- mutations -----------------------------------------------------------------------------

    async def create(
        self, directory: str, entry: filer_pb.Entry, *, o_excl: bool = False, signatures: Sequence[int] = (),
        skip_parent_check: bool = False, upload: UploadTicket | None = None,
    ) -> filer_pb.SubscribeMetadataResponse:
        """Create (or, without o_excl, replace) `entry` in `directory`, making missing parent
        directories unless `skip_parent_check`. Creating the root changes nothing and returns an
        event without a notification. `upload`: the request that stored the entry's chunks (its
        pending-upload rows are removed in this transaction)."""
        entry = _prepared(entry)

        def work(m: _Mutation) -> filer_pb.SubscribeMetadataResponse:
            if directory == paths.ROOT and not entry.name:
                return filer_pb.SubscribeMetadataResponse(directory=paths.ROOT, ts_ns=self._stamps.next())
            path = paths.join(directory, entry.name)
            if not skip_parent_check:
                m.ensure_directory(directory)
            m.finish_upload(upload)
            old = m.find(directory, entry.name, for_update=True)
            if old is not None and o_excl:
                raise EntryExists(path, entries.is_directory(old))
            return m.put(directory, old, entry)

        return await self._run(work, signatures)

    async def create_many(
        self, items: Sequence[tuple[str, filer_pb.Entry]], *, upload: UploadTicket | None = None,
        signatures: Sequence[int] = (),
    ) -> builtins.list[filer_pb.SubscribeMetadataResponse]:
        """Create or replace every (directory, entry) in ONE transaction, in order (parents before
        children; missing parents are made), as create() without o_excl does each, except that a
        directory already at a directory's place is kept as it is (copies.py: a tree copied onto
        another). `upload`: the request that stored all their chunks. All or nothing."""
        prepared = [(directory, _prepared(entry)) for directory, entry in items]

        def work(m: _Mutation) -> builtins.list[filer_pb.SubscribeMetadataResponse]:
            m.finish_upload(upload)
            for directory, entry in prepared:
                m.ensure_directory(directory)
                old = m.find(directory, entry.name, for_update=True)
                if old is None or not (entries.is_directory(old) and entries.is_directory(entry)):
                    m.put(directory, old, entry)
            return m.events

        return await self._run(work, signatures)

    async def mkdir(
        self, path: str, *, mode: int = entries.MKDIR_MODE, signatures: Sequence[int] = ()
    ) -> filer_pb.SubscribeMetadataResponse:
        """An explicit mkdir: EntryExists if anything is at `path` (HTTP 409)."""
        directory, name = paths.split(path)
        made = entries.new_directory(name, mode, self._stamps.next())
        return await self.create(directory, made, o_excl=True, signatures=signatures)

    async def update(
        self, directory: str, entry: filer_pb.Entry, *, signatures: Sequence[int] = ()
    ) -> filer_pb.SubscribeMetadataResponse:
        """Replace an existing entry (EntryNotFound if none); chunks it no longer lists are queued
        for deletion. Updating the root changes nothing."""
        entry = _prepared(entry)

        def work(m: _Mutation) -> filer_pb.SubscribeMetadataResponse:
            if directory == paths.ROOT and not entry.name:
                return filer_pb.SubscribeMetadataResponse(directory=paths.ROOT, ts_ns=self._stamps.next())
            path = paths.join(directory, entry.name)
            old = m.find(directory, entry.name, for_update=True)
            if old is None:
                raise EntryNotFound(path)
            if entries.is_directory(old) != entries.is_directory(entry):
                raise (ExistingIsDirectory(path) if entries.is_directory(old) else ExistingIsFile(path))
            _keep_identity(old, entry)
            m.tx.upsert(directory, entry.name, entry.SerializeToString())
            dropped = m.drop_chunks(old, entry)
            return m.log(directory, old, entry, directory, delete_chunks=dropped)

        return await self._run(work, signatures)

    async def write_chunks(
        self, path: str, chunks: Sequence[filer_pb.FileChunk], *, template: filer_pb.Entry,
        at: int | None = None, signatures: Sequence[int] = (), upload: UploadTicket | None = None,
    ) -> tuple[filer_pb.Entry, filer_pb.SubscribeMetadataResponse]:
        """Add chunks (offsets from 0) to the file at `path` in one transaction: at its end when
        `at` is None (op=append), else at offset `at` over what is there (newest wins). A missing
        file is created from `template` (name, mode, mime); parents are made as for create."""
        directory, name = paths.split(path)

        def work(m: _Mutation) -> tuple[filer_pb.Entry, filer_pb.SubscribeMetadataResponse]:
            m.ensure_directory(directory)
            m.finish_upload(upload)
            old = m.find(directory, name, for_update=True)
            if old is not None and entries.is_directory(old):
                raise ExistingIsDirectory(path)
            now = self._stamps.next()
            new = filer_pb.Entry()
            new.CopyFrom(old if old is not None else template)
            new.name = name
            base = entries.file_size(old) if old is not None else 0
            shift = base if at is None else at
            for chunk in chunks:
                placed = new.chunks.add()
                placed.CopyFrom(chunk)
                placed.offset += shift
                placed.modified_ts_ns = max(placed.modified_ts_ns, now)
            end = shift + sum(c.size for c in chunks)
            new.attributes.file_size = max(base, end)
            new.attributes.ClearField("md5")  # no longer the MD5 of the whole content
            entries.set_times(new.attributes, now, created=old is None)
            hardlinks.settle(m.tx, old, new)  # a linked file's group gets the new content
            if old is None:
                _keep_identity(None, new)
                m.tx.insert(directory, name, new.SerializeToString())
                return new, m.log(directory, None, new, directory)
            m.tx.upsert(directory, name, new.SerializeToString())
            return new, m.log(directory, old, new, directory)

        return await self._run(work, signatures)

    async def delete(
        self, directory: str, name: str, *, recursive: bool = False, ignore_recursive_error: bool = False,
        delete_data: bool = True, signatures: Sequence[int] = (),
    ) -> builtins.list[filer_pb.SubscribeMetadataResponse]:
        """Delete an entry (EntryNotFound if none). A non-empty directory needs `recursive`
        (else DirectoryNotEmpty); then every entry below goes too, children before their
        directory, one event each. `delete_data=False` leaves the chunks on the volume servers.
        Deleting the root deletes what is in it. `ignore_recursive_error` is accepted for the
        protocol: the walk happens inside one transaction, so it has no partial failures."""
        del ignore_recursive_error

        def remove_tree(m: _Mutation, directory: str, name: str, entry: filer_pb.Entry) -> None:
            path = paths.join(directory, name)
            if entries.is_directory(entry):
                for child_name, child in list(m.children(path)):
                    remove_tree(m, path, child_name, child)
            if name or directory != paths.ROOT:
                m.tx.delete(directory, name)
                dropped = m.drop_chunks(entry, None, keep_data=not delete_data)
                m.log(directory, entry, None, delete_chunks=dropped)

        def work(m: _Mutation) -> builtins.list[filer_pb.SubscribeMetadataResponse]:
            path = paths.join(directory, name)
            entry = m.find(directory, name, for_update=True)
            if entry is None:
                raise EntryNotFound(path)
            if entries.is_directory(entry) and not recursive and m.tx.has_children(path):
                raise DirectoryNotEmpty(path)
            remove_tree(m, directory, name, entry)
            return m.events

        return await self._run(work, signatures)

    async def rename(
        self, old_dir: str, old_name: str, new_dir: str, new_name: str, *, signatures: Sequence[int] = ()
    ) -> builtins.list[filer_pb.SubscribeMetadataResponse]:
        """Move an entry, and for a directory everything below it, in one transaction: one
        rename event per moved entry, each parent before its children. A file replaces a file
        at the destination (whose chunks are queued); a directory replaces an empty directory."""
        old_path, new_path = paths.join(old_dir, old_name), paths.join(new_dir, new_name)
        if not old_name:
            raise InvalidRename(old_path, new_path, "the root cannot be moved")
        if not new_name:
            raise InvalidRename(old_path, new_path, "nothing can replace the root")
        if new_path != old_path and paths.is_within(new_path, old_path):
            raise InvalidRename(old_path, new_path, "a directory cannot move into itself")

        def move(m: _Mutation, entry: filer_pb.Entry, src_dir: str, dst_dir: str, dst_name: str) -> None:
            src_path = paths.join(src_dir, entry.name)
            moved = filer_pb.Entry()
            moved.CopyFrom(entry)
            moved.name = dst_name
            m.tx.delete(src_dir, entry.name)
            m.tx.insert(dst_dir, dst_name, moved.SerializeToString())
            m.log(src_dir, entry, moved, dst_dir)
            if entries.is_directory(entry):
                dst_path = paths.join(dst_dir, dst_name)
                for _, child in list(m.children(src_path)):
                    move(m, child, src_path, dst_path, child.name)

        def work(m: _Mutation) -> builtins.list[filer_pb.SubscribeMetadataResponse]:
            entry = m.find(old_dir, old_name, for_update=True)
            if entry is None:
                raise EntryNotFound(old_path)
            if new_path == old_path:
                return []
            m.ensure_directory(new_dir)
            existing = m.find(new_dir, new_name, for_update=True)
            if existing is not None:
                if entries.is_directory(existing) and not entries.is_directory(entry):
                    raise ExistingIsDirectory(new_path)
                if not entries.is_directory(existing) and entries.is_directory(entry):
                    raise ExistingIsFile(new_path)
                if entries.is_directory(existing) and m.tx.has_children(new_path):
                    raise DirectoryNotEmpty(new_path)
                m.tx.delete(new_dir, new_name)
                dropped = m.drop_chunks(existing, None)
                m.log(new_dir, existing, None, delete_chunks=dropped)
            move(m, entry, old_dir, new_dir, new_name)
            return m.events

        return await self._run(work, signatures)

    async def discard_chunks(self, fids: Iterable[str], *, upload: UploadTicket | None = None) -> None:
        """Queue chunks that were written but never committed to an entry (a failed upload).
        With `upload`, what is queued is the request's pending-upload rows that are still
        there (`fids` is not needed): every chunk it stored, and nothing an entry committed in
        the meantime (a commit cut off from its caller may still have gone through)."""
        wanted = sorted(set(fids))
        if not wanted and (upload is None or not upload.recorded):
            return

        def work(m: _Mutation) -> None:
            queue = wanted
            if upload is not None and upload.recorded:
                queue = sorted(set(m.tx.finish_upload(upload.uploader, upload.request)))
            if queue:
                m.tx.queue_chunk_deletions(queue)
                m.queued_chunks = True

        await self._run(work)

    # -- volumes -------------------------------------------------------------------------------

    def _volumes(self) -> VolumeIO:
        if self.volumes is None:
            raise RuntimeError("this filer core has no volume access configured")
        return self.volumes

    async def assign(
        self, count: int = 1, collection: str = "", replication: str = "", ttl_sec: int = 0,
        disk_type: str = "", data_center: str = "", path: str = "",
    ) -> Assignment:
        spec = AssignSpec(collection=collection, replication=replication, ttl_sec=ttl_sec,
                          disk_type=disk_type, data_center=data_center)
        if path:  # filer.conf: the rule of the path fills what the request left empty
            spec = self.path_rules.storage(self.path_rules.check_write(paths.normalize(path)), spec)
        return await self._volumes().assign(spec, max(1, count))

    async def lookup_volume(self, vid: int) -> builtins.list[VolumeLocation]:
        return await self._volumes().locations(vid)


def _prepared(entry: filer_pb.Entry) -> filer_pb.Entry:
    """A copy with both chunk fid forms filled and the directory flags agreeing."""
    out = filer_pb.Entry()
    out.CopyFrom(entry)
    entries.normalize_chunks(out.chunks)
    if entries.is_directory(out):
        out.is_directory = True
        out.attributes.file_mode |= entries.MODE_DIR
    return out


def _keep_identity(old: filer_pb.Entry | None, new: filer_pb.Entry) -> None:
    """A replacement keeps the inode and creation time the client did not send; a new entry
    without an inode gets a fresh one."""
    if not new.attributes.inode:
        new.attributes.inode = old.attributes.inode if old is not None else 0
        new.attributes.inode = new.attributes.inode or entries.new_inode()
    if old is None:
        return
    if not new.attributes.crtime:
        new.attributes.crtime, new.attributes.crtime_ns = old.attributes.crtime, old.attributes.crtime_ns
