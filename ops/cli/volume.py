"""`kelp volume`: parse weed's volume-server flags and security.toml into a VolumeServerConfig,
then run `dataplane.volume.server.serve()` until SIGTERM/SIGINT.

Imports the volume server only when starting, so `--help` and flag errors stay instant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from controlplane.shell.flags import FlagSet, exit_with_error, host_ports, parse_or_exit, positive
from dataplane.volume.config import VolumeServerConfig
from ops.cli import runner
from ops.cli.config_files import ServerSettings, load_settings_or_exit

SUMMARY = "start a volume server: stores needles and serves them over HTTP"
_DEFAULTS = VolumeServerConfig()

# weed's leveldb variants differ only in leveldb cache sizes; kelp has one persistent index.
INDEX_CHOICES = ("memory", "leveldb", "leveldbMedium", "leveldbLarge")
READ_MODES = ("proxy", "redirect", "local")


def index_kind(flag_value: str) -> str:
    """memory | leveldb, the two kinds VolumeServerConfig knows."""
    return "memory" if flag_value == "memory" else "leveldb"


def max_per_dir(command: str, flag: str, dirs: Sequence[str], maxes: Sequence[int]) -> tuple[int, ...]:
    """weed's rule: one -max for all dirs, or exactly one per dir."""
    if len(maxes) == 1:
        return tuple(maxes) * len(dirs)
    if len(maxes) != len(dirs):
        counts = f"{len(maxes)} values for {len(dirs)} directories"
        exit_with_error(f"kelp {command}: -{flag} has {counts} (give 1 or {len(dirs)})")
    return tuple(maxes)


def flag_set() -> FlagSet:
    fs = FlagSet("volume", SUMMARY, example="kelp volume -port=8080 -dir=/data -max=8 -master=localhost:9333")
    fs.strings("dir", _DEFAULTS.dirs, "volume file directories, comma separated (created if missing)")
    fs.integers("max", _DEFAULTS.max_volumes, "maximum volumes, one count or one per -dir", minimum=1)
    fs.string("ip", _DEFAULTS.ip, "address advertised to the master and clients, also the server's id")
    fs.string("ip.bind", "", "address to listen on; empty means the same as -ip")
    fs.port("port", _DEFAULTS.port, "HTTP listen port")
    fs.port("port.grpc", _DEFAULTS.grpc_port, "gRPC listen port; 0 means -port + 10000")
    fs.string("publicUrl", _DEFAULTS.public_url, "address clients should use; empty means ip:port")
    fs.strings("master", _DEFAULTS.masters, "comma-separated master servers (host:port)",
               aliases=("mserver",), check=host_ports)
    fs.string("dataCenter", _DEFAULTS.data_center, "this server's data center name")
    fs.string("rack", _DEFAULTS.rack, "this server's rack name")
    fs.string("index", _DEFAULTS.index, "needle map: memory, or leveldb (kelp: a persistent LMDB index)",
              choices=INDEX_CHOICES)
    fs.integer("fileSizeLimitMB", _DEFAULTS.file_size_limit_mb, "uploads larger than this get 400", minimum=1)
    fs.string("readMode", _DEFAULTS.read_mode, "reads of volumes held elsewhere: proxy, redirect or 404",
              choices=READ_MODES)
    fs.number("pulseSeconds", _DEFAULTS.pulse_seconds, "heartbeat interval to the master", check=positive)
    fs.boolean("largeDisk", _DEFAULTS.large_disk,
               "5-byte .idx offsets like the PyPI weed build; false = standard 4-byte (kelp)")
    fs.string("disk", _DEFAULTS.disk_type, "disk type of this server's volumes: hdd (default), ssd, or a tag")
    fs.boolean("fsync", _DEFAULTS.fsync, "fsync every write before answering (kelp)")
    fs.port("metricsPort", _DEFAULTS.metrics_port, "Prometheus /metrics listen port; 0 = no metrics listener")
    runner.add_process_flags(fs)
    return fs


def with_settings(config: VolumeServerConfig, settings: ServerSettings) -> VolumeServerConfig:
    """The config-file parts of a volume server's config: the JWT keys it verifies."""
    return replace(
        config,
        jwt_signing_key=settings.security.jwt_signing_key,
        jwt_read_key=settings.security.jwt_read_key,
    )


def main(argv: list[str]) -> int:
    flags = parse_or_exit(flag_set(), argv)
    runner.setup_logging(flags.text("logLevel"))
    settings = load_settings_or_exit("volume", flags.text("config.dir"), with_master_toml=False)
    dirs = flags.texts("dir")
    if not dirs:
        exit_with_error("kelp volume: -dir needs at least one directory")
    if not flags.texts("master"):
        exit_with_error("kelp volume: -master needs at least one master (host:port)")
    config = with_settings(VolumeServerConfig(
        dirs=dirs,
        max_volumes=max_per_dir("volume", "max", dirs, flags.integers("max")),
        ip=flags.text("ip"),
        bind_ip=flags.text("ip.bind") or flags.text("ip"),
        port=flags.integer("port"),
        grpc_port=flags.integer("port.grpc"),
        public_url=flags.text("publicUrl"),
        masters=flags.texts("master"),
        data_center=flags.text("dataCenter"),
        rack=flags.text("rack"),
        index=index_kind(flags.text("index")),
        large_disk=flags.boolean("largeDisk"),
        file_size_limit_mb=flags.integer("fileSizeLimitMB"),
        read_mode=flags.text("readMode"),
        pulse_seconds=flags.number("pulseSeconds"),
        fsync=flags.boolean("fsync"),
        disk_type=flags.text("disk"),
        metrics_port=flags.integer("metricsPort"),
    ), settings)
    runner.make_dirs_or_exit("volume", *config.dirs)

    async def start(group: runner.ServerGroup) -> None:
        from dataplane.volume.server import serve

        await group.start("volume", serve(config))

    return runner.run(start, flags)
