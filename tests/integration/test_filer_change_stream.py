"""The change stream across three filers on one PostgreSQL database (real processes).

Eight writer threads spread over three `kelp filer` processes create, overwrite, rename and delete
files (each writer owns its own paths, so its writes to a path are serialized and their order is
known; all writers also overwrite a few shared paths concurrently; some files span two chunks).
A SubscribeMetadata subscriber on each filer (fresh signatures, path_prefix "/cs/") is open before
the writes start. Midway one filer is killed with SIGKILL and restarted; its subscriber resumes
with since_ns = the last ts_ns it saw, as weed's clients do.

Afterwards, against the change log read straight from the database:
- each surviving subscriber received exactly the log, in the log's (commit) order: every committed
  change once, none missing, none extra;
- the resumed subscriber's stream continues the log with no gap (a replay overlap at the resume
  point is allowed: resuming by time may repeat events, which SeaweedFS clients apply idempotently);
- every acknowledged PUT is in the log, and for every path whose writes were all acknowledged, the
  sequence of new entries at that path is the order in which its writes were acknowledged;
- every file listed is readable end to end with the content its version wrote (no half-written
  entry after the kill), and each path's final state is what its history says;
- a subscriber of filer B sees a change made through filer A quickly (LISTEN/NOTIFY wakes B):
  the median lag within a second, the worst within a generous bound; p50/p99/max printed.
"""

from __future__ import annotations

import http.client
import itertools
import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import grpc
import pytest
from kelp_pb import weed_filer_pb2 as filer_pb
from kelp_pb import weed_filer_pb2_grpc

from controlplane.filer.store import StoreConfig, open_store
from controlplane.filer.subscribe import EventFilter
from ops.localcluster import LocalCluster, Node
from tests.pgtest import filer_toml

pytestmark = [pytest.mark.integration]

PREFIX = "/cs/"
WRITERS = 8
OPS_PER_WRITER = 45
OWN_PATHS = 32  # per writer: 8 x 32 own paths + 12 shared = a few hundred paths
SHARED_PATHS = 12
BIG_EVERY = 15  # every 15th of a writer's PUTs is 1.5 MiB: two chunks at -maxMB=1
BIG_SIZE = 3 << 19
KILLED = "filer2"
KILL_AFTER_ACKS = WRITERS * OPS_PER_WRITER // 2
WRITE_SECONDS = 120.0  # the whole write phase, kill and restart included (~15 s here)
CATCH_UP_SECONDS = 30.0  # subscribers reaching the end of the log after the writes
REQUEST_SECONDS = 30.0
RESUBSCRIBE_PAUSE = 0.2  # between attempts to reach a filer that is restarting
# Cross-filer lag bounds, seconds. The goal is "within a second"; measured here p50 ~15 ms but
# p99 1.3-3.9 s on the shared 2-core box (a tail while writers of all filers queue on the commit
# lock): the median is held to the goal, the worst case only to a generous bound.
LAG_P50_BOUND = 1.0
LAG_MAX_BOUND = 15.0
POLL_SECONDS = 0.05
VERSION_HEADER = "Seaweed-Version"
JSON = {"Accept": "application/json"}


