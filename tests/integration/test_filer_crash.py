"""kill -9 of a `kelp filer` mid-write leaks nothing and leaves no half-written entry (SQLite store).

A large raw PUT (-maxMB=1, so chunks reach the volume server while the body still arrives) is cut
by SIGKILL of the filer; after the restart every chunk that request stored is deleted from the
volume server (its pending-upload records, written before each chunk, are reclaimed at start and
drained by the collector) and no entry exists at its path. Small writes killed in flight either
committed whole or left nothing, and the volume server ends up holding exactly the chunks the
surviving entries reference.
"""

from __future__ import annotations

import http.client
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from ops.localcluster import LocalCluster, http_call, http_get_json

MIB = 1 << 20
BIG = 40 * MIB
SETTLE_SECONDS = 45.0  # restart + reclaim + collector passes on a loaded 2-core box
POLL_SECONDS = 0.1


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    made = LocalCluster(1, filers=1, filer_flags=["-maxMB=1"])
    try:
        made.start()
        yield made
    except BaseException:
        print(made.logs())
        raise
    finally:
        made.stop()


def live_needles(cluster: LocalCluster) -> int:
    """Needles written and not deleted, over every volume of the volume server."""
    status = http_get_json(cluster.volume_addresses[0], "/status")
    return sum(v["FileCount"] - v["DeleteCount"] for v in status["Volumes"])


def pending_fids(cluster: LocalCluster) -> list[str]:
    """Fids the (dead) filer recorded as stored for uncommitted requests, read from its database
    ([] from a filer without the table, so a build without the records fails on the leak itself)."""
    path = cluster.nodes["filer0"].data_dir / "filer.db"
    with sqlite3.connect(path) as db:
        try:
            return [row[0] for row in db.execute("SELECT fid FROM filer_pending_uploads")]
        except sqlite3.OperationalError as err:
            if "no such table" not in str(err):
                raise
            return []


def wait_for(what: str, check: Callable[[], bool], seconds: float = SETTLE_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(POLL_SECONDS)


def restart_filer(cluster: LocalCluster) -> None:
    cluster.restart("filer0")
    wait_for("the filer", lambda: http_call(cluster.filer, "GET", "/healthz").status == 200)


def test_kill_mid_upload_frees_every_stored_chunk(cluster: LocalCluster) -> None:
    http_call(cluster.filer, "PUT", "/warm.txt", b"warm")  # the first assign grows volumes
    baseline = live_needles(cluster)
    host, port = cluster.filer.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=30)
    try:
        sock.sendall(f"PUT /crash/big.bin HTTP/1.1\r\nHost: {cluster.filer}\r\n"
                     f"Content-Type: application/octet-stream\r\nContent-Length: {BIG}\r\n\r\n".encode())
        sent = 0
        piece = os.urandom(MIB)
        while live_needles(cluster) < baseline + 6:
            assert sent < BIG - 4 * MIB, "the upload was nearly sent before enough chunks were stored"
            sock.sendall(piece)
            sent += MIB
        cluster.kill("filer0")
    finally:
        sock.close()
    stored = live_needles(cluster) - baseline
    recorded = pending_fids(cluster)
    volume = cluster.volume_addresses[0]
    on_volume = sum(http_call(volume, "GET", f"/{fid}").status == 200 for fid in recorded)

    restart_filer(cluster)
    wait_for("the dead request's chunks to be deleted", lambda: live_needles(cluster) == baseline)
    assert stored >= 6 and len(recorded) >= stored and on_volume == stored  # each recorded before stored
    assert all(http_call(volume, "GET", f"/{fid}").status == 404 for fid in recorded)
    assert pending_fids(cluster) == []
    assert http_call(cluster.filer, "GET", "/crash/big.bin").status == 404


def test_kill_during_small_writes_leaves_whole_entries_or_nothing(cluster: LocalCluster) -> None:
    if not cluster.nodes["filer0"].running():  # an earlier failure left it dead
        restart_filer(cluster)
    baseline = live_needles(cluster)
    bodies = {f"/small/f{i:03d}.bin": os.urandom(3 * MIB // 2 + i) for i in range(40)}  # 2 chunks each
    stop = threading.Event()

    def writer(paths: list[str]) -> None:
        for path in paths:
            if stop.is_set():
                return
            try:
                http_call(cluster.filer, "PUT", path, bodies[path])
            except (OSError, http.client.HTTPException):
                return  # the filer died under this request

    names = sorted(bodies)
    threads = [threading.Thread(target=writer, args=(names[k::4],)) for k in range(4)]
    for t in threads:
        t.start()
    try:
        wait_for("some writes to commit", lambda: live_needles(cluster) >= baseline + 12, 60)
        cluster.kill("filer0")
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    restart_filer(cluster)

    kept = 0
    for path, body in bodies.items():
        got = http_call(cluster.filer, "GET", path)
        assert got.status in (200, 404), (path, got.status)
        if got.status == 200:
            assert got.body == body, f"{path} is half-written"
            kept += 1
    assert 0 < kept < len(bodies)
    wait_for("only the committed entries' chunks to remain",
             lambda: live_needles(cluster) == baseline + 2 * kept)
