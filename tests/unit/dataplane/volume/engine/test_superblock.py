"""The 8-byte superblock: examples from live weed volumes, and what is refused."""

from __future__ import annotations

import pytest

from dataplane.volume.engine.errors import CorruptVolume
from dataplane.volume.engine.superblock import SuperBlock
from dataplane.volume.engine.types import ReplicaPlacement, Ttl


@pytest.mark.parametrize(("sb", "raw"), [
    (SuperBlock(), "0300000000000000"),
    (SuperBlock(ttl=Ttl.parse("5m")), "0300050100000000"),
    (SuperBlock(replica_placement=ReplicaPlacement.parse("001")), "0301000000000000"),
    (SuperBlock(replica_placement=ReplicaPlacement.parse("200"), ttl=Ttl.parse("3y")), "03c8030600000000"),
    (SuperBlock(compaction_revision=1), "0300000000010000"),
])
def test_bytes_round_trip(sb: SuperBlock, raw: str) -> None:
    assert sb.to_bytes().hex() == raw
    assert SuperBlock.from_bytes(bytes.fromhex(raw)) == sb


def test_version_2_is_readable() -> None:
    assert SuperBlock.from_bytes(bytes.fromhex("0200000000000000")).version == 2


@pytest.mark.parametrize(("raw", "reason"), [
    ("0300000000000010", "extra"),
    ("0100000000000000", "version 1"),
    ("0400000000000000", "version 4"),
    ("0300", "2 bytes"),
])
def test_refused(raw: str, reason: str) -> None:
    with pytest.raises(CorruptVolume) as info:
        SuperBlock.from_bytes(bytes.fromhex(raw), "/x/1.dat")
    assert reason in info.value.reason and info.value.path == "/x/1.dat"


def test_revision_wraps_at_16_bits() -> None:
    assert SuperBlock(compaction_revision=0xFFFF).with_revision(0x10000).compaction_revision == 0