def body_for(token: str, size: int) -> bytes:
    unit = f"{token}|".encode()
    return (unit * (size // len(unit) + 1))[:size]


def token_of(entry: filer_pb.Entry) -> str:
    for key, value in entry.extended.items():
        if key.lower() == VERSION_HEADER.lower():
            return str(value.decode())
    return ""


def normalized(event: filer_pb.SubscribeMetadataResponse) -> bytes:
    """The event without signatures (the serving filer appends its own), byte-comparable."""
    copy = filer_pb.SubscribeMetadataResponse()
    copy.CopyFrom(event)
    del copy.event_notification.signatures[:]
    return bytes(copy.SerializeToString(deterministic=True))


def join(directory: str, name: str) -> str:
    return f"{directory.rstrip('/')}/{name}"


def new_path(event: filer_pb.SubscribeMetadataResponse) -> str | None:
    note = event.event_notification
    if not note.HasField("new_entry"):
        return None
    return join(note.new_parent_path or event.directory, note.new_entry.name)


# -- writers ----------------------------------------------------------------------------------


class FilerHttp:
    """One keep-alive connection to a filer; a failed request closes it (reopened on next use)."""

    def __init__(self, address: str) -> None:
        self.address = address
        self._conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes, http.client.HTTPMessage]:
        if self._conn is None:
            host, port = self.address.rsplit(":", 1)
            self._conn = http.client.HTTPConnection(host, int(port), timeout=REQUEST_SECONDS)
        try:
            self._conn.request(method, path, body=body, headers=headers or {})
            reply = self._conn.getresponse()
            data = reply.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        return reply.status, data, reply.headers

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


@dataclass
class Ack:
    """An acknowledged PUT: its version token, the filer it went through, when the reply came."""

    token: str
    path: str
    filer: int
    at: float


@dataclass
class Writer:
    index: int
    addresses: list[str]
    stop: threading.Event
    acks: list[Ack] = field(default_factory=list)
    expected: dict[str, list[str]] = field(default_factory=dict)  # own path -> tokens in ack order
    state: dict[str, str] = field(default_factory=dict)  # own path -> current token (absent: none)
    tainted: set[str] = field(default_factory=set)  # own paths a failed request may have changed
    failures: int = 0
    acked_ops: int = 0

    def run(self) -> None:
        rng = random.Random(self.index)
        filer = self.index % len(self.addresses)
        clients = [FilerHttp(a) for a in self.addresses]
        puts = 0
        try:
            for n in range(OPS_PER_WRITER):
                if self.stop.is_set():
                    return
                own = [p for p in self.state if p not in self.tainted]
                roll = rng.random()
                if roll < 0.2:
                    op, path = "put", f"{PREFIX}shared/s{rng.randrange(SHARED_PATHS)}"
                elif roll < 0.35 and own:
                    op, path = "delete", rng.choice(own)
                elif roll < 0.5 and own:
                    op, path = "rename", rng.choice(own)
                else:
                    op, path = "put", f"{PREFIX}w{self.index}/f{rng.randrange(OWN_PATHS)}"
                target = ""
                if op == "rename":
                    free = [f"{PREFIX}w{self.index}/f{k}" for k in range(OWN_PATHS)]
                    free = [p for p in free if p not in self.state and p not in self.tainted]
                    if not free:
                        op = "delete"
                    else:
                        target = rng.choice(free)
                token = f"w{self.index}n{n}"
                try:
                    if op == "put":
                        puts += 1
                        size = BIG_SIZE if puts % BIG_EVERY == 0 else rng.randrange(1, 8192)
                        token = f"{token}s{size}"
                        status, body, _ = clients[filer].request(
                            "PUT", path, body_for(token, size), {VERSION_HEADER: token})
                        assert status in (200, 201), (path, status, body)
                    elif op == "delete":
                        status, body, _ = clients[filer].request("DELETE", path)
                        assert status in (200, 202, 204), (path, status, body)
                    else:
                        status, body, _ = clients[filer].request("POST", f"{target}?mv.from={path}")
                        assert status in (200, 201, 204), (path, target, status, body)
                except (OSError, http.client.HTTPException):
                    # The filer died under the request: it may or may not have committed.
                    self.failures += 1
                    self.tainted.update(p for p in (path, target) if p.startswith(f"{PREFIX}w"))
                    filer = (filer + 1) % len(self.addresses)
                    continue
                now = time.monotonic()
                self.acked_ops += 1
                if op == "put":
                    self.acks.append(Ack(token, path, filer, now))
                    if not path.startswith(f"{PREFIX}shared/"):
                        self.state[path] = token
                        self.expected.setdefault(path, []).append(token)
                elif op == "delete":
                    del self.state[path]
                else:
                    moved = self.state.pop(path)
                    self.state[target] = moved
                    self.expected.setdefault(target, []).append(moved)
        finally:
            for client in clients:
                client.close()


# -- subscribers ------------------------------------------------------------------------------


@dataclass
class Subscriber:
    index: int
    node: Node
    start_ns: int
    stop: threading.Event
    events: list[tuple[float, filer_pb.SubscribeMetadataResponse]] = field(default_factory=list)
    breaks: list[int] = field(default_factory=list)  # len(events) when each stream broke
    error: str = ""

    def run(self) -> None:
        signature = random.SystemRandom().randrange(1, 1 << 31)  # fresh: nothing carries it
        while not self.stop.is_set():
            since_ns = self.events[-1][1].ts_ns if self.events else self.start_ns
            request = filer_pb.SubscribeMetadataRequest(
                client_name=f"cs-sub{self.index}", path_prefix=PREFIX, since_ns=since_ns,
                signature=signature, client_id=self.index + 1,
            )
            channel = grpc.insecure_channel(f"127.0.0.1:{self.node.grpc_port}")
            try:
                stream = weed_filer_pb2_grpc.SeaweedFilerStub(channel).SubscribeMetadata(request)
                self._stream = stream
                for event in stream:
                    self.events.append((time.monotonic(), event))
            except grpc.RpcError as err:
                if self.stop.is_set():
                    return
                if err.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.INTERNAL):
                    self.error = f"{err.code()}: {err.details()}"
                    return
                if not self.breaks or self.breaks[-1] != len(self.events):
                    self.breaks.append(len(self.events))
                time.sleep(RESUBSCRIBE_PAUSE)  # the filer is down: try again shortly
            finally:
                channel.close()

    def cancel(self) -> None:
        self.stop.set()
        stream = getattr(self, "_stream", None)
        if stream is not None:
            stream.cancel()


