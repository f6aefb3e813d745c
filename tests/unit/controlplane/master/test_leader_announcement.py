"""A master that becomes leader tells every live volume server at once (VolumeAdmin/LeaderChanged),
so heartbeats move to it even when the old leader's streams hang; dead servers are not called."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from kelp_pb import events_pb2

from controlplane.master.raft import commit
from tests.unit.controlplane.master.fakes import four_servers, heartbeat_all, make_core


async def _until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(5):
        while not condition():
            await asyncio.sleep(0.01)


def test_a_new_term_is_announced_to_every_live_server() -> None:
    async def scenario() -> None:
        servers = four_servers()
        core, admin, event_log, _ = make_core(servers)
        await core.start()
        await heartbeat_all(core, admin)
        gone = events_pb2.NodeLeft(node_id=servers[3].node_id)
        await commit(event_log, [events_pb2.Event(node_left=gone)])
        admin.announced.clear()
        duties = asyncio.create_task(core.run_forever())
        try:
            event_log.leading = False  # an election elsewhere...
            await _until(lambda: not core.is_leader())
            event_log.current_term += 1  # ...then this master wins the next term
            event_log.leading = True
            await _until(lambda: len(admin.announced) == 3)
            assert sorted(admin.announced) == sorted(
                (s.node_id, "127.0.0.1:9333", event_log.current_term) for s in servers[:3]
            )
        finally:
            duties.cancel()
            await asyncio.gather(duties, return_exceptions=True)
            await core.stop()

    asyncio.run(scenario())
