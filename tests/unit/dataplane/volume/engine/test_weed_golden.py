"""Volumes written by SeaweedFS weed 4.48 (5-byte offsets) read back through the Store.

The fixture files and what was uploaded are described in tests/fixtures/weed448/README.md.
Each test works on a copy, since opening may repair files.
"""

from __future__ import annotations

import gzip
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from crc32c import crc32c

from dataplane.volume.engine.errors import CookieMismatch, NeedleNotFound
from dataplane.volume.engine.needle import FLAG_CHUNK_MANIFEST, FLAG_COMPRESSED, FLAG_HAS_TTL, Needle
from dataplane.volume.engine.store import Store
from dataplane.volume.engine.types import FileId, NeedleId, Ttl, VolumeId
from dataplane.volume.engine.volume_info import read_volume_info

from .builders import FakeClock, make_store, upload

FIXTURES = Path(__file__).resolve().parents[4] / "fixtures" / "weed448"
WEED_NOW_NS = 1_795_319_300 * 10**9  # when the fixtures were written (Nov 2026)

BLOB = (FIXTURES / "blob.bin").read_bytes()
# fid -> (data, name, mime, pairs, etag)
EXPECTED = {
    "1,011bb5c9fb": (BLOB, b"blob.bin", b"application/x-foo", b"", "6cc7233e"),
    "1,011bb5c9fb_2": (b'{"hello":"world"}', b"1,011bb5c9fb_2", b"application/json",
                       b'{"Color":"blue","X-Test":"t1"}', "ae899ac5"),
    "1,011bb5c9fb_3": (b"", b"", b"", b"", "00000000"),
    "1,011bb5c9fb_5": (b"second-version-longer", b"v2.txt", b"application/x-v", b"", "b0af0540"),
    "1,011bb5c9fb_7": ((FIXTURES / "raw.bin").read_bytes(), b"1,011bb5c9fb_7", b"image/png", b"", "029c919a"),
    "2,094cdf7292": (b"plain default collection", b"d.txt", b"application/x-d", b"", "fd297f8d"),
}


@pytest.fixture(params=["memory", "leveldb"])
def store(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Store]:
    for name in ("gold_1", "2"):
        for ext in (".dat", ".idx", ".vif"):
            shutil.copy(FIXTURES / f"{name}{ext}", tmp_path / f"{name}{ext}")
    s = make_store([tmp_path], [8], FakeClock(WEED_NOW_NS), large_disk=True, index=str(request.param))
    yield s
    s.close()


def read(store: Store, fid_text: str, *, read_deleted: bool = False) -> Needle:
    fid = FileId.parse(fid_text)
    return store.read_needle(fid.volume_id, fid.key, fid.cookie, read_deleted=read_deleted)


@pytest.mark.parametrize("fid", sorted(EXPECTED))
def test_every_needle_reads_back(store: Store, fid: str) -> None:
    data, name, mime, pairs, etag = EXPECTED[fid]
    n = read(store, fid)
    assert (n.data, n.name, n.mime, n.pairs, n.etag()) == (data, name, mime, pairs, etag)
    assert n.checksum == crc32c(data)


def test_auto_gzipped_text(store: Store) -> None:
    n = read(store, "1,011bb5c9fb_1")
    assert n.is_compressed and n.flags & FLAG_COMPRESSED and len(n.data) == 103
    assert gzip.decompress(n.data) == (FIXTURES / "notes.txt").read_bytes()
    assert (n.name, n.mime, n.etag()) == (b"notes.txt", b"text/plain", "cfcfa0d2")
    assert n.last_modified == 1600000001


def test_chunk_manifest(store: Store) -> None:
    n = read(store, "1,011bb5c9fb_6")
    assert n.is_chunk_manifest and n.flags & FLAG_CHUNK_MANIFEST and n.etag() == "10cc800c"
    assert n.data.startswith(b'{"name":"joined.txt"')


def test_deleted_and_overwritten(store: Store) -> None:
    with pytest.raises(NeedleNotFound) as info:
        read(store, "1,011bb5c9fb_4")
    assert info.value.deleted
    assert read(store, "1,011bb5c9fb_4", read_deleted=True).data == (FIXTURES / "blob.bin").read_bytes()
    assert read(store, "1,011bb5c9fb_5").size == 0x2E + 8  # "second-version-longer" (21) + v2.txt metadata
    with pytest.raises(CookieMismatch):
        store.read_needle(VolumeId(1), NeedleId(1), 0x1BB5C9FA)


def test_volume_facts_match_weeds_heartbeat(store: Store) -> None:
    gold = store.volume_info(VolumeId(1))
    # weed's own heartbeat said: FileCount 9, DeleteCount 2, DeletedByteCount 106, Size 1288
    assert (gold.collection, gold.size, gold.file_count, gold.delete_count, gold.deleted_byte_count) == (
        "gold", 1288, 9, 2, 106)
    assert (gold.version, gold.compact_revision, gold.read_only) == (3, 0, False)
    assert store.volume_info(VolumeId(2)).collection == ""


def test_kelp_appends_and_deletes_in_weeds_volume(store: Store, tmp_path: Path) -> None:
    w = store.write_needle(VolumeId(1), upload(0x20, b"kelp was here", cookie=0x1BB5C9FB))
    assert w.offset == 1288
    assert store.delete_needle(VolumeId(1), NeedleId(1), 0x1BB5C9FB) == 0x4D
    assert store.vacuum(VolumeId(1)) > 0
    assert store.read_needle(VolumeId(1), NeedleId(0x20), 0x1BB5C9FB).data == b"kelp was here"
    assert read(store, "1,011bb5c9fb_2").pairs == b'{"Color":"blue","X-Test":"t1"}'
    info = read_volume_info(str(tmp_path / "gold_1.vif"))
    assert info is not None and info.bytes_offset == 5


def test_ttl_volume(tmp_path: Path) -> None:
    for ext in (".dat", ".idx", ".vif"):
        shutil.copy(FIXTURES / "ttl" / f"tt_1{ext}", tmp_path / f"tt_1{ext}")
    clock = FakeClock(WEED_NOW_NS)
    s = make_store([tmp_path], [1], clock)
    stats = s.volume_info(VolumeId(1))
    assert (stats.collection, stats.ttl) == ("tt", Ttl.parse("3y"))
    n = s.read_needle(VolumeId(1), NeedleId(1), 0x22CBEA74)
    assert n.data == b"ttl needle data" and n.flags & FLAG_HAS_TTL and n.ttl == Ttl.parse("3y")
    assert n.etag() == "165edce1"
    clock.advance(3 * 365 * 86400 + 60)
    with pytest.raises(NeedleNotFound) as info:
        s.read_needle(VolumeId(1), NeedleId(1), 0x22CBEA74)
    assert info.value.expired
    s.close()


def test_vif_round_trips_byte_for_byte() -> None:
    for path in (FIXTURES / "gold_1.vif", FIXTURES / "ttl" / "tt_1.vif"):
        info = read_volume_info(str(path))
        assert info is not None and info.to_json() == path.read_text()