# -- the change log, read from the database --------------------------------------------------


def log_events(config: StoreConfig) -> list[filer_pb.SubscribeMetadataResponse]:
    store = open_store(config, migrate=False)
    wanted = EventFilter(prefixes=(PREFIX,))
    out: list[filer_pb.SubscribeMetadataResponse] = []
    try:
        seq = 0
        while rows := store.changes_after(seq, 1000):
            for row in rows:
                seq = row.seq
                event = filer_pb.SubscribeMetadataResponse.FromString(row.payload)
                if wanted.matches(event):
                    out.append(event)
    finally:
        store.close()
    return out


def check_resumed(s: Subscriber, expected: list[bytes]) -> int:
    """Each stream segment (between breaks) must continue the log where the previous one left
    off, possibly repeating some events before that point; returns how many were repeated."""
    got = [normalized(e) for _, e in s.events]
    bounds = [0, *s.breaks, len(got)]
    covered = replayed = 0
    for low, high in itertools.pairwise(bounds):
        segment = got[low:high]
        if not segment:
            continue
        start = next((i for i in range(covered, -1, -1) if expected[i:i + len(segment)] == segment), None)
        assert start is not None, f"subscriber {s.index}: events {low}..{high} do not continue the log"
        assert low > 0 or start == 0
        replayed += covered - start
        covered = start + len(segment)
    assert covered == len(expected), f"subscriber {s.index} ends at {covered} of {len(expected)}"
    return replayed


