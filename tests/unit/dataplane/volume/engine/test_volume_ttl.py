"""TTL: needle TTLs expire reads; a TTL volume stamps its TTL on needles and expires as a whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from dataplane.volume.engine.errors import NeedleNotFound
from dataplane.volume.engine.needle import FLAG_HAS_TTL
from dataplane.volume.engine.types import ReplicaPlacement, Ttl, VolumeId
from dataplane.volume.engine.volume_info import read_volume_info

from .builders import FakeClock, make_store, upload
from .conftest import VolumeFactory


def test_needle_ttl_expires(make_volume: VolumeFactory, clock: FakeClock) -> None:
    v = make_volume()
    v.write(upload(1, b"short lived", ttl=Ttl.parse("5m")))
    v.write(upload(2, b"forever"))
    clock.advance(4 * 60)
    assert v.read(1, 0x12345678).data == b"short lived"
    clock.advance(61)
    with pytest.raises(NeedleNotFound) as info:
        v.read(1, 0x12345678)
    assert info.value.expired
    assert v.read(2, 0x12345678).data == b"forever"
    v.close()


def test_ttl_volume_stamps_needles_and_records_expiry(make_volume: VolumeFactory, clock: FakeClock) -> None:
    v = make_volume(ttl=Ttl.parse("1h"))
    info = read_volume_info(v.base + ".vif")
    assert info is not None and info.expire_at_sec == clock.now_ns // 10**9 + 3600
    v.write(upload(1, b"inherits"))
    n = v.read(1, 0x12345678)
    assert n.flags & FLAG_HAS_TTL and n.ttl == Ttl.parse("1h")
    clock.advance(3601)
    with pytest.raises(NeedleNotFound):
        v.read(1, 0x12345678)
    v.close()


def test_expired_ttl_volumes_are_removed_after_a_grace_period(tmp_path: Path, clock: FakeClock) -> None:
    store = make_store([tmp_path], [4], clock)
    store.allocate_volume(VolumeId(1), "", ReplicaPlacement(), Ttl.parse("1h"))
    store.allocate_volume(VolumeId(2), "", ReplicaPlacement(), Ttl.parse("1h"))  # stays empty
    store.allocate_volume(VolumeId(3), "", ReplicaPlacement(), Ttl())
    now_s = clock.now_ns // 10**9
    store.write_needle(VolumeId(1), upload(1, b"x", last_modified=now_s))
    store.write_needle(VolumeId(3), upload(1, b"x", last_modified=now_s))
    clock.advance(3600 + 5 * 60)  # expired, but within a tenth of the TTL (6 minutes)
    assert store.remove_expired_volumes() == []
    clock.advance(2 * 60)
    assert store.remove_expired_volumes() == [VolumeId(1)]
    assert [store.has_volume(VolumeId(v)) for v in (1, 2, 3)] == [False, True, True]
    assert not (tmp_path / "1.dat").exists()
    store.close()
