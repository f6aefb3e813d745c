"""Fixtures for the engine tests: a fake clock, both .idx formats, a volume factory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from dataplane.volume.engine.idx import IdxFormat
from dataplane.volume.engine.types import ReplicaPlacement, Ttl, VolumeId
from dataplane.volume.engine.volume import Volume

from .builders import NO_TTL, FakeClock

LARGE = IdxFormat(True)
RP_000 = ReplicaPlacement()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=[True, False], ids=["large", "standard"])
def fmt(request: pytest.FixtureRequest) -> IdxFormat:
    return IdxFormat(request.param)


VolumeFactory = Callable[..., Volume]


@pytest.fixture
def make_volume(tmp_path: Path, clock: FakeClock) -> VolumeFactory:
    def make(fmt: IdxFormat = LARGE, *, vid: int = 1, collection: str = "", index: str = "memory",
             ttl: Ttl = NO_TTL, rp: ReplicaPlacement = RP_000) -> Volume:
        return Volume.create(str(tmp_path), collection, VolumeId(vid), rp, ttl, fmt=fmt, index=index,
                             clock=clock)

    return make


