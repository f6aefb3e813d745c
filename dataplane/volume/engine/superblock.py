"""SuperBlock: the 8 bytes at the start of every `.dat`.

    offset  size  field
    0       1     needle version (2 or 3 read; 3 written)
    1       1     replica placement byte (100*x + 10*y + z)
    2       2     TTL (count byte, unit byte)
    4       2     compaction revision (uint16, +1 per vacuum)
    6       2     size of an "extra" block that would follow: always 0 here

The extra block's layout is unconfirmed, so a non-zero extra size is refused rather than guessed.
Pure: no I/O; imports only engine value types, errors and the needle version registry.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from dataplane.volume.engine.errors import CorruptVolume
from dataplane.volume.engine.needle import CURRENT_VERSION, READABLE_VERSIONS
from dataplane.volume.engine.types import ReplicaPlacement, Ttl

SUPER_BLOCK_SIZE = 8
_LAYOUT = struct.Struct(">BB2sHH")


@dataclass(frozen=True, slots=True)
class SuperBlock:
    version: int = CURRENT_VERSION
    replica_placement: ReplicaPlacement = field(default_factory=ReplicaPlacement)
    ttl: Ttl = field(default_factory=Ttl)
    compaction_revision: int = 0

    def to_bytes(self) -> bytes:
        return _LAYOUT.pack(self.version, self.replica_placement.to_byte(), self.ttl.to_bytes(),
                            self.compaction_revision & 0xFFFF, 0)

    @classmethod
    def from_bytes(cls, buf: bytes, path: str = "") -> SuperBlock:
        if len(buf) < SUPER_BLOCK_SIZE:
            raise CorruptVolume(path, f"superblock is {len(buf)} bytes, expected {SUPER_BLOCK_SIZE}")
        version, rp, ttl, revision, extra = _LAYOUT.unpack_from(buf, 0)
        if version not in READABLE_VERSIONS:
            raise CorruptVolume(path, f"unsupported needle version {version}")
        if extra != 0:
            raise CorruptVolume(path, f"superblock extra block of {extra} bytes is not supported")
        try:
            placement = ReplicaPlacement.from_byte(rp)
        except ValueError as err:
            raise CorruptVolume(path, f"bad replica placement byte {rp}") from err
        return cls(version, placement, Ttl.from_bytes(ttl), revision)

    def with_revision(self, revision: int) -> SuperBlock:
        return SuperBlock(self.version, self.replica_placement, self.ttl, revision & 0xFFFF)
