"""Chaos: filer.meta.backup killed -9 ten times at random moments (the first may land in the
traversal) under a mutation load from two writers on two filers of one PostgreSQL database, while
the filers themselves are killed and restarted in turn; after the load stops and the backup
catches up, filer.meta.verify reports 0 differences. KELP_CHAOS_BACKUP_KILLS changes the count.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ops.localcluster import LocalCluster
from tests.integration.filer_meta_backup_support import (
    BackupProcess,
    MutationLoad,
    backup_toml,
    build_tree,
    wait_for,
    wait_verified,
)
from tests.pgtest import create_database, drop_database, filer_toml, require_server, store_config

BACKUP_KILLS = int(os.environ.get("KELP_CHAOS_BACKUP_KILLS", "10"))
CATCH_UP_SECONDS = 120.0


@pytest.fixture
def primary_database() -> Iterator[str]:
    require_server()
    name = create_database()
    try:
        yield name
    finally:
        drop_database(name)


def test_backup_kill9_and_filer_kills_under_load(cluster_factory: Callable[..., LocalCluster], tmp_path: Path,
                                                 primary_database: str) -> None:
    cluster = cluster_factory(filers=2, filer_store=filer_toml(store_config(primary_database)))
    f0, f1 = cluster.filer_addresses
    build_tree(f0, 2_000, 6)
    config = backup_toml(tmp_path / "backup_filer.toml", f'[sqlite]\npath = "{tmp_path}/standby.db"\n')
    backup = BackupProcess([f0, f1], config, tmp_path / "backup.log")
    rng = random.Random(int(os.environ.get("KELP_CHAOS_SEED", "5")))
    loads = [MutationLoad(f0, others=(f1,), root="/load0", seed=1, max_seconds=300).start(),
             MutationLoad(f1, others=(f0,), root="/load1", seed=2, max_seconds=300).start()]
    try:
        backup.start()
        for kill in range(1, BACKUP_KILLS + 1):
            # A random moment once the process runs (the first one likely inside the traversal).
            wait_for("the backup to start", lambda k=kill: backup.log_text().count("backing up /") >= k, 60)
            time.sleep(rng.uniform(0.0, 0.3) if kill == 1 else rng.uniform(0.1, 2.5))
            assert backup.kill(signal.SIGKILL) == -signal.SIGKILL
            if kill == BACKUP_KILLS // 3:
                cluster.kill("filer0")
            elif kill == BACKUP_KILLS // 2:
                cluster.restart("filer0")
            elif kill == 2 * BACKUP_KILLS // 3:
                cluster.kill("filer1")
            backup.start()
        cluster.restart("filer1")
        wait_for("load after the last kill", lambda: all(load.ops > 100 for load in loads), 60)
        ops = sum(load.stop() for load in loads)
        out = wait_verified([f0], config, CATCH_UP_SECONDS)
        assert "0 differences" in out
        text = backup.log_text()
        assert text.count("===== start") == BACKUP_KILLS + 1
        assert "on filer" in text  # a followed filer was down at least once: the backup moved on
        print(f"{ops} mutations, {BACKUP_KILLS} backup kills: {out.strip()}")
    finally:
        for load in loads:
            load.stop()
        backup.kill()
