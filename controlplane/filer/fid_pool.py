"""Spare file ids: one master assign of `count=N` serves the next N single-chunk uploads.

A master assign is a network round trip and, on the master, a pass through its leader duties; a
small PUT needs exactly one fid. An assign with count N reserves the keys key..key+N-1 on one
volume under one cookie (the `fid_1`, `fid_2` ... of SeaweedFS's protocol), so the filer asks for
BATCH at a time and hands them out one by one as plain fids (`vid,<key+i><cookie>`), which every
volume server accepts like any other.

Spares are only as good as the volume they point at: they are used for at most MAX_AGE_SECONDS,
and a failed upload to a server drops every spare on it (the upload is retried on a fresh
assignment, chunks.upload_chunk). Keys never used are gaps in the sequence, nothing more. With
write JWTs the master signs each fid alone, so a signed assignment is used once and the pool asks
for one fid at a time from then on.

Must not import kelp_http, grpc or SQL: the master is reached through the `assign` callable.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from controlplane.filer.chunks import Assignment, AssignSpec
from dataplane.volume.engine.types import FileId, NeedleId

BATCH = 16  # fids per master assign
MAX_AGE_SECONDS = 5.0  # spares older than this are dropped: their volume may have filled up


@dataclass(slots=True)
class _Spares:
    assignment: Assignment
    first: FileId
    used: int  # keys handed out so far (the first is key + 0)
    expires: float

    def usable(self, now: float) -> bool:
        return self.used < self.assignment.count and now < self.expires

    def take(self) -> Assignment:
        fid = FileId(self.first.volume_id, NeedleId(self.first.key + self.used), self.first.cookie)
        self.used += 1
        a = self.assignment  # built directly: dataclasses.replace costs more than the rest of take
        return Assignment(str(fid), a.url, a.public_url, 1, a.auth, a.grpc_port, a.collection, a.replication)


class FidPool:
    """`await take(spec)` gives an Assignment for one fid; `forget(url)` after a failed upload."""

    def __init__(
        self, assign: Callable[[AssignSpec, int], Awaitable[Assignment]], *, batch: int = BATCH,
        max_age_seconds: float = MAX_AGE_SECONDS, clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._assign = assign
        self._batch = batch
        self._max_age = max_age_seconds
        self._clock = clock
        self._spares: dict[AssignSpec, _Spares] = {}
        self._refills: dict[AssignSpec, asyncio.Future[None]] = {}
        self._signed = False  # the master signs fids (JWT): no spares

    async def take(self, spec: AssignSpec) -> Assignment:
        if self._signed or self._batch <= 1:
            return await self._assign(spec, 1)
        for _ in range(2):  # a refill that others waited for may be used up before our turn
            spares = self._spares.get(spec)
            if spares is not None and spares.usable(self._clock()):
                return spares.take()
            refill = self._refills.get(spec)
            if refill is None:
                return await self._refill(spec)
            await asyncio.wait([refill])  # its error is its owner's; we try again or assign alone
        return await self._assign(spec, 1)

    async def _refill(self, spec: AssignSpec) -> Assignment:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._refills[spec] = done
        try:
            assignment = await self._assign(spec, self._batch)
        finally:
            del self._refills[spec]
            done.set_result(None)
        if assignment.auth:
            self._signed = True
            return dataclasses.replace(assignment, count=1)
        spares = _Spares(assignment, FileId.parse(assignment.fid), 0, self._clock() + self._max_age)
        self._spares[spec] = spares
        return spares.take()

    def forget(self, url: str) -> None:
        """Drop the spares on a server an upload just failed against."""
        for spec in [s for s, spares in self._spares.items() if spares.assignment.url == url]:
            del self._spares[spec]
