"""MultipartStream: the incremental multipart parser gives what parse_multipart gives, however
the body is cut into pieces, refuses the same malformed bodies, and streams a large part in
bounded pieces."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Iterable

import pytest

from kelp_http import MultipartError
from kelp_http.multipart import MultipartStream, Part, encode_multipart, parse_multipart

CTYPE_B = "multipart/form-data; boundary=b"


async def _pieces(chunks: Iterable[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def _cut(body: bytes, size: int) -> list[bytes]:
    return [body[i : i + size] for i in range(0, len(body), size)] or [b""]


async def _collect(chunks: Iterable[bytes], ctype: str) -> list[tuple[str, str, str, bytes]]:
    stream = MultipartStream(_pieces(chunks), ctype)
    out = []
    while (part := await stream.next_part()) is not None:
        data = b"".join([piece async for piece in part])
        out.append((part.name, part.filename, part.content_type, data))
    return out


def _expected(body: bytes, ctype: str) -> list[tuple[str, str, str, bytes]]:
    return [(p.name, p.filename, p.content_type, p.data) for p in parse_multipart(body, ctype)]


BODIES = [
    encode_multipart([("a", "1"), Part.file("file", "x.bin", bytes(range(256)) + b"\r\n-b\r\n--c\r", "x/y")],
                     boundary="b"),
    (b"preamble text\n--b\nContent-Disposition: form-data; name=x\n\n\n--b\n\nraw\n--b--", CTYPE_B),
    (b'--b\r\nContent-Disposition: form-data; name="f"; filename="C:\\\\d\\\\r.txt"\r\n\r\nhi\r\n--b--\r\n',
     CTYPE_B),
    (b"--b\r\n\r\n\r\r\n\r\n--b--", CTYPE_B),  # a part whose data is "\r\r\n" (a lone CR kept)
]


@pytest.mark.parametrize("body,ctype", BODIES)
def test_every_cut_matches_the_whole_body_parser(body: bytes, ctype: str) -> None:
    want = _expected(body, ctype)
    for size in range(1, len(body) + 1):
        assert asyncio.run(_collect(_cut(body, size), ctype)) == want, f"pieces of {size} bytes"


def test_unread_parts_are_skipped() -> None:
    body, ctype = encode_multipart([("a", "x" * 5000), Part.file("file", "f.bin", b"payload")])

    async def second() -> tuple[str, bytes]:
        stream = MultipartStream(_pieces(_cut(body, 7)), ctype)
        first = await stream.next_part()
        assert first is not None and first.name == "a"
        part = await stream.next_part()
        assert part is not None
        data = await part.read_all(100)
        assert await stream.next_part() is None
        return part.filename, data

    assert asyncio.run(second()) == ("f.bin", b"payload")


@pytest.mark.parametrize("body", [
    b"no boundary anywhere",
    b"--b junk\r\n\r\nx\r\n--b--",
    b"--b\r\nContent-Disposition: form-data; name=x",  # headers never end
    b"--b\r\nContent-Disposition: form-data; name=x\r\n\r\ndata that never ends",
    b"--b\r\nno colon here\r\n\r\nx\r\n--b--",
    b"--b\r\n" + b"X-Big: " + b"h" * 70_000 + b"\r\n\r\nx\r\n--b--",
])
def test_malformed_bodies_are_refused(body: bytes) -> None:
    with pytest.raises(MultipartError):
        parse_multipart(body, CTYPE_B)
    for size in (1, 3, 1000, len(body)):
        with pytest.raises(MultipartError):
            asyncio.run(_collect(_cut(body, size), CTYPE_B))


def test_oversized_field_is_refused_by_read_all() -> None:
    body, ctype = encode_multipart([("a", "x" * 1000)])

    async def run() -> None:
        part = await MultipartStream(_pieces([body]), ctype).next_part()
        assert part is not None
        await part.read_all(999)

    with pytest.raises(MultipartError):
        asyncio.run(run())


def test_large_part_streams_in_bounded_pieces() -> None:
    piece = bytes(range(256)) * 256  # 64 KiB
    count = 256  # 16 MiB part, never joined
    head, _ = encode_multipart([Part.file("file", "big.bin", b"")], boundary="zz")
    opening, closing = head.split(b"\r\n--zz--")[0], b"\r\n--zz--\r\n"

    def body() -> Iterable[bytes]:
        yield opening
        for _ in range(count):
            yield piece
        yield closing

    async def run() -> tuple[str, int, str, int]:
        stream = MultipartStream(_pieces(body()), "multipart/form-data; boundary=zz")
        part = await stream.next_part()
        assert part is not None
        digest, total, biggest = hashlib.sha256(), 0, 0
        async for data in part:
            digest.update(data)
            total += len(data)
            biggest = max(biggest, len(data))
        assert await stream.next_part() is None
        return part.filename, total, digest.hexdigest(), biggest

    name, total, digest, biggest = asyncio.run(run())
    assert (name, total) == ("big.bin", len(piece) * count)
    assert digest == hashlib.sha256(piece * count).hexdigest()
    assert biggest <= 2 * len(piece)
