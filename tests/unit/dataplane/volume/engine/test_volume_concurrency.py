"""Many threads writing, reading, deleting and vacuuming one volume: every acknowledged write
reads back (before and after reopening), every acknowledged delete stays deleted."""

from __future__ import annotations

import threading

import pytest

from dataplane.volume.engine.errors import NeedleNotFound
from dataplane.volume.engine.idx import IdxFormat

from .builders import FakeClock, reopen, upload
from .conftest import VolumeFactory

WRITERS = 4
PER_WRITER = 400
JOIN_S = 60  # the whole test takes well under a second; generous for a loaded machine


@pytest.mark.parametrize("index", ["memory", "leveldb"])
def test_concurrent_writers_readers_and_vacuums(make_volume: VolumeFactory, clock: FakeClock,
                                                index: str) -> None:
    v = make_volume(IdxFormat(True), index=index)
    errors: list[BaseException] = []
    written: dict[int, bytes] = {}
    deleted: set[int] = set()
    done = threading.Event()

    def writer(w: int) -> None:
        try:
            for i in range(PER_WRITER):
                key = 1 + w + WRITERS * i
                body = f"w{w} i{i} ".encode() * (i % 5 + 1)
                v.write(upload(key, body))
                written[key] = body
                assert v.read(key, 0x12345678).data == body
                if i % 3 == 0:
                    v.delete(key, 0x12345678)
                    deleted.add(key)
        except BaseException as err:  # reported by the main thread
            errors.append(err)

    def vacuumer() -> None:
        try:
            while not done.is_set():
                v.vacuum()
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
    background = threading.Thread(target=vacuumer)
    background.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join(JOIN_S)
    done.set()
    background.join(JOIN_S)
    assert not errors, errors
    assert v.statistics().compact_revision > 0

    def check() -> None:
        for key, body in written.items():
            if key in deleted:
                with pytest.raises(NeedleNotFound):
                    v.read(key, 0x12345678)
            else:
                assert v.read(key, 0x12345678).data == body

    check()
    v = reopen(v, clock)
    check()
    v.close()
