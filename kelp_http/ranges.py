"""HTTP Range requests: parsing ``bytes=...`` against a length, and multipart/byteranges bodies.

Semantics follow Go's net/http (which SeaweedFS uses): ranges starting past the end are skipped, an
end past the end is clamped, ``-n`` means the last n bytes (all of them if n exceeds the length), and
a header whose ranges all miss is unsatisfiable. Syntax errors are unsatisfiable too (both give 416).

Imports only kelp_http.errors and the standard library.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from kelp_http.errors import RangeNotSatisfiable

# A Range header listing more ranges than this is refused: each range costs a part in the reply,
# and thousands of tiny overlapping ranges are an amplification attack, not a client need.
_MAX_RANGES = 256


def _parse_int(text: str, header: str, total: int) -> int:
    if not (text.isascii() and text.isdigit()):
        raise RangeNotSatisfiable(header, total, f"bad number {text!r}")
    return int(text)


def parse_ranges(header: str, total: int) -> list[tuple[int, int]]:
    """Inclusive (start, end) pairs selected by ``header`` in a body of ``total`` bytes."""
    header = header.strip()
    if not header.startswith("bytes="):
        raise RangeNotSatisfiable(header, total, "unit is not bytes")
    out: list[tuple[int, int]] = []
    specs = header[6:].split(",")
    if len(specs) > _MAX_RANGES:
        raise RangeNotSatisfiable(header, total, "too many ranges")
    for spec in specs:
        spec = spec.strip()
        if not spec:
            continue
        first, dash, last = spec.partition("-")
        if not dash:
            raise RangeNotSatisfiable(header, total, f"no '-' in {spec!r}")
        first, last = first.strip(), last.strip()
        if not first:
            n = _parse_int(last, header, total)
            if n == 0 or total == 0:
                continue  # a zero-length suffix selects nothing
            out.append((total - min(n, total), total - 1))
            continue
        start = _parse_int(first, header, total)
        if last:
            end = _parse_int(last, header, total)
            if end < start:
                raise RangeNotSatisfiable(header, total, f"end before start in {spec!r}")
        else:
            end = total - 1
        if start >= total:
            continue  # starts past the end: no overlap
        out.append((start, min(end, total - 1)))
    if not out:
        raise RangeNotSatisfiable(header, total, "no range overlaps the content")
    return out


def content_range(start: int, end: int, total: int) -> str:
    """The ``Content-Range`` value for one inclusive range."""
    return f"bytes {start}-{end}/{total}"


def build_multipart_byteranges(
    ranges: Sequence[tuple[int, int]],
    data: bytes | memoryview,
    content_type: str,
    total: int,
    boundary: str | None = None,
) -> tuple[bytes, str]:
    """A 206 multipart/byteranges body for ``ranges`` of ``data``; returns (body, content type)."""
    if boundary is None:
        boundary = os.urandom(16).hex()
    out: list[bytes | memoryview] = []
    for i, (start, end) in enumerate(ranges):
        lead = "--" if i == 0 else "\r\n--"
        head = f"{lead}{boundary}\r\nContent-Range: {content_range(start, end, total)}\r\n"
        if content_type:
            head += f"Content-Type: {content_type}\r\n"
        out.append((head + "\r\n").encode("utf-8", "surrogateescape"))
        out.append(data[start : end + 1])
    out.append(f"\r\n--{boundary}--\r\n".encode())
    return b"".join(out), f"multipart/byteranges; boundary={boundary}"
