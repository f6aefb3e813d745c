"""Vacuum: reclaims garbage, bumps the compaction revision, keeps writes and deletes that
arrive during the copy, and recovers from a crash at any point of the swap."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from dataplane.volume.engine import vacuum
from dataplane.volume.engine.errors import NeedleNotFound, VacuumInProgress
from dataplane.volume.engine.idx import IdxFormat
from dataplane.volume.engine.superblock import SuperBlock
from dataplane.volume.engine.volume import Volume

from .builders import FakeClock, reopen, upload
from .conftest import VolumeFactory

COOKIE = 0x12345678
WAIT_S = 10  # generous bound for a thread hand-off on a loaded machine


@pytest.fixture(params=["memory", "leveldb"])
def index(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def data(key: int, version: int = 0) -> bytes:
    return f"needle {key} v{version} ".encode() * (key % 7 + 1)


def garbage_volume(make_volume: VolumeFactory, fmt: IdxFormat, index: str) -> Volume:
    v = make_volume(fmt, index=index)
    for key in range(1, 41):
        v.write(upload(key, data(key)))
    for key in range(1, 41, 4):
        v.delete(key, COOKIE)
    for key in range(2, 41, 4):
        v.write(upload(key, data(key, 1)))
    return v


def expect_contents(v: Volume, deleted: set[int], versions: dict[int, int]) -> None:
    for key in range(1, 41):
        if key in deleted:
            with pytest.raises(NeedleNotFound):
                v.read(key, COOKIE)
        else:
            assert v.read(key, COOKIE).data == data(key, versions.get(key, 0)), key


def test_vacuum_reclaims_garbage_and_keeps_live_needles(make_volume: VolumeFactory, fmt: IdxFormat,
                                                        clock: FakeClock, index: str) -> None:
    v = garbage_volume(make_volume, fmt, index)
    assert v.garbage_ratio() > 0.2
    before = v.size
    reclaimed = v.vacuum()
    assert reclaimed > 0 and v.size == before - reclaimed == os.path.getsize(v.base + ".dat")
    deleted = set(range(1, 41, 4))
    versions = {k: 1 for k in range(2, 41, 4)}
    expect_contents(v, deleted, versions)
    stats = v.statistics()
    assert stats.compact_revision == 1 and v.garbage_ratio() == 0.0
    assert (stats.file_count, stats.delete_count) == (30, 0)
    with open(v.base + ".dat", "rb") as f:
        assert SuperBlock.from_bytes(f.read(8)).compaction_revision == 1
    assert not os.path.exists(v.base + ".cpd") and not os.path.exists(v.base + ".cpx")
    v.write(upload(99, b"after vacuum"))
    v = reopen(v, clock)
    expect_contents(v, deleted, versions)
    assert v.read(99, COOKIE).data == b"after vacuum" and v.statistics().compact_revision == 1
    assert v.vacuum() == 0
    v.close()


def test_writes_and_deletes_during_the_copy_are_kept(make_volume: VolumeFactory, fmt: IdxFormat,
                                                     clock: FakeClock, index: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    v = garbage_volume(make_volume, fmt, index)
    copied, resume = threading.Event(), threading.Event()
    original: Callable[..., Any] = vacuum.copy_live

    def paused_copy(*args: Any) -> Any:
        result = original(*args)
        copied.set()
        assert resume.wait(WAIT_S)
        return result

    monkeypatch.setattr(vacuum, "copy_live", paused_copy)
    outcome: list[object] = []
    worker = threading.Thread(target=lambda: outcome.append(v.vacuum()))
    worker.start()
    assert copied.wait(WAIT_S)
    # While the vacuum is between its copy and its swap:
    v.write(upload(100, b"new during vacuum"))
    v.delete(3, COOKIE)  # copied in phase 1, deleted now
    v.write(upload(4, data(4, 2)))  # copied in phase 1, overwritten now
    v.delete(100, COOKIE)
    v.write(upload(101, b""))
    with pytest.raises(VacuumInProgress):
        v.vacuum()
    assert v.read(4, COOKIE).data == data(4, 2)  # reads work during a vacuum
    resume.set()
    worker.join(WAIT_S)
    assert not worker.is_alive() and isinstance(outcome[0], int)
    deleted = set(range(1, 41, 4)) | {3}
    versions = {k: 1 for k in range(2, 41, 4)} | {4: 2}
    for reopened in (False, True):
        if reopened:
            v = reopen(v, clock)
        expect_contents(v, deleted, versions)
        with pytest.raises(NeedleNotFound):
            v.read(100, COOKIE)
        assert v.read(101, COOKIE).data == b""
    v.close()


def test_uncommitted_vacuum_is_discarded_at_open(make_volume: VolumeFactory, clock: FakeClock) -> None:
    v = garbage_volume(make_volume, IdxFormat(True), "memory")
    v.close()
    size = os.path.getsize(v.base + ".dat")
    with open(v.base + ".cpd", "wb") as f:
        f.write(b"half a compaction")
    with open(v.base + ".cpx", "wb") as f:
        f.write(b"junk")
    v = reopen(v, clock)
    assert not os.path.exists(v.base + ".cpd") and not os.path.exists(v.base + ".cpx")
    assert v.size == size and v.statistics().compact_revision == 0
    expect_contents(v, set(range(1, 41, 4)), {k: 1 for k in range(2, 41, 4)})
    v.close()


def test_vacuum_interrupted_between_renames_is_finished_at_open(make_volume: VolumeFactory, clock: FakeClock,
                                                                index: str) -> None:
    v = garbage_volume(make_volume, IdxFormat(True), index)
    v.close()
    fd = os.open(v.base + ".dat", os.O_RDONLY)
    with open(v.base + ".idx", "rb") as f:
        idx = f.read()
    sb = v.super_block.with_revision(1)
    copy = vacuum.copy_live(fd, idx, v.base, sb, v.fmt, v.id)
    os.close(fd)
    os.fsync(copy.cpd_fd)
    os.close(copy.cpd_fd)
    os.close(copy.cpx_fd)
    os.replace(v.base + ".cpd", v.base + ".dat")  # the commit point, then "crash"
    v = reopen(v, clock)
    assert not os.path.exists(v.base + ".cpx") and v.statistics().compact_revision == 1
    expect_contents(v, set(range(1, 41, 4)), {k: 1 for k in range(2, 41, 4)})
    v.close()


def test_failed_commit_after_the_rename_closes_the_volume(make_volume: VolumeFactory, clock: FakeClock,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    v = garbage_volume(make_volume, IdxFormat(True), "memory")

    def half_commit(copy: vacuum.CompactCopy, base: str) -> None:
        os.close(copy.cpd_fd)
        os.close(copy.cpx_fd)
        copy.cpd_fd = copy.cpx_fd = -1
        os.replace(base + ".cpd", base + ".dat")
        raise OSError("disk went away")

    monkeypatch.setattr(vacuum, "commit", half_commit)
    with pytest.raises(OSError):
        v.vacuum()
    v = Volume.open(v.directory, v.collection, v.id, fmt=v.fmt, clock=clock)
    assert v.statistics().compact_revision == 1
    expect_contents(v, set(range(1, 41, 4)), {k: 1 for k in range(2, 41, 4)})
    v.close()


def test_vacuum_of_an_empty_volume(make_volume: VolumeFactory) -> None:
    v = make_volume()
    assert v.vacuum() == 0 and v.size == 8
    v.write(upload(1, b"x"))
    assert v.read(1, COOKIE).data == b"x"
    v.close()


def test_vacuum_is_quick_for_many_small_needles(make_volume: VolumeFactory) -> None:
    v = make_volume()
    for key in range(1, 20001):
        v.write(upload(key, b"x" * 100))
    for key in range(1, 20001, 2):
        v.delete(key, COOKIE)
    start = time.perf_counter()
    v.vacuum()
    assert time.perf_counter() - start < 10  # ~0.1 s here; runs of adjacent records are copied at once
    assert v.read(20000, COOKIE).data == b"x" * 100
    v.close()