def wait_until(what: str, seconds: float, check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds} s waiting for {what}")
        time.sleep(POLL_SECONDS)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def test_three_filers_on_one_database_stream_every_change_once_through_a_kill(
    cluster_factory: Callable[..., LocalCluster], pg_store_config: StoreConfig
) -> None:
    cluster = cluster_factory(1, filers=3, filer_store=filer_toml(pg_store_config), filer_flags=["-maxMB=1"])
    nodes = cluster.filer_nodes
    addresses = [n.address for n in nodes]
    stop = threading.Event()
    start_ns = time.time_ns()
    subscribers = [Subscriber(i, node, start_ns, threading.Event()) for i, node in enumerate(nodes)]
    threads = [threading.Thread(target=s.run, daemon=True) for s in subscribers]
    writers = [Writer(i, addresses, stop) for i in range(WRITERS)]
    try:
        for thread in threads:
            thread.start()
        # Every subscriber is attached: each sees a first change before the writers start.
        ready = FilerHttp(addresses[0])
        assert ready.request("PUT", f"{PREFIX}ready", b"ready")[0] in (200, 201)
        ready.close()
        wait_until("every subscriber attached", CATCH_UP_SECONDS, lambda: all(s.events for s in subscribers))

        writer_threads = [threading.Thread(target=w.run, daemon=True) for w in writers]
        for thread in writer_threads:
            thread.start()
        wait_until("half the writes", WRITE_SECONDS,
                   lambda: sum(w.acked_ops for w in writers) >= KILL_AFTER_ACKS)
        killed_at = len(subscribers[2].events)
        cluster.kill(KILLED)  # SIGKILL, mid-write
        cluster.restart(KILLED)
        deadline = time.monotonic() + WRITE_SECONDS
        for thread in writer_threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        assert not any(t.is_alive() for t in writer_threads), "writers did not finish in time"

        log = log_events(pg_store_config)
        last = normalized(log[-1])
        wait_until("subscribers at the end of the log", CATCH_UP_SECONDS,
                   lambda: all(s.events and normalized(s.events[-1][1]) == last for s in subscribers))
    finally:
        stop.set()
        for s in subscribers:
            s.cancel()
        for thread in threads:
            thread.join(5)

    expected = [normalized(e) for e in log]
    for s in subscribers:
        assert not s.error, f"subscriber {s.index}: {s.error}"
    # The surviving filers' subscribers: exactly the log, in its order, never interrupted.
    for s in subscribers[:2]:
        got = [normalized(e) for _, e in s.events]
        assert not s.breaks, f"subscriber {s.index} was cut off at {s.breaks}"
        assert len(got) == len(expected), (s.index, len(got), len(expected))
        missing = len([1 for x in expected if x not in set(got)])
        assert got == expected, f"subscriber {s.index}: {missing} missing, order or duplicates differ"
    # The killed filer's subscriber: the log up to its break, then a resumed stream that continues
    # the log without a gap (possibly repeating the events just before its since_ns).
    resumed = subscribers[2]
    assert resumed.breaks and resumed.breaks[0] >= killed_at, resumed.breaks
    replayed = check_resumed(resumed, expected)

    # Acknowledged writes: all in the log; per own path, new entries in acknowledged order.
    logged_tokens = {token_of(e.event_notification.new_entry) for e in log if new_path(e)}
    acks = [a for w in writers for a in w.acks]
    assert {a.token for a in acks} <= logged_tokens
    history: dict[str, list[str]] = {}
    for event in log:
        path = new_path(event)
        if path is not None:
            history.setdefault(path, []).append(token_of(event.event_notification.new_entry))
    checked = 0
    for w in writers:
        for path, tokens in w.expected.items():
            if path not in w.tainted:
                assert history.get(path) == tokens, (path, history.get(path), tokens)
                checked += 1
    assert checked > WRITERS * 10

    # No half-written entry: every listed file reads back whole through the restarted filer.
    final: dict[str, str] = {}
    for event in log:  # each path's last state by the log
        note = event.event_notification
        if note.HasField("old_entry"):
            final.pop(join(event.directory, note.old_entry.name), None)
        path = new_path(event)
        if path is not None and not note.new_entry.is_directory:
            final[path] = token_of(note.new_entry)
    restarted = FilerHttp(cluster.nodes[KILLED].address)
    listed: dict[str, str] = {}
    for directory in ["/cs", "/cs/shared", *(f"/cs/w{i}" for i in range(WRITERS))]:
        status, body, _ = restarted.request("GET", f"{directory}/?limit=10000", None, JSON)
        if status == 404:
            continue
        for item in json.loads(body).get("Entries") or []:
            path = item["FullPath"]
            if path.count("/") == 3 or path == "/cs/ready":
                status, data, headers = restarted.request("GET", path)
                assert status == 200, (path, status)
                token = headers.get(VERSION_HEADER) or ""
                if path == "/cs/ready":
                    assert data == b"ready"
                    continue
                size = int(token.rsplit("s", 1)[1])
                assert data == body_for(token, size), f"{path} ({token}) does not read back whole"
                listed[path] = token
    restarted.close()
    assert listed == {p: t for p, t in final.items() if p != "/cs/ready"}
    for w in writers:
        for path, token in w.state.items():
            if path not in w.tainted:
                assert listed.get(path) == token, path

    # Cross-filer lag: a PUT acknowledged by filer A, seen by the subscriber of filer B.
    seen: list[dict[str, float]] = [
        {token_of(e.event_notification.new_entry): at for at, e in s.events if new_path(e)}
        for s in subscribers
    ]
    lags = [seen[b][a.token] - a.at for a in acks for b in (0, 1) if b != a.filer and a.token in seen[b]]
    assert len(lags) >= len(acks)
    p50, p99 = percentile(lags, 0.5), percentile(lags, 0.99)
    print(f"\nchange stream: {len(log)} events, {len(acks)} acknowledged PUTs, "
          f"{sum(w.failures for w in writers)} requests cut by the kill, {replayed} replayed on resume; "
          f"cross-filer lag p50={p50 * 1000:.1f} ms p99={p99 * 1000:.1f} ms max={max(lags) * 1000:.1f} ms")
    assert p50 < LAG_P50_BOUND and max(lags) < LAG_MAX_BOUND, (p50, p99, max(lags))
