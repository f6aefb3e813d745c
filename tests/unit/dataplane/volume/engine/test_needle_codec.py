"""Needle record encoding and decoding (versions 2 and 3), Size arithmetic and CRC checks."""

from __future__ import annotations

import struct

import pytest
from crc32c import crc32c

from dataplane.volume.engine.errors import CorruptNeedle, InvalidNeedle
from dataplane.volume.engine.needle import (
    FLAG_CHUNK_MANIFEST,
    FLAG_COMPRESSED,
    FLAG_HAS_LAST_MODIFIED,
    FLAG_HAS_MIME,
    FLAG_HAS_NAME,
    FLAG_HAS_PAIRS,
    FLAG_HAS_TTL,
    VERSION_2,
    VERSION_3,
    Needle,
    checksum,
    decode,
    encode,
    encode_tombstone,
    legacy_checksum,
    padding_length,
    record_length,
)
from dataplane.volume.engine.types import Ttl


def record(n: Needle, version: int = VERSION_3) -> bytes:
    return b"".join(encode(n, version))


def full_needle() -> Needle:
    data = b"hello needle"
    n = Needle.for_upload(0xCAFEBABE, 0x1234, data, name=b"a.txt", mime=b"text/plain",
                          last_modified=1600000000, ttl=Ttl.parse("3d"), pairs=b'{"Color":"blue"}',
                          compressed=True, chunk_manifest=True)
    n.checksum = checksum(data)
    n.append_at_ns = 1_700_000_000_123_456_789
    return n


def test_for_upload_sets_flags_like_the_http_write_path() -> None:
    n = Needle.for_upload(1, 2, b"x", name=b"", mime=b"")
    assert n.flags == FLAG_HAS_NAME | FLAG_HAS_MIME | FLAG_HAS_LAST_MODIFIED
    n = full_needle()
    assert n.flags == (FLAG_HAS_NAME | FLAG_HAS_MIME | FLAG_HAS_LAST_MODIFIED | FLAG_HAS_TTL | FLAG_HAS_PAIRS
                       | FLAG_COMPRESSED | FLAG_CHUNK_MANIFEST)
    assert n.is_compressed and n.is_chunk_manifest
    long_name = Needle.for_upload(1, 2, b"x", name=b"n" * 256)
    assert not long_name.flags & FLAG_HAS_NAME and long_name.name == b""


def test_v3_round_trip_keeps_every_field() -> None:
    n = full_needle()
    raw = record(n)
    assert len(raw) == record_length(n.size) and len(raw) % 8 == 0
    back = decode(raw)
    assert back == n
    assert back.etag() == f"{crc32c(b'hello needle'):08x}"


def test_v3_layout_matches_the_offset_table() -> None:
    n = full_needle()
    raw = record(n)
    cookie, key, size, data_size = struct.unpack_from(">IQII", raw, 0)
    assert (cookie, key, data_size) == (0xCAFEBABE, 0x1234, 12)
    # Size = 4 + DataSize + 1 + (1+5 name) + (1+10 mime) + 5 + 2 + (2+16 pairs)
    assert size == 4 + 12 + 1 + 6 + 11 + 5 + 2 + 18 == n.size
    p = 20
    assert raw[p : p + 12] == b"hello needle"
    p += 12
    assert raw[p] == n.flags
    assert raw[p + 1] == 5 and raw[p + 2 : p + 7] == b"a.txt"
    p += 7
    assert raw[p] == 10 and raw[p + 1 : p + 11] == b"text/plain"
    p += 11
    assert int.from_bytes(raw[p : p + 5], "big") == 1600000000
    p += 5
    assert raw[p : p + 2] == bytes([3, 3])  # 3 days
    p += 2
    assert struct.unpack_from(">H", raw, p)[0] == 16 and raw[p + 2 : p + 18] == b'{"Color":"blue"}'
    p += 18
    assert p == 16 + size
    crc, ns = struct.unpack_from(">IQ", raw, p)
    assert crc == crc32c(b"hello needle") and ns == n.append_at_ns
    assert len(raw) - (p + 12) == padding_length(size)


