"""The applied-event hub: the recent tail of the master's event log, for control subscriptions.

The Raft log reports every fold to the hub (`AppliedObserver`) on the applying thread, holding the
log lock; the hub keeps the last `retain` events with their indexes in a ring and wakes the
subscribers waiting on the asyncio loop. `follow(since_index, snapshot)` yields what a subscriber
at `since_index` needs, in order and exactly once:

- the retained events after `since_index`, then every new one as it is applied;
- a snapshot first when the event right after `since_index` is no longer retained (the ring wrapped,
  the master restarted from its snapshot, or pysyncobj installed one), or when `since_index` is 0
  and the log is not empty: the snapshot covers events up to its `event_index`, the stream then
  continues after it;
- nothing while the subscriber is ahead of this master (a master that lags its peers): it waits
  until this master has applied up to there, so a reconnect to a lagging master never repeats.

Thread model: `applied`/`reset` run on pysyncobj's thread; `follow` runs on the loop given to
`bind`. The ring is guarded by its own lock; the loop is woken with `call_soon_threadsafe`, once
per applied batch.

No network code: the gRPC adapters (control_grpc_api.py, weed_grpc_api.py) serve what this yields.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

from kelp_pb import events_pb2

DEFAULT_RETAIN = 65536  # events; at ~100 bytes each a few MiB, hours of a busy cluster's changes


@dataclass(frozen=True, slots=True)
class HubItem:
    """One step of a subscription: an event with its index, or a snapshot covering up to `index`."""

    index: int
    event: events_pb2.Event | None = None
    snapshot: events_pb2.StateSnapshot | None = None


class EventHub:
    def __init__(self, retain: int = DEFAULT_RETAIN) -> None:
        self._ring: deque[tuple[int, events_pb2.Event]] = deque(maxlen=max(1, retain))
        self._lock = threading.Lock()
        self._last = 0  # index of the last event applied (whether or not still retained)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changed: asyncio.Event | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Deliver wake-ups on `loop` (call before the log starts applying)."""
        self._loop = loop
        self._changed = asyncio.Event()

    @property
    def last_index(self) -> int:
        with self._lock:
            return self._last

    def _first_retained(self) -> int:
        """Index of the oldest retained event (last + 1 when none is): call holding `_lock`."""
        return self._ring[0][0] if self._ring else self._last + 1

    # -- AppliedObserver (applying thread, log lock held) --------------------------------

    def applied(self, events: Sequence[events_pb2.Event], last_index: int) -> None:
        first = last_index - len(events) + 1
        with self._lock:
            if self._ring and first != self._last + 1:
                self._ring.clear()  # not contiguous (cannot happen with one fold order); stay exact
            self._ring.extend((first + i, e) for i, e in enumerate(events))
            self._last = last_index
        self._wake()

    def reset(self, last_index: int) -> None:
        with self._lock:
            self._ring.clear()
            self._last = last_index
        self._wake()

    def _wake(self) -> None:
        loop, changed = self._loop, self._changed
        if loop is None or changed is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop is closed: the master is stopping
            loop.call_soon_threadsafe(changed.set)

    # -- subscribers (the loop) -------------------------------------------------------------

    def _take(self, since: int) -> tuple[list[tuple[int, events_pb2.Event]], bool]:
        """Retained events after `since` and whether `since` is still covered by the ring."""
        with self._lock:
            if since >= self._last:
                return [], True
            if since + 1 < self._first_retained():
                return [], False
            skip = since + 1 - self._ring[0][0]
            return [self._ring[i] for i in range(skip, len(self._ring))], True

    async def follow(
        self, since_index: int, snapshot: Callable[[], events_pb2.StateSnapshot]
    ) -> AsyncIterator[HubItem]:
        """Yield the subscription described in the module docstring; runs until cancelled.

        `snapshot()` must take the state holding the log lock and return it with its event index."""
        if self._changed is None:
            raise RuntimeError("EventHub.bind(loop) was not called")
        changed = self._changed
        since = since_index
        if since == 0 and self.last_index > 0:
            since = -1  # a fresh subscriber starts from a snapshot, not from event 1
        while True:
            events, covered = self._take(since) if since >= 0 else ([], False)
            if not covered:
                snap = snapshot()
                since = snap.event_index
                yield HubItem(since, snapshot=snap)
                continue
            for index, event in events:
                since = index
                yield HubItem(index, event=event)
            if events:
                continue
            # Clear, then re-check: a wake-up between the take and the wait is not lost.
            changed.clear()
            events, covered = self._take(since)
            if events or not covered:
                continue
            await changed.wait()
