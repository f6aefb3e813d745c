"""Pending uploads: a durable record of every chunk a request stores before its entry commits, so a
filer killed mid-upload leaks nothing.

A request's chunks reach the volume servers before the transaction that commits its entry. Each
fid is therefore recorded in the store (filer_pending_uploads, with this process's uploader id and
the request's number) BEFORE its upload starts; the transaction that commits the entry deletes the
request's rows (core.py), and a failed request moves them to the chunk-deletion queue. What a dead
process leaves behind is moved to that queue by `reclaim`, which every filer runs at start and then
every SWEEP_SECONDS: an uploader is dead when its lease (renewed every SWEEP_SECONDS, and by every
record) ran out, or when a newer process listens at its address (so a restarted filer cleans up
after its previous life at once). The collector (gc.py) then deletes the chunks.

A live filer whose lease lapsed (a long stall) may find its rows swept: its commit then sees fewer
rows than it recorded and fails with UploadReclaimed instead of committing chunks that are being
deleted. Correctness rests on that check, not on the timing of leases.

Cost on the write path: records are group-committed (one small store transaction carries every
fid that concurrent requests are waiting to record), so a one-chunk upload costs one extra small
transaction, and the commit's DELETE of its rows rides in the entry's own transaction.

Must not import kelp_http, grpc or SQL: the store is reached through FilerStore.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from controlplane.filer.store import FilerStore

log = logging.getLogger(__name__)

LEASE_SECONDS = 60.0  # an uploader that renewed nothing for this long is dead
SWEEP_SECONDS = 10.0  # how often a filer renews its lease and reclaims dead uploaders' chunks


class UploadReclaimed(Exception):
    """A request's pending-upload rows were swept (its filer's lease lapsed): its chunks are queued
    for deletion, so its entry is not committed."""

    def __init__(self, uploader: str, request: int, recorded: int, found: int) -> None:
        super().__init__(f"upload {uploader}/{request}: {recorded - found} of {recorded} chunks were "
                         "reclaimed while it ran (filer lease lapsed); retry the upload")
        self.uploader = uploader
        self.request = request
        self.recorded = recorded
        self.found = found


class UploadTicket:
    """One request's uploads: `record(fid)` before each chunk upload; pass the ticket to the core's
    commit (which checks that all `recorded` rows are still there) or discard."""

    def __init__(self, journal: UploadJournal, request: int) -> None:
        self.journal = journal
        self.request = request
        self.recorded = 0

    @property
    def uploader(self) -> str:
        return self.journal.uploader

    async def record(self, fid: str) -> None:
        self.recorded += 1  # counted first: a failed record fails the upload, so no commit follows
        await self.journal.record(self.request, fid)


class UploadJournal:
    """This process's pending-upload records: group-committed writes, lease renewal and sweeps."""

    def __init__(self, store: FilerStore, *, address: str = "", lease_seconds: float = LEASE_SECONDS) -> None:
        self.store = store
        self.address = address
        self.uploader = f"{address}#{secrets.token_hex(8)}"
        self.lease_seconds = lease_seconds
        self._requests = itertools.count(1)
        self._queue: list[tuple[int, str]] = []
        self._batch: asyncio.Future[None] | None = None  # settles when the queued rows are stored
        self._flusher: asyncio.Task[None] | None = None

    def ticket(self) -> UploadTicket:
        return UploadTicket(self, next(self._requests))

    def _alive_until(self) -> int:
        return time.time_ns() + int(self.lease_seconds * 1e9)

    async def record(self, request: int, fid: str) -> None:
        """Return once (request, fid) is durably recorded; raises the store's error otherwise."""
        if self._batch is None:
            self._batch = asyncio.get_running_loop().create_future()
        batch = self._batch
        self._queue.append((request, fid))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.ensure_future(self._flush())
        await asyncio.shield(batch)

    async def _flush(self) -> None:
        while self._queue:
            rows, self._queue = self._queue, []
            batch, self._batch = self._batch, None
            assert batch is not None
            try:
                await asyncio.to_thread(self.store.record_uploads, self.uploader, self.address,
                                        self._alive_until(), rows)
            except Exception as err:
                if not batch.done():
                    batch.set_exception(err)
                batch.exception()  # marked retrieved: a cancelled waiter must not log it as lost
            else:
                if not batch.done():
                    batch.set_result(None)

    async def reclaim(self) -> list[str]:
        """Renew this process's lease, then move dead uploaders' chunks to the deletion queue."""
        await asyncio.to_thread(self.store.renew_uploader, self.uploader, self.address, self._alive_until())
        fids = await asyncio.to_thread(self.store.reclaim_uploads, self.uploader, self.address)
        if fids:
            log.info("reclaimed chunks of dead uploads count=%d", len(fids))
        return fids

    async def run(
        self, every_seconds: float = SWEEP_SECONDS, on_reclaimed: Callable[[], None] | None = None
    ) -> None:
        """Renew and sweep every `every_seconds` until cancelled (serve() starts it after its
        first reclaim)."""
        while True:
            await asyncio.sleep(every_seconds)
            try:
                if await self.reclaim() and on_reclaimed is not None:
                    on_reclaimed()
            except Exception as err:  # a store hiccup: the next round tries again
                log.warning("pending upload sweep failed error=%s", err)
