"""The ec.* commands' pure parts: -quietFor durations, weed's -collection patterns, the EC
volume view built from a topology, and free shard slots."""

from __future__ import annotations

import pytest

from controlplane.shell.ec import collection_matches, ec_volumes, free_shard_slots, parse_duration
from controlplane.shell.master_admin import EcShards, ServerReport, VolumeReport


def test_durations() -> None:
    assert parse_duration("1h") == 3600
    assert parse_duration("1h30m") == 5400
    assert parse_duration("10s") == 10
    assert parse_duration("0") == 0
    for bad in ("", "1x", "h", "1h 2m", "-1s"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_collection_patterns() -> None:
    assert collection_matches("", "anything")
    assert collection_matches("pics", "pics") and not collection_matches("pics", "docs")
    assert collection_matches("bucket*", "bucket7") and not collection_matches("bucket*", "other")
    assert collection_matches("a,b", "b")
    assert collection_matches("_default", "") and not collection_matches("_default", "x")


def server(address: str, *ec: EcShards, max_volumes: int = 8, volumes: int = 0) -> ServerReport:
    vols = tuple(VolumeReport(100 + i, "", 0, 0, 0, 0, False, "000", "") for i in range(volumes))
    return ServerReport(address, "dc1", "r1", max_volumes, vols, 0, ec)


def test_ec_volume_view_and_slots() -> None:
    a = server("a:1", EcShards(7, "c", 0b0000_0000_0011_1111))
    b = server("b:1", EcShards(7, "c", 0b0011_1111_1100_0001), volumes=2)  # shard 0 duplicated
    views = ec_volumes([b, a])
    view = views[7]
    assert sorted(view.holders) == list(range(14))
    assert [s.address for s in view.holders[0]] == ["a:1", "b:1"]
    assert view.shards_on("a:1") == [0, 1, 2, 3, 4, 5]
    assert [s.address for s in view.servers()] == ["a:1", "b:1"]
    assert free_shard_slots(a) == 8 * 10 - 6
    assert free_shard_slots(b) == (8 - 2) * 10 - 9
