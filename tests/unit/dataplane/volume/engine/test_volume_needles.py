"""Volume writes, reads and deletes: cookies, identical re-uploads, tombstones, AppendAtNs."""

from __future__ import annotations

import os
import struct

import pytest

from dataplane.volume.engine.errors import CookieMismatch, InvalidNeedle, NeedleNotFound, VolumeReadOnly
from dataplane.volume.engine.idx import TOMBSTONE_SIZE, IdxFormat
from dataplane.volume.engine.needle import Needle, record_length
from dataplane.volume.engine.types import Ttl

from .builders import FakeClock, reopen, upload
from .conftest import VolumeFactory


def test_round_trip_and_survives_reopen(make_volume: VolumeFactory, fmt: IdxFormat, clock: FakeClock) -> None:
    v = make_volume(fmt)
    result = v.write(upload(1, b"first", pairs=b'{"A":"b"}'))
    assert result.offset == 8 and not result.unchanged and result.size > 0
    v.write(upload(2, b""))
    n = v.read(1, 0x12345678)
    assert (n.data, n.name, n.mime, n.pairs, n.last_modified) == (b"first", b"f.bin", b"application/x-test",
                                                                  b'{"A":"b"}', 1_700_000_000)
    assert n.etag() == f"{result.checksum:08x}" and n.size == result.size
    v = reopen(v, clock)
    assert v.read(1, 0x12345678).data == b"first"
    assert v.read(2, 0x12345678).data == b""
    v.close()


def test_wrong_cookie_on_read_and_overwrite(make_volume: VolumeFactory) -> None:
    v = make_volume()
    v.write(upload(1, b"x", cookie=1))
    with pytest.raises(CookieMismatch) as info:
        v.read(1, 2)
    assert (info.value.expected, info.value.given, info.value.key) == (1, 2, 1)
    with pytest.raises(CookieMismatch):
        v.write(upload(1, b"y", cookie=2))
    with pytest.raises(CookieMismatch):
        v.delete(1, 2)
    assert v.read(1, 1).data == b"x"
    v.close()


def test_identical_reupload_appends_nothing(make_volume: VolumeFactory) -> None:
    v = make_volume()
    first = v.write(upload(1, b"same bytes"))
    size = v.size
    again = v.write(upload(1, b"same bytes"))
    assert again.unchanged and again.checksum == first.checksum and again.offset == first.offset
    assert v.size == size and v.statistics().file_count == 1
    changed = v.write(upload(1, b"other bytes"))
    assert not changed.unchanged and v.size > size
    assert v.read(1, 0x12345678).data == b"other bytes"
    stats = v.statistics()
    assert (stats.file_count, stats.delete_count, stats.deleted_byte_count) == (2, 1, first.size)
    v.close()


def test_reupload_to_a_ttl_volume_is_always_appended(make_volume: VolumeFactory) -> None:
    v = make_volume(ttl=Ttl.parse("1d"))
    v.write(upload(1, b"same"))
    assert not v.write(upload(1, b"same")).unchanged
    v.close()


def test_empty_reupload_is_appended(make_volume: VolumeFactory) -> None:
    v = make_volume()
    v.write(upload(1, b""))
    assert not v.write(upload(1, b"")).unchanged
    v.close()


