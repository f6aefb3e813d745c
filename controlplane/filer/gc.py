"""The chunk garbage collector: drains the store's durable chunk-deletion queue into DELETEs on
the volume servers.

Mutations queue the fids no entry references any more in the same transaction that drops them
(core.py), so the queue is the truth: a fid leaves it only after its volume server answered
the DELETE (or said it was already gone). A fid whose delete fails stays leased for
`retry_seconds` and is taken again then; a filer killed mid-pass leaves its lease to expire and
another pass (this filer after restart, or any filer on the same database) takes it. Nothing
leaks and nothing is lost.

A fid marked `chunks.MANIFEST_MARK` is a manifest chunk: its members are deleted first, then the
manifest itself, so a pass interrupted half-way finds the manifest still there next time.

Must not import kelp_http, grpc or SQL: it reaches the store through FilerStore and the volume
servers through chunks.VolumeIO.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kelp_pb import weed_filer_pb2 as filer_pb

from controlplane.filer.chunks import MANIFEST_MARK, VolumeIO
from controlplane.filer.entry import chunk_fid
from controlplane.filer.errors import ChunkReadFailed

if TYPE_CHECKING:
    from controlplane.filer.store import FilerStore

log = logging.getLogger(__name__)

BATCH = 256  # queue rows taken per pass
DELETE_CONCURRENCY = 16  # DELETEs in flight: small needles, so latency-bound, not bandwidth-bound
IDLE_SECONDS = 1.0  # how often an idle collector looks at the queue (wake() skips the wait)
RETRY_SECONDS = 10.0  # lease of a taken row: a failed delete is tried again after this


@dataclass(frozen=True, slots=True)
class CollectorStatistics:
    deleted: int
    failed: int
    passes: int


class ChunkCollector:
    def __init__(
        self, store: FilerStore, volumes: VolumeIO, *, batch: int = BATCH, idle_seconds: float = IDLE_SECONDS,
        retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        self._store = store
        self._volumes = volumes
        self._batch = batch
        self._idle = idle_seconds
        self._retry = retry_seconds
        self._wake = asyncio.Event()
        self._deleted = 0
        self._failed = 0
        self._passes = 0

    def statistics(self) -> CollectorStatistics:
        return CollectorStatistics(self._deleted, self._failed, self._passes)

    def wake(self) -> None:
        """Look at the queue now (a mutation just queued chunks)."""
        self._wake.set()

    async def run(self) -> None:
        """Drain forever; returns only by cancellation."""
        while True:
            self._wake.clear()  # before the pass: a wake() during it is kept for the wait below
            try:
                took = await self.drain_once()
            except Exception as err:  # a store hiccup: keep the collector alive, try again later
                log.warning("chunk collection pass failed error=%s", err)
                took = 0
            if took < self._batch:
                try:
                    async with asyncio.timeout(self._idle):
                        await self._wake.wait()
                except TimeoutError:
                    pass

    async def drain_once(self) -> int:
        """One pass: take up to `batch` queued fids, delete them, mark the successes done.
        Returns how many rows were taken."""
        take = self._store.take_chunk_deletions
        rows = await asyncio.to_thread(take, self._batch, lease_seconds=self._retry)
        self._passes += 1
        if not rows:
            return 0
        limit = asyncio.Semaphore(DELETE_CONCURRENCY)

        async def one(row_id: int, fid: str) -> int | None:
            async with limit:
                try:
                    await self._delete(fid)
                except Exception as err:  # any failure: the lease brings it back later
                    log.debug("chunk delete failed fid=%s error=%s", fid, err)
                    return None
            return row_id

        results = await asyncio.gather(*(one(row_id, fid) for row_id, fid in rows))
        done = [r for r in results if r is not None]
        if done:
            await asyncio.to_thread(self._store.done_chunk_deletions, done)
        self._deleted += len(done)
        failed = len(rows) - len(done)
        if failed:
            self._failed += failed
            log.warning("chunk deletes failed count=%d retry_in=%.0fs", failed, self._retry)
        return len(rows)

    async def _delete(self, queued: str) -> None:
        if not queued.startswith(MANIFEST_MARK):
            await self._volumes.delete(queued)
            return
        fid = queued[len(MANIFEST_MARK):]
        try:
            blob = await self._volumes.fetch(fid)
        except ChunkReadFailed as err:
            if err.missing:
                return  # deleted by an earlier pass that was cut short before marking it done
            raise
        members = filer_pb.FileChunkManifest.FromString(blob).chunks
        for member in members:
            mark = MANIFEST_MARK if member.is_chunk_manifest else ""
            await self._delete(mark + chunk_fid(member))
        await self._volumes.delete(fid)
