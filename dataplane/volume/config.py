"""The volume server's configuration: one frozen dataclass, built by
`ops/cli/volume.py` from flags and `security.toml`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class VolumeServerConfig:
    dirs: tuple[str, ...] = ("/tmp/kelp-volume",)  # -dir, comma separated
    max_volumes: tuple[int, ...] = (8,)  # -max, one per dir (8 each, as weed)
    ip: str = "127.0.0.1"  # advertised address
    bind_ip: str = "127.0.0.1"  # -ip.bind
    port: int = 8080  # HTTP; 0 picks a free one
    grpc_port: int = 0  # 0 means port + 10000 (or free when port is 0)
    public_url: str = ""  # "" means ip:port
    masters: tuple[str, ...] = ("127.0.0.1:9333",)  # -master / -mserver
    data_center: str = ""  # "" reports DefaultDataCenter
    rack: str = ""  # "" reports DefaultRack
    index: str = "memory"  # -index: memory | leveldb (kelp's LMDB-backed persistent index)
    large_disk: bool = True  # 5-byte .idx offsets, as the PyPI weed build; False = 4-byte
    file_size_limit_mb: int = 256  # larger uploads get 400
    read_mode: str = "proxy"  # proxy | redirect | local, for volumes on other servers
    pulse_seconds: float = 5.0  # heartbeat interval (the master's answer overrides)
    jwt_signing_key: str = ""  # security.toml [jwt.signing] key
    jwt_read_key: str = ""  # security.toml [jwt.signing.read] key
    disk_type: str = ""  # -disk: "" or hdd, ssd, or any tag; assigns with disk= pick servers by it
    fsync: bool = False  # fsync every write (per-request ?fsync=true also works)
    replication_timeout_seconds: float = 30.0  # per replica request in a W=N fan-out
    heartbeat_max_backoff_seconds: float = 5.0  # cap on the retry delay when no master answers
    lookup_ttl_seconds: float = 10.0  # how long a volume-location answer is cached
    metrics_port: int = 0  # -metricsPort: Prometheus /metrics listener; 0 = none
