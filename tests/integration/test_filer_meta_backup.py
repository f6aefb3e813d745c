"""`kelp filer.meta.backup` and `kelp filer.meta.verify` against real filers:

- a nested tree (6 levels) is traversed into a standby (SQLite and PostgreSQL), live changes
  stream after it, verify reports 0 differences, /metrics shows lag, events applied and the
  checkpoint, -v prints each change; a change the backup missed makes verify exit 1 naming it;
- a checkpoint older than the filer's change-log retention: the backup exits 1 with one line
  saying to run with -restart, and -restart then brings the standby back to 0 differences;
- promotion: the primary's PostgreSQL database dropped, `kelp filer` started on the standby
  serves every file (chunks on the volume servers) byte for byte.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from controlplane.filer.store import StoreConfig
from ops.localcluster import LocalCluster, http_call
from tests.integration.filer_meta_backup_support import (
    MutationLoad,
    backup_process,
    backup_toml,
    build_tree,
    kelp_command,
    kelp_env,
    verify,
    wait_for,
    wait_verified,
)
from tests.pgtest import create_database, drop_database, filer_toml, require_server, store_config

pytestmark = [pytest.mark.integration]

TREE_ENTRIES = 3_000  # the 50,000-entry run is ops/bench/filer_backup_compare.py
TREE_LEVELS = 6
LARGE_TREE_ENTRIES = 50_000  # the size, once (one standby kind)
CATCH_UP_SECONDS = 90.0
EXIT_SECONDS = 60.0
MakeDatabase = Callable[[], StoreConfig]


@pytest.fixture
def new_pg() -> Iterator[MakeDatabase]:
    """make() -> StoreConfig of a new PostgreSQL database, dropped after the test (skips without
    a server)."""
    made: list[str] = []

    def make() -> StoreConfig:
        require_server()
        made.append(create_database())
        return store_config(made[-1])

    try:
        yield make
    finally:
        for name in made:
            drop_database(name)


def standby_toml(kind: str, tmp_path: Path, new_pg: MakeDatabase) -> str:
    if kind == "sqlite":
        return f'[sqlite]\npath = "{tmp_path}/standby.db"\n'
    return filer_toml(new_pg())


def metrics_text(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
        return reply.read().decode()


def metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics:\n{text}")


@pytest.mark.parametrize("standby_kind", ["sqlite", "postgres"])
def test_full_backup_stream_and_verify(cluster_factory: Callable[..., LocalCluster], tmp_path: Path,
                                       standby_kind: str, new_pg: MakeDatabase) -> None:
    cluster = cluster_factory(filers=1)
    made = build_tree(cluster.filer, TREE_ENTRIES, TREE_LEVELS)
    assert made == TREE_ENTRIES
    config = backup_toml(tmp_path / "backup_filer.toml", standby_toml(standby_kind, tmp_path, new_pg))
    metrics_port = cluster.ports.take(grpc_pair=False)
    log = tmp_path / "backup.log"
    with backup_process([cluster.filer], config, log, "-v", f"-metricsPort={metrics_port}",
                        "-metricsIp=127.0.0.1") as backup:
        backup.start()
        out = wait_verified([cluster.filer], config, CATCH_UP_SECONDS)
        assert f"primary {TREE_ENTRIES} entries, standby {TREE_ENTRIES} entries" in out
        assert "traversal done:" in backup.log_text()

        load = MutationLoad(cluster.filer, max_ops=200, max_seconds=30).start()
        wait_for("the mutation load", lambda: load.ops >= 200 or not load._thread.is_alive(), 60)
        assert load.stop() >= 200 and not load.errors
        wait_verified([cluster.filer], config, CATCH_UP_SECONDS)
        text = metrics_text(metrics_port)
        assert metric(text, "kelp_filer_meta_backup_events_applied_total") >= 200
        assert metric(text, "kelp_filer_meta_backup_traversal_entries_total") == TREE_ENTRIES
        assert 0 <= metric(text, "kelp_filer_meta_backup_lag_seconds") < 30
        checkpoint_s = metric(text, "kelp_filer_meta_backup_last_checkpoint_seconds")
        assert abs(checkpoint_s - time.time()) < 120
        assert "applied rename " in backup.log_text() and "applied delete " in backup.log_text()
        assert backup.kill(signal.SIGTERM) == 0

    # With the backup stopped, a new file is a difference verify names.
    assert http_call(cluster.filer, "PUT", "/tree/late.txt", b"late").status in (200, 201)
    code, out = verify([cluster.filer], config)
    assert code == 1 and "1 differences" in out and "missing in standby: /tree/late.txt" in out, out


def test_checkpoint_older_than_retention_needs_restart(cluster_factory: Callable[..., LocalCluster],
                                                       tmp_path: Path) -> None:
    # 0.0005 h = 1.8 s of change log; the filer trims at start (and every minute).
    store = f'[sqlite]\npath = "{tmp_path}/primary.db"\n[changelog]\nretention_hours = 0.0005\n'
    cluster = cluster_factory(filers=1, filer_store=store)
    build_tree(cluster.filer, 300, 3)
    config = backup_toml(tmp_path / "backup_filer.toml", f'[sqlite]\npath = "{tmp_path}/standby.db"\n')
    log = tmp_path / "backup.log"
    with backup_process([cluster.filer], config, log) as backup:
        backup.start()
        wait_verified([cluster.filer], config, CATCH_UP_SECONDS)
        assert backup.kill(signal.SIGTERM) == 0
    for i in range(20):  # changes the stopped backup never saw
        assert http_call(cluster.filer, "PUT", f"/tree/gone{i}.txt", b"x").status in (200, 201)
    time.sleep(2.0)  # let those changes age past the 1.8 s retention (not synchronisation)
    cluster.restart("filer0")  # trims at start
    with backup_process([cluster.filer], config, log) as backup:
        backup.start()
        code = backup.wait(EXIT_SECONDS)
    assert code == 1
    last = [line for line in log.read_text().splitlines() if line.strip()][-1]
    assert "no longer holds the change log" in last and "-restart" in last, last
    code, _ = verify([cluster.filer], config)
    assert code == 1  # nothing was skipped silently: the standby still lacks the changes
    with backup_process([cluster.filer], config, log, "-restart") as backup:
        backup.start()
        out = wait_verified([cluster.filer], config, CATCH_UP_SECONDS)
        assert "0 differences" in out


def test_promotion_serves_every_file(cluster_factory: Callable[..., LocalCluster], tmp_path: Path,
                                     new_pg: MakeDatabase) -> None:
    primary = new_pg()
    cluster = cluster_factory(filers=1, filer_store=filer_toml(primary), filer_flags=["-maxMB=1"])
    files = {f"/data/d{i % 4}/f{i}.bin": os.urandom(1000 + 7919 * i) for i in range(24)}
    files["/data/big.bin"] = os.urandom(2_600_000)  # three chunks
    for path, body in files.items():
        assert http_call(cluster.filer, "PUT", path, body).status in (200, 201)
    config = backup_toml(tmp_path / "backup_filer.toml", f'[sqlite]\npath = "{tmp_path}/standby.db"\n')
    with backup_process([cluster.filer], config, tmp_path / "backup.log") as backup:
        backup.start()
        wait_verified([cluster.filer], config, CATCH_UP_SECONDS)
        assert backup.kill(signal.SIGTERM) == 0
    cluster.kill("filer0")
    drop_database(primary.database)

    promoted_dir = tmp_path / "promoted"
    promoted_dir.mkdir()
    (promoted_dir / "filer.toml").write_text(config.read_text())
    port = cluster.ports.take()
    argv = kelp_command("filer", "-ip=127.0.0.1", f"-port={port}", f"-port.grpc={port + 10000}",
                        f"-master={cluster.master}", f"-config.dir={promoted_dir}",
                        f"-defaultStoreDir={promoted_dir}")
    with (tmp_path / "promoted.log").open("wb") as out:
        filer = subprocess.Popen(argv, cwd=promoted_dir, env=kelp_env(), stdout=out, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        address = f"127.0.0.1:{port}"

        def up() -> bool:
            try:
                return http_call(address, "GET", "/healthz", timeout=2).status == 200
            except OSError:
                return False

        wait_for("the promoted filer", up, 60)
        for path, body in files.items():
            reply = http_call(address, "GET", path)
            assert reply.status == 200 and reply.body == body, path
    finally:
        filer.terminate()
        try:
            filer.wait(timeout=15)
        except subprocess.TimeoutExpired:
            filer.kill()
            filer.wait(timeout=10)


def test_fifty_thousand_entries_back_up_completely(cluster_factory: Callable[..., LocalCluster],
                                                   tmp_path: Path, new_pg: MakeDatabase) -> None:
    """The issue's size: 50,000 entries nested 6 levels, backed up into a standby; verify 0."""
    cluster = cluster_factory(filers=1)
    assert build_tree(cluster.filer, LARGE_TREE_ENTRIES, TREE_LEVELS) == LARGE_TREE_ENTRIES
    config = backup_toml(tmp_path / "backup_filer.toml", standby_toml("sqlite", tmp_path, new_pg))
    with backup_process([cluster.filer], config, tmp_path / "backup.log") as backup:
        backup.start()
        out = wait_verified([cluster.filer], config, CATCH_UP_SECONDS)
        assert f"primary {LARGE_TREE_ENTRIES} entries, standby {LARGE_TREE_ENTRIES} entries" in out
        assert backup.kill(signal.SIGTERM) == 0
