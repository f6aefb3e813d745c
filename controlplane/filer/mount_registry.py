"""The mount peer registry: which `weed mount -peer.enable` processes are alive, kept in memory per filer.

Mounts call MountRegister at start and every 30 s on every filer they know, and MountList to learn
their peers; they merge the lists of all filers themselves, so filers never sync registries. A
registration lives `ttl_seconds` (<= 0 means DEFAULT_TTL_SECONDS, capped at MAX_TTL_SECONDS). At most
MAX_ENTRIES addresses are held; once full, only known addresses may renew (see RegistryFull).

`watch()` offers the registry as a stream for mounts that would rather be told than poll: a snapshot
of the live peers as JOINED changes, then JOINED / UPDATED / LEFT as they happen (renewals that change
nothing but last_seen are not changes).

Transport-free: imports no grpc, kelp_http or store code. Time comes from an injected clock (unix ns).
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

NS_PER_SECOND = 1_000_000_000
# SeaweedFS's values (reference §2.6): mounts renew every 30 s with ttl 90 s; an unset ttl means
# 60 s; an hour caps what a buggy or hostile mount can make the filer remember.
DEFAULT_TTL_SECONDS = 60
MAX_TTL_SECONDS = 3600
# Bounds the memory a flood of bogus addresses can take (about 200 bytes per entry, so ~2 MB).
MAX_ENTRIES = 10_000
# Changes a watcher may have unread before it is cut off (it then starts over from a snapshot):
# a slow watcher must not make the registry hold an unbounded backlog.
WATCH_BACKLOG = 1024


class RegistryFull(Exception):
    """A new peer address while MAX_ENTRIES live registrations are held. Known addresses still
    renew: a flood of new addresses cannot push out mounts that are alive."""

    def __init__(self, peer_addr: str, limit: int) -> None:
        super().__init__(f"mount registry full ({limit} peers): {peer_addr} not registered")
        self.peer_addr = peer_addr
        self.limit = limit


class WatchLagged(Exception):
    """A watcher fell WATCH_BACKLOG changes behind and was cut off; watch again for a fresh snapshot."""

    def __init__(self, backlog: int) -> None:
        super().__init__(f"mount registry watcher fell {backlog} changes behind")
        self.backlog = backlog


class InvalidPeerAddress(ValueError):
    def __init__(self, peer_addr: str) -> None:
        super().__init__(f"invalid mount peer address {peer_addr!r}: want host:port")
        self.peer_addr = peer_addr


@dataclass(frozen=True, slots=True)
class MountPeer:
    peer_addr: str
    rack: str
    data_center: str
    last_seen_ns: int
    expires_ns: int


class ChangeKind(enum.Enum):
    JOINED = "joined"
    UPDATED = "updated"  # rack or data center changed
    LEFT = "left"  # expired


@dataclass(frozen=True, slots=True)
class RegistryChange:
    kind: ChangeKind
    peer: MountPeer


@dataclass(frozen=True, slots=True)
class RegistryStatistics:
    peers: int
    watchers: int
    registrations_total: int
    rejected_total: int


class _Watcher:
    def __init__(self) -> None:
        self.backlog: deque[RegistryChange] = deque()
        self.changed = asyncio.Event()
        self.lagged = False

    def push(self, change: RegistryChange) -> None:
        if len(self.backlog) >= WATCH_BACKLOG:
            self.lagged = True
            self.backlog.clear()
        if not self.lagged:
            self.backlog.append(change)
        self.changed.set()


class MountRegistry:
    """One filer's in-memory registry. Not thread-safe: use it from the filer's event loop."""

    def __init__(self, *, clock: Callable[[], int] = time.time_ns, max_entries: int = MAX_ENTRIES) -> None:
        self._clock = clock
        self._max_entries = max_entries
        self._peers: dict[str, MountPeer] = {}
        self._watchers: set[_Watcher] = set()
        self._registrations = 0
        self._rejected = 0

    def register(
        self, peer_addr: str, *, rack: str = "", data_center: str = "", ttl_seconds: int = 0
    ) -> MountPeer:
        """Record (or renew) a peer; raises InvalidPeerAddress, RegistryFull."""
        host, sep, port = peer_addr.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise InvalidPeerAddress(peer_addr)
        now = self._clock()
        self.expire_nowait()
        old = self._peers.get(peer_addr)
        if old is None and len(self._peers) >= self._max_entries:
            self._rejected += 1
            raise RegistryFull(peer_addr, self._max_entries)
        ttl = DEFAULT_TTL_SECONDS if ttl_seconds <= 0 else min(ttl_seconds, MAX_TTL_SECONDS)
        peer = MountPeer(peer_addr, rack, data_center, now, now + ttl * NS_PER_SECOND)
        self._peers[peer_addr] = peer
        self._registrations += 1
        if old is None:
            self._publish(RegistryChange(ChangeKind.JOINED, peer))
        elif (old.rack, old.data_center) != (rack, data_center):
            self._publish(RegistryChange(ChangeKind.UPDATED, peer))
        return peer

    def live(self) -> list[MountPeer]:
        """Unexpired peers, by address."""
        self.expire_nowait()
        return sorted(self._peers.values(), key=lambda p: p.peer_addr)

    def expire_nowait(self) -> list[MountPeer]:
        """Drop expired peers (announcing LEFT to watchers); return them."""
        now = self._clock()
        gone = [p for p in self._peers.values() if p.expires_ns <= now]
        for peer in gone:
            del self._peers[peer.peer_addr]
            self._publish(RegistryChange(ChangeKind.LEFT, peer))
        return gone

    def next_expiry_ns(self) -> int | None:
        return min((p.expires_ns for p in self._peers.values()), default=None)

    def statistics(self) -> RegistryStatistics:
        return RegistryStatistics(len(self._peers), len(self._watchers), self._registrations, self._rejected)

    async def watch(self) -> AsyncIterator[RegistryChange]:
        """The live peers as JOINED, then every change as it happens; raises WatchLagged when the
        consumer falls WATCH_BACKLOG changes behind. Expiries are noticed on time even when nobody
        registers: the watcher wakes at the next expiry."""
        watcher = _Watcher()
        self._watchers.add(watcher)
        try:
            for peer in self.live():
                yield RegistryChange(ChangeKind.JOINED, peer)
            while True:
                if watcher.lagged:
                    raise WatchLagged(WATCH_BACKLOG)
                if watcher.backlog:
                    yield watcher.backlog.popleft()
                    continue
                watcher.changed.clear()
                await self._wait_change_or_expiry(watcher)
        finally:
            self._watchers.discard(watcher)

    async def _wait_change_or_expiry(self, watcher: _Watcher) -> None:
        expiry = self.next_expiry_ns()
        delay = None if expiry is None else max(0.0, (expiry - self._clock()) / NS_PER_SECOND)
        try:
            async with asyncio.timeout(delay):
                await watcher.changed.wait()
        except TimeoutError:
            self.expire_nowait()

    def _publish(self, change: RegistryChange) -> None:
        for watcher in self._watchers:
            watcher.push(change)
