"""`kelp filer.migrate`: migrates the store filer.toml names (or SQLite in -dir), says so in one
line, and is idempotent; a missing filer.toml in -config.dir is a usage error."""

from __future__ import annotations

from pathlib import Path

import pytest

from controlplane.filer.store import StoreConfig, open_store
from ops.cli import filer_migrate


def test_migrates_default_sqlite(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no filer.toml found here
    assert filer_migrate.main([f"-dir={tmp_path / 'store'}"]) == 0
    assert "from revision none to 0002" in capsys.readouterr().out
    assert filer_migrate.main([f"-dir={tmp_path / 'store'}"]) == 0
    assert "already at revision 0002" in capsys.readouterr().out
    open_store(StoreConfig(kind="sqlite", path=str(tmp_path / "store" / "filer.db")), migrate=False).close()


def test_uses_filer_toml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "filer.toml").write_text(f'[sqlite]\npath = "{tmp_path}/x.db"\ntypo = 1\n')
    assert filer_migrate.main([f"-config.dir={tmp_path}"]) == 0
    captured = capsys.readouterr()
    assert f"sqlite:{tmp_path}/x.db" in captured.out
    assert "sqlite.typo" in captured.err


def test_missing_filer_toml_in_config_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        filer_migrate.main([f"-config.dir={tmp_path}"])
    assert caught.value.code == 2
    assert "no filer.toml" in capsys.readouterr().err