def test_delete_writes_a_tombstone_and_idx_entry(make_volume: VolumeFactory, fmt: IdxFormat,
                                                 clock: FakeClock) -> None:
    v = make_volume(fmt)
    w = v.write(upload(7, b"doomed"))
    end = v.size
    assert v.delete(7, 0x12345678) == w.size
    assert v.size == end + 32
    with open(v.base + ".dat", "rb") as f:
        tomb = f.read()[end:]
    assert struct.unpack(">IQIIQ", tomb[:28])[:4] == (0x12345678, 7, 0, w.checksum)
    with open(v.base + ".idx", "rb") as f:
        idx = f.read()
    assert fmt.unpack(idx, fmt.entry_size) == (7, end // 8, TOMBSTONE_SIZE)
    with pytest.raises(NeedleNotFound) as info:
        v.read(7, 0x12345678)
    assert info.value.deleted
    assert v.read(7, 0x12345678, read_deleted=True).data == b"doomed"
    with pytest.raises(NeedleNotFound):
        v.delete(7, 0x12345678)
    v = reopen(v, clock)
    with pytest.raises(NeedleNotFound):
        v.read(7, 0x12345678)
    assert v.read(7, 0x12345678, read_deleted=True).data == b"doomed"
    stats = v.statistics()
    assert (stats.file_count, stats.delete_count, stats.deleted_byte_count) == (1, 1, w.size)
    v.close()


def test_missing_needle(make_volume: VolumeFactory) -> None:
    v = make_volume()
    with pytest.raises(NeedleNotFound) as info:
        v.read(5, 1)
    assert not info.value.deleted and info.value.key == 5
    with pytest.raises(NeedleNotFound):
        v.delete(5, 1)
    v.close()


def test_append_at_ns_strictly_increases_when_the_clock_stalls(make_volume: VolumeFactory,
                                                                 clock: FakeClock) -> None:
    v = make_volume()
    clock.advance(-10)  # the clock went backwards
    stamps = []
    for key in range(1, 6):
        v.write(upload(key, b"d"))
        stamps.append(v.read(key, 0x12345678).append_at_ns)
    assert stamps == sorted(set(stamps))
    v.close()


def test_read_only_refuses_writes_and_deletes_and_persists(make_volume: VolumeFactory,
                                                           clock: FakeClock) -> None:
    v = make_volume()
    v.write(upload(1, b"x"))
    v.set_read_only(True)
    with pytest.raises(VolumeReadOnly):
        v.write(upload(2, b"y"))
    with pytest.raises(VolumeReadOnly):
        v.delete(1, 0x12345678)
    assert v.read(1, 0x12345678).data == b"x"
    v = reopen(v, clock)
    assert v.read_only and v.statistics().read_only
    v.set_read_only(False)
    v.write(upload(2, b"y"))
    v.close()


def test_fsync_write(make_volume: VolumeFactory) -> None:
    v = make_volume()
    v.write(upload(1, b"durable"), fsync=True)
    assert os.path.getsize(v.base + ".dat") == 8 + record_length(v.read(1, 0x12345678).size)
    v.close()


def test_needle_without_metadata_flags(make_volume: VolumeFactory) -> None:
    v = make_volume()
    v.write(Needle(cookie=3, id=4, data=b"bare"))
    n = v.read(4, 3)
    assert (n.data, n.flags, n.name) == (b"bare", 0, b"")
    v.close()


def test_version_2_volume_is_read_and_written(make_volume: VolumeFactory, clock: FakeClock) -> None:
    v = make_volume()
    v.close()
    with open(v.base + ".dat", "r+b") as f:
        f.write(b"\x02")  # a version-2 superblock, as older SeaweedFS wrote
    v = reopen(v, clock)
    assert v.version == 2
    w = v.write(upload(1, b"old format"))
    assert v.size == 8 + record_length(w.size, 2)
    v = reopen(v, clock)
    n = v.read(1, 0x12345678)
    assert (n.data, n.append_at_ns, n.name) == (b"old format", 0, b"f.bin")
    v.delete(1, 0x12345678)
    v = reopen(v, clock)
    with pytest.raises(NeedleNotFound):
        v.read(1, 0x12345678)
    v.close()


def test_append_at_ns_keeps_increasing_across_a_restart(make_volume: VolumeFactory, clock: FakeClock) -> None:
    v = make_volume()
    v.write(upload(1, b"before"))
    before = v.read(1, 0x12345678).append_at_ns
    v = reopen(v, clock)
    clock.advance(-3600)  # the clock was set back while the server was down
    v.write(upload(2, b"after"))
    assert v.read(2, 0x12345678).append_at_ns == before + 1
    v.close()


def test_key_0_is_refused(make_volume: VolumeFactory) -> None:
    v = make_volume()
    with pytest.raises(InvalidNeedle):
        v.write(upload(0, b"x"))
    v.close()
