"""The full copy: every entry under a root, every level, into the standby.

Breadth first with `concurrency` directories listed at once (ListEntries, pages of 10,000), while
one writer puts the rows into the standby in batches of BATCH_ROWS per transaction, so listing
and writing overlap. A filer that fails mid-directory is left for the next one, which continues
that directory after the last name received (listing is by name, so nothing is skipped).

The traversal writes no checkpoint of its own except on its last batch (`final`), so a traversal
that is killed leaves none and the next run starts it again (standby.reset clears what it wrote).

Imports grpc (errors), kelp_pb and this package.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import grpc

from controlplane.filer.backup.checkpoint import Checkpoint
from controlplane.filer.backup.events import ROOT, Upsert, is_directory, join
from controlplane.filer.backup.filers import FilerSet, rpc_reason
from controlplane.filer.backup.progress import BackupMetrics, TraversalProgress
from controlplane.filer.backup.standby import Standby

log = logging.getLogger(__name__)

CONCURRENCY = 5  # directories listed at once (weed lists 5)
BATCH_ROWS = 5_000  # rows per standby transaction
QUEUE_PAGES = 8  # pages waiting for the writer before listing pauses (bounds memory)
RETRY_SECONDS = 1.0  # pause before trying the next filer after every filer failed once


class TraversalFailed(Exception):
    def __init__(self, directory: str, reason: str) -> None:
        super().__init__(f"traversal of {directory} failed on every filer: {reason}")
        self.directory = directory
        self.reason = reason


async def _ancestors(filers: FilerSet, root: str) -> list[Upsert]:
    """The entries of `root` and the directories above it (a promoted filer needs them)."""
    rows: list[Upsert] = []
    parts = [p for p in root.split("/") if p]
    directory = ROOT
    for name in parts:
        entry = await filers.lookup(directory, name)
        if entry is None:
            break
        rows.append(Upsert(directory, name, entry.SerializeToString()))
        directory = join(directory, name)
    return rows


async def _list_directory(filers: FilerSet, directory: str, out: asyncio.Queue[list[Upsert] | None],
                          metrics: BackupMetrics, attempts: int) -> list[str]:
    """List one directory completely onto `out`; returns its subdirectories' paths."""
    start = ""
    subdirectories: list[str] = []
    failures = 0
    while True:
        try:
            page = await filers.list_page(directory, start, limit=10_001)
        except grpc.RpcError as err:
            failures += 1
            if failures >= attempts:
                raise TraversalFailed(directory, rpc_reason(err)) from err
            filer = filers.fail_over()
            metrics.failovers.inc()
            log.warning("listing %s failed (%s): continuing on filer %s", directory, rpc_reason(err), filer)
            if failures % len(filers.addresses) == 0:
                await asyncio.sleep(RETRY_SECONDS)
            continue
        more = len(page) > 10_000
        page = page[:10_000]
        rows = []
        for entry in page:
            rows.append(Upsert(directory, entry.name, entry.SerializeToString()))
            if is_directory(entry):
                subdirectories.append(join(directory, entry.name))
        if rows:
            await out.put(rows)
        if not more:
            return subdirectories
        start = page[-1].name


async def traverse(filers: FilerSet, standby: Standby, root: str, final: Checkpoint,
                   metrics: BackupMetrics, progress: TraversalProgress, *,
                   concurrency: int = CONCURRENCY, attempts_per_filer: int = 3) -> int:
    """Copy everything under `root` into the standby; the last transaction also stores `final`.
    Returns the number of entries copied."""
    rows_out: asyncio.Queue[list[Upsert] | None] = asyncio.Queue(maxsize=QUEUE_PAGES)
    pending: asyncio.Queue[str] = asyncio.Queue()
    attempts = attempts_per_filer * len(filers.addresses)
    copied = 0

    async def writer() -> None:
        nonlocal copied
        batch: list[Upsert] = []
        while True:
            rows = await rows_out.get()
            if rows is None:
                break
            batch.extend(rows)
            if len(batch) >= BATCH_ROWS:
                await asyncio.to_thread(standby.write_entries, batch)
                copied += len(batch)
                metrics.traversal_entries.inc(len(batch))
                progress.add(len(batch))
                batch = []
        await asyncio.to_thread(standby.write_entries, batch, final)
        copied += len(batch)
        metrics.traversal_entries.inc(len(batch))
        progress.add(len(batch))

    async def lister() -> None:
        while True:
            directory = await pending.get()
            try:
                subdirectories = await _list_directory(filers, directory, rows_out, metrics, attempts)
                for sub in subdirectories:
                    pending.put_nowait(sub)
                progress.add(0, 1)
            finally:
                pending.task_done()

    write_task = asyncio.create_task(writer())
    ancestors = await _ancestors(filers, root) if root != ROOT else []
    if ancestors:
        await rows_out.put(ancestors)
    pending.put_nowait(root)
    listers = [asyncio.create_task(lister()) for _ in range(concurrency)]
    counter = asyncio.create_task(_redraw(progress))
    try:
        joined = asyncio.create_task(pending.join())
        done, _ = await asyncio.wait([joined, *listers, write_task], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not joined:
                task.result()  # a lister or the writer failed: raise its error
                raise RuntimeError("a traversal task ended early")
        await rows_out.put(None)
        await write_task
    finally:
        for task in (*listers, counter):
            task.cancel()
        write_task.cancel()
        for task in (*listers, counter, write_task):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
    return copied


async def _redraw(progress: TraversalProgress) -> None:
    """Redraw the progress regularly even while no page arrives."""
    while True:
        await asyncio.sleep(0.2)
        progress.tick()


