"""`kelp server -dir=DIR`: a master, a volume server and a filer in ONE process and event loop,
with `weed server`'s flags (-master.port, -volume.port, -volume.max, -filer.port, ...). The master
keeps its Raft data in DIR/master (or -master.dir); volumes live in DIR; the filer (on by default
in kelp, unlike weed: `-filer=false` leaves it out) listens on :8888 with its SQLite store in
DIR/filer (or -filer.defaultStoreDir, or filer.toml's database).

Imports the servers only when starting, so `--help` and flag errors stay instant.
"""

from __future__ import annotations

import logging
import os
from dataclasses import replace

from controlplane.master.config import MasterConfig
from controlplane.shell.flags import Flags, FlagSet, exit_with_error, parse_or_exit, positive
from dataplane.client.addresses import ServerAddress
from dataplane.volume.config import VolumeServerConfig
from ops.cli import filer as filer_cli
from ops.cli import master as master_cli
from ops.cli import runner
from ops.cli import volume as volume_cli
from ops.cli.config_files import load_settings, load_settings_or_exit
from ops.cli.master import peer_list, peers, replication
from ops.cli.volume import INDEX_CHOICES, READ_MODES, index_kind, max_per_dir

log = logging.getLogger(__name__)

SUMMARY = "start a master, a volume server and a filer in one process"
DEFAULT_DIR = "/tmp/kelp-data"
_MASTER = MasterConfig()
_VOLUME = VolumeServerConfig()


def flag_set() -> FlagSet:
    fs = FlagSet("server", SUMMARY, example="kelp server -dir=/data -master.port=9333 -volume.port=8080")
    fs.strings("dir", (DEFAULT_DIR,), "volume directories, comma separated; the master uses DIR/master")
    fs.string("ip", _MASTER.ip, "address advertised by both servers, also their id")
    fs.string("ip.bind", "", "address to listen on; empty means the same as -ip")
    fs.string("dataCenter", _VOLUME.data_center, "the volume server's data center name")
    fs.string("rack", _VOLUME.rack, "the volume server's rack name")
    fs.number("pulseSeconds", _MASTER.pulse_seconds, "volume server heartbeat interval", check=positive)

    fs.port("master.port", _MASTER.port, "master HTTP listen port")
    fs.port("master.port.grpc", _MASTER.grpc_port, "master gRPC port; 0 means -master.port + 10000")
    fs.port("master.raft.port", _MASTER.raft_port, "master Raft port; 0 means raft.py's convention (kelp)")
    fs.string("master.dir", "", "master Raft journal and snapshots; empty means DIR/master")
    fs.strings("master.peers", _MASTER.peers, "every master as host:port; empty or 'none' means this one",
               check=peer_list)
    fs.integer("master.volumeSizeLimitMB", _MASTER.volume_size_limit_mb,
               "a volume stops taking new writes at this size", minimum=1)
    fs.string("master.defaultReplication", _MASTER.default_replication,
              "replication used when /dir/assign names none", check=replication)

    fs.port("volume.port", _VOLUME.port, "volume server HTTP listen port")
    fs.port("volume.port.grpc", _VOLUME.grpc_port, "volume server gRPC port; 0 means -volume.port + 10000")
    fs.integers("volume.max", _VOLUME.max_volumes, "maximum volumes, one count or one per -dir", minimum=1)
    fs.string("volume.index", _VOLUME.index, "needle map: memory, or leveldb (kelp: a persistent LMDB index)",
              choices=INDEX_CHOICES)
    fs.string("volume.publicUrl", _VOLUME.public_url, "address clients should use; empty means ip:port")
    fs.integer("volume.fileSizeLimitMB", _VOLUME.file_size_limit_mb, "uploads larger than this get 400",
               minimum=1)
    fs.string("volume.readMode", _VOLUME.read_mode, "reads of volumes held elsewhere: proxy, redirect or 404",
              choices=READ_MODES)
    fs.boolean("volume.largeDisk", _VOLUME.large_disk,
               "5-byte .idx offsets like the PyPI weed build; false = standard 4-byte (kelp)")
    fs.boolean("volume.fsync", _VOLUME.fsync, "fsync every write before answering (kelp)")
    fs.string("volume.disk", _VOLUME.disk_type, "disk type of the volumes: hdd (default), ssd, or a tag")

    fs.boolean("filer", True, "also start a filer (kelp starts one by default; -filer=false leaves it out)")
    filer_cli.add_filer_flags(fs, "filer.")
    runner.add_process_flags(fs)
    return fs


