"""Group commit: concurrent mutations share a transaction, and one job's error stays its own."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any

import pytest

from controlplane.filer.core import FilerCore
from controlplane.filer.errors import EntryExists
from controlplane.filer.group_commit import GroupCommitter
from tests.unit.controlplane.filer.conftest import file_entry, logged


async def test_jobs_queued_while_a_batch_runs_form_the_next_batch() -> None:
    batches: list[list[int]] = []
    first_running = threading.Event()
    release = threading.Event()

    def run_batch(jobs: Sequence[int]) -> list[int | BaseException]:
        batches.append(list(jobs))
        if len(batches) == 1:
            first_running.set()
            release.wait(10)
        return [ValueError(job) if job == 3 else job * 10 for job in jobs]

    committer: GroupCommitter[int, int] = GroupCommitter(run_batch)
    first = asyncio.ensure_future(committer.submit(0))
    await asyncio.to_thread(first_running.wait, 10)
    rest = [asyncio.ensure_future(committer.submit(n)) for n in (1, 2, 3, 4)]
    await asyncio.sleep(0)  # let them queue behind the running batch
    release.set()
    outcomes = await asyncio.gather(first, *rest, return_exceptions=True)
    assert batches == [[0], [1, 2, 3, 4]]
    assert outcomes[:3] == [0, 10, 20] and outcomes[4] == 40
    assert isinstance(outcomes[3], ValueError)


async def test_batch_size_is_bounded() -> None:
    batches: list[int] = []

    def run_batch(jobs: Sequence[int]) -> list[int | BaseException]:
        batches.append(len(jobs))
        return list(jobs)

    committer: GroupCommitter[int, int] = GroupCommitter(run_batch, max_batch=3)
    assert await asyncio.gather(*(committer.submit(n) for n in range(8))) == list(range(8))
    assert max(batches) <= 3 and sum(batches) == 8


async def test_a_failing_mutation_in_a_batch_leaves_the_others_committed(core: FilerCore, store: Any) -> None:
    await core.mkdir("/taken")
    before = len(logged(store))
    outcomes = await asyncio.gather(
        core.create("/d", file_entry("a", "3,01637037d6")),
        core.mkdir("/taken"),  # EntryExists: rolls back the shared transaction, not the others
        core.create("/d", file_entry("b", "3,02637037d6")),
        return_exceptions=True,
    )
    assert isinstance(outcomes[1], EntryExists)
    assert [e.name for e in await core.list("/d")] == ["a", "b"]
    names = [e.event_notification.new_entry.name for e in logged(store)[before:]]
    assert names == ["d", "a", "b"]  # each change logged once, none from the failed job


async def test_concurrent_creates_all_land_once(core: FilerCore, store: Any) -> None:
    await asyncio.gather(*(core.create("/many", file_entry(f"f{n:03d}", f"3,{n + 1:02x}637037d6"))
                           for n in range(100)))
    assert len(await core.list("/many", limit=1000)) == 100
    created = [e for e in logged(store) if e.directory == "/many"]
    assert sorted(e.event_notification.new_entry.name for e in created) == [f"f{n:03d}" for n in range(100)]


@pytest.mark.parametrize("count", [2, 5])
async def test_reads_batched_together_see_committed_state(core: FilerCore, count: int) -> None:
    await core.create("/r", file_entry("x", "3,01637037d6"))
    found: list[Any] = await asyncio.gather(*(core.find("/r/x") for _ in range(count)), core.find("/r/none"))
    assert all(entry is not None and entry.name == "x" for entry in found[:-1])
    assert found[-1] is None