@pytest.mark.parametrize("size", range(0, 17))
def test_padding_is_1_to_8_bytes_never_0(size: int) -> None:
    for version in (VERSION_2, VERSION_3):
        pad = padding_length(size, version)
        assert 1 <= pad <= 8
        assert record_length(size, version) % 8 == 0
    # An aligned v3 record (16 + 4 + 12 = 32) still gets 8 bytes of padding.
    assert padding_length(4) == 8 and record_length(4) == 40


def test_empty_needle_has_size_0_and_loses_metadata() -> None:
    n = Needle.for_upload(7, 9, b"", name=b"gone.txt", mime=b"text/plain", last_modified=5)
    raw = record(n)
    assert n.size == 0 and len(raw) == 32
    back = decode(raw)
    assert (back.size, back.data, back.name, back.mime, back.flags, back.checksum) == (0, b"", b"", b"", 0, 0)


def test_tombstone_is_32_bytes_with_the_deleted_crc() -> None:
    raw = encode_tombstone(0xAABBCCDD, 42, 0x6CC7233E, 99)
    assert len(raw) == 32
    assert struct.unpack_from(">IQIIQ", raw, 0) == (0xAABBCCDD, 42, 0, 0x6CC7233E, 99)


def test_padding_starts_with_the_size_bytes_as_weed_writes_it() -> None:
    n = Needle.for_upload(1, 2, b"x" * 40, name=b"blob.bin", mime=b"application/x-foo")
    raw = record(n)
    pad = raw[16 + n.size + 12 :]
    assert pad == (struct.pack(">I", n.size) + bytes(4))[: len(pad)]


def test_v2_has_no_append_at_ns() -> None:
    n = full_needle()
    raw = record(n, VERSION_2)
    assert len(raw) == record_length(n.size, VERSION_2)
    assert (16 + n.size + 4 + padding_length(n.size, VERSION_2)) == len(raw)
    back = decode(raw, VERSION_2)
    assert back.append_at_ns == 0 and back.data == n.data and back.name == n.name


def test_flipped_data_byte_is_a_crc_error() -> None:
    raw = bytearray(record(full_needle()))
    raw[21] ^= 0x01
    with pytest.raises(CorruptNeedle) as info:
        decode(bytes(raw), volume_id=3, offset=800)
    assert info.value.volume_id == 3 and info.value.offset == 800 and info.value.key == 0x1234
    assert "CRC" in info.value.reason


def test_legacy_crc_transform_is_accepted() -> None:
    n = full_needle()
    n.checksum = legacy_checksum(crc32c(n.data))
    assert decode(record(n)).data == n.data
    n.checksum ^= 1
    with pytest.raises(CorruptNeedle):
        decode(record(n))


def test_truncated_record_is_corrupt() -> None:
    raw = record(full_needle())
    with pytest.raises(CorruptNeedle):
        decode(raw[:40])
    with pytest.raises(CorruptNeedle):
        decode(raw[:10])


def test_field_lengths_are_bounded() -> None:
    n = Needle(1, 2, b"x", flags=FLAG_HAS_NAME | FLAG_HAS_MIME, name=b"n" * 300, mime=b"m" * 300)
    back = decode(record(n), verify=False)
    assert back.name == b"n" * 255 and back.mime == b"m" * 255
    with pytest.raises(InvalidNeedle):
        encode(Needle(1, 2, b"x", flags=FLAG_HAS_PAIRS, pairs=b"p" * 70000))


def test_last_modified_keeps_the_low_5_bytes() -> None:
    n = Needle(1, 2, b"x", flags=FLAG_HAS_LAST_MODIFIED, last_modified=(1 << 41) + 5)
    n.checksum = checksum(b"x")
    assert decode(record(n)).last_modified == 5
