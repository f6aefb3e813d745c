"""Range header parsing (Go net/http semantics) and multipart/byteranges bodies."""

from __future__ import annotations

import pytest

from kelp_http import RangeNotSatisfiable
from kelp_http.multipart import parse_multipart
from kelp_http.ranges import build_multipart_byteranges, parse_ranges


@pytest.mark.parametrize(
    ("header", "total", "expected"),
    [
        ("bytes=0-9", 40, [(0, 9)]),
        ("bytes=10-", 40, [(10, 39)]),
        ("bytes=-5", 40, [(35, 39)]),
        ("bytes=-100", 40, [(0, 39)]),
        ("bytes=30-1000", 40, [(30, 39)]),
        ("bytes=0-0, 5-6 ,", 40, [(0, 0), (5, 6)]),
        ("bytes=100-200,0-1", 40, [(0, 1)]),
        ("bytes=39-39", 40, [(39, 39)]),
    ],
)
def test_satisfiable_ranges(header: str, total: int, expected: list[tuple[int, int]]) -> None:
    assert parse_ranges(header, total) == expected


@pytest.mark.parametrize(
    "header",
    [
        "bytes=100-200",
        "bytes=40-",
        "items=0-1",
        "bytes=5-1",
        "bytes=a-b",
        "bytes=1",
        "bytes=--5",
        "bytes=-0",
        "bytes=",
    ],
)
def test_unsatisfiable_or_invalid_ranges(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable) as info:
        parse_ranges(header, 40)
    assert info.value.total == 40


def test_any_range_on_empty_content_is_unsatisfiable() -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_ranges("bytes=0-", 0)


def test_multipart_byteranges_body_has_one_part_per_range() -> None:
    data = bytes(range(40))
    body, ctype = build_multipart_byteranges([(0, 3), (35, 39)], data, "application/x-foo", 40)
    assert ctype.startswith("multipart/byteranges; boundary=")
    parts = parse_multipart(body, ctype)
    assert [p.data for p in parts] == [data[0:4], data[35:40]]
    assert [p.headers.get("content-range") for p in parts] == ["bytes 0-3/40", "bytes 35-39/40"]
    assert all(p.headers.get("content-type") == "application/x-foo" for p in parts)
