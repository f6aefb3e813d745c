"""Block layouts: weed 4.48's uniform one and the legacy large/small rows, at their boundaries."""

from __future__ import annotations

import random

import numpy as np
import pytest

from dataplane.volume.engine.ec.geometry import (
    LARGE_BLOCK_SIZE,
    SMALL_BLOCK_SIZE,
    Interval,
    Layout,
    RowGroup,
    shard_ext,
)
from dataplane.volume.engine.ec.info import EcConfig, ec_volume_info, layout_for

GIB, MIB = LARGE_BLOCK_SIZE, SMALL_BLOCK_SIZE


def test_shard_names() -> None:
    assert [shard_ext(i) for i in (0, 9, 13)] == [".ec00", ".ec09", ".ec13"]


@pytest.mark.parametrize("dat_size", [8, 8_805_000, 10 * MIB, 10 * MIB + 1, 11_689_456, GIB,
                                      10 * GIB - 1, 10 * GIB, 10 * GIB + 1, 30000 * MIB])
def test_uniform_and_legacy_shards_have_one_length(dat_size: int) -> None:
    uniform, legacy = Layout.uniform(dat_size), Layout.legacy(dat_size)
    assert uniform.shard_size == legacy.shard_size == -(-dat_size // (10 * MIB)) * MIB
    assert len(uniform.groups) == 1 and uniform.groups[0].rows == 1


def test_uniform_examples() -> None:
    # weed 4.48 measured: 11,689,456 bytes -> blockSize 2097152; 8,805,000 -> 1048576.
    assert Layout.uniform(11_689_456).groups == (RowGroup(1, 2 * MIB),)
    assert Layout.uniform(8_805_000).groups == (RowGroup(1, MIB),)
    one_gib = Layout.uniform(GIB)
    assert one_gib.groups == (RowGroup(1, 103 * MIB),)
    assert one_gib.locate(103 * MIB - 4, 10) == [Interval(0, 103 * MIB - 4, 4), Interval(1, 0, 6)]
    assert one_gib.locate(5 * 103 * MIB + 7, 3) == [Interval(5, 7, 3)]


def test_legacy_rows_at_the_ten_gib_boundary() -> None:
    below = Layout.legacy(10 * GIB - 1)
    assert below.groups == (RowGroup(1024, MIB),)
    exact = Layout.legacy(10 * GIB)
    assert exact.groups == (RowGroup(1, GIB),)
    above = Layout.legacy(10 * GIB + 1)
    assert above.groups == (RowGroup(1, GIB), RowGroup(1, MIB))
    # The last large block (shard 9) runs into small block 0 (shard 0, after the large row).
    assert above.locate(10 * GIB - 2, 5) == [Interval(9, GIB - 2, 2), Interval(0, GIB, 3)]
    # Large block 3 of row 0 is shard 3 at 0; small block 12 is shard 2 of small row 1.
    assert above.locate(3 * GIB + 5, 1) == [Interval(3, 5, 1)]
    two = Layout.legacy(20 * GIB + 30 * MIB)
    assert two.locate(20 * GIB + 12 * MIB + 9, 1) == [Interval(2, 2 * GIB + MIB + 9, 1)]
    assert two.locate(10 * GIB + 4 * GIB, 1) == [Interval(4, GIB, 1)]


def test_legacy_fallback_from_shard_size() -> None:
    # A shard of exactly N GiB is read as N-1 large rows plus small rows, as weed does.
    assert Layout.legacy_for_shard_size(GIB).groups == (RowGroup(1024, MIB),)
    assert Layout.legacy_for_shard_size(GIB + MIB).groups == (RowGroup(1, GIB), RowGroup(1, MIB))


def stripe(dat: bytes, layout: Layout) -> list[bytes]:
    """Data shard files for dat under layout, written out the slow obvious way."""
    shards = [bytearray(layout.shard_size) for _ in range(layout.data_shards)]
    padded = dat + bytes(layout.encoded_size - len(dat))
    for row in layout.rows():
        for s in range(layout.data_shards):
            start = row.dat_offset + s * row.block
            shards[s][row.shard_offset:row.shard_offset + row.block] = padded[start:start + row.block]
    return [bytes(s) for s in shards]


@pytest.mark.parametrize("kind", ["uniform", "legacy"])
def test_locate_reads_back_every_range(kind: str) -> None:
    rng = random.Random(kind)
    dat = np.random.default_rng(3).integers(0, 256, 3 * 640 + 7 * 80 + 13, dtype=np.uint8).tobytes()
    layout = Layout.legacy(len(dat), large_block=64, small_block=8) if kind == "legacy" else \
        Layout.uniform(len(dat), align=8)
    if kind == "legacy":
        assert layout.groups == (RowGroup(3, 64), RowGroup(8, 8))
    shards = stripe(dat, layout)
    cases = [(0, len(dat)), (639, 3), (1919, 2), (1920, 80), (len(dat) - 1, 1)]
    cases += [(o, rng.randint(0, len(dat) - o)) for o in (rng.randrange(len(dat)) for _ in range(300))]
    for offset, length in cases:
        got = b"".join(shards[iv.shard][iv.shard_offset:iv.shard_offset + iv.length]
                       for iv in layout.locate(offset, length))
        assert got == dat[offset:offset + length], (offset, length)


def test_layout_from_vif() -> None:
    uniform = ec_volume_info(version=3, dat_file_size=11_689_456, expire_at_sec=0,
                             config=EcConfig(encode_ts_ns=1, block_size=2 * MIB))
    assert layout_for(uniform, 2 * MIB).groups == (RowGroup(1, 2 * MIB),)
    legacy = ec_volume_info(version=3, dat_file_size=10 * GIB + 1, expire_at_sec=0,
                            config=EcConfig(encode_ts_ns=1))
    assert layout_for(legacy, GIB + MIB).groups == (RowGroup(1, GIB), RowGroup(1, MIB))
    assert layout_for(None, GIB).groups == (RowGroup(1024, MIB),)
