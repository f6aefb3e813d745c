"""SubscribeMetadata over the store's change log: replay from a time, then tail live, never skipping.

A subscription keeps a Cursor: the sequence number of the last change-log row it has read. The
store numbers rows at commit, in commit order, with no holes, so "every row after my cursor" never
skips a transaction that committed late; a cursor that retention has overtaken makes the store raise
ChangesTrimmed, which ends the stream with SubscriberBehind, never a silent jump.

Where a subscription starts: the wire protocol resumes by time (`since_ns`, the ts_ns of the last
event a client saw). The store maps a time to a cursor (`cursor_for_time`) so that every row with
ts_ns >= since_ns lies after it, late commits included; rows just before since_ns may come along,
and SeaweedFS clients (mount, filer.meta.backup) apply such repeats idempotently, in order. A time
older than the retained log is SubscriberBehind too.

Filtering (one event matches when any rule does): a path prefix (`path_prefix`, `path_prefixes`)
that is a string prefix of the entry's old path (directory + old name) or new path (new_parent_path +
new name), so a rename across the boundary is seen from both sides; or an exact directory
(`directories`) equal to the event's directory or new_parent_path. Events whose signatures contain
the subscriber's non-zero signature are dropped (a mount applies its own changes itself). The
serving filer's signature is appended to each event it sends, as SeaweedFS filers do.

The store is synchronous: reads run on the notifier's own read threads (not the default executor,
where the core's mutations block on the commit lock). Waiting for new rows is done once per
filer by ChangeNotifier, whose single thread blocks in store.wait_for_change (PostgreSQL
LISTEN/NOTIFY, so a commit through another filer on the same database wakes it; SQLite polls), so
a thousand idle subscribers hold no threads.

Imports kelp_pb messages and the store's errors only; no grpc or kelp_http (the log is the ChangeLog
protocol below, a subset of the FilerStore).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from kelp_pb import weed_filer_pb2 as filer_pb

from controlplane.filer.store.errors import ChangesTrimmed

log = logging.getLogger(__name__)

# Rows read per store query: bounds one reply's memory (rows carry whole entries) while keeping
# replays of a long log to one query per thousand events.
READ_BATCH = 1000
READ_THREADS = 2  # threads for subscribers' log reads (ChangeNotifier.read), apart from the core's
RECENT_ROWS = 4096  # this filer's latest committed change rows kept for caught-up subscribers
_R = TypeVar("_R")
# How long the notifier's thread blocks in one wait_for_change call: also how long that thread
# lingers after the filer stops (a blocking call cannot be cancelled).
NOTIFIER_WAIT_SECONDS = 1.0
# A subscriber re-reads the log at least this often even if no wake-up came: a safety net while
# the notifier restarts after a store error.
SUBSCRIBER_POLL_SECONDS = 5.0
# After a store error the notifier retries after this pause rather than spinning.
NOTIFIER_RETRY_SECONDS = 1.0


class ChangeRowLike(Protocol):
    @property
    def seq(self) -> int: ...
    @property
    def ts_ns(self) -> int: ...
    @property
    def directory(self) -> str: ...
    @property
    def payload(self) -> bytes: ...


class ChangeLog(Protocol):
    """The part of the filer store a subscription reads (contract A and its additions)."""

    def changes_after(self, seq: int, limit: int = ...) -> Sequence[ChangeRowLike]: ...
    def cursor_for_time(self, ts_ns: int) -> int: ...
    def last_seq(self) -> int: ...
    def wait_for_change(self, after_seq: int, timeout: float) -> bool: ...


class SubscriberBehind(Exception):
    """The change log no longer holds every event the subscriber asked for (retention trimmed them)."""

    def __init__(self, since_ns: int, cursor: int | None, trimmed_seq: int) -> None:
        at = f"since_ns={since_ns}" if cursor is None else f"since_ns={since_ns}, read up to seq {cursor}"
        super().__init__(
            f"subscriber fell behind the change log's retention ({at}; retention removed up to seq "
            f"{trimmed_seq}): resync, e.g. weed filer.meta.backup -restart"
        )
        self.since_ns = since_ns
        self.cursor = cursor
        self.trimmed_seq = trimmed_seq


@dataclass(frozen=True, slots=True)
class EventFilter:
    prefixes: tuple[str, ...] = ("/",)
    directories: tuple[str, ...] = ()
    signature: int = 0  # drop events carrying it; 0 = none
    until_ns: int = 0  # stop before the first event after it; 0 = follow forever

    @classmethod
    def from_request(cls, req: filer_pb.SubscribeMetadataRequest) -> EventFilter:
        prefixes = tuple(p for p in (req.path_prefix, *req.path_prefixes) if p)
        directories = tuple(d.rstrip("/") or "/" for d in req.directories)
        if not prefixes and not directories:
            prefixes = ("/",)
        return cls(prefixes, directories, req.signature, req.until_ns)

    def matches(self, event: filer_pb.SubscribeMetadataResponse) -> bool:
        note = event.event_notification
        if self.signature and self.signature in note.signatures:
            return False
        new_parent = note.new_parent_path or event.directory
        if self.directories and (event.directory in self.directories or new_parent in self.directories):
            return True
        paths = []
        if note.HasField("old_entry"):
            paths.append(_join(event.directory, note.old_entry.name))
        if note.HasField("new_entry"):
            paths.append(_join(new_parent, note.new_entry.name))
        return any(path.startswith(prefix) for path in paths for prefix in self.prefixes)


def _join(directory: str, name: str) -> str:
    if not name:
        return directory or "/"
    return f"{directory.rstrip('/')}/{name}"


@dataclass(frozen=True, slots=True)
class NotifierStatistics:
    known_last_seq: int
    waiting_subscribers: int


class ChangeNotifier:
    """Wakes subscribers when the log grows. One per filer; `run()` lives in the server's TaskGroup.

    `token()` before reading the log, then `wait(token, cursor)` if the read came back empty: a
    wake-up between the two is not lost."""

    def __init__(self, changes: ChangeLog, *, wait_seconds: float = NOTIFIER_WAIT_SECONDS) -> None:
        self._log = changes
        self._wait_seconds = wait_seconds
        self._known_last = 0
        self._event = asyncio.Event()
        self._waiting = 0
        self._recent: OrderedDict[int, ChangeRowLike] = OrderedDict()  # seq -> row, see committed()
        # The store is polled only while a subscription is open: with none, nobody needs other
        # filers' commits, and polling last_seq after every local commit was a fifth of a small
        # PUT's CPU. A subscription that opens makes run() read last_seq and wake everyone.
        self._subscribers = 0
        self._has_subscribers = asyncio.Event()
        # Subscribers' log reads get threads of their own: in the default executor they would queue
        # behind the core's mutations, which block there on the store's commit lock under load.
        self._reads = ThreadPoolExecutor(max_workers=READ_THREADS, thread_name_prefix="filer-log-read")

    async def read(self, fn: Callable[..., _R], *args: Any) -> _R:
        """Run a change-log read on the subscribers' own threads."""
        return await asyncio.get_running_loop().run_in_executor(self._reads, fn, *args)

    @contextlib.contextmanager
    def subscribed(self) -> Iterator[None]:
        """Held by every open subscription (run() polls the store only while one is)."""
        self._subscribers += 1
        self._has_subscribers.set()
        try:
            yield
        finally:
            self._subscribers -= 1
            if not self._subscribers:
                self._has_subscribers.clear()

    def token(self) -> asyncio.Event:
        return self._event

    def notify_nowait(self, last_seq: int | None = None) -> None:
        """Wake every waiter."""
        if last_seq is not None:
            self._known_last = max(self._known_last, last_seq)
        self._event.set()
        self._event = asyncio.Event()

    def committed(self, rows: Sequence[ChangeRowLike]) -> None:
        """A local commit's change-log rows (the core calls this on the loop after each commit):
        kept in a ring of the latest RECENT_ROWS so subscribers that are caught up take them from
        memory instead of reading the store, then every waiter is woken."""
        for row in rows:
            self._recent[row.seq] = row
        while len(self._recent) > RECENT_ROWS:
            self._recent.popitem(last=False)
        self.notify_nowait(rows[-1].seq if rows else None)

    def recent_after(self, cursor: int, limit: int) -> list[ChangeRowLike]:
        """Rows cursor+1, cursor+2, ... as far as the ring holds them without a hole (a hole is a
        row another filer committed, or one not yet handed over): [] means "read the store"."""
        rows: list[ChangeRowLike] = []
        while len(rows) < limit:
            row = self._recent.get(cursor + 1 + len(rows))
            if row is None:
                break
            rows.append(row)
        return rows

    async def wait(self, token: asyncio.Event, cursor: int, timeout: float = SUBSCRIBER_POLL_SECONDS) -> None:
        """Return once the log may hold rows after `cursor`, or after `timeout`."""
        if self._known_last > cursor:
            return
        self._waiting += 1
        try:
            async with asyncio.timeout(timeout):
                await token.wait()
        except TimeoutError:
            pass
        finally:
            self._waiting -= 1

    def statistics(self) -> NotifierStatistics:
        return NotifierStatistics(known_last_seq=self._known_last, waiting_subscribers=self._waiting)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        # A thread of its own: it blocks for seconds at a time and must not take a slot of the
        # default executor that the core's store calls share.
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="filer-change-notifier")
        try:
            while True:
                try:
                    await self._has_subscribers.wait()
                    last = await loop.run_in_executor(executor, self._log.last_seq)
                    self.notify_nowait(last)
                    while self._subscribers:
                        changed = await loop.run_in_executor(
                            executor, self._log.wait_for_change, last, self._wait_seconds
                        )
                        if changed:
                            last = await loop.run_in_executor(executor, self._log.last_seq)
                            self.notify_nowait(last)
                except Exception as err:  # a store outage must not end the notifier
                    log.warning("change notifier: store error, retrying err=%s", err)
                    await asyncio.sleep(NOTIFIER_RETRY_SECONDS)
        finally:
            # Wait for the thread (at most one wait_for_change, NOTIFIER_WAIT_SECONDS): a process
            # stopping must not find it still running.
            await asyncio.shield(asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True))
            self._reads.shutdown(wait=False, cancel_futures=True)


