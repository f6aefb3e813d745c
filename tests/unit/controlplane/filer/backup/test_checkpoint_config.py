"""checkpoint.py and config.py: the stored position round-trips; backup_filer.toml mistakes are
one clear line each."""

from __future__ import annotations

from pathlib import Path

import pytest

from controlplane.filer.backup.checkpoint import BadCheckpoint, Checkpoint, event_digest
from controlplane.filer.backup.config import load_backup_config
from controlplane.filer.backup.errors import BackupConfigError


def test_checkpoint_round_trip_and_bad_bytes() -> None:
    point = Checkpoint(ts_ns=5, filer_path="/a", traversal_start_ns=3, events_applied=9, last_event="ab",
                       filer="f:1")
    assert Checkpoint.decode(point.encode()) == point
    for raw in (b"", b"{}", b'{"version": 99}', b"[1]"):
        with pytest.raises(BadCheckpoint, match="-restart"):
            Checkpoint.decode(raw)
    assert event_digest(1, "/", "a", "", "") != event_digest(1, "/", "b", "", "")


def test_config_names_the_store(tmp_path: Path) -> None:
    good = tmp_path / "b.toml"
    good.write_text(f'[sqlite]\npath = "{tmp_path}/s.db"\n')
    assert load_backup_config(good).store.path == f"{tmp_path}/s.db"
    pg = tmp_path / "pg.toml"
    pg.write_text('[postgres]\nhostname = "db"\nusername = "u"\ndatabase = "standby"\n')
    store = load_backup_config(pg).store
    assert (store.kind, store.host, store.user, store.database) == ("postgres", "db", "u", "standby")
    cases = {
        "": "names no standby store",
        "[sqlite]\n": "needs path",
        "[sqlite]\npath = 3\n": "must be a string",
        "[sqlite\n": "not valid TOML",
        f'[sqlite]\npath = "{tmp_path}/x"\n[postgres]\nhost = "h"\n': "both",
    }
    for text, words in cases.items():
        bad = tmp_path / "bad.toml"
        bad.write_text(text)
        with pytest.raises(BackupConfigError, match=words):
            load_backup_config(bad)
    with pytest.raises(BackupConfigError, match="no such file"):
        load_backup_config(tmp_path / "missing.toml")
