"""1 GiB through `kelp filer` (SQLite store): a raw PUT streamed from a generator, a GET compared
by a running SHA-256, a Range read in the middle, the same through a streamed multipart POST, and
the filer's peak RSS far below the file size; a streamed multipart body with a broken tail stores
nothing.

The test never holds the file: the body is generated block by block (each block distinct, so a
chunk mix-up changes the digest) and the GET is read and hashed in pieces.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import time
from collections.abc import Iterator

import pytest

from ops.localcluster import LocalCluster

pytestmark = pytest.mark.timeout(240)

FILE_SIZE = 1 << 30
BLOCK = 1 << 20
# The filer buffers at most a few chunks per upload (8 uploads of -maxMB=4 in flight) and a few
# chunks ahead on a streamed read: a leak of the body would pass 1 GiB, a sane filer stays < 150 MiB.
PEAK_RSS_LIMIT = 300 << 20
IO_TIMEOUT = 120


def _block(index: int, base: bytes) -> bytes:
    # The block index in the first 8 bytes of each otherwise-identical random block.
    return index.to_bytes(8, "little") + base[8:]


def _blocks(base: bytes, start: int = 0, stop: int = FILE_SIZE) -> Iterator[bytes]:
    """The file's bytes [start, stop) in pieces of at most BLOCK."""
    pos = start
    while pos < stop:
        index, inner = divmod(pos, BLOCK)
        piece = _block(index, base)[inner : inner + min(BLOCK - inner, stop - pos)]
        yield piece
        pos += len(piece)


def _peak_rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmHWM for pid {pid}")


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    made = LocalCluster(1, filers=1)
    try:
        made.start()
        yield made
    except BaseException:
        print(made.logs())
        raise
    finally:
        made.stop()


def _connection(cluster: LocalCluster) -> http.client.HTTPConnection:
    host, port = cluster.filer.rsplit(":", 1)
    return http.client.HTTPConnection(host, int(port), timeout=IO_TIMEOUT)


def test_one_gib_put_get_range_and_bounded_memory(cluster: LocalCluster) -> None:
    base = os.urandom(BLOCK)
    filer_pid = cluster.filer_nodes[0].pid
    assert filer_pid is not None
    expected = hashlib.sha256()
    md5 = hashlib.md5()

    def body() -> Iterator[bytes]:
        for piece in _blocks(base):
            expected.update(piece)
            md5.update(piece)
            yield piece

    started = time.monotonic()
    conn = _connection(cluster)
    conn.request("PUT", "/big/one-gib.bin", body=body(),
                 headers={"Content-Length": str(FILE_SIZE), "Content-Type": "application/octet-stream"})
    reply = conn.getresponse()
    answer = reply.read()
    assert reply.status == 201, answer
    assert json.loads(answer) == {"name": "one-gib.bin", "size": FILE_SIZE}
    put_s = time.monotonic() - started

    started = time.monotonic()
    conn.request("GET", "/big/one-gib.bin")
    reply = conn.getresponse()
    assert reply.status == 200
    assert reply.getheader("Content-Length") == str(FILE_SIZE)
    assert reply.getheader("Etag") is not None
    got = hashlib.sha256()
    length = 0
    while piece := reply.read(BLOCK):
        got.update(piece)
        length += len(piece)
    get_s = time.monotonic() - started
    assert length == FILE_SIZE
    assert got.hexdigest() == expected.hexdigest()

    # A range that straddles chunk (4 MiB) and block boundaries, in the middle of the file.
    start, stop = FILE_SIZE // 2 - 3 * BLOCK - 12_345, FILE_SIZE // 2 + 5 * BLOCK + 999
    conn.request("GET", "/big/one-gib.bin", headers={"Range": f"bytes={start}-{stop - 1}"})
    reply = conn.getresponse()
    data = reply.read()
    assert reply.status == 206
    assert reply.getheader("Content-Range") == f"bytes {start}-{stop - 1}/{FILE_SIZE}"
    assert data == b"".join(_blocks(base, start, stop))

    conn.request("GET", "/big/one-gib.bin?metadata=true")
    reply = conn.getresponse()
    meta = json.loads(reply.read())
    assert reply.status == 200
    assert meta["FileSize"] == FILE_SIZE and len(meta["chunks"]) > 1
    conn.close()

    peak = _peak_rss(filer_pid)
    print(f"1 GiB PUT {put_s:.1f}s ({FILE_SIZE / put_s / 1e6:.0f} MB/s), GET {get_s:.1f}s "
          f"({FILE_SIZE / get_s / 1e6:.0f} MB/s), filer peak RSS {peak >> 20} MiB, md5 {md5.hexdigest()}")
    assert peak < PEAK_RSS_LIMIT, f"filer peak RSS {peak >> 20} MiB for a 1 GiB file"


def _multipart_head(boundary: str, filename: str) -> bytes:
    return (f"--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nfirst a field\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
            "Content-Type: application/x-kelp-test\r\n\r\n").encode()


def test_one_gib_multipart_post_streams(cluster: LocalCluster) -> None:
    base = os.urandom(BLOCK)
    filer_pid = cluster.filer_nodes[0].pid
    assert filer_pid is not None
    boundary = "kelp-large-" + os.urandom(8).hex()
    head, tail = _multipart_head(boundary, "multi.bin"), f"\r\n--{boundary}--\r\n".encode()
    expected = hashlib.sha256()

    def body() -> Iterator[bytes]:
        yield head
        for piece in _blocks(base):
            expected.update(piece)
            yield piece
        yield tail

    conn = _connection(cluster)
    conn.request("POST", "/big/form/", body=body(), headers={
        "Content-Length": str(len(head) + FILE_SIZE + len(tail)),
        "Content-Type": f"multipart/form-data; boundary={boundary}"})
    reply = conn.getresponse()
    answer = reply.read()
    assert reply.status == 201, answer
    assert json.loads(answer) == {"name": "multi.bin", "size": FILE_SIZE}

    conn.request("GET", "/big/form/multi.bin")
    reply = conn.getresponse()
    assert reply.status == 200 and reply.getheader("Content-Type") == "application/x-kelp-test"
    got = hashlib.sha256()
    while piece := reply.read(BLOCK):
        got.update(piece)
    assert got.hexdigest() == expected.hexdigest()
    conn.close()
    peak = _peak_rss(filer_pid)
    assert peak < PEAK_RSS_LIMIT, f"filer peak RSS {peak >> 20} MiB after a 1 GiB multipart upload"


def test_streamed_multipart_with_a_broken_tail_stores_nothing(cluster: LocalCluster) -> None:
    boundary = "kelp-broken"
    # Over the filer's streaming threshold (4 MiB), and the closing boundary never comes.
    data = b"".join(_blocks(os.urandom(BLOCK), 0, 6 * BLOCK))
    body = _multipart_head(boundary, "broken.bin") + data
    conn = _connection(cluster)
    conn.request("POST", "/big/broken/", body=body,
                 headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    reply = conn.getresponse()
    answer = reply.read()
    assert reply.status == 500 and b"boundary" in answer, answer
    conn.request("GET", "/big/broken/broken.bin")
    reply = conn.getresponse()
    reply.read()
    assert reply.status == 404
    conn.close()
