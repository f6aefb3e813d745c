"""Wake-ups for FilerStore.wait_for_change.

`ChangeSignal` is a condition with a generation counter: a local commit bumps it at once, and on
PostgreSQL a listener thread bumps it for every NOTIFY on changelog.NOTIFY_CHANNEL, which any
filer sharing the database sends when a change-logging transaction commits. A waiter never trusts
a wake-up: it re-reads last_seq from the database; the counter only lets it sleep without losing
a wake-up that arrived between that read and its sleep. If the listener's connection drops, it
reconnects with a back-off, and waiters fall back to polling in the meantime.

Imports psycopg (the listener's own autocommit connection, outside the pool) and the standard library.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)


class ChangeSignal:
    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._generation = 0

    def generation(self) -> int:
        with self._condition:
            return self._generation

    def bump(self) -> None:
        with self._condition:
            self._generation += 1
            self._condition.notify_all()

    def wait(self, seen_generation: int, timeout: float) -> None:
        """Sleep until the generation moves past seen_generation or timeout seconds pass."""
        with self._condition:
            self._condition.wait_for(lambda: self._generation != seen_generation, timeout)


class PgListener:
    """A daemon thread LISTENing on one channel that bumps a ChangeSignal per notification.
    `healthy` is set while its LISTEN is in place (waiters poll rarely then)."""

    POLL_SECONDS = 0.5  # how often the thread looks at its stop flag while no notification comes
    RETRY_SECONDS = 1.0

    def __init__(self, conninfo: str, channel: str, signal: ChangeSignal) -> None:
        self._conninfo = conninfo
        self._channel = channel
        self._signal = signal
        self._stop = threading.Event()
        self.healthy = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"pg-listen-{channel}", daemon=True)

    def start(self, ready_timeout: float = 5.0) -> None:
        """Start listening; waits (bounded) until LISTEN is in place, so a change committed after
        start() returns is never missed for lack of a listener."""
        self._thread.start()
        self.healthy.wait(ready_timeout)

    def stop(self, wake: Callable[[], None] | None = None) -> None:
        """Stop the thread; `wake` (say, sending a NOTIFY) makes it notice at once instead of
        after up to POLL_SECONDS."""
        self._stop.set()
        if wake is not None and self._thread.is_alive():
            with contextlib.suppress(Exception):
                wake()
        self._thread.join(timeout=self.POLL_SECONDS * 4)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True) as connection:
                    connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
                    self.healthy.set()
                    # Commits made while we were not listening: let waiters re-read.
                    self._signal.bump()
                    while not self._stop.is_set():
                        for _ in connection.notifies(timeout=self.POLL_SECONDS):
                            self._signal.bump()
                            if self._stop.is_set():
                                break
            except psycopg.Error as err:
                if self._stop.is_set():
                    break
                log.warning("filer change listener: %s; reconnecting in %.0f s", err, self.RETRY_SECONDS)
            finally:
                self.healthy.clear()
                self._signal.bump()  # waiters re-check and poll while we are down
            self._stop.wait(self.RETRY_SECONDS)


def time_left(deadline: float) -> float:
    return deadline - time.monotonic()
