"""filer.meta.verify: compare the primary's tree (over gRPC) with the standby store, directory by
directory, and report the differences.

Both sides are listed in name order and merged, so each directory costs one pass over each
listing. An entry differs when its serialized form differs after parsing (field by field, not
byte by byte). A directory on one side only is descended into on that side, so every entry below
it counts as one difference too. Several directories are compared at once.

Compare a quiet primary (or one whose changes the backup has caught up with): entries changing
during the walk show up as differences.

Imports grpc, kelp_pb and this package.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from kelp_pb import weed_filer_pb2 as filer_pb

from controlplane.filer.backup.events import ROOT, is_directory, join
from controlplane.filer.backup.filers import FilerSet
from controlplane.filer.backup.standby import Standby

STANDBY_PAGE = 10_000
CONCURRENCY = 5
KEEP_SAMPLES = 20


@dataclass(frozen=True, slots=True)
class Difference:
    path: str
    kind: str  # "missing in standby", "only in standby", "differs"
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.kind}: {self.path}{' (' + self.detail + ')' if self.detail else ''}"


@dataclass
class VerifyReport:
    entries_primary: int = 0
    entries_standby: int = 0
    directories: int = 0
    differences: int = 0
    samples: list[Difference] = field(default_factory=list)

    def add(self, difference: Difference) -> None:
        self.differences += 1
        if len(self.samples) < KEEP_SAMPLES:
            self.samples.append(difference)


async def _primary(filers: FilerSet, directory: str) -> AsyncIterator[filer_pb.Entry]:
    async for page in filers.list_all(directory):
        for entry in page:
            yield entry


async def _standby(standby: Standby, directory: str) -> AsyncIterator[filer_pb.Entry]:
    start = ""
    while True:
        rows = await asyncio.to_thread(standby.list, directory, start, STANDBY_PAGE)
        for _, blob in rows:
            yield filer_pb.Entry.FromString(blob)
        if len(rows) < STANDBY_PAGE:
            return
        start = rows[-1][0]


async def _next(iterator: AsyncIterator[filer_pb.Entry]) -> filer_pb.Entry | None:
    try:
        return await anext(iterator)
    except StopAsyncIteration:
        return None


def _what_differs(a: filer_pb.Entry, b: filer_pb.Entry) -> str:
    names = [f.name for f in filer_pb.Entry.DESCRIPTOR.fields
             if getattr(a, f.name) != getattr(b, f.name)]
    return "fields " + ",".join(names)


async def _compare_directory(filers: FilerSet, standby: Standby, directory: str, report: VerifyReport,
                             primary_side: bool, standby_side: bool) -> list[tuple[str, bool, bool]]:
    """Merge one directory's listings; returns subdirectories with the sides they exist on."""
    report.directories += 1
    primary = _primary(filers, directory) if primary_side else None
    backup = _standby(standby, directory) if standby_side else None
    p = await _next(primary) if primary else None
    s = await _next(backup) if backup else None
    below: list[tuple[str, bool, bool]] = []
    while p is not None or s is not None:
        if s is None or (p is not None and p.name.encode("utf-8", "surrogatepass")
                         < s.name.encode("utf-8", "surrogatepass")):
            assert p is not None
            report.entries_primary += 1
            report.add(Difference(join(directory, p.name), "missing in standby"))
            if is_directory(p):
                below.append((join(directory, p.name), True, False))
            p = await _next(primary) if primary else None
        elif p is None or p.name != s.name:
            report.entries_standby += 1
            report.add(Difference(join(directory, s.name), "only in standby"))
            if is_directory(s):
                below.append((join(directory, s.name), False, True))
            s = await _next(backup) if backup else None
        else:
            report.entries_primary += 1
            report.entries_standby += 1
            if p != s:
                report.add(Difference(join(directory, p.name), "differs", _what_differs(p, s)))
            if is_directory(p) or is_directory(s):
                below.append((join(directory, p.name), is_directory(p), is_directory(s)))
            p = await _next(primary) if primary else None
            s = await _next(backup) if backup else None
    return below


async def verify(filers: FilerSet, standby: Standby, root: str = ROOT, *,
                 concurrency: int = CONCURRENCY) -> VerifyReport:
    report = VerifyReport()
    pending: asyncio.Queue[tuple[str, bool, bool]] = asyncio.Queue()
    pending.put_nowait((root, True, True))
    failures: list[BaseException] = []

    async def worker() -> None:
        while True:
            directory, on_primary, on_standby = await pending.get()
            try:
                below = await _compare_directory(filers, standby, directory, report, on_primary, on_standby)
                for item in below:
                    pending.put_nowait(item)
            except Exception as err:  # reported after the walk stops
                failures.append(err)
            finally:
                pending.task_done()

    workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
    try:
        await pending.join()
    finally:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
    if failures:
        raise failures[0]
    return report
