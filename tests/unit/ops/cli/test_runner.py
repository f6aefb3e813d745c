"""ops.cli.runner: servers of one process start in order, stop in reverse on SIGTERM/SIGINT with
status 0, and a failed start or a server that dies on its own stops the rest with status 1."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from ops.cli.runner import ServerGroup, serve_until_signal


class FakeServer:
    def __init__(self, name: str, events: list[str], *, fails_after_start: bool = False) -> None:
        self.name = name
        self.events = events
        self.http_port = 1
        self.grpc_port = 2
        self._done = asyncio.Event()
        self._fails = fails_after_start

    async def wait(self) -> None:
        if self._fails:
            raise RuntimeError(f"{self.name} background job failed")
        await self._done.wait()

    async def stop(self) -> None:
        self.events.append(f"stop {self.name}")
        self._done.set()


async def started(server: FakeServer) -> FakeServer:
    server.events.append(f"start {server.name}")
    return server


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_servers_in_reverse_order_with_status_0(sig: int) -> None:
    events: list[str] = []

    async def start(group: ServerGroup) -> None:
        await group.start("master", started(FakeServer("master", events)))
        await group.start("volume", started(FakeServer("volume", events)))
        asyncio.get_running_loop().call_soon(os.kill, os.getpid(), sig)

    assert asyncio.run(serve_until_signal(start)) == 0
    assert events == ["start master", "start volume", "stop volume", "stop master"]


def test_a_failed_start_stops_what_started_with_status_1() -> None:
    events: list[str] = []

    async def start(group: ServerGroup) -> None:
        await group.start("master", started(FakeServer("master", events)))
        raise OSError(98, "Address already in use")

    assert asyncio.run(serve_until_signal(start)) == 1
    assert events == ["start master", "stop master"]


def test_a_server_that_fails_on_its_own_stops_the_others_with_status_1() -> None:
    events: list[str] = []

    async def start(group: ServerGroup) -> None:
        await group.start("master", started(FakeServer("master", events)))
        await group.start("volume", started(FakeServer("volume", events, fails_after_start=True)))

    assert asyncio.run(serve_until_signal(start)) == 1
    assert events == ["start master", "start volume", "stop volume", "stop master"]
