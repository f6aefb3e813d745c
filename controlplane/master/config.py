"""The master's configuration: one frozen dataclass, built by `ops/cli/master.py`
from flags and `master.toml`. Only typed values travel inward.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class VolumeGrowthConfig:
    """`[master.volume_growth]`: logical volumes created per growth, by copy count."""

    copy_1: int = 7  # 000
    copy_2: int = 6  # 001, 010, 100
    copy_3: int = 3  # 110, 200, 011, ...
    copy_other: int = 1


@dataclass(frozen=True, slots=True)
class MasterConfig:
    ip: str = "127.0.0.1"  # address advertised to volume servers and clients
    bind_ip: str = "127.0.0.1"  # address the listeners bind (-ip.bind)
    port: int = 9333  # HTTP port; 0 picks a free one
    grpc_port: int = 0  # 0 means port + 10000 (or free when port is 0)
    mdir: str = "/tmp/kelp-master"  # Raft journal and snapshots
    peers: tuple[str, ...] = ()  # "host:port" of every master, self included; () = a cluster of one
    raft_port: int = 0  # 0 = HTTP port + 20000 (see raft.py; a lone master past 65535 takes a free port)
    metrics_port: int = 0  # -metricsPort: Prometheus /metrics listener; 0 = none
    volume_size_limit_mb: int = 30 * 1024  # a volume stops taking assigns at this size
    default_replication: str = "000"
    pulse_seconds: float = 5.0  # volume-server heartbeat interval
    dead_node_after_seconds: float = 0.0  # 0 means 3 * pulse_seconds + 5
    growth: VolumeGrowthConfig = field(default_factory=VolumeGrowthConfig)
    jwt_signing_key: str = ""  # from security.toml [jwt.signing] key; "" disables JWT
    jwt_expires_after_seconds: int = 10
    jwt_read_key: str = ""  # [jwt.signing.read] key
    jwt_read_expires_after_seconds: int = 60
    sequence_batch: int = 10_000  # keys reserved per SequenceReserved event
    raft_tick_seconds: float = 0.01  # pysyncobj tick; a lone master commits in about one tick
    raft_journal_fsync: bool = False  # -raft.journalFsync: fsync Raft entries and votes (power-loss safe)
    raft_join: bool = False  # -raft.join: an empty -mdir waits to be added (cluster.raft.add)
    assign_growth_wait_seconds: float = 5.0  # an assign that triggers growth waits this long for it
    # [master.maintenance] of master.toml: None when the section is absent (the replicated
    # configuration is then left as it is); "" turns maintenance off.
    maintenance_scripts: str | None = None
    maintenance_sleep_seconds: float = 17 * 60.0  # sleep_minutes (or kelp's sleep_seconds, for tests)
