"""`kelp filer.meta.backup -filer=f1:8888[,f2:8888] -config=backup_filer.toml [-restart]
[-filerPath=/] [-metricsPort=0] [-v]`: keep a standby filer store in step with the filers' metadata.

The standby is named by backup_filer.toml ([sqlite] path = ..., or [postgres] ...; the sections
of filer.toml, so a filer can later be started on it). With no checkpoint in the standby, or with
-restart, the whole tree under -filerPath is copied first; then the change stream is applied,
each batch with its checkpoint in one transaction (controlplane/filer/backup/follow.py).

Exit status: 0 after SIGTERM/SIGINT, 1 when the backup cannot go on (one line says why; a
checkpoint older than the filers' change log says to run with -restart), 2 for a usage or
backup_filer.toml mistake.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys

from controlplane.filer.backup.checkpoint import BadCheckpoint
from controlplane.filer.backup.errors import BackupError
from controlplane.filer.backup.filers import FilerSet
from controlplane.filer.backup.follow import BATCH_EVENTS, BackupOptions, MetaBackup
from controlplane.filer.backup.progress import BackupMetrics, serve_metrics
from controlplane.filer.backup.standby import Standby
from controlplane.filer.backup.traverse import TraversalFailed
from controlplane.filer.store import StoreError, open_store
from controlplane.shell.flags import FlagSet, host_ports, parse_or_exit
from dataplane.client.addresses import ServerAddress
from kelp_http.eventloop import run as run_event_loop
from ops.cli.backup_args import backup_target
from ops.cli.runner import LOG_LEVELS, setup_logging

SUMMARY = "continuously back the filer's metadata up into a standby filer store"
log = logging.getLogger("kelp.filer.meta.backup")


def flag_set() -> FlagSet:
    fs = FlagSet("filer.meta.backup", SUMMARY,
                 example="kelp filer.meta.backup -filer=10.0.0.1:8888,10.0.0.2:8888 "
                         "-config=backup_filer.toml")
    fs.strings("filer", (), "filers to follow, host:port (gRPC at port+10000); on failure the next one",
               check=host_ports)
    fs.string("config", "backup_filer.toml",
              "the standby store: [sqlite] path=... or [postgres] ... (filer.toml's sections)")
    fs.boolean("restart", False, "copy the whole tree again, ignoring the standby's checkpoint")
    fs.string("filerPath", "/", "the tree to back up", aliases=("filerDir",))
    fs.port("metricsPort", 0, "Prometheus /metrics port (lag, events applied, last checkpoint); 0 = none")
    fs.string("metricsIp", "", "address /metrics listens on (default: all)")
    fs.boolean("v", False, "print every applied change")
    fs.integer("batchEvents", BATCH_EVENTS, "changes applied per standby transaction at most", minimum=1)
    fs.string("logLevel", "info", "least severe log level printed to stderr", choices=LOG_LEVELS)
    return fs


def main(argv: list[str]) -> int:
    flags = parse_or_exit(flag_set(), argv)
    command = "kelp filer.meta.backup"
    root, config = backup_target(flags, command)
    setup_logging(flags.text("logLevel"))
    for warning in config.warnings:
        log.warning("%s", warning)
    options = BackupOptions(filer_path=root, restart=flags.boolean("restart"), verbose=flags.boolean("v"),
                            batch_events=flags.integer("batchEvents"))
    addresses = [ServerAddress.parse(text) for text in flags.texts("filer")]
    try:
        store = open_store(config.store)
    except StoreError as err:
        sys.stderr.write(f"{command}: standby store {config.store.target()}: {err}\n")
        return 1
    metrics = BackupMetrics()
    try:
        if flags.integer("metricsPort"):
            try:
                serve_metrics(metrics, flags.integer("metricsPort"), flags.text("metricsIp"))
            except OSError as err:
                sys.stderr.write(f"{command}: cannot listen on -metricsPort={flags.integer('metricsPort')}: "
                                 f"{err.strerror}\n")
                return 1
        log.info("backing up %s from %s into %s", root, ",".join(map(str, addresses)), config.store.target())
        return run_event_loop(_run(MetaBackup(FilerSet(addresses), Standby(store), options, metrics)))
    except (BackupError, BadCheckpoint, TraversalFailed, StoreError) as err:
        sys.stderr.write(f"{command}: {err}\n")
        return 1
    finally:
        store.close()


async def _run(backup: MetaBackup) -> int:
    """Run until a signal (0) or an error (raised)."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    stopping = False

    def on_signal() -> None:
        nonlocal stopping
        stopping = True
        task.cancel()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)
    try:
        await backup.run()
    except asyncio.CancelledError:
        if not stopping:
            raise
        at = backup.checkpoint.ts_ns if backup.checkpoint else "-"
        log.info("stopped by signal; checkpoint ts_ns=%s", at)
        return 0
    finally:
        with contextlib.suppress(Exception):
            await backup.filers.close()
    return 1
