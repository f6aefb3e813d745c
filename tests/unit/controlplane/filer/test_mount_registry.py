"""MountRegistry: registrations expire after their (defaulted, capped) TTL, the registry is bounded
without letting new addresses push out live ones, and watchers see a snapshot then every change."""

from __future__ import annotations

import asyncio

import pytest

from controlplane.filer.mount_registry import (
    DEFAULT_TTL_SECONDS,
    MAX_TTL_SECONDS,
    NS_PER_SECOND,
    WATCH_BACKLOG,
    ChangeKind,
    InvalidPeerAddress,
    MountRegistry,
    RegistryChange,
    RegistryFull,
    WatchLagged,
)


class FakeClock:
    def __init__(self, now: int = 1_000 * NS_PER_SECOND) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += int(seconds * NS_PER_SECOND)


def test_ttl_default_cap_and_expiry() -> None:
    clock = FakeClock()
    reg = MountRegistry(clock=clock)
    a = reg.register("10.0.0.1:18080", rack="r1", data_center="dc1", ttl_seconds=90)
    b = reg.register("10.0.0.2:18080", ttl_seconds=0)
    c = reg.register("10.0.0.3:18080", ttl_seconds=10 * MAX_TTL_SECONDS)
    assert a.expires_ns - a.last_seen_ns == 90 * NS_PER_SECOND
    assert b.expires_ns - b.last_seen_ns == DEFAULT_TTL_SECONDS * NS_PER_SECOND
    assert c.expires_ns - c.last_seen_ns == MAX_TTL_SECONDS * NS_PER_SECOND
    assert [p.peer_addr for p in reg.live()] == ["10.0.0.1:18080", "10.0.0.2:18080", "10.0.0.3:18080"]
    clock.advance(DEFAULT_TTL_SECONDS)
    assert [p.peer_addr for p in reg.live()] == ["10.0.0.1:18080", "10.0.0.3:18080"]
    clock.advance(89 - DEFAULT_TTL_SECONDS)
    renewed = reg.register("10.0.0.1:18080", rack="r1", data_center="dc1", ttl_seconds=90)
    assert renewed.last_seen_ns == clock.now
    clock.advance(30)
    assert [p.peer_addr for p in reg.live()] == ["10.0.0.1:18080", "10.0.0.3:18080"]
    clock.advance(MAX_TTL_SECONDS)
    assert reg.live() == []


def test_full_registry_refuses_new_addresses_but_renews_known() -> None:
    clock = FakeClock()
    reg = MountRegistry(clock=clock, max_entries=2)
    reg.register("h1:1", ttl_seconds=60)
    reg.register("h2:1", ttl_seconds=120)
    with pytest.raises(RegistryFull) as info:
        reg.register("h3:1")
    assert info.value.peer_addr == "h3:1" and info.value.limit == 2
    reg.register("h1:1", ttl_seconds=60)  # a known address renews
    clock.advance(61)
    reg.register("h3:1")  # h1 expired, room again
    assert [p.peer_addr for p in reg.live()] == ["h2:1", "h3:1"]
    assert reg.statistics().rejected_total == 1


@pytest.mark.parametrize("addr", ["", "host", ":80", "host:", "host:http"])
def test_bad_address_refused(addr: str) -> None:
    with pytest.raises(InvalidPeerAddress):
        MountRegistry().register(addr)


async def _next(it: object, seconds: float = 2.0) -> RegistryChange:
    async with asyncio.timeout(seconds):
        return await it.__anext__()  # type: ignore[attr-defined, no-any-return]


def test_watch_snapshot_then_changes() -> None:
    async def scenario() -> None:
        clock = FakeClock()
        reg = MountRegistry(clock=clock)
        reg.register("a:1", rack="r1")
        watch = reg.watch()
        first = await _next(watch)
        assert (first.kind, first.peer.peer_addr) == (ChangeKind.JOINED, "a:1")
        reg.register("b:1")
        reg.register("a:1", rack="r1")  # a plain renewal is not a change
        reg.register("a:1", rack="r2")
        got = [await _next(watch), await _next(watch)]
        kinds = [(c.kind, c.peer.peer_addr) for c in got]
        assert kinds == [(ChangeKind.JOINED, "b:1"), (ChangeKind.UPDATED, "a:1")]
        assert got[1].peer.rack == "r2"
        clock.advance(DEFAULT_TTL_SECONDS)
        reg.expire_nowait()
        left = {(c.kind, c.peer.peer_addr) for c in [await _next(watch), await _next(watch)]}
        assert left == {(ChangeKind.LEFT, "a:1"), (ChangeKind.LEFT, "b:1")}
        assert reg.statistics().watchers == 1
        await watch.aclose()
        assert reg.statistics().watchers == 0

    asyncio.run(scenario())


def test_watch_wakes_at_expiry_without_any_call() -> None:
    async def scenario() -> None:
        clock = FakeClock()
        reg = MountRegistry(clock=clock)
        reg.register("a:1", ttl_seconds=1)
        watch = reg.watch()
        await _next(watch)
        # The watcher sleeps until a:1's expiry (20 ms of real time from its point of view) and
        # then finds it expired, with nobody calling the registry.
        clock.advance(1 - 0.02)
        pending = asyncio.ensure_future(_next(watch))
        await asyncio.sleep(0)
        clock.advance(0.02)
        change = await pending
        assert (change.kind, change.peer.peer_addr) == (ChangeKind.LEFT, "a:1")
        await watch.aclose()

    asyncio.run(scenario())


def test_slow_watcher_is_cut_off() -> None:
    async def scenario() -> None:
        reg = MountRegistry(clock=FakeClock())
        watch = reg.watch()
        reg.register("first:1")
        await _next(watch)
        for i in range(WATCH_BACKLOG + 1):
            reg.register(f"h{i}:1")
        with pytest.raises(WatchLagged):
            await _next(watch)

    asyncio.run(scenario())