def configs(flags: Flags) -> tuple[MasterConfig, VolumeServerConfig]:
    """The two configs; the volume's master address is filled in once the master listens."""
    settings = load_settings_or_exit("server", flags.text("config.dir"), with_master_toml=True)
    dirs = flags.texts("dir")
    if not dirs:
        exit_with_error("kelp server: -dir needs at least one directory")
    ip = flags.text("ip")
    bind_ip = flags.text("ip.bind") or ip
    master = master_cli.with_settings(MasterConfig(
        ip=ip,
        bind_ip=bind_ip,
        port=flags.integer("master.port"),
        grpc_port=flags.integer("master.port.grpc"),
        mdir=flags.text("master.dir") or os.path.join(dirs[0], "master"),
        peers=peers(flags.texts("master.peers")),
        raft_port=flags.integer("master.raft.port"),
        volume_size_limit_mb=flags.integer("master.volumeSizeLimitMB"),
        default_replication=flags.text("master.defaultReplication"),
        pulse_seconds=flags.number("pulseSeconds"),
    ), settings)
    volume = volume_cli.with_settings(VolumeServerConfig(
        dirs=dirs,
        max_volumes=max_per_dir("server", "volume.max", dirs, flags.integers("volume.max")),
        ip=ip,
        bind_ip=bind_ip,
        port=flags.integer("volume.port"),
        grpc_port=flags.integer("volume.port.grpc"),
        public_url=flags.text("volume.publicUrl"),
        masters=(),
        data_center=flags.text("dataCenter"),
        rack=flags.text("rack"),
        index=index_kind(flags.text("volume.index")),
        large_disk=flags.boolean("volume.largeDisk"),
        file_size_limit_mb=flags.integer("volume.fileSizeLimitMB"),
        read_mode=flags.text("volume.readMode"),
        pulse_seconds=flags.number("pulseSeconds"),
        fsync=flags.boolean("volume.fsync"),
        disk_type=flags.text("volume.disk"),
    ), settings)
    return master, volume


def main(argv: list[str]) -> int:
    flags = parse_or_exit(flag_set(), argv)
    runner.setup_logging(flags.text("logLevel"))
    master_config, volume_config = configs(flags)
    runner.make_dirs_or_exit("server", master_config.mdir, *volume_config.dirs)
    with_filer = flags.boolean("filer")
    if with_filer:
        store_dir = flags.text("filer.defaultStoreDir")
        if not flags.given("filer.defaultStoreDir"):
            store_dir = os.path.join(volume_config.dirs[0], "filer")
        store = filer_cli.store_settings("server", flags, store_dir)
        # configs() already read (and checked, and warned about) security.toml once
        security = load_settings(flags.text("config.dir"), with_master_toml=False).security

    async def start(group: runner.ServerGroup) -> None:
        from controlplane.master.server import serve as serve_master
        from dataplane.volume.server import serve as serve_volume

        master = await group.start("master", serve_master(master_config))
        # weed's host:port form, with a .grpcPort suffix only when gRPC is not on port + 10000
        address = str(ServerAddress(master_config.ip, master.http_port, master.grpc_port))
        await group.start("volume", serve_volume(replace(volume_config, masters=(address,))))
        if with_filer:
            from controlplane.filer.server import serve as serve_filer

            filer_config = filer_cli.filer_config(flags, (address,), master_config.ip, master_config.bind_ip,
                                                  store, prefix="filer.", security=security)
            await group.start("filer", serve_filer(filer_config))

    return runner.run(start, flags)
