"""Control-event subscriptions against three real masters: a subscriber that disconnects and
reconnects at random points, to random masters, including killing (SIGKILL) the master it is on,
while growth, assigns and a volume server restart produce events, receives every event exactly
once and in order.

How that is checked. The subject records every event and snapshot message it applies. A reference
subscriber on a master that is never killed records the same over the whole run without
interruption. At the end:
- the subject's record is contiguous: each event carries the index after the previous message's,
  and a snapshot (its first message, or one sent by a master that restarted and no longer retains
  the events after the subject's index) never goes backwards;
- every index the subject received as an event carries the same event bytes as in the reference;
- after the load stops, the subject, the reference and a fresh subscription from index 0 served
  by a third master (which starts from a snapshot) reach the same index with the same view.
"""

from __future__ import annotations

import asyncio
import random
import signal
import threading
from collections.abc import Callable

from kelp_pb import control_pb2

from dataplane.client.control import ControlSubscriber
from dataplane.client.control_view import LocationView
from ops.localcluster import LocalCluster, http_call
from tests.integration.conftest import ClusterFactory

SCENARIO_SECONDS = 90.0  # the whole asyncio part; typically ~25 s on a shared 2-core box
CATCH_UP_SECONDS = 20.0  # after the load: every subscriber reaching the same index and view
STEPS = 24  # chaos steps: random reconnects, two master kills, one volume server restart
MASTER_KILLS = 2
LOAD_REQUEST_SECONDS = 5.0  # one grow or assign; failures during a failover are expected


def record(into: list[control_pb2.ControlMessage]) -> Callable[[control_pb2.ControlMessage], None]:
    def keep(msg: control_pb2.ControlMessage) -> None:
        copy = control_pb2.ControlMessage()
        copy.CopyFrom(msg)
        into.append(copy)

    return keep


def load(cluster: LocalCluster, stop: threading.Event, rng: random.Random) -> int:
    """Growth and assigns until `stop`; returns how many requests succeeded (blocking; a thread)."""
    done = grows = 0
    while not stop.is_set():
        master = rng.choice(cluster.master_addresses)
        if grows < 8 and rng.random() < 0.3:
            path = "/vol/grow?count=1&collection=" + rng.choice(["", "pics"])
            grows += 1
        else:
            path = "/dir/assign"
        try:
            reply = http_call(
                master, "POST" if path.startswith("/vol") else "GET", path, timeout=LOAD_REQUEST_SECONDS
            )
            done += reply.status == 200
        except OSError:
            pass  # that master is down or failing over: the next request goes elsewhere
        stop.wait(0.02)  # pacing only (no synchronisation depends on it)
    return done


def check_contiguous(messages: list[control_pb2.ControlMessage]) -> None:
    assert messages and messages[0].HasField("snapshot"), "a subscription from 0 starts from a snapshot"
    position = 0
    for msg in messages:
        if msg.HasField("snapshot"):
            assert msg.index == msg.snapshot.event_index >= position, (msg.index, position)
        else:
            assert msg.HasField("event") and msg.index == position + 1, (msg.index, position)
        position = msg.index


def events_by_index(messages: list[control_pb2.ControlMessage]) -> dict[int, bytes]:
    out: dict[int, bytes] = {}
    for msg in messages:
        if msg.HasField("event"):
            assert msg.index not in out, f"event {msg.index} received twice"
            out[msg.index] = msg.event.SerializeToString(deterministic=True)
    return out


def same_view(a: LocationView, b: LocationView) -> bool:
    return (
        a.index == b.index
        and a.nodes() == b.nodes()
        and all(a.locations(v) == b.locations(v) for v in set(a.volume_ids()) | set(b.volume_ids()))
    )


