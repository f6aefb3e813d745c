"""filer.conf path rules against real processes: `kelp shell fs.configure ... -apply` through the
first filer writes /etc/seaweedfs/filer.conf; uploads through the LAST filer then follow it (two
filers sharing one PostgreSQL: the second picks the change up by itself; one filer on SQLite):
collection and TTL of the chunk's volume, 507 under a read-only prefix, 414 over a rule's name
limit, X-Seaweedfs-Destination choosing the rule, and -delete lifting them again.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest

from ops.localcluster import HttpReply, LocalCluster, http_call
from tests.pgtest import filer_cluster

RULE_SECONDS = 20.0  # another filer polls filer.conf every 2 s; a loaded box may take longer
POLL_SECONDS = 0.1
SHELL_SECONDS = 60.0


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def cluster(request: pytest.FixtureRequest) -> Iterator[LocalCluster]:
    with filer_cluster(request.param, filers=2 if request.param == "postgres" else 1) as made:
        yield made


def configure(cluster: LocalCluster, args: str) -> str:
    """Run fs.configure through `kelp shell` against the first filer; its output."""
    script = f"fs.configure -filer={cluster.filer_addresses[0]} {args}"
    argv = [sys.executable, "-m", "ops.cli.main", "shell", f"-master={cluster.master}", "-c", script]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=SHELL_SECONDS,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    return done.stdout


def put(cluster: LocalCluster, path: str, body: bytes = b"data", **headers: str) -> HttpReply:
    """An upload through the last filer (the one that did not write filer.conf)."""
    sent = {k.replace("_", "-"): v for k, v in headers.items()}
    return http_call(cluster.filer_addresses[-1], "PUT", path, body, sent)


def volume(cluster: LocalCluster, path: str) -> dict[str, object]:
    meta = http_call(cluster.filer_addresses[-1], "GET", f"{path}?metadata=true").json()
    vid = int(meta["chunks"][0]["file_id"].split(",")[0])
    status = http_call(cluster.volume_addresses[0], "GET", "/status").json()
    return next(v for v in status["Volumes"] if v["Id"] == vid)


def eventually(what: str, check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + RULE_SECONDS
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(POLL_SECONDS)


def test_fs_configure_rules_apply_on_every_filer(cluster: LocalCluster) -> None:
    shown = configure(cluster, "-locationPrefix=/coll/ -collection=pics -ttl=5m")
    assert shown.startswith("Running in simulation mode")
    assert json.loads(shown[shown.index("{"):])["locations"][0]["collection"] == "pics"
    assert json.loads(configure(cluster, ""))["locations"] == []  # nothing written yet

    configure(cluster, "-locationPrefix=/coll/ -collection=pics -ttl=5m -apply")
    configure(cluster, "-locationPrefix=/frozen/ -readOnly -apply")
    configure(cluster, "-locationPrefix=/short/ -maxFileNameLength=8 -apply")
    eventually("the read-only rule on the last filer", lambda: put(cluster, "/frozen/f").status == 507)
    refused = put(cluster, "/frozen/g")
    assert refused.json() == {"error": "read only: /frozen/ (e.g. bucket over quota)"}

    assert put(cluster, "/coll/a.jpg").status == 201
    placed = volume(cluster, "/coll/a.jpg")
    assert placed["Collection"] == "pics" and placed["Ttl"] == {"Count": 5, "Unit": 1}
    meta = http_call(cluster.filer_addresses[-1], "GET", "/coll/a.jpg?metadata=true").json()
    assert meta["TtlSec"] == 300
    assert put(cluster, "/elsewhere/b.bin", X_Seaweedfs_Destination="/coll/b.bin").status == 201
    assert volume(cluster, "/elsewhere/b.bin")["Collection"] == "pics"
    assert put(cluster, "/elsewhere/c.bin", X_Seaweedfs_Destination="/frozen/c.bin").status == 507
    assert put(cluster, "/short/123456789").status == 414
    assert put(cluster, "/short/12345678").status == 201

    configure(cluster, "-locationPrefix=/frozen/ -delete -apply")
    eventually("the lifted read-only rule", lambda: put(cluster, "/frozen/f").status == 201)
    assert [loc["locationPrefix"] for loc in json.loads(configure(cluster, ""))["locations"]] == [
        "/coll/", "/short/"]
