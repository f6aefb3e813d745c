"""Leader duties: a node silent longer than the dead-node time leaves; a closed heartbeat
stream leaves at once; followers record nothing and point volume servers at the leader."""

from __future__ import annotations

import asyncio

from tests.unit.controlplane.master.fakes import four_servers, heartbeat_all, make_core


def test_silent_node_is_declared_dead_by_run_once() -> None:
    async def scenario() -> None:
        servers = four_servers()
        core, admin, event_log, clock = make_core(servers, pulse_seconds=5)  # dead after 3*5+5 = 20 s
        await core.start()
        await heartbeat_all(core, admin)
        clock.now += 15
        for server in servers[:3]:
            await core.heartbeat(server.heartbeat())
        await core.run_once()
        assert all(n.alive for n in event_log.state.nodes.values())
        clock.now += 10  # servers[3] silent for 25 s, the others for 10 s
        await core.run_once()
        alive = {n.node_id for n in event_log.state.live_nodes()}
        assert alive == {s.node_id for s in servers[:3]}
        await core.heartbeat(servers[3].heartbeat())  # it comes back: reconciled as a rejoin
        assert servers[3].node_id in {n.node_id for n in event_log.state.live_nodes()}
        await core.stop()

    asyncio.run(scenario())


def test_nodes_unheard_since_leadership_began_get_the_full_grace() -> None:
    async def scenario() -> None:
        core, admin, event_log, clock = make_core(four_servers(), dead_node_after_seconds=30)
        await core.start()
        await heartbeat_all(core, admin)
        # A new leader (here: this master again, in a new term) has heard from no one yet.
        clock.now += 100
        event_log.current_term += 1
        assert core.is_leader()
        clock.now += 29
        await core.run_once()
        assert len(list(event_log.state.live_nodes())) == 4
        clock.now += 2
        await core.run_once()
        assert list(event_log.state.live_nodes()) == []
        await core.stop()

    asyncio.run(scenario())


def test_closed_stream_logs_node_left() -> None:
    async def scenario() -> None:
        servers = four_servers()
        core, admin, event_log, _ = make_core(servers)
        await core.start()
        await heartbeat_all(core, admin)
        await core.node_disconnected(servers[0].node_id)
        assert not event_log.state.nodes[servers[0].node_id].alive
        await core.stop()

    asyncio.run(scenario())


def test_heartbeat_response_on_leader_and_follower() -> None:
    async def scenario() -> None:
        servers = four_servers()
        core, _, event_log, _ = make_core(servers, volume_size_limit_mb=100, pulse_seconds=5)
        await core.start()
        resp = await core.heartbeat(servers[0].heartbeat())
        assert (resp.volume_size_limit, resp.leader, resp.pulse_seconds) == (100 << 20, "", 5)
        event_log.leading = False
        event_log.leader_address = "10.1.1.1:9333"
        resp = await core.heartbeat(servers[1].heartbeat())
        assert resp.leader == "10.1.1.1:9333"
        assert servers[1].node_id not in event_log.state.nodes  # a follower records nothing
        await core.stop()

    asyncio.run(scenario())
