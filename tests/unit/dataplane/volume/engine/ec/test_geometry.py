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


def reference_place(offset: int, dat_size: int, large: int, small: int) -> tuple[int, int]:
    """(shard, shard offset) of one `.dat` byte, transcribed from the reference's §8.5 rule
    (shardDatSize = datFileSize / 10, nLarge = shardDatSize // large), not from geometry.py."""
    n_large = dat_size // 10 // large
    if offset < n_large * large * 10:
        block, inner = divmod(offset, large)
        return block % 10, (block // 10) * large + inner
    block, inner = divmod(offset - n_large * large * 10, small)
    return block % 10, n_large * large + (block // 10) * small + inner


def test_legacy_offsets_by_hand_two_large_rows_and_a_small_tail() -> None:
    # Blocks scaled down to 64 (large) and 8 (small): a large row is 640 bytes, a small row 80.
    # 1515 bytes: 1515 // 10 // 64 = 2 large rows (1280 bytes), the other 235 take 3 small rows
    # (240 bytes, the last 5 of them padding). Shards: 2 * 64 + 3 * 8 = 152 bytes each.
    dat_size, large, small = 1515, 64, 8
    layout = Layout.legacy(dat_size, large_block=large, small_block=small)
    assert layout.groups == (RowGroup(2, 64), RowGroup(3, 8))
    assert layout.shard_size == 152 and layout.encoded_size == 1520
    assert [(r.dat_offset, r.shard_offset, r.block) for r in layout.rows()] == [
        (0, 0, 64), (640, 64, 64), (1280, 128, 8), (1360, 136, 8), (1440, 144, 8)]
    by_hand = {
        (0, 1): [Interval(0, 0, 1)],
        (63, 2): [Interval(0, 63, 1), Interval(1, 0, 1)],  # large blocks 0 -> 1 of row 0
        (639, 2): [Interval(9, 63, 1), Interval(0, 64, 1)],  # row 0's last byte, row 1's first
        # 700 is 60 into row 1's block 0: 4 bytes there, all of block 1, 32 of block 2.
        (700, 100): [Interval(0, 124, 4), Interval(1, 64, 64), Interval(2, 64, 32)],
        # The last large byte (shard 9 at 127) runs into small block 0 (shard 0 after the large rows).
        (1279, 3): [Interval(9, 127, 1), Interval(0, 128, 2)],
        # 1435 is small block 19 (row 1, shard 9) 3 in; 1440 starts small row 2 on shard 0.
        (1435, 10): [Interval(9, 139, 5), Interval(0, 144, 5)],
        (1510, 5): [Interval(8, 150, 2), Interval(9, 144, 3)],  # small blocks 28 and 29
        (1515, 10): [Interval(9, 147, 5)],  # cut at the encoded size: the rest would be padding
    }
    for (offset, length), expected in by_hand.items():
        assert layout.locate(offset, length) == expected, (offset, length)
    # Every byte, against the reference's rule.
    for offset in range(dat_size):
        shard, shard_offset = reference_place(offset, dat_size, large, small)
        assert layout.locate(offset, 1) == [Interval(shard, shard_offset, 1)], offset
