"""multipart/form-data parsing and encoding, including the odd inputs browsers and curl send."""

from __future__ import annotations

import pytest

from kelp_http import MultipartError
from kelp_http.multipart import Part, encode_multipart, parse_multipart


def test_round_trip_of_fields_and_files() -> None:
    blob = bytes(range(256)) * 3 + b"\r\n--not-the-boundary\r\n"
    body, ctype = encode_multipart([("a", "1"), Part.file("file", "x.bin", blob, "application/x-foo")])
    parts = parse_multipart(body, ctype)
    assert [(p.name, p.filename, p.data) for p in parts] == [("a", "", b"1"), ("file", "x.bin", blob)]
    assert parts[1].content_type == "application/x-foo"


def test_curl_style_body_with_quoted_boundary_and_windows_filename() -> None:
    body = (
        b"--XyZ\r\n"
        b'Content-Disposition: form-data; name="file"; filename="C:\\\\Users\\\\me\\\\report.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\n"
        b"hello\r\n"
        b"--XyZ--\r\n"
    )
    (part,) = parse_multipart(body, 'multipart/form-data; boundary="XyZ"')
    assert part.filename == "report.txt"
    assert part.data == b"hello"
    assert part.headers.get("CONTENT-TYPE") == "text/plain"


def test_preamble_empty_part_and_lf_only_line_ends() -> None:
    body = b"preamble text\n--b\nContent-Disposition: form-data; name=x\n\n\n--b\n\nraw\n--b--"
    parts = parse_multipart(body, "multipart/form-data; boundary=b")
    assert [(p.name, p.data) for p in parts] == [("x", b""), ("", b"raw")]


def test_unix_path_is_stripped_too() -> None:
    body, ctype = encode_multipart([Part.file("f", "../../etc/passwd", b"x")])
    assert parse_multipart(body, ctype)[0].filename == "passwd"


@pytest.mark.parametrize(
    ("body", "ctype"),
    [
        (b"--b\r\n\r\nx\r\n--b--", "text/plain"),
        (b"--b\r\n\r\nx\r\n--b--", "multipart/form-data"),
        (b"no boundary anywhere", "multipart/form-data; boundary=b"),
        (b"--b\r\nContent-Disposition: form-data\r\n\r\nunterminated", "multipart/form-data; boundary=b"),
        (b"--b\r\nNoColonHere\r\n\r\nx\r\n--b--", "multipart/form-data; boundary=b"),
        (b"--bjunk\r\n\r\nx\r\n--b--", "multipart/form-data; boundary=b"),
        (b"--b\r\nContent-Type: x", "multipart/form-data; boundary=b"),
    ],
)
def test_bad_input_raises_multipart_error(body: bytes, ctype: str) -> None:
    with pytest.raises(MultipartError):
        parse_multipart(body, ctype)
