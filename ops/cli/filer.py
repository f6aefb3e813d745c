"""`kelp filer -master=HOST:PORT [-port=8888] [-defaultStoreDir=DIR] [-maxMB=4] ...`: weed filer's
flags (plus kelp's -dir, the same as -defaultStoreDir) and filer.toml into a FilerConfig, then run
`controlplane.filer.server.serve()` until SIGTERM/SIGINT.

The store comes from filer.toml (found as weed finds it, or in -config.dir), else SQLite at
<-defaultStoreDir>/filer.db. security.toml's [jwt.filer_signing] (and .read) keys turn on JWT.
Imports the filer server only when starting, so `--help` and flag errors stay instant.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from controlplane.filer.config import FilerConfigError, FilerStoreSettings, find_filer_toml, load_store_config
from controlplane.shell.flags import Flags, FlagSet, exit_with_error, host_ports, parse_or_exit
from ops.cli import runner
from ops.cli.config_files import SecuritySettings, load_settings_or_exit

if TYPE_CHECKING:
    from controlplane.filer.server import FilerConfig

SUMMARY = "start a filer: directories, files and a change stream over the volume servers"
log = logging.getLogger(__name__)


def add_filer_flags(fs: FlagSet, prefix: str = "") -> None:
    """The filer flags `kelp filer` takes, and `kelp server` under the prefix "filer."."""
    fs.port(f"{prefix}port", 8888, "filer HTTP listen port")
    fs.port(f"{prefix}port.grpc", 0, "filer gRPC port; 0 means port + 10000")
    fs.integer(f"{prefix}maxMB", 4, "files are stored in chunks of at most this many MiB",
               minimum=1, maximum=1024)
    fs.string(f"{prefix}collection", "", "collection of the chunks uploads create")
    fs.string(f"{prefix}defaultReplicaPlacement", "", "replication of new chunks; empty means the master's")
    fs.string(f"{prefix}disk", "", "disk type of new chunks: hdd, ssd, or a tag")
    fs.integer(f"{prefix}dirListLimit", 100_000, "most entries one directory listing returns", minimum=1)
    fs.boolean(f"{prefix}disableDirListing", False, "answer directory GETs with 403")
    fs.boolean(f"{prefix}exposeDirectoryData", True, "false: the HTML directory listing answers 403")
    fs.string(f"{prefix}defaultStoreDir", ".", "where the default SQLite store (filer.db) lives",
              aliases=(f"{prefix}dir",) if prefix == "" else ())


def flag_set() -> FlagSet:
    fs = FlagSet("filer", SUMMARY,
                 example="kelp filer -master=localhost:9333 -port=8888 -defaultStoreDir=/data")
    fs.strings("master", ("localhost:9333",), "comma-separated master servers (host:port)", check=host_ports)
    fs.string("ip", "127.0.0.1", "address advertised to clients")
    fs.string("ip.bind", "", "address to listen on; empty means the same as -ip")
    fs.string("dataCenter", "", "prefer volume servers in this data center for new chunks")
    fs.string("rack", "", "prefer volume servers in this rack for new chunks")
    add_filer_flags(fs)
    runner.add_process_flags(fs)
    return fs


def store_settings(command: str, flags: Flags, store_dir: str) -> FilerStoreSettings:
    """filer.toml (or the SQLite default under store_dir), warnings logged, mistakes exit 2."""
    config_dir = flags.text("config.dir")
    toml = find_filer_toml(config_dir)
    try:
        settings = load_store_config(toml, default_dir=store_dir)
    except FilerConfigError as err:
        exit_with_error(f"kelp {command}: {err}")
    for warning in settings.warnings:
        log.warning("%s", warning)
    if settings.store.kind == "sqlite":
        runner.make_dirs_or_exit(command, os.path.dirname(os.path.abspath(settings.store.path)))
    return settings


def filer_config(flags: Flags, masters: tuple[str, ...], ip: str, bind_ip: str, settings: FilerStoreSettings,
                 prefix: str = "", security: SecuritySettings | None = None) -> FilerConfig:
    """The FilerConfig from parsed flags (imported here so --help never loads the server)."""
    from controlplane.filer.server import FilerConfig

    security = security or SecuritySettings()
    return FilerConfig(
        masters=masters,
        store=settings.store,
        change_retention_seconds=settings.change_retention_seconds,
        ip=ip,
        bind_ip=bind_ip,
        port=flags.integer(f"{prefix}port"),
        grpc_port=flags.integer(f"{prefix}port.grpc"),
        max_mb=flags.integer(f"{prefix}maxMB"),
        collection=flags.text(f"{prefix}collection"),
        replication=flags.text(f"{prefix}defaultReplicaPlacement"),
        disk_type=flags.text(f"{prefix}disk"),
        data_center=flags.text("dataCenter"),
        rack=flags.text("rack"),
        dir_list_limit=flags.integer(f"{prefix}dirListLimit"),
        disable_dir_listing=flags.boolean(f"{prefix}disableDirListing"),
        expose_directory_data=flags.boolean(f"{prefix}exposeDirectoryData"),
        jwt_signing_key=security.jwt_filer_signing_key,
        jwt_read_key=security.jwt_filer_read_key,
    )


def main(argv: list[str]) -> int:
    flags = parse_or_exit(flag_set(), argv)
    runner.setup_logging(flags.text("logLevel"))
    masters = flags.texts("master")
    if not masters:
        exit_with_error("kelp filer: -master needs at least one master (host:port)")
    settings = store_settings("filer", flags, flags.text("defaultStoreDir"))
    security = load_settings_or_exit("filer", flags.text("config.dir"), with_master_toml=False).security
    ip = flags.text("ip")
    config = filer_config(flags, masters, ip, flags.text("ip.bind") or ip, settings, security=security)

    async def start(group: runner.ServerGroup) -> None:
        from controlplane.filer.server import serve

        await group.start("filer", serve(config))

    return runner.run(start, flags)
