"""progress.py: a bar redrawn in place on a terminal, log lines otherwise; the metrics registry."""

from __future__ import annotations

import io
import logging

import pytest
from prometheus_client import generate_latest

from controlplane.filer.backup import progress as progress_module
from controlplane.filer.backup.progress import BackupMetrics, TraversalProgress


def test_terminal_bar_and_log_lines(monkeypatch: pytest.MonkeyPatch,
                                    caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(progress_module, "BAR_SECONDS", 0.0)
    monkeypatch.setattr(progress_module, "LOG_SECONDS", 0.0)
    screen = io.StringIO()
    bar = TraversalProgress(screen, tty=True)
    bar.add(1500, 3)
    assert screen.getvalue().startswith("\r[") and "1,500 entries in 3 directories" in screen.getvalue()
    assert "entries/s" in screen.getvalue() and "s elapsed" in screen.getvalue()
    assert bar.done().startswith("traversal done: 1,500 entries") and screen.getvalue().endswith("\n")

    quiet = io.StringIO()
    with caplog.at_level(logging.INFO, logger=progress_module.__name__):
        lines = TraversalProgress(quiet, tty=False)
        lines.add(10)
        lines.done()
    assert quiet.getvalue() == ""  # no bar drawn into a log file
    assert any("traversal: 10 entries" in r.getMessage() for r in caplog.records)
    assert any("traversal done: 10 entries" in r.getMessage() for r in caplog.records)


def test_metrics_names() -> None:
    metrics = BackupMetrics()
    metrics.events_applied.inc(3)
    metrics.lag_seconds.set(0.25)
    metrics.last_checkpoint.set(1_700_000_000.5)
    text = generate_latest(metrics.registry).decode()
    for line in ("kelp_filer_meta_backup_events_applied_total 3.0", "kelp_filer_meta_backup_lag_seconds 0.25",
                 "kelp_filer_meta_backup_last_checkpoint_seconds 1.7000000005e+09",
                 "kelp_filer_meta_backup_traversal_entries_total 0.0",
                 "kelp_filer_meta_backup_failovers_total 0.0"):
        assert line in text, text
