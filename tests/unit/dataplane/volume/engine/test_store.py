"""Store: volumes over several directories, slots, loading, collections, read-only, statistics."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dataplane.volume.engine.errors import NoFreeSlot, VolumeExists, VolumeNotFound, VolumeReadOnly
from dataplane.volume.engine.store import Store
from dataplane.volume.engine.types import NeedleId, ReplicaPlacement, Ttl, VolumeId

from .builders import FakeClock, make_store, upload

RP = ReplicaPlacement()
COOKIE = 0x12345678


def test_allocate_spreads_over_dirs_until_full(tmp_path: Path, clock: FakeClock) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    store = make_store([a, b], [2, 1], clock)
    for vid in (1, 2, 3):
        store.allocate_volume(VolumeId(vid), "", RP, Ttl())
    assert len(list(a.glob("*.dat"))) == 2
    assert len(list(b.glob("*.dat"))) == 1
    with pytest.raises(NoFreeSlot) as info:
        store.allocate_volume(VolumeId(4), "", RP, Ttl())
    assert info.value.max_volume_count == 3
    with pytest.raises(VolumeExists):
        store.allocate_volume(VolumeId(2), "", RP, Ttl())
    store.close()


def test_files_are_named_by_collection(tmp_path: Path, clock: FakeClock) -> None:
    store = make_store([tmp_path], [4], clock)
    store.allocate_volume(VolumeId(7), "", RP, Ttl())
    store.allocate_volume(VolumeId(12), "c1", RP, Ttl())
    store.allocate_volume(VolumeId(13), "my_pics", RP, Ttl())
    names = sorted(os.listdir(tmp_path))
    assert names == sorted(f"{b}{e}" for b in ("7", "c1_12", "my_pics_13") for e in (".dat", ".idx", ".vif"))
    store.close()
    store = make_store([tmp_path], [4], clock)
    loaded = [(s.id, s.collection) for s in store.statistics().volumes]
    assert loaded == [(7, ""), (12, "c1"), (13, "my_pics")]
    store.close()


def test_load_reopens_volumes_with_their_needles_and_settings(tmp_path: Path, clock: FakeClock) -> None:
    store = make_store([tmp_path / "a", tmp_path / "b"], [1, 1], clock)
    store.allocate_volume(VolumeId(1), "pics", ReplicaPlacement.parse("001"), Ttl())
    store.allocate_volume(VolumeId(2), "", RP, Ttl.parse("3d"))
    store.write_needle(VolumeId(1), upload(5, b"five"))
    store.write_needle(VolumeId(2), upload(6, b"six", last_modified=clock.now_ns // 10**9))
    store.mark_read_only(VolumeId(1), True)
    store.close()
    store = make_store([tmp_path / "a", tmp_path / "b"], [1, 1], clock)
    assert store.read_needle(VolumeId(1), NeedleId(5), COOKIE).data == b"five"
    assert store.read_needle(VolumeId(2), NeedleId(6), COOKIE).data == b"six"
    one, two = store.volume_info(VolumeId(1)), store.volume_info(VolumeId(2))
    assert (one.collection, str(one.replica_placement), one.read_only) == ("pics", "001", True)
    assert one.file_count == 1
    assert (two.collection, str(two.ttl), two.read_only) == ("", "3d", False)
    with pytest.raises(VolumeReadOnly):
        store.write_needle(VolumeId(1), upload(7, b"no"))
    store.close()


def test_delete_volume_and_collection(tmp_path: Path, clock: FakeClock) -> None:
    store = make_store([tmp_path], [5], clock)
    for vid, collection in ((1, "a"), (2, "a"), (3, "b"), (4, "")):
        store.allocate_volume(VolumeId(vid), collection, RP, Ttl())
    store.delete_volume(VolumeId(4))
    with pytest.raises(VolumeNotFound):
        store.delete_volume(VolumeId(4))
    store.delete_collection("a")
    store.delete_collection("nothing")
    assert [s.id for s in store.statistics().volumes] == [3]
    assert sorted(os.listdir(tmp_path)) == ["b_3.dat", "b_3.idx", "b_3.vif"]
    store.allocate_volume(VolumeId(1), "a", RP, Ttl())  # the slot is free again
    store.close()


def test_unknown_volume(tmp_path: Path, clock: FakeClock) -> None:
    store = make_store([tmp_path], [1], clock)
    assert not store.has_volume(VolumeId(9))
    for call in (lambda: store.read_needle(VolumeId(9), NeedleId(1), 1),
                 lambda: store.write_needle(VolumeId(9), upload(1, b"x")),
                 lambda: store.delete_needle(VolumeId(9), NeedleId(1), 1),
                 lambda: store.volume_info(VolumeId(9)), lambda: store.vacuum(VolumeId(9)),
                 lambda: store.mark_read_only(VolumeId(9), True)):
        with pytest.raises(VolumeNotFound) as info:
            call()
        assert info.value.volume_id == 9
    store.close()


def test_statistics(tmp_path: Path, clock: FakeClock) -> None:
    store = make_store([tmp_path / "a", tmp_path / "b"], [3, 4], clock)
    store.allocate_volume(VolumeId(1), "", RP, Ttl())
    w = store.write_needle(VolumeId(1), upload(1, b"x" * 100))
    assert store.delete_needle(VolumeId(1), NeedleId(1), COOKIE) == w.size
    stats = store.statistics()
    assert stats.max_volume_count == 7 and len(stats.disks) == 2
    disk = stats.disks[0]
    assert disk.dir == str(tmp_path / "a") and disk.all > 0 and disk.used + disk.free == disk.all
    (vol,) = stats.volumes
    assert (vol.id, vol.version, vol.file_count, vol.delete_count) == (1, 3, 1, 1)
    assert vol.deleted_byte_count == w.size and vol.modified_at_second > 0
    assert vol.content_size == w.size  # weed's /status "Size": Size fields of all puts, not the .dat length
    assert vol.size == os.path.getsize(tmp_path / "b" / "1.dat")  # b had the most free slots
    assert store.garbage_ratio(VolumeId(1)) == 1.0
    store.close()


def test_a_corrupt_volume_is_skipped_not_fatal(tmp_path: Path, clock: FakeClock) -> None:
    store = make_store([tmp_path], [3], clock)
    store.allocate_volume(VolumeId(1), "", RP, Ttl())
    store.allocate_volume(VolumeId(2), "", RP, Ttl())
    store.close()
    with open(tmp_path / "2.dat", "r+b") as f:
        f.write(b"\x09")  # unknown needle version
    store = make_store([tmp_path], [3], clock)
    assert store.has_volume(VolumeId(1)) and not store.has_volume(VolumeId(2))
    store.close()


def test_mismatched_offset_size_is_refused(tmp_path: Path, clock: FakeClock) -> None:
    store = make_store([tmp_path], [1], clock, large_disk=True)
    store.allocate_volume(VolumeId(1), "", RP, Ttl())
    store.close()
    store = make_store([tmp_path], [1], clock, large_disk=False)
    assert not store.has_volume(VolumeId(1))  # 17-byte entries cannot be read as 16-byte ones
    store.close()


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        Store(["/tmp/kelp-A1/x"], [1, 2])
    with pytest.raises(ValueError):
        Store(["/tmp/kelp-A1/x"], [1], index="rocksdb")


def test_statistics_report_the_highest_key_ever_stored(tmp_path: Path, clock: FakeClock) -> None:
    # The master never issues a key at or below this, so a directory written elsewhere (or a
    # master that lost its state) cannot make new uploads collide with stored needles.
    store = make_store([tmp_path], [4], clock)
    store.allocate_volume(VolumeId(1), "", RP, Ttl())
    store.allocate_volume(VolumeId(2), "", RP, Ttl())
    store.write_needle(VolumeId(1), upload(0x50, b"a"))
    store.write_needle(VolumeId(2), upload(0x900, b"b"))
    store.delete_needle(VolumeId(2), NeedleId(0x900), COOKIE)
    stats = store.statistics()
    assert stats.max_file_key == 0x900
    assert {v.id: v.max_file_key for v in stats.volumes} == {1: 0x50, 2: 0x900}
    store.close()
    reopened = make_store([tmp_path], [4], clock)
    reopened.load()
    assert reopened.statistics().max_file_key == 0x900
    reopened.close()


def test_needle_size_is_known_without_reading(tmp_path: Path, clock: FakeClock) -> None:
    store = make_store([tmp_path], [4], clock)
    store.allocate_volume(VolumeId(1), "", RP, Ttl())
    result = store.write_needle(VolumeId(1), upload(7, b"z" * 1000))
    assert store.needle_size(VolumeId(1), NeedleId(7)) == result.size > 1000
    assert store.needle_size(VolumeId(1), NeedleId(8)) == 0
    with pytest.raises(VolumeNotFound):
        store.needle_size(VolumeId(2), NeedleId(7))
    store.close()