def test_random_reconnects_and_master_kills_lose_and_repeat_no_event(cluster_factory: ClusterFactory) -> None:
    cluster = cluster_factory(volumes=2, masters=3)
    names = cluster.master_names
    address_of = {name: cluster.nodes[name].address for name in names}
    name_of = {address: name for name, address in address_of.items()}
    steady = names[2]  # never killed: the reference subscription's master
    killable = names[:2]
    rng = random.Random(20261122)

    subject_log: list[control_pb2.ControlMessage] = []
    reference_log: list[control_pb2.ControlMessage] = []
    subject = ControlSubscriber(list(address_of.values()), "test subject", on_message=record(subject_log))
    reference = ControlSubscriber([address_of[steady]], "test reference", on_message=record(reference_log))
    fresh = ControlSubscriber([address_of[names[1]]], "test fresh")

    async def wait_until(condition: Callable[[], bool], seconds: float, what: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not condition():
            assert loop.time() < deadline, f"{what} not within {seconds}s"
            await asyncio.sleep(0.02)

    async def kill_the_subjects_master() -> None:
        await wait_until(lambda: subject.fresh, 15, "subject streaming")
        on = name_of.get(subject.statistics().master)
        if on not in killable:  # move it onto a killable master first
            subject.reconnect(address_of[rng.choice(killable)])
            await wait_until(
                lambda: subject.fresh and name_of.get(subject.statistics().master) in killable,
                15,
                "subject on a killable master",
            )
            on = name_of[subject.statistics().master]
        assert on is not None
        await asyncio.to_thread(cluster.kill, on, signal.SIGKILL)
        await asyncio.to_thread(cluster.restart, on)

    async def scenario() -> tuple[int, int]:
        stop_load = threading.Event()
        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(s.run()) for s in (subject, reference)]
            loader = tg.create_task(asyncio.to_thread(load, cluster, stop_load, random.Random(1)))
            try:
                kills_at = set(rng.sample(range(2, STEPS), MASTER_KILLS))
                volume_restart_at = rng.choice([s for s in range(2, STEPS) if s not in kills_at])
                kills = 0
                for step in range(STEPS):
                    if step in kills_at:
                        await kill_the_subjects_master()
                        kills += 1
                    elif step == volume_restart_at:
                        await asyncio.to_thread(cluster.restart, cluster.volume_nodes[0].name)
                    else:
                        subject.reconnect(address_of[rng.choice(names)])
                    # Random points: sometimes right away, sometimes once it has caught up again.
                    if rng.random() < 0.5:
                        await wait_until(lambda: subject.fresh, 15, "subject streaming again")
                    await asyncio.sleep(rng.random() * 0.3)  # spread the reconnect points in time
            finally:
                stop_load.set()
            served = await loader
            tasks.append(tg.create_task(fresh.run()))
            # Quiet now (heartbeats carry no new facts): all three converge on one index and view.
            await wait_until(
                lambda: (
                    fresh.view.index > 0
                    and same_view(subject.view, reference.view)
                    and same_view(subject.view, fresh.view)
                ),
                CATCH_UP_SECONDS,
                "subject, reference and fresh subscriptions agreeing",
            )
            for t in tasks:
                t.cancel()
        for s in (subject, reference, fresh):
            await s.close()
        return served, kills

    try:
        served, kills = asyncio.run(asyncio.wait_for(scenario(), SCENARIO_SECONDS))
    except BaseException:
        cluster.dump_logs()
        raise

    assert kills == MASTER_KILLS and served > 0
    check_contiguous(subject_log)
    check_contiguous(reference_log)
    subject_events, reference_events = events_by_index(subject_log), events_by_index(reference_log)
    assert reference.statistics().subscriptions == 1  # the reference was never interrupted
    assert len(reference_events) >= 10, "the load produced too few events to test anything"
    common = subject_events.keys() & reference_events.keys()
    assert {i: subject_events[i] for i in common} == {i: reference_events[i] for i in common}
    # Events the reference saw that the subject did not get as events lie within a snapshot the
    # subject loaded (from a restarted master); nothing else may be missing.
    snapshots = [m.index for m in subject_log if m.HasField("snapshot")]
    missing = sorted(reference_events.keys() - subject_events.keys())
    assert all(any(i <= s for s in snapshots) for i in missing), (missing, snapshots)
    stats = subject.statistics()
    assert stats.subscriptions >= STEPS // 2 and stats.resyncs == 0
    assert fresh.statistics().snapshots == 1 and fresh.view.index == subject.view.index
