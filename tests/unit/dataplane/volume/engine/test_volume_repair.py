"""Start-up repair: torn .dat tails, partial .idx entries, .idx entries past the end of .dat."""

from __future__ import annotations

import os

import pytest

from dataplane.volume.engine.errors import CorruptNeedle, NeedleNotFound
from dataplane.volume.engine.idx import TOMBSTONE_SIZE, IdxFormat
from dataplane.volume.engine.volume import Volume

from .builders import FakeClock, reopen, upload
from .conftest import VolumeFactory

COOKIE = 0x12345678


def filled(make_volume: VolumeFactory, fmt: IdxFormat, index: str, count: int = 3) -> Volume:
    v = make_volume(fmt, index=index)
    for key in range(1, count + 1):
        v.write(upload(key, f"needle {key} ".encode() * key))
    return v


def lose_idx_entries(v: Volume, count: int) -> None:
    """Simulate a crash after the .dat write but before the .idx write."""
    size = os.path.getsize(v.base + ".idx")
    os.truncate(v.base + ".idx", size - count * v.fmt.entry_size)


@pytest.fixture(params=["memory", "leveldb"])
def index(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_complete_records_missing_from_idx_are_reindexed(make_volume: VolumeFactory, fmt: IdxFormat,
                                                         clock: FakeClock, index: str) -> None:
    v = filled(make_volume, fmt, index)
    v.delete(3, COOKIE)
    dat_size = v.size
    v.close()
    lose_idx_entries(v, 3)  # the put of 2, put of 3 and the delete of 3
    v = reopen(v, clock)
    assert v.read(2, COOKIE).data == b"needle 2 " * 2
    with pytest.raises(NeedleNotFound):  # the tombstone was recognised as one
        v.read(3, COOKIE)
    assert v.size == dat_size and os.path.getsize(v.base + ".idx") == 4 * fmt.entry_size
    with open(v.base + ".idx", "rb") as f:
        _, _, size = fmt.unpack(f.read(), 3 * fmt.entry_size)
    assert size == TOMBSTONE_SIZE
    v.write(upload(9, b"after repair"))
    v = reopen(v, clock)
    assert v.read(9, COOKIE).data == b"after repair" and v.read(1, COOKIE).data == b"needle 1 "
    v.close()


def test_partial_last_record_is_truncated(make_volume: VolumeFactory, fmt: IdxFormat, clock: FakeClock,
                                          index: str) -> None:
    v = filled(make_volume, fmt, index)
    good = v.size
    v.write(upload(4, b"torn" * 100))
    v.close()
    lose_idx_entries(v, 1)
    os.truncate(v.base + ".dat", good + 50)  # half of needle 4 reached the disk
    v = reopen(v, clock)
    assert v.size == good == os.path.getsize(v.base + ".dat")
    with pytest.raises(NeedleNotFound):
        v.read(4, COOKIE)
    assert v.read(3, COOKIE).data == b"needle 3 " * 3
    v.write(upload(5, b"next"))
    assert v.read(5, COOKIE).data == b"next"
    v.close()


def test_garbage_after_the_last_record_is_cut(make_volume: VolumeFactory, fmt: IdxFormat, clock: FakeClock,
                                              index: str) -> None:
    v = filled(make_volume, fmt, index)
    good = v.size
    v.close()
    with open(v.base + ".dat", "ab") as f:
        f.write(os.urandom(100) + bytes(4096))
    v = reopen(v, clock)
    assert os.path.getsize(v.base + ".dat") == good
    assert [v.read(k, COOKIE).data for k in (1, 2, 3)] == [f"needle {k} ".encode() * k for k in (1, 2, 3)]
    v.close()


def test_record_with_bad_crc_in_the_tail_is_not_reindexed(make_volume: VolumeFactory,
                                                           clock: FakeClock) -> None:
    v = filled(make_volume, IdxFormat(True), "memory")
    before = v.size
    v.write(upload(4, b"will rot"))
    v.close()
    lose_idx_entries(v, 1)
    with open(v.base + ".dat", "r+b") as f:
        f.seek(before + 21)
        f.write(b"X")
    v = reopen(v, clock)
    assert v.size == before
    with pytest.raises(NeedleNotFound):
        v.read(4, COOKIE)
    v.close()


def test_partial_idx_entry_is_trimmed(make_volume: VolumeFactory, fmt: IdxFormat, clock: FakeClock,
                                      index: str) -> None:
    v = filled(make_volume, fmt, index)
    v.close()
    with open(v.base + ".idx", "ab") as f:
        f.write(b"\x00\x00\x00\x00\x00\x00\x00\x09\x00")
    v = reopen(v, clock)
    assert os.path.getsize(v.base + ".idx") == 3 * fmt.entry_size
    assert v.read(3, COOKIE).data == b"needle 3 " * 3
    v.close()


def test_idx_entries_past_the_end_of_dat_are_dropped(make_volume: VolumeFactory, fmt: IdxFormat,
                                                     clock: FakeClock, index: str) -> None:
    v = filled(make_volume, fmt, index)
    v.close()
    with open(v.base + ".idx", "rb") as f:
        f.seek(2 * fmt.entry_size)
        _, offset_units, _ = fmt.unpack(f.read(fmt.entry_size))
    os.truncate(v.base + ".dat", offset_units * 8)  # needle 3's record never made it
    v = reopen(v, clock)
    assert os.path.getsize(v.base + ".idx") == 2 * fmt.entry_size
    with pytest.raises(NeedleNotFound):
        v.read(3, COOKIE)
    assert v.read(2, COOKIE).data == b"needle 2 " * 2
    stats = v.statistics()
    assert stats.file_count == 2 and stats.size == offset_units * 8
    v.close()


def test_flipped_byte_is_reported_not_returned(make_volume: VolumeFactory, clock: FakeClock) -> None:
    v = filled(make_volume, IdxFormat(True), "memory")
    v.close()
    with open(v.base + ".idx", "rb") as f:
        _, offset_units, _ = v.fmt.unpack(f.read(v.fmt.entry_size * 2), v.fmt.entry_size)
    with open(v.base + ".dat", "r+b") as f:
        f.seek(offset_units * 8 + 25)
        byte = f.read(1)
        f.seek(offset_units * 8 + 25)
        f.write(bytes([byte[0] ^ 0x40]))
    v = reopen(v, clock)
    with pytest.raises(CorruptNeedle) as info:
        v.read(2, COOKIE)
    assert info.value.key == 2 and info.value.offset == offset_units * 8
    assert v.read(1, COOKIE).data == b"needle 1 "
    v.close()


def test_lost_idx_is_rebuilt_from_dat(make_volume: VolumeFactory, clock: FakeClock, index: str) -> None:
    v = filled(make_volume, IdxFormat(True), index, count=20)
    v.delete(5, COOKIE)
    v.close()
    os.truncate(v.base + ".idx", 0)
    v = reopen(v, clock)
    assert v.read(20, COOKIE).data == b"needle 20 " * 20
    with pytest.raises(NeedleNotFound):
        v.read(5, COOKIE)
    assert v.statistics().file_count == 20
    v.close()
