"""`POST /dst?cp.from=/src` in-process: files and trees are copied into chunks of their own."""

from __future__ import annotations

import json

import pytest

from controlplane.filer import paths
from controlplane.filer.core import FilerCore
from controlplane.filer.http_api import FilerHttpApi, HttpSettings
from kelp_http import Headers, Request, Response
from tests.unit.controlplane.filer.conftest import queued
from tests.unit.controlplane.filer.fake_volumes import FakeVolumes


@pytest.fixture
def api(core: FilerCore) -> FilerHttpApi:
    volumes = FakeVolumes()
    core.volumes = volumes
    return FilerHttpApi(core, volumes, HttpSettings(max_mb=1))


async def call(api: FilerHttpApi, method: str, target: str, body: bytes = b"") -> Response:
    return await api.handle(Request(method, target, Headers([]), body))


async def fids(api: FilerHttpApi, path: str) -> set[str]:
    entry = await api.core.lookup(*paths.split(path))
    return {c.file_id for c in entry.chunks}


async def test_file_copy_has_its_own_chunks(api: FilerHttpApi) -> None:
    data = bytes(range(256)) * 5000  # 1.28 MB: two chunks at maxMB=1
    assert (await call(api, "PUT", "/a/src.bin", data)).status == 201
    reply = await call(api, "POST", "/b/dst.bin?cp.from=/a/src.bin")
    assert reply.status == 204 and ("X-Seaweedfs-Copy-Committed", "true") in reply.headers
    assert (await call(api, "GET", "/b/dst.bin")).body == data
    src_fids, dst_fids = await fids(api, "/a/src.bin"), await fids(api, "/b/dst.bin")
    assert len(dst_fids) == 2 and not src_fids & dst_fids
    assert (await call(api, "DELETE", "/a/src.bin")).status == 204
    assert (await call(api, "GET", "/b/dst.bin")).body == data


async def test_trailing_slash_keeps_the_name(api: FilerHttpApi) -> None:
    await call(api, "PUT", "/a/f.txt", b"hello")
    assert (await call(api, "POST", "/into/?cp.from=/a/f.txt")).status == 204
    assert (await call(api, "GET", "/into/f.txt")).body == b"hello"
    await call(api, "POST", "/existing/")  # mkdir
    assert (await call(api, "POST", "/existing?cp.from=/a/f.txt")).status == 204
    assert (await call(api, "GET", "/existing/f.txt")).body == b"hello"


async def test_directory_copies_recursively(api: FilerHttpApi) -> None:
    await call(api, "PUT", "/t/one", b"1")
    await call(api, "PUT", "/t/sub/two", b"22")
    await call(api, "PUT", "/t/sub/deeper/three?saveInside=true", b"333")
    assert (await call(api, "POST", "/t2?cp.from=/t")).status == 204
    assert (await call(api, "GET", "/t2/one")).body == b"1"
    assert (await call(api, "GET", "/t2/sub/two")).body == b"22"
    assert (await call(api, "GET", "/t2/sub/deeper/three")).body == b"333"
    assert not (await fids(api, "/t/sub/two")) & (await fids(api, "/t2/sub/two"))
    assert (await call(api, "DELETE", "/t?recursive=true")).status == 204
    assert (await call(api, "GET", "/t2/sub/two")).body == b"22"


async def test_missing_source_and_self_copy(api: FilerHttpApi) -> None:
    reply = await call(api, "POST", "/x?cp.from=/nope.txt")
    assert reply.status == 400
    assert json.loads(bytes(reply.body)) == {
        "error": "failed to get src entry '/nope.txt', err: filer: no entry is found in filer store"}
    await call(api, "PUT", "/d/f", b"1")
    assert (await call(api, "POST", "/d/inner?cp.from=/d")).status == 400
    assert (await call(api, "GET", "/d/inner")).status == 404


async def test_failed_tree_copy_commits_nothing_and_queues_its_chunks(api: FilerHttpApi) -> None:
    """A source chunk that cannot be read half way through the tree: 500, no entry of the copy
    exists (not even its top directory), and every chunk the copy stored is queued for deletion."""
    volumes = api.core.volumes
    assert isinstance(volumes, FakeVolumes)
    data = bytes(range(256)) * 5000  # two chunks at maxMB=1
    for name in ("a.bin", "b.bin", "c.bin"):
        assert (await call(api, "PUT", f"/t/sub/{name}", data)).status == 201
    before = set(volumes.needles)
    lost = sorted(await fids(api, "/t/sub/b.bin"))[1]
    del volumes.needles[lost]  # a.bin copies whole, then b.bin's read fails

    reply = await call(api, "POST", "/t2?cp.from=/t")
    assert reply.status == 500
    assert (await call(api, "GET", "/t2")).status == 404
    assert (await call(api, "GET", "/t2/sub/a.bin")).status == 404
    copied = set(volumes.needles) - before
    assert len(copied) >= 2, "a.bin's chunks were never copied: the failure came too early"
    assert set(queued(api.core.store)) == copied, "a chunk the copy stored is neither queued nor committed"
