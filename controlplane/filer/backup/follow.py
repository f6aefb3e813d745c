"""The backup loop: start from the standby's checkpoint (or copy the whole tree first), then
apply the change stream in batches, each batch with its checkpoint in one transaction.

    backup = MetaBackup(filers, standby, BackupOptions(filer_path="/"), metrics)
    await backup.run()        # forever; raises CheckpointTrimmed, CheckpointMismatch, ...

Start: with a checkpoint (and no -restart) the stream resumes from its time. Otherwise the
standby's rows under the root and its checkpoint are cleared, the tree is traversed, and the
stream starts from the traversal's start minus START_MARGIN_SECONDS: a change stamped just before
the traversal began may commit after the traversal listed its directory, and must come again
(replaying changes already in the copy is harmless, see events.py). If the change log no longer
reaches that far back (a retention shorter than the margin), the exact start is used instead.

Streaming: a reader task puts received changes on a queue; the applier takes whatever is there
(up to `batch_events`), applies it with the checkpoint of its last change in one standby
transaction, and only then counts it as applied. When the stream ends or fails, the changes
already received are applied first, and the stream is opened again at the checkpoint, on the next
filer (`-filer` lists several). OUT_OF_RANGE from a filer means its change log starts after the
checkpoint: that is CheckpointTrimmed (the caller exits telling to run with -restart), never a
jump ahead.

Imports grpc, kelp_pb and this package; no ops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TextIO

import grpc
from kelp_pb import weed_filer_pb2 as filer_pb

from controlplane.filer.backup.checkpoint import Checkpoint
from controlplane.filer.backup.errors import CheckpointMismatch, CheckpointTrimmed
from controlplane.filer.backup.events import describe, digest, flatten, is_change, plan, row_ops
from controlplane.filer.backup.filers import FilerSet, is_out_of_range, rpc_reason
from controlplane.filer.backup.progress import BackupMetrics, TraversalProgress
from controlplane.filer.backup.standby import Standby
from controlplane.filer.backup.traverse import traverse
from controlplane.filer.store import StoreUnavailable, TransactionConflict

log = logging.getLogger(__name__)

START_MARGIN_SECONDS = 5.0
BATCH_EVENTS = 2_000  # changes per standby transaction at most
QUEUE_EVENTS = 20_000  # received changes waiting to be applied before the reader pauses
RETRY_SECONDS = 1.0  # pause after every filer failed in a row (grows to RETRY_MAX_SECONDS)
RETRY_MAX_SECONDS = 5.0
STABLE_STREAM_SECONDS = 5.0  # a stream open this long resets the failure count
STATUS_LOG_SECONDS = 60.0
STANDBY_RETRY_SECONDS = 1.0
INLINE_OPS = 8  # row writes of a batch applied on the event loop itself (see _apply)


@dataclass(frozen=True, slots=True)
class BackupOptions:
    filer_path: str = "/"
    restart: bool = False
    verbose: bool = False
    batch_events: int = BATCH_EVENTS
    start_margin_seconds: float = START_MARGIN_SECONDS
    traversal_concurrency: int = 5


_END = object()  # the reader's end-of-stream marker on the queue


class MetaBackup:
    def __init__(self, filers: FilerSet, standby: Standby, options: BackupOptions, metrics: BackupMetrics,
                 *, out: TextIO | None = None, progress_stream: TextIO | None = None,
                 clock: Callable[[], int] = time.time_ns) -> None:
        self.filers = filers
        self.standby = standby
        self.options = options
        self.metrics = metrics
        self._out = out or sys.stdout
        self._progress_stream = progress_stream
        self._clock = clock
        self.checkpoint: Checkpoint | None = None
        self.traversed = 0  # entries copied by this run's traversal (0: resumed)
        self._last_status = time.monotonic()

    async def run(self) -> None:
        checkpoint = await self.start()
        await self.follow(checkpoint)

    # -- start ----------------------------------------------------------------------------------

    async def start(self) -> Checkpoint:
        """The checkpoint to stream from: the stored one, or a fresh traversal's."""
        root = self.options.filer_path
        stored = None if self.options.restart else await asyncio.to_thread(self.standby.checkpoint)
        if stored is not None:
            if stored.filer_path != root:
                raise CheckpointMismatch(stored.filer_path, root)
            log.info("resuming from the standby's checkpoint ts_ns=%d events_applied=%d last_event=%s",
                     stored.ts_ns, stored.events_applied, stored.last_event or "-")
            self._set_checkpoint(stored)
            return stored
        why = "-restart" if self.options.restart else "no checkpoint in the standby"
        log.info("traversing %s into the standby (%s)", root, why)
        await asyncio.to_thread(self.standby.reset, root)
        started = self._clock()
        margin = int(self.options.start_margin_seconds * 1e9)
        final = Checkpoint(ts_ns=started - margin, filer_path=root, traversal_start_ns=started)
        progress = TraversalProgress(self._progress_stream)
        self.traversed = await traverse(self.filers, self.standby, root, final, self.metrics, progress,
                                        concurrency=self.options.traversal_concurrency)
        progress.done()
        self._set_checkpoint(final)
        return final

    # -- streaming ------------------------------------------------------------------------------

    async def follow(self, checkpoint: Checkpoint) -> None:
        """Apply the change stream from `checkpoint` on, forever (until cancelled)."""
        failures = 0
        while True:
            filer = self.filers.current
            opened = time.monotonic()
            try:
                checkpoint = await self._stream_once(checkpoint)
                reason = "stream ended"
            except CheckpointTrimmed:
                fresh = (checkpoint.events_applied == 0 and not checkpoint.last_event
                         and checkpoint.ts_ns < checkpoint.traversal_start_ns)
                if not fresh:
                    raise
                # The margin before the traversal reaches past the retained log: start exactly at
                # the traversal's start (what weed does) rather than fail a copy just made.
                checkpoint = replace(checkpoint, ts_ns=checkpoint.traversal_start_ns)
                await asyncio.to_thread(self.standby.apply, [], checkpoint)
                self._set_checkpoint(checkpoint)
                log.warning("change log does not reach %.0f s before the traversal: streaming from its "
                            "start", self.options.start_margin_seconds)
                continue
            except grpc.RpcError as err:
                reason = rpc_reason(err)
            checkpoint = self.checkpoint or checkpoint
            failures = 0 if time.monotonic() - opened > STABLE_STREAM_SECONDS else failures + 1
            nxt = self.filers.fail_over()
            if len(self.filers.addresses) > 1:
                self.metrics.failovers.inc()
            log.warning("filer %s: %s; continuing from checkpoint ts_ns=%d on filer %s",
                        filer, reason, checkpoint.ts_ns, nxt)
            if failures and failures % len(self.filers.addresses) == 0:
                pause = min(RETRY_SECONDS * failures / len(self.filers.addresses), RETRY_MAX_SECONDS)
                await asyncio.sleep(pause)

    async def _stream_once(self, checkpoint: Checkpoint) -> Checkpoint:
        """One subscription: read and apply until it ends; returns the last checkpoint stored.
        Raises CheckpointTrimmed, or the stream's RpcError after applying what it delivered."""
        filer = str(self.filers.current)
        call = self.filers.subscribe(self.options.filer_path, checkpoint.ts_ns)
        queue: asyncio.Queue[object] = asyncio.Queue(maxsize=QUEUE_EVENTS)
        failure: list[BaseException] = []

        async def reader() -> None:
            try:
                async for message in call:
                    for event in flatten(message):
                        if is_change(event):
                            await queue.put(event)
            except grpc.RpcError as err:
                failure.append(err)
            finally:
                await queue.put(_END)

        task = asyncio.create_task(reader())
        try:
            while True:
                first = await queue.get()
                if first is _END:
                    break
                batch: list[filer_pb.SubscribeMetadataResponse] = [first]
                ended = False
                while len(batch) < self.options.batch_events and not queue.empty():
                    item = queue.get_nowait()
                    if item is _END:
                        ended = True
                        break
                    batch.append(item)
                checkpoint = await self._apply(batch, checkpoint, filer)
                if ended:
                    break
        finally:
            task.cancel()
            call.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if failure:
            err = failure[0]
            if is_out_of_range(err):
                raise CheckpointTrimmed(checkpoint.ts_ns, filer, rpc_reason(err)) from err
            raise err
        return checkpoint

    async def _apply(self, batch: list[filer_pb.SubscribeMetadataResponse], checkpoint: Checkpoint,
                     filer: str) -> Checkpoint:
        root = self.options.filer_path
        ops = [op for event in batch for op in row_ops(event, root)]
        last = batch[-1]
        new = replace(checkpoint, ts_ns=last.ts_ns, events_applied=checkpoint.events_applied + len(batch),
                      last_event=digest(last), filer=filer)
        steps = plan(ops)
        while True:
            try:
                if len(ops) <= INLINE_OPS:
                    # A small batch (the steady state: one change at a time) is applied on the
                    # loop: a hop to a worker thread and back cost more than the ~0.2 ms
                    # transaction itself, and the stream keeps buffering in gRPC meanwhile.
                    self.standby.apply(steps, new)
                else:
                    await asyncio.to_thread(self.standby.apply, steps, new)
                break
            except (StoreUnavailable, TransactionConflict) as err:
                # The standby is away for a moment: the batch is retried as it was (nothing was
                # committed), and the stream waits in gRPC's flow control meanwhile.
                log.warning("standby store: %s; retrying the batch in %.0f s", err, STANDBY_RETRY_SECONDS)
                await asyncio.sleep(STANDBY_RETRY_SECONDS)
        self._set_checkpoint(new)
        self.metrics.events_applied.inc(len(batch))
        lag = max(0.0, (self._clock() - batch[0].ts_ns) / 1e9)
        self.metrics.lag_seconds.set(lag)
        if time.monotonic() - self._last_status > STATUS_LOG_SECONDS:
            self._last_status = time.monotonic()
            log.info("applied %d events since the traversal; checkpoint ts_ns=%d; lag %.3f s",
                     new.events_applied, new.ts_ns, lag)
        if self.options.verbose:
            for event in batch:
                self._out.write(f"applied {describe(event)}\n")
            self._out.flush()
        return new

    def _set_checkpoint(self, checkpoint: Checkpoint) -> None:
        self.checkpoint = checkpoint
        self.metrics.last_checkpoint.set(checkpoint.ts_ns / 1e9)
