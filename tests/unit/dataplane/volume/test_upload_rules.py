"""The pure rules behind uploads: Go-canonical pair keys, pairs JSON, which MIME types are
gzipped, MIME derivation from names, and content sniffing."""

from __future__ import annotations

import pytest

from dataplane.volume.content_types import detect_content_type, is_compressible, type_by_extension
from dataplane.volume.upload import _derived_mime, _pairs_json, canonical_header_key


def test_canonical_keys_and_pairs_json() -> None:
    assert canonical_header_key("seaweed-x-test") == "Seaweed-X-Test"
    assert canonical_header_key("SEAWEED-COLOR") == "Seaweed-Color"
    assert _pairs_json({"X-Test": "t1", "Color": "blue"}) == b'{"Color":"blue","X-Test":"t1"}'
    assert _pairs_json({"A": "<&>"}) == b'{"A":"\\u003c\\u0026\\u003e"}'
    assert _pairs_json({"Big": "x" * 70000}) == b""  # over 64 KiB: dropped


@pytest.mark.parametrize(
    ("mime", "expected"),
    [
        ("text/plain", True),
        ("text/html; charset=utf-8", True),
        ("application/xml", True),
        ("application/javascript", True),
        ("image/svg+xml", False),
        ("application/json", False),
        ("audio/wav", True),
        ("audio/mpeg", False),
        ("image/png", False),
        ("", False),
    ],
)
def test_compressible_types(mime: str, expected: bool) -> None:
    assert is_compressible(mime) is expected


def test_mime_derivation() -> None:
    assert _derived_mime("a.png", "", "") == "image/png"
    assert _derived_mime("a.png", "application/octet-stream", "") == "image/png"
    assert _derived_mime("a.png", "application/x-foo", "") == "application/x-foo"
    assert _derived_mime("noext", "", "") == ""
    octets = "application/octet-stream"
    assert _derived_mime("a.bin", octets, octets) == octets  # a raw body keeps the type it was sent with
    assert type_by_extension(".TXT") == "text/plain; charset=utf-8"


def test_sniffing() -> None:
    assert detect_content_type(b"just text") == "text/plain; charset=utf-8"
    assert detect_content_type(b"\x89PNG\r\n\x1a\n....") == "image/png"
    assert detect_content_type(b"<html><body>") == "text/html; charset=utf-8"
    assert detect_content_type(b"\x00\x01\x02") == "application/octet-stream"
