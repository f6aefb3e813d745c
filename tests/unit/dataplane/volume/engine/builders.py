"""Builders for the engine tests: a controllable clock, needles, reopened volumes, stores."""

from __future__ import annotations

from pathlib import Path

from dataplane.volume.engine.needle import Needle
from dataplane.volume.engine.store import Store
from dataplane.volume.engine.types import Ttl
from dataplane.volume.engine.volume import Volume

START_NS = 1_800_000_000 * 1_000_000_000
NO_TTL = Ttl()


class FakeClock:
    """A nanosecond clock that moves only when told (and by 1 µs per reading, like time)."""

    def __init__(self, now_ns: int = START_NS) -> None:
        self.now_ns = now_ns

    def __call__(self) -> int:
        self.now_ns += 1000
        return self.now_ns

    def advance(self, seconds: float) -> None:
        self.now_ns += int(seconds * 1_000_000_000)


def reopen(v: Volume, clock: FakeClock, index: str | None = None) -> Volume:
    v.close()
    return Volume.open(v.directory, v.collection, v.id, fmt=v.fmt, index=index or v.index, clock=clock)


def upload(key: int, data: bytes, *, cookie: int = 0x12345678, name: bytes = b"f.bin",
           mime: bytes = b"application/x-test", last_modified: int = 1_700_000_000, ttl: Ttl = NO_TTL,
           pairs: bytes = b"") -> Needle:
    return Needle.for_upload(cookie, key, data, name=name, mime=mime, last_modified=last_modified, ttl=ttl,
                             pairs=pairs)


def make_store(dirs: list[Path], max_volumes: list[int], clock: FakeClock, **kwargs: object) -> Store:
    store = Store([str(d) for d in dirs], max_volumes, clock=clock, **kwargs)  # type: ignore[arg-type]
    store.load()
    return store
