"""filer.meta.backup under a mutation load on two filers of one PostgreSQL database:
the backup is killed (-9) a few times at random moments and restarted, then the filer it follows
is killed; it continues from the other filer at its checkpoint, and after the load stops verify
reports 0 differences. (The 10-kill version is tests/chaos/test_filer_meta_backup_kill.py.)
"""

from __future__ import annotations

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

pytestmark = [pytest.mark.integration]

BACKUP_KILLS = 3
CATCH_UP_SECONDS = 90.0


@pytest.fixture
def two_databases() -> Iterator[tuple[str, str]]:
    require_server()
    primary, standby = create_database(), create_database()
    try:
        yield primary, standby
    finally:
        drop_database(primary)
        drop_database(standby)


def test_kills_and_filer_failover(cluster_factory: Callable[..., LocalCluster], tmp_path: Path,
                                  two_databases: tuple[str, str]) -> None:
    primary, standby = two_databases
    cluster = cluster_factory(filers=2, filer_store=filer_toml(store_config(primary)))
    f0, f1 = cluster.filer_addresses
    build_tree(f0, 500, 4)
    config = backup_toml(tmp_path / "backup_filer.toml", filer_toml(store_config(standby)))
    backup = BackupProcess([f0, f1], config, tmp_path / "backup.log")
    rng = random.Random(11)
    load = MutationLoad(f1, others=(f0,), max_seconds=120).start()
    try:
        backup.start()
        wait_for("the traversal", lambda: "traversal done" in backup.log_text(), 60)
        for kill in range(1, BACKUP_KILLS + 1):
            time.sleep(rng.uniform(0.2, 1.5))  # a random moment while it streams, not synchronisation
            assert backup.kill(signal.SIGKILL) == -signal.SIGKILL
            backup.start()
            wait_for("the backup to resume", lambda k=kill: backup.log_text().count("resuming from") == k, 60)
        ops_before = load.ops
        cluster.kill("filer0")  # the filer the backup follows
        wait_for("the backup to move to filer1",
                 lambda: f"on filer {f1}" in backup.log_text(), 60)
        wait_for("more load through filer1", lambda: load.ops > ops_before + 100, 60)
        load.stop()
        out = wait_verified([f1], config, CATCH_UP_SECONDS)
        assert "0 differences" in out
        assert backup.running()
        assert backup.log_text().count("resuming from the standby's checkpoint") == BACKUP_KILLS
    finally:
        load.stop()
        backup.kill()
