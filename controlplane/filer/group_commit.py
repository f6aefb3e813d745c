"""Group commit: store transactions that arrive while one runs are run together, in the next.

A small PUT costs one write transaction whose fixed part (a pool checkout, BEGIN IMMEDIATE or the
PostgreSQL round trips, COMMIT, a worker-thread hop, and on SQLite the one writer lock) is larger
than its own statements. Under concurrent writers, `GroupCommitter` queues jobs while a batch is in
its worker thread and hands the queue over as the next batch, so N concurrent mutations share one
transaction's fixed cost and one writer-lock turn; a lone job still runs at once.

What a batch means (how it runs a batch is the caller's `run_batch`): outcomes come back one per
job, in order, each a result or the exception that job raised. Waiters are woken only after the
batch's worker returns, so no caller sees a result before its commit.

Must not import kelp_http, grpc, SQL or the store: it only moves jobs to a thread and back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

J = TypeVar("J")
R = TypeVar("R")

# Jobs per batch: enough to absorb c=64 writers in a few rounds, few enough that one batch's
# transaction (its row locks on PostgreSQL, its writer turn on SQLite) stays short.
MAX_BATCH = 32


class GroupCommitter(Generic[J, R]):
    """`await submit(job)` returns that job's outcome from `run_batch(jobs)` (run in a worker
    thread), or raises the exception recorded for it."""

    def __init__(
        self, run_batch: Callable[[Sequence[J]], Sequence[R | BaseException]], *, max_batch: int = MAX_BATCH
    ) -> None:
        self._run_batch = run_batch
        self._max_batch = max_batch
        self._queue: list[tuple[J, asyncio.Future[R]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def submit(self, job: J) -> R:
        waiter: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((job, waiter))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.ensure_future(self._flush())
        # A cancelled caller does not cancel its job: it may already be in a committed batch.
        return await asyncio.shield(waiter)

    async def _flush(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch:]
            jobs = [job for job, _ in batch]
            try:
                outcomes = await asyncio.to_thread(self._run_batch, jobs)
            except BaseException as err:  # run_batch itself broke: every job in it failed
                outcomes = [err] * len(batch)
                if not isinstance(err, Exception):
                    _settle(batch, outcomes)
                    raise
            _settle(batch, outcomes)


def _settle(batch: Sequence[tuple[object, asyncio.Future[R]]], outcomes: Sequence[R | BaseException]) -> None:
    for (_, waiter), outcome in zip(batch, outcomes, strict=True):
        if waiter.done():
            continue
        if isinstance(outcome, BaseException):
            waiter.set_exception(outcome)
            waiter.exception()  # marked retrieved: a caller that went away must not log it as lost
        else:
            waiter.set_result(outcome)
