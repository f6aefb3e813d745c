"""Three in-process Raft logs (the next issue's HA shape): one leader, named by its HTTP
address on every master; followers refuse appends; all fold to the same state."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from kelp_pb import events_pb2

from controlplane.master.errors import NotLeader
from controlplane.master.raft import RaftLog, commit

PEERS = ("127.0.0.1:3050", "127.0.0.1:3051", "127.0.0.1:3052")  # Raft ports 23050-23052 (B1's range)
ELECTION_DEADLINE_SECONDS = 15.0  # default pysyncobj timeouts elect in 0.4-1.4 s; a loaded machine is slower


async def _wait(predicate: object, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ELECTION_DEADLINE_SECONDS
    while not predicate():  # type: ignore[operator]
        assert loop.time() < deadline, what
        await asyncio.sleep(0.02)


def test_three_masters_elect_one_leader_and_replicate(tmp_path: Path) -> None:
    async def scenario() -> None:
        logs = [RaftLog(str(tmp_path / f"m{i}"), peer, peers=PEERS) for i, peer in enumerate(PEERS)]
        try:
            await asyncio.gather(*(log.start() for log in logs))
            await _wait(lambda: sum(log.is_leader() for log in logs) == 1, "no single leader")
            leader = next(log for log in logs if log.is_leader())
            leader_http = PEERS[logs.index(leader)]
            await _wait(
                lambda: all(log.leader() == leader_http for log in logs), "leader not known everywhere"
            )

            reserve = events_pb2.Event(sequence_reserved=events_pb2.SequenceReserved(count=10))
            (first,) = await commit(leader, [reserve])
            assert first == 1
            follower = next(log for log in logs if not log.is_leader())
            with pytest.raises(NotLeader) as info:
                follower.append([reserve])
            assert info.value.leader == leader_http

            await _wait(lambda: all(log.state.sequence_ceiling == 11 for log in logs), "state not replicated")
            snapshots = set()
            for log in logs:
                with log.lock:  # the tick thread folds under this lock
                    snapshots.add(log.state.to_bytes())
            assert len(snapshots) == 1
            assert tuple(sorted(PEERS)) == leader.status().members
        finally:
            await asyncio.gather(*(log.close() for log in logs))

    asyncio.run(scenario())
