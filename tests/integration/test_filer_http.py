"""The filer's HTTP API against real processes: a master, a volume server and `kelp filer` (SQLite,
and PostgreSQL when available), driven the way curl drives SeaweedFS's filer.

One cluster per store kind for the whole module (starting one costs seconds); each test works
under its own directory.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest

from ops.localcluster import HttpReply, LocalCluster, http_call, multipart_file
from tests.pgtest import filer_cluster

# The collector looks at its queue every second; a loaded 2-core box may need several passes.
GC_SECONDS = 30.0
POLL_SECONDS = 0.1
JSON = {"Accept": "application/json"}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def cluster(request: pytest.FixtureRequest) -> Iterator[LocalCluster]:
    with filer_cluster(request.param, filer_flags=("-maxMB=1",)) as made:
        yield made


def call(cluster: LocalCluster, method: str, path: str, body: bytes = b"", **headers: str) -> HttpReply:
    return http_call(cluster.filer, method, path, body, {k.replace("_", "-"): v for k, v in headers.items()})


def metadata(cluster: LocalCluster, path: str) -> Any:
    reply = call(cluster, "GET", f"{path}?metadata=true")
    assert reply.status == 200, reply.body
    return reply.json()


def listing(cluster: LocalCluster, path: str, query: str = "") -> Any:
    reply = http_call(cluster.filer, "GET", f"{path}{query}", headers=JSON)
    assert reply.status == 200, reply.body
    return reply.json()


def test_small_file_round_trip(cluster: LocalCluster) -> None:
    text = b"hello kelp filer\n" * 30
    put = call(cluster, "PUT", "/small/dir/a.txt", text, Content_Type="text/plain", Seaweed_Owner="alice")
    assert put.status == 201 and put.json() == {"name": "a.txt", "size": len(text)}
    assert put.header("Content-Md5") == base64.b64encode(hashlib.md5(text).digest()).decode()
    got = call(cluster, "GET", "/small/dir/a.txt")
    assert got.status == 200 and got.body == text
    assert got.header("Etag") == f'"{hashlib.md5(text).hexdigest()}"'
    assert got.header("Content-Type") == "text/plain" and got.header("Seaweed-Owner") == "alice"
    head = call(cluster, "HEAD", "/small/dir/a.txt")
    assert head.status == 200 and head.header("Content-Length") == str(len(text)) and head.body == b""
    assert call(cluster, "GET", "/small/dir/a.txt", If_None_Match=hashlib.md5(text).hexdigest()).status == 304
    assert call(cluster, "GET", "/small/dir/a.txt", If_Match='"nope"').status == 412
    meta = metadata(cluster, "/small/dir/a.txt")
    assert meta["FullPath"] == "/small/dir/a.txt" and meta["FileSize"] == len(text) and meta["Mode"] == 0o660
    assert meta["chunks"][0]["is_compressed"] is True  # text is gzipped on the volume server
    parent = metadata(cluster, "/small")
    assert parent["Mode"] == (1 << 31) | 0o771 and "chunks" not in parent
    assert call(cluster, "GET", "/small/dir/missing.txt").status == 404


def test_multi_chunk_file_and_ranges(cluster: LocalCluster) -> None:
    data = os.urandom(10 * 1024 * 1024 + 12345)
    put = call(cluster, "PUT", "/multi/big.bin", data)
    assert put.status == 201, put.body
    meta = metadata(cluster, "/multi/big.bin")
    assert [c["size"] for c in meta["chunks"]] == [1 << 20] * 10 + [12345]
    got = call(cluster, "GET", "/multi/big.bin")
    assert got.status == 200 and hashlib.md5(got.body).digest() == hashlib.md5(data).digest()
    assert got.header("Etag") == f'"{hashlib.md5(data).hexdigest()}"'  # the entry keeps the whole MD5
    lo, hi = (1 << 20) - 10, 3 * (1 << 20) + 10  # across three chunk boundaries
    part = call(cluster, "GET", "/multi/big.bin", Range=f"bytes={lo}-{hi}")
    assert part.status == 206 and part.body == data[lo : hi + 1]
    assert part.header("Content-Range") == f"bytes {lo}-{hi}/{len(data)}"
    tail = call(cluster, "GET", "/multi/big.bin", Range="bytes=-100")
    assert tail.status == 206 and tail.body == data[-100:]
    assert call(cluster, "GET", "/multi/big.bin", Range=f"bytes={len(data)}-").status == 416


def test_multipart_post_and_append_and_offset(cluster: LocalCluster) -> None:
    body, ctype = multipart_file("blob.bin", b"multipart data")
    posted = call(cluster, "POST", "/mp/", body, Content_Type=ctype)
    assert posted.status == 201 and posted.json()["name"] == "blob.bin"
    assert call(cluster, "GET", "/mp/blob.bin").body == b"multipart data"
    renamed = call(cluster, "POST", "/mp/renamed.bin", body, Content_Type=ctype)
    assert renamed.json()["name"] == "blob.bin"  # SeaweedFS's quirk: stored at the URL path
    assert call(cluster, "GET", "/mp/renamed.bin").body == b"multipart data"
    assert call(cluster, "PUT", "/ap/log.txt?op=append", b"one,").json()["size"] == 4
    assert call(cluster, "PUT", "/ap/log.txt?op=append", b"two").json()["size"] == 7
    assert call(cluster, "GET", "/ap/log.txt").body == b"one,two"
    call(cluster, "PUT", "/ap/b.txt", b"BBBB")
    assert call(cluster, "PUT", "/ap/b.txt?offset=2", b"ZZ").status == 201
    assert call(cluster, "GET", "/ap/b.txt").body == b"BBZZ"


def test_listing_pages_over_a_thousand_entries(cluster: LocalCluster) -> None:
    names = [f"f{i:05d}" for i in range(1100)]
    for name in names:  # empty files: an entry each, no chunks, so this stays fast
        assert call(cluster, "PUT", f"/many/{name}", b"").status == 201
    seen: list[str] = []
    last = ""
    pages = 0
    while True:
        page = listing(cluster, "/many", f"?limit=400&lastFileName={last}")
        pages += 1
        seen += [e["FullPath"].rsplit("/", 1)[1] for e in page["Entries"] or []]
        last = page["LastFileName"]
        if not page["ShouldDisplayLoadMore"]:
            break
    assert seen == names and pages == 3
    assert listing(cluster, "/many", f"?lastFileName={names[-1]}")["EmptyFolder"] is True
    root = listing(cluster, "/")
    assert root["Path"] == "" and "/many" in {e["FullPath"] for e in root["Entries"]}


def test_rename_directory_tree(cluster: LocalCluster) -> None:
    for path in ("/tree/a/one.txt", "/tree/a/b/two.txt", "/tree/three.txt"):
        assert call(cluster, "PUT", path, path.encode()).status == 201
    moved = call(cluster, "POST", "/moved/tree2?mv.from=/tree")
    assert moved.status == 204, moved.body
    assert call(cluster, "GET", "/tree/three.txt").status == 404
    for path in ("/tree/a/one.txt", "/tree/a/b/two.txt", "/tree/three.txt"):
        assert call(cluster, "GET", "/moved/tree2" + path[len("/tree"):]).body == path.encode()
    into = call(cluster, "POST", "/moved/?mv.from=/moved/tree2/three.txt")
    assert into.status == 204 and call(cluster, "GET", "/moved/three.txt").body == b"/tree/three.txt"
    missing = call(cluster, "POST", "/x?mv.from=/nonexist.txt")
    assert missing.status == 400
    assert missing.json()["error"] == ("failed to get src entry '/nonexist.txt', err: "
                                       "filer: no entry is found in filer store")


def _needle_status(cluster: LocalCluster, fid: str) -> int:
    return http_call(cluster.volume_addresses[0], "GET", f"/{fid}").status


def test_recursive_delete_frees_needles(cluster: LocalCluster) -> None:
    data = os.urandom(2 * 1024 * 1024 + 7)
    call(cluster, "PUT", "/doomed/sub/f.bin", data)
    call(cluster, "PUT", "/doomed/g.txt", b"g" * 1000)
    fids = [c["file_id"] for c in metadata(cluster, "/doomed/sub/f.bin")["chunks"]]
    fids += [c["file_id"] for c in metadata(cluster, "/doomed/g.txt")["chunks"]]
    assert len(fids) == 4 and all(_needle_status(cluster, fid) == 200 for fid in fids)
    refused = call(cluster, "DELETE", "/doomed")
    assert refused.status == 500
    assert refused.json() == {"error": "fail to delete non-empty folder: /doomed"}
    assert call(cluster, "DELETE", "/doomed?recursive=true").status == 204
    assert call(cluster, "GET", "/doomed/g.txt").status == 404
    deadline = time.monotonic() + GC_SECONDS
    while any(_needle_status(cluster, fid) != 404 for fid in fids):
        assert time.monotonic() < deadline, "chunks still on the volume server"
        time.sleep(POLL_SECONDS)
    assert call(cluster, "DELETE", "/doomed").status == 204  # gone already: still 204


def test_overwrite_frees_the_old_chunks(cluster: LocalCluster) -> None:
    call(cluster, "PUT", "/over/f.bin", os.urandom(5000))
    old = [c["file_id"] for c in metadata(cluster, "/over/f.bin")["chunks"]]
    call(cluster, "PUT", "/over/f.bin", b"new")
    assert call(cluster, "GET", "/over/f.bin").body == b"new"
    deadline = time.monotonic() + GC_SECONDS
    while _needle_status(cluster, old[0]) != 404:
        assert time.monotonic() < deadline, "old chunk still on the volume server"
        time.sleep(POLL_SECONDS)


def test_bad_input(cluster: LocalCluster) -> None:
    dotdot = call(cluster, "PUT", "/bad/../etc/passwd", b"x")
    assert dotdot.status == 400 and "'..' is not allowed" in dotdot.json()["error"]
    nul = call(cluster, "PUT", "/bad/a%00b", b"x")
    assert nul.status == 400 and "NUL" in nul.json()["error"]
    long_name = call(cluster, "PUT", "/bad/" + "n" * 256, b"x")
    assert long_name.status == 414
    call(cluster, "PUT", "/bad/file.txt", b"i am a file")
    under = call(cluster, "PUT", "/bad/file.txt/child", b"x")
    assert under.status == 409 and "/bad/file.txt is a file" in under.json()["error"]
    assert call(cluster, "GET", "/bad/file.txt").body == b"i am a file"
    broken = call(cluster, "POST", "/bad/up", b"--xyz\r\nno headers end",
                  Content_Type="multipart/form-data; boundary=xyz")
    assert broken.status == 500 and broken.json()["error"]
    raw_post = call(cluster, "POST", "/bad/raw", b"data", Content_Type="text/plain")
    assert raw_post.json() == {"error": "request Content-Type isn't multipart/form-data"}
    assert call(cluster, "POST", "/bad/newdir/").status == 201
    again = call(cluster, "POST", "/bad/newdir/")
    assert again.status == 409 and again.json() == {"error": "dir /bad/newdir already exists"}
    listed = listing(cluster, "/bad")
    assert sorted(e["FullPath"] for e in listed["Entries"]) == ["/bad/file.txt", "/bad/newdir"]
    assert json.loads(call(cluster, "GET", "/bad/file.txt?metadata=true").body)["FileSize"] == 11


def test_kelp_server_includes_a_filer() -> None:
    """`kelp server` runs a filer next to its master and volume server (SQLite under -dir)."""
    with LocalCluster(all_in_one=True, filers=1) as server:
        filer = server.filer_addresses[0]
        assert http_call(filer, "PUT", "/one/f.txt", b"all in one").status == 201
        assert http_call(filer, "GET", "/one/f.txt").body == b"all in one"
        assert (server.nodes["server"].data_dir / "filer" / "filer.db").is_file()
