"""chunks.py: cutting, uploading, manifests, newest-wins overlaps and range reads."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator

import pytest

from controlplane.filer import chunks as chunking
from controlplane.filer.chunks import AssignSpec, read_range, visible_intervals, write_data
from controlplane.filer.entry import chunk_md5, make_chunk
from controlplane.filer.errors import ChunkWriteFailed
from tests.unit.controlplane.filer.fake_volumes import FakeVolumes


async def write(
    io: FakeVolumes, data: bytes, chunk_size: int, name: str = "f.bin", mime: str = ""
) -> chunking.WrittenData:
    return await write_data(io, data, chunk_size=chunk_size, spec=AssignSpec(), name=name, mime=mime,
                            now_ns=1, path="/f")


async def test_cut_upload_and_read_back() -> None:
    io = FakeVolumes()
    data = os.urandom(5_300_000)
    written = await write(io, data, 1 << 20)
    assert [c.size for c in written.chunks] == [1 << 20] * 5 + [57120]
    assert [c.offset for c in written.chunks] == [i << 20 for i in range(6)]
    assert written.md5 == hashlib.md5(data).digest()
    for c in written.chunks:
        assert chunk_md5(c) == hashlib.md5(io.needles[c.file_id]).digest()
    assert await read_range(io, written.chunks, 0, len(data)) == data
    assert await read_range(io, written.chunks, 1_000_000, 3_200_001) == data[1_000_000:3_200_001]


async def test_text_is_gzipped_and_reads_back_plain() -> None:
    io = FakeVolumes()
    text = b"hello kelp\n" * 1000
    written = await write(io, text, 1 << 20, name="a.txt", mime="text/plain")
    assert written.chunks[0].is_compressed and written.chunks[0].file_id in io.gzipped
    assert await read_range(io, written.chunks, 0, len(text)) == text
    random_bytes = os.urandom(4096)
    written = await write(io, random_bytes, 1 << 20, name="b.txt", mime="text/plain")
    assert not written.chunks[0].is_compressed  # gzip would not save 10%


def test_newest_wins_on_overlaps() -> None:
    old = make_chunk("3,01637037d6", 0, 4, 10, b"")
    new = make_chunk("3,02637037d6", 2, 2, 20, b"")
    spans = [(iv.start, iv.stop, iv.chunk.file_id) for iv in visible_intervals([new, old])]
    assert spans == [(0, 2, "3,01637037d6"), (2, 4, "3,02637037d6")]
    middle = make_chunk("3,03637037d6", 1, 1, 30, b"")
    spans = [(iv.start, iv.stop, iv.chunk.file_id) for iv in visible_intervals([old, new, middle])]
    assert spans == [(0, 1, "3,01637037d6"), (1, 2, "3,03637037d6"), (2, 4, "3,02637037d6")]
    wide = make_chunk("3,04637037d6", 0, 10, 40, b"")
    assert [iv.chunk.file_id for iv in visible_intervals([old, new, middle, wide])] == ["3,04637037d6"]


async def test_offset_write_reads_bbzz_and_holes_are_zero() -> None:
    io = FakeVolumes()
    io.needles["3,01637037d6"] = b"BBBB"
    io.needles["3,02637037d6"] = b"ZZ"
    chunks = [make_chunk("3,01637037d6", 0, 4, 1, b""), make_chunk("3,02637037d6", 2, 2, 2, b"")]
    assert await read_range(io, chunks, 0, 4) == b"BBZZ"
    io.needles["3,03637037d6"] = b"QQ"
    chunks.append(make_chunk("3,03637037d6", 8, 2, 3, b""))
    assert await read_range(io, chunks, 0, 10) == b"BBZZ\0\0\0\0QQ"


async def test_many_chunks_fold_into_manifests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chunking, "MANIFEST_THRESHOLD", 10)
    monkeypatch.setattr(chunking, "MANIFEST_BATCH", 4)
    io = FakeVolumes()
    data = os.urandom(25 * 100)
    written = await write(io, data, 100)
    assert len(written.chunks) == 7 and all(c.is_chunk_manifest for c in written.chunks)
    assert [(c.offset, c.size) for c in written.chunks][:2] == [(0, 400), (400, 400)]
    assert written.chunks[-1].size == 100
    assert await read_range(io, written.chunks, 0, len(data)) == data
    assert await read_range(io, written.chunks, 350, 1250) == data[350:1250]
    assert chunking.referenced_fids(written.chunks) == {"manifest:" + c.file_id for c in written.chunks}


async def test_failed_upload_reports_what_was_written() -> None:
    io = FakeVolumes()
    io.fail_uploads_after = 3
    with pytest.raises(ChunkWriteFailed) as caught:
        await write(io, os.urandom(1000), 100)
    assert len(io.needles) == 3
    assert set(io.needles) <= set(caught.value.written)  # every stored needle is named for discard
    assert caught.value.path == "/f"


async def test_streamed_body_in_odd_pieces() -> None:
    io = FakeVolumes()
    data = os.urandom(10_007)

    async def pieces() -> AsyncIterator[bytes]:
        for i in range(0, len(data), 333):
            yield data[i : i + 333]

    written = await write_data(io, pieces(), chunk_size=1000, spec=AssignSpec(), name="s", mime="",
                               now_ns=1, path="/s")
    assert written.size == len(data) and written.md5 == hashlib.md5(data).digest()
    assert [c.offset for c in written.chunks] == list(range(0, 10_007, 1000))
    streamed = [piece async for piece in chunking.iter_range(io, written.chunks, 5, 9_999)]
    assert b"".join(streamed) == data[5:9_999]


async def test_body_that_fails_midway_names_what_was_written() -> None:
    io = FakeVolumes()

    async def pieces() -> AsyncIterator[bytes]:
        yield b"x" * 2500
        raise ConnectionError("peer went away")

    with pytest.raises(ChunkWriteFailed) as caught:
        await write_data(io, pieces(), chunk_size=1000, spec=AssignSpec(), name="s", mime="", now_ns=1,
                         path="/s")
    assert "peer went away" in caught.value.reason
    assert set(io.needles) <= set(caught.value.written)
