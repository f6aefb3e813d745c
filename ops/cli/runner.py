"""Run one or more kelp servers in a single asyncio event loop until SIGTERM or SIGINT.

A subcommand hands `run()` a start function that starts its servers through a `ServerGroup`
(which remembers them in start order); `run()` then waits for a signal and stops them in reverse
order within `STOP_DEADLINE_SECONDS`, so `kill <pid>` always ends a kelp process promptly with
status 0 (SeaweedFS's `weed server` can hang on SIGTERM; kelp must not). A second signal while
stopping exits at once. The loop is uvloop when installed (kelp_http.eventloop). Also here:
the flags every server process shares (-pidFile, -logLevel, -config.dir) and logging set-up.

Imports no kelp server module: subcommands pass their serve() calls in.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Protocol

from controlplane.shell.flags import Flags, FlagSet, exit_with_error
from kelp_http.eventloop import run as run_event_loop
from kelp_http.request_id import RequestIdFilter

log = logging.getLogger(__name__)

# Long enough for a volume server to close its files and a master to flush its journal on a
# loaded two-core machine, short enough that supervisors and tests never need kill -9.
STOP_DEADLINE_SECONDS = 8.0

LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


class RunningServer(Protocol):
    """What a component's serve() returns once it listens (see the serve() contract)."""

    @property
    def http_port(self) -> int: ...

    @property
    def grpc_port(self) -> int: ...

    async def stop(self) -> None: ...


class ServerGroup:
    """The servers one process runs, in start order, for stopping in reverse.

    A server whose serve() result also has `async wait()` (returns when its background jobs
    end, raises if one failed) is watched: if it ends before we stop it, `ended` is set so the
    process stops everything and exits 1 instead of running on half-dead."""

    def __init__(self) -> None:
        self._servers: list[tuple[str, RunningServer]] = []
        self._watchers: list[asyncio.Task[None]] = []
        self._stopping = False
        self.ended = asyncio.Event()

    async def start(self, name: str, starting: Awaitable[RunningServer]) -> RunningServer:
        server = await starting
        self._servers.append((name, server))
        wait = getattr(server, "wait", None)
        if wait is not None:
            self._watchers.append(asyncio.ensure_future(self._watch(name, wait())))
        log.info("ready component=%s http_port=%d grpc_port=%d", name, server.http_port, server.grpc_port)
        return server

    async def _watch(self, name: str, waiting: Awaitable[None]) -> None:
        try:
            await waiting
        except Exception:
            if not self._stopping:
                log.exception("component failed component=%s", name)
        else:
            if not self._stopping:
                log.error("component ended on its own component=%s", name)
        if not self._stopping:
            self.ended.set()

    async def stop_all(self) -> bool:
        """Stop every server, newest first; False if one of them failed to stop."""
        self._stopping = True
        clean = True
        while self._servers:
            name, server = self._servers.pop()
            try:
                await server.stop()
            except Exception:
                log.exception("stop failed component=%s", name)
                clean = False
            else:
                log.info("stopped component=%s", name)
        for watcher in self._watchers:
            watcher.cancel()
        await asyncio.gather(*self._watchers, return_exceptions=True)
        return clean


StartFunction = Callable[[ServerGroup], Awaitable[None]]


def add_process_flags(flag_set: FlagSet) -> None:
    """Flags every server subcommand takes."""
    flag_set.string("pidFile", "", "write the process id to this file while running (kelp)")
    flag_set.string("logLevel", "info", "least severe log level printed to stderr (kelp)", choices=LOG_LEVELS)
    flag_set.string(
        "config.dir", "", "where master.toml/security.toml are; empty: ., ~/.seaweedfs, /etc/seaweedfs"
    )


def run(start: StartFunction, flags: Flags) -> int:
    """Start, serve until a signal, stop; the process exit status. Call setup_logging first."""
    pid_file = Path(flags.text("pidFile")) if flags.text("pidFile") else None
    if pid_file is not None:
        pid_file.write_text(f"{os.getpid()}\n")
    try:
        status = run_event_loop(serve_until_signal(start))
    finally:
        if pid_file is not None:
            with contextlib.suppress(OSError):
                if pid_file.read_text().strip() == str(os.getpid()):
                    pid_file.unlink()
    _exit_if_threads_linger(status)
    return status


def make_dirs_or_exit(command: str, *dirs: str) -> None:
    """Create data directories up front, so a bad path is one clear line (exit 2)."""
    for path in dirs:
        try:
            os.makedirs(path, exist_ok=True)
        except OSError as err:
            exit_with_error(f"kelp {command}: cannot create directory {path}: {err.strerror}")


def setup_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format=LOG_FORMAT, stream=sys.stderr, force=True)
    for handler in logging.getLogger().handlers:
        handler.addFilter(RequestIdFilter())  # ` rid=<id>` on lines logged inside a request


async def serve_until_signal(start: StartFunction) -> int:
    """Start through `start`, wait for SIGTERM/SIGINT (or a watched server ending), stop all;
    the exit status: 0 for a clean stop after a signal, 1 otherwise."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()

    def on_signal(signum: int) -> None:
        if stopping.is_set():
            log.warning("second signal=%s while stopping: exiting now", signal.Signals(signum).name)
            os._exit(1)
        log.info("stopping signal=%s", signal.Signals(signum).name)
        stopping.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)

    group = ServerGroup()
    starting = asyncio.ensure_future(start(group))
    waiting = asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait({starting, waiting}, return_when=asyncio.FIRST_COMPLETED)
        status = 0
        if starting.done():
            error = starting.exception()
            if error is not None:
                # An OSError (port in use, bad directory) says all in one line; anything else
                # is a bug whose traceback the operator needs.
                trace = None if isinstance(error, OSError) else error
                log.error("cannot start: %s", _describe(error), exc_info=trace)
                status = 1
            else:
                ended = asyncio.ensure_future(group.ended.wait())
                await asyncio.wait({waiting, ended}, return_when=asyncio.FIRST_COMPLETED)
                ended.cancel()
                status = 1 if group.ended.is_set() else 0
        else:  # a signal arrived while still starting: abandon the start
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await starting
        try:
            async with asyncio.timeout(STOP_DEADLINE_SECONDS):
                clean = await group.stop_all()
        except TimeoutError:
            log.error("stop took longer than %.0f s; exiting anyway", STOP_DEADLINE_SECONDS)
            return 1
        return status if clean else 1
    finally:
        waiting.cancel()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


def _describe(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        where = f" {error.filename}" if error.filename else ""
        return f"{error.strerror}{where}"
    return f"{type(error).__name__}: {error}"


def _exit_if_threads_linger(status: int) -> None:
    """Non-daemon threads (a Raft or gRPC thread a component forgot) would keep the process
    alive after a clean stop; name them and leave anyway, so SIGTERM always ends the process."""
    lingering = [t.name for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    if lingering:
        log.warning("exiting with non-daemon threads still running threads=%s", ",".join(lingering))
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
