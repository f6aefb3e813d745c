"""What an operator sees of a backup: the traversal's progress (a bar redrawn in place on a
terminal, a log line every few seconds otherwise) and the Prometheus metrics.

Metrics (own registry, served by `serve_metrics` on -metricsPort):
- kelp_filer_meta_backup_lag_seconds: at the commit of the last batch applied, how old its oldest
  change was (commit time minus the change's ts_ns; filer and backup clocks assumed in sync)
- kelp_filer_meta_backup_events_applied_total: changes applied to the standby
- kelp_filer_meta_backup_last_checkpoint_seconds: the stored checkpoint's time (unix seconds)
- kelp_filer_meta_backup_traversal_entries_total: entries copied by traversals
- kelp_filer_meta_backup_failovers_total: moves to another filer

Imports prometheus_client and the standard library only.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import TextIO

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

log = logging.getLogger(__name__)

BAR_SECONDS = 0.2  # redraw period on a terminal
LOG_SECONDS = 5.0  # log-line period otherwise
BAR_WIDTH = 24
# A traversal shows no total in advance (that would cost a walk of its own); the bar cycles.


class BackupMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        prefix = "kelp_filer_meta_backup_"
        self.lag_seconds = Gauge(prefix + "lag_seconds", "age of the oldest change of the last batch "
                                 "applied, at its commit", registry=self.registry)
        self.events_applied = Counter(prefix + "events_applied", "changes applied to the standby",
                                      registry=self.registry)
        self.last_checkpoint = Gauge(prefix + "last_checkpoint_seconds", "time of the stored checkpoint, "
                                     "unix seconds", registry=self.registry)
        self.traversal_entries = Counter(prefix + "traversal_entries", "entries copied by traversals",
                                         registry=self.registry)
        self.failovers = Counter(prefix + "failovers", "moves to another filer", registry=self.registry)


def serve_metrics(metrics: BackupMetrics, port: int, host: str = "") -> None:
    """Serve /metrics on host:port from a daemon thread (prometheus_client's own server)."""
    start_http_server(port, addr=host or "0.0.0.0", registry=metrics.registry)


class TraversalProgress:
    """Entries copied, rate and elapsed time; call `tick()` often, `done()` once."""

    def __init__(self, stream: TextIO | None = None, *, tty: bool | None = None) -> None:
        self._stream = stream or sys.stderr
        self._tty = self._stream.isatty() if tty is None else tty
        self._start = time.monotonic()
        self._last_draw = 0.0
        self.entries = 0
        self.directories = 0
        self._spin = 0

    def add(self, entries: int, directories: int = 0) -> None:
        self.entries += entries
        self.directories += directories
        self.tick()

    def line(self) -> str:
        elapsed = max(time.monotonic() - self._start, 1e-9)
        return (f"traversal: {self.entries:,} entries in {self.directories:,} directories, "
                f"{self.entries / elapsed:,.0f} entries/s, {elapsed:.1f} s elapsed")

    def tick(self) -> None:
        now = time.monotonic()
        if now - self._last_draw < (BAR_SECONDS if self._tty else LOG_SECONDS):
            return
        self._last_draw = now
        if self._tty:
            self._spin = (self._spin + 1) % BAR_WIDTH
            bar = "".join("#" if (i - self._spin) % BAR_WIDTH < 6 else "." for i in range(BAR_WIDTH))
            self._stream.write(f"\r[{bar}] {self.line()}\x1b[K")
            self._stream.flush()
        else:
            log.info("%s", self.line())

    def done(self) -> str:
        text = self.line().replace("traversal:", "traversal done:")
        if self._tty:
            self._stream.write(f"\r{text}\x1b[K\n")
            self._stream.flush()
        else:
            log.info("%s", text)
        return text
