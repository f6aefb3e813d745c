"""Hard links made by the real `weed mount` on a kelp filer (SQLite and PostgreSQL): `ln a b`, a
write through b reads back through a (also over kelp's HTTP API), `rm a` leaves b readable with
its chunks in place, `rm b` frees them on the volume server."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ops.localcluster import LocalCluster, WeedCluster, http_call
from tests.integration.test_filer_weed_tools import _unmount, wait_for, weed_process
from tests.pgtest import filer_toml, require_server, store_config

GC_SECONDS = 30.0
POLL_SECONDS = 0.1
DATA = os.urandom(3 << 20)  # over weed mount's 2 MiB chunks: two chunks


@pytest.fixture(params=["sqlite", "postgres"])
def cluster(
    request: pytest.FixtureRequest, cluster_factory: Callable[..., LocalCluster]
) -> Iterator[LocalCluster]:
    if shutil.which("fusermount3") is None or not os.path.exists("/dev/fuse"):
        pytest.skip("FUSE is not available (bash ops/dev.sh install adds fuse3)")
    if request.param == "sqlite":
        yield cluster_factory(1, filers=1)
        return
    require_server()
    from tests.pgtest import create_database, drop_database

    database = create_database()
    try:
        yield cluster_factory(1, filers=1, filer_store=filer_toml(store_config(database)))
    finally:
        drop_database(database)


def chunk_fids(cluster: LocalCluster, path: str) -> list[str]:
    reply = http_call(cluster.filer, "GET", f"{path}?metadata=true")
    assert reply.status == 200, reply.body
    return [c["file_id"] for c in reply.json().get("chunks") or []]


def needles_gone(cluster: LocalCluster, fids: list[str]) -> bool:
    return all(http_call(cluster.volume_addresses[0], "GET", f"/{fid}").status == 404 for fid in fids)


def test_ln_write_read_rm(cluster: LocalCluster, tmp_path: Path) -> None:
    try:
        weed = WeedCluster.binary()
    except FileNotFoundError as err:
        pytest.skip(str(err))
    mountpoint = tmp_path / "mnt"
    mountpoint.mkdir()
    args = ["mount", f"-filer={cluster.filer}", f"-dir={mountpoint}", f"-cacheDir={tmp_path / 'cache'}"]
    try:
        with weed_process(weed, args, tmp_path / "mount.log") as proc:
            wait_for("the mount", lambda: os.path.ismount(mountpoint) or proc.poll() is not None)
            assert proc.poll() is None, (tmp_path / "mount.log").read_text()
            (mountpoint / "hl").mkdir()
            a, b = mountpoint / "hl" / "a", mountpoint / "hl" / "b"
            a.write_bytes(b"first version\n")
            os.link(a, b)
            assert os.stat(a).st_nlink == 2 and os.stat(a).st_ino == os.stat(b).st_ino
            with open(b, "wb") as out:  # a write through the second name
                out.write(DATA)
            assert a.read_bytes() == DATA
            # kelp itself serves the shared content under both names, and counts the links
            wait_for("the write in kelp", lambda: http_call(cluster.filer, "GET", "/hl/a").body == DATA)
            assert http_call(cluster.filer, "GET", "/hl/b").body == DATA
            meta = http_call(cluster.filer, "GET", "/hl/a?metadata=true").json()
            assert meta["HardLinkCounter"] == 2 and meta["HardLinkId"]
            fids = chunk_fids(cluster, "/hl/b")
            assert len(fids) == 2 and not needles_gone(cluster, fids)

            a.unlink()
            assert b.read_bytes() == DATA
            wait_for("the unlink in kelp", lambda: http_call(cluster.filer, "GET", "/hl/a").status == 404)
            assert http_call(cluster.filer, "GET", "/hl/b?metadata=true").json()["HardLinkCounter"] == 1
            assert all(http_call(cluster.volume_addresses[0], "GET", f"/{f}").status == 200 for f in fids)
            assert http_call(cluster.filer, "GET", "/hl/b").body == DATA

            b.unlink()
            wait_for("the last unlink in kelp",
                     lambda: http_call(cluster.filer, "GET", "/hl/b").status == 404)
            wait_for("the shared chunks freed on the volume server", lambda: needles_gone(cluster, fids),
                     GC_SECONDS)
            assert proc.poll() is None, (tmp_path / "mount.log").read_text()
    finally:
        _unmount(mountpoint)
