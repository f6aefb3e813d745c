"""`kelp master`: parse weed's master flags and master.toml/security.toml into a MasterConfig,
then run `controlplane.master.server.serve()` until SIGTERM/SIGINT.

Imports the master server only when starting, so `--help` and flag errors stay instant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from controlplane.master.config import MasterConfig
from controlplane.shell.flags import FlagSet, FlagValue, exit_with_error, host_ports, parse_or_exit, positive
from dataplane.volume.engine.errors import InvalidReplication
from dataplane.volume.engine.types import ReplicaPlacement
from ops.cli import runner
from ops.cli.config_files import ServerSettings, load_settings_or_exit

SUMMARY = "start a master server: volume id -> location map and file id assignment"
_DEFAULTS = MasterConfig()


def replication(value: FlagValue) -> str | None:
    """Flag check: an xyz replica placement string."""
    try:
        ReplicaPlacement.parse(str(value))
    except InvalidReplication:
        return f'"{value}" is not a replication string (three digits xyz, e.g. 000 or 001)'
    return None


def peer_list(value: FlagValue) -> str | None:
    """Flag check: host:port items, or weed's single word "none"."""
    return None if value == ("none",) else host_ports(value)


def flag_set() -> FlagSet:
    fs = FlagSet("master", SUMMARY, example="kelp master -port=9333 -mdir=/data/master")
    fs.string("ip", _DEFAULTS.ip, "address advertised to volume servers and clients, also the master's id")
    fs.string("ip.bind", "", "address to listen on; empty means the same as -ip")
    fs.port("port", _DEFAULTS.port, "HTTP listen port")
    fs.port("port.grpc", _DEFAULTS.grpc_port, "gRPC listen port; 0 means -port + 10000")
    fs.port("raft.port", _DEFAULTS.raft_port, "Raft port; 0 means the convention in raft.py (kelp)")
    fs.port("metricsPort", _DEFAULTS.metrics_port, "Prometheus /metrics listen port; 0 = no metrics listener")
    fs.string("mdir", _DEFAULTS.mdir, "directory for the Raft journal and snapshots (created if missing)")
    fs.boolean("raft.journalFsync", _DEFAULTS.raft_journal_fsync,
               "fsync Raft entries before acknowledging them and term/vote before voting: survives "
               "power loss, costs a disk flush per commit (kelp)")
    fs.boolean("raft.join", _DEFAULTS.raft_join,
               "with an empty -mdir: join a running cluster (wait to be added with cluster.raft.add "
               "instead of campaigning); -peers = the current members and this master (kelp)")
    fs.strings(
        "peers", _DEFAULTS.peers,
        "every master as host:port, this one included; empty or 'none' means a cluster of one",
        check=peer_list,
    )
    fs.integer("volumeSizeLimitMB", _DEFAULTS.volume_size_limit_mb,
               "a volume stops taking new writes at this size", minimum=1)
    fs.string("defaultReplication", _DEFAULTS.default_replication,
              "replication used when /dir/assign names none", check=replication)
    fs.number("pulseSeconds", _DEFAULTS.pulse_seconds, "volume server heartbeat interval", check=positive)
    runner.add_process_flags(fs)
    return fs


def peers(values: Sequence[str]) -> tuple[str, ...]:
    """weed's -peers=none means a single master, as does an empty list."""
    return () if tuple(values) == ("none",) else tuple(values)


def with_settings(config: MasterConfig, settings: ServerSettings) -> MasterConfig:
    """The config-file parts of a master's config: volume growth and JWT keys."""
    security = settings.security
    if settings.maintenance is not None:
        config = replace(config, maintenance_scripts=settings.maintenance.scripts,
                         maintenance_sleep_seconds=settings.maintenance.sleep_seconds)
    return replace(
        config,
        growth=settings.growth,
        jwt_signing_key=security.jwt_signing_key,
        jwt_expires_after_seconds=security.jwt_expires_after_seconds,
        jwt_read_key=security.jwt_read_key,
        jwt_read_expires_after_seconds=security.jwt_read_expires_after_seconds,
    )


def check_membership_or_exit(config: MasterConfig) -> None:
    """A master whose -mdir belongs to another cluster identity refuses to start, in one line
    (controlplane/master/raft_membership.py). A port-0 master has no fixed address to check."""
    if not config.port:
        return
    from controlplane.master.raft_membership import MembershipConflict, load, resolve

    address = f"{config.ip}:{config.port}"
    recorded = load(config.mdir)
    try:
        if recorded is not None:  # a new -mdir is recorded by the master itself when it starts
            resolve(config.mdir, address, config.peers)
    except MembershipConflict as err:
        exit_with_error(f"kelp master: {err}")


def main(argv: list[str]) -> int:
    flags = parse_or_exit(flag_set(), argv)
    runner.setup_logging(flags.text("logLevel"))
    settings = load_settings_or_exit("master", flags.text("config.dir"), with_master_toml=True)
    config = with_settings(MasterConfig(
        ip=flags.text("ip"),
        bind_ip=flags.text("ip.bind") or flags.text("ip"),
        port=flags.integer("port"),
        grpc_port=flags.integer("port.grpc"),
        mdir=flags.text("mdir"),
        peers=peers(flags.texts("peers")),
        raft_port=flags.integer("raft.port"),
        volume_size_limit_mb=flags.integer("volumeSizeLimitMB"),
        default_replication=flags.text("defaultReplication"),
        pulse_seconds=flags.number("pulseSeconds"),
        raft_journal_fsync=flags.boolean("raft.journalFsync"),
        raft_join=flags.boolean("raft.join"),
        metrics_port=flags.integer("metricsPort"),
    ), settings)
    runner.make_dirs_or_exit("master", config.mdir)
    check_membership_or_exit(config)

    async def start(group: runner.ServerGroup) -> None:
        from controlplane.master.server import serve

        await group.start("master", serve(config))

    return runner.run(start, flags)