async def subscribe(
    changes: ChangeLog,
    notifier: ChangeNotifier,
    event_filter: EventFilter,
    since_ns: int,
    *,
    filer_signature: int,
) -> AsyncIterator[filer_pb.SubscribeMetadataResponse]:
    """The matching events from `since_ns` on, then live ones, until `until_ns` (or forever).
    Raises SubscriberBehind (at the start or later) when retention overtakes the subscriber."""
    with notifier.subscribed():
        async for event in _subscribe(changes, notifier, event_filter, since_ns,
                                      filer_signature=filer_signature):
            yield event


async def _subscribe(
    changes: ChangeLog,
    notifier: ChangeNotifier,
    event_filter: EventFilter,
    since_ns: int,
    *,
    filer_signature: int,
) -> AsyncIterator[filer_pb.SubscribeMetadataResponse]:
    try:
        cursor = await notifier.read(changes.cursor_for_time, since_ns)
    except ChangesTrimmed as err:
        raise SubscriberBehind(since_ns, None, err.trimmed_seq) from err
    while True:
        token = notifier.token()
        # Rows are numbered gap-free in commit order, so cursor+1, cursor+2 ... from the ring of
        # this filer's own commits are exactly what the store would return; anything else (a row
        # another filer committed, a replay) is read from the store.
        rows: Sequence[ChangeRowLike] = notifier.recent_after(cursor, READ_BATCH)
        if not rows:
            try:
                rows = await notifier.read(changes.changes_after, cursor, READ_BATCH)
            except ChangesTrimmed as err:
                raise SubscriberBehind(since_ns, cursor, err.trimmed_seq) from err
        if not rows:
            await notifier.wait(token, cursor)
            continue
        for row in rows:
            cursor = row.seq
            event = filer_pb.SubscribeMetadataResponse.FromString(row.payload)
            if event_filter.until_ns and event.ts_ns > event_filter.until_ns:
                return
            if not event_filter.matches(event):
                continue
            if filer_signature and filer_signature not in event.event_notification.signatures:
                event.event_notification.signatures.append(filer_signature)
            yield event
