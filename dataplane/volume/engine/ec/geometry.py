"""Where `.dat` bytes live in EC shard files: the block layouts SeaweedFS writes and reads.

The whole `.dat` (superblock included) is cut into rows of `data_shards` blocks; block i of a
row is the next `block` bytes of `.dat` and goes to shard i, the last row zero-padded. Parity
shards hold, per row, the Reed-Solomon parity of the row's data blocks. A layout is a list of
row groups (row count, block size), all shard files alike in length.

Two layouts exist:

* **uniform** (weed 4.48 encodes this way; the `.vif`'s `ecShardConfig.blockSize` records B):
  one row, B = ceil(dat_size / 10) rounded up to a multiple of 1 MiB. Shard i holds
  `.dat` bytes [i*B, (i+1)*B). A needle lies in one shard unless it straddles a boundary.
* **legacy** (older SeaweedFS; a `.vif` without blockSize): while at least a whole large row
  (10 x 1 GiB) remains, large rows; then small rows (10 x 1 MiB). The number of large rows is
  `dat_size // 10 // 1 GiB` (datFileSize from the `.vif`; for a volume with no datFileSize,
  from shard size - 1, as SeaweedFS does).

Both give the same shard length, ceil(dat_size / 10 MiB) MiB; only byte placement differs.
Block sizes are parameters (default SeaweedFS's) so tests can reach the large-block path on
small files; other sizes are not SeaweedFS-compatible.

Pure arithmetic; no I/O, no network imports.
"""

from __future__ import annotations

from dataclasses import dataclass

DATA_SHARDS = 10
PARITY_SHARDS = 4
TOTAL_SHARDS = DATA_SHARDS + PARITY_SHARDS
LARGE_BLOCK_SIZE = 1 << 30  # 1 GiB
SMALL_BLOCK_SIZE = 1 << 20  # 1 MiB


def shard_ext(shard: int) -> str:
    """`.ec00` ... `.ec13`."""
    return f".ec{shard:02d}"


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


@dataclass(frozen=True, slots=True)
class Interval:
    """`length` bytes of `.dat` stored in `shard` at `shard_offset`."""

    shard: int
    shard_offset: int
    length: int


@dataclass(frozen=True, slots=True)
class RowGroup:
    rows: int
    block: int


@dataclass(frozen=True, slots=True)
class Row:
    """One row: its `.dat` offset, its offset in every shard file, its block size."""

    dat_offset: int
    shard_offset: int
    block: int


@dataclass(frozen=True, slots=True)
class Layout:
    groups: tuple[RowGroup, ...]
    data_shards: int = DATA_SHARDS

    @classmethod
    def uniform(cls, dat_size: int, *, data_shards: int = DATA_SHARDS,
                align: int = SMALL_BLOCK_SIZE) -> Layout:
        """weed 4.48's layout: one row of blocks of ceil(dat_size / data_shards), aligned up."""
        if dat_size < 0:
            raise ValueError(f"negative dat size {dat_size}")
        block = _ceil_div(_ceil_div(dat_size, data_shards), align) * align
        return cls.with_block(block, dat_size, data_shards=data_shards)

    @classmethod
    def with_block(cls, block: int, dat_size: int, *, data_shards: int = DATA_SHARDS) -> Layout:
        """Rows of one block size (the `.vif`'s blockSize) covering dat_size bytes."""
        if block <= 0:
            raise ValueError(f"bad block size {block}")
        rows = _ceil_div(dat_size, block * data_shards)
        return cls((RowGroup(rows, block),) if rows else (), data_shards)

    @classmethod
    def legacy(cls, dat_size: int, *, data_shards: int = DATA_SHARDS, large_block: int = LARGE_BLOCK_SIZE,
               small_block: int = SMALL_BLOCK_SIZE) -> Layout:
        """The large-then-small row layout of SeaweedFS before 4.48."""
        if dat_size < 0:
            raise ValueError(f"negative dat size {dat_size}")
        large_rows = dat_size // data_shards // large_block
        rest = dat_size - large_rows * large_block * data_shards
        return cls._legacy(large_rows, _ceil_div(rest, small_block * data_shards), data_shards, large_block,
                           small_block)

    @classmethod
    def legacy_for_shard_size(cls, shard_size: int, *, data_shards: int = DATA_SHARDS,
                              large_block: int = LARGE_BLOCK_SIZE,
                              small_block: int = SMALL_BLOCK_SIZE) -> Layout:
        """SeaweedFS's fallback when a legacy `.vif` has no datFileSize: large rows from
        shard size - 1 (a shard of exactly N GiB is taken as N-1 large rows plus small rows)."""
        large_rows = max(shard_size - 1, 0) // large_block
        rest = shard_size - large_rows * large_block
        return cls._legacy(large_rows, _ceil_div(rest, small_block), data_shards, large_block, small_block)

    @classmethod
    def _legacy(cls, large_rows: int, small_rows: int, data_shards: int, large_block: int,
                small_block: int) -> Layout:
        groups = []
        if large_rows:
            groups.append(RowGroup(large_rows, large_block))
        if small_rows:
            groups.append(RowGroup(small_rows, small_block))
        return cls(tuple(groups), data_shards)

    @property
    def shard_size(self) -> int:
        return sum(g.rows * g.block for g in self.groups)

    @property
    def encoded_size(self) -> int:
        """`.dat` bytes the data shards hold, padding included."""
        return self.shard_size * self.data_shards

    def rows(self) -> list[Row]:
        out = []
        dat_offset = shard_offset = 0
        for g in self.groups:
            for _ in range(g.rows):
                out.append(Row(dat_offset, shard_offset, g.block))
                dat_offset += g.block * self.data_shards
                shard_offset += g.block
        return out

    def locate(self, offset: int, length: int) -> list[Interval]:
        """The shard intervals holding `.dat` bytes [offset, offset + length), in order.

        A range past the encoded size is cut off there (it would be padding)."""
        if offset < 0 or length < 0:
            raise ValueError(f"bad range offset={offset} length={length}")
        intervals: list[Interval] = []
        dat_base = shard_base = 0
        for g in self.groups:
            group_size = g.rows * g.block * self.data_shards
            while length > 0 and offset < dat_base + group_size:
                block_index, inner = divmod(offset - dat_base, g.block)
                row, shard = divmod(block_index, self.data_shards)
                take = min(length, g.block - inner)
                intervals.append(Interval(shard, shard_base + row * g.block + inner, take))
                offset += take
                length -= take
            dat_base += group_size
            shard_base += g.rows * g.block
        return intervals
