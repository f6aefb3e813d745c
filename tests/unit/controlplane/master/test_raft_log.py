"""The pysyncobj event log: a cluster of one commits pipelined batches, and a master restarted
on the same -mdir (journal and snapshot) recovers its state and never re-reserves a range."""

from __future__ import annotations

import asyncio
from pathlib import Path

from kelp_pb import events_pb2

from controlplane.master.raft import RaftLog, commit

# Ports from helper B1's range (23000-23999); each test uses its own.
HTTP_PORT_BASE = 3000  # + 20000 = Raft port 23000


def _node(i: int) -> events_pb2.Event:
    return events_pb2.Event(
        node_joined=events_pb2.NodeJoined(
            node_id=f"10.0.0.{i}:8080",
            public_url=f"10.0.0.{i}:8080",
            data_center="dc1",
            rack="r1",
            max_volume_count=8,
            time_ns=i,
        )
    )


def _reserve(count: int) -> events_pb2.Event:
    return events_pb2.Event(sequence_reserved=events_pb2.SequenceReserved(count=count))


async def _open(mdir: Path, port: int) -> RaftLog:
    log = RaftLog(str(mdir), f"127.0.0.1:{port}")
    await log.start()
    return log


def test_single_node_commits_concurrent_appends_as_batches(tmp_path: Path) -> None:
    async def scenario() -> None:
        log = await _open(tmp_path, HTTP_PORT_BASE)
        try:
            assert log.is_leader()
            assert log.leader() == f"127.0.0.1:{HTTP_PORT_BASE}"
            results = await asyncio.gather(*(commit(log, [_reserve(10)]) for _ in range(50)))
            starts = sorted(r[0] for r in results if r[0] is not None)
            assert starts == list(range(1, 501, 10))  # disjoint ranges, nothing lost
            with log.lock:
                assert log.state.sequence_ceiling == 501
        finally:
            await log.close()

    asyncio.run(scenario())


def test_restart_on_same_mdir_recovers_state_from_journal(tmp_path: Path) -> None:
    async def scenario() -> None:
        log = await _open(tmp_path, HTTP_PORT_BASE + 1)
        await commit(log, [_node(1), _node(2), _reserve(100)])
        before = log.state.to_bytes()
        await log.close()

        log = await _open(tmp_path, HTTP_PORT_BASE + 1)
        try:
            with log.lock:
                assert log.state.to_bytes() == before
            (start,) = await commit(log, [_reserve(100)])
            assert start == 101  # above the range reserved before the restart
        finally:
            await log.close()

    asyncio.run(scenario())


def test_restart_recovers_state_from_snapshot_plus_journal(tmp_path: Path) -> None:
    async def scenario() -> None:
        log = await _open(tmp_path, HTTP_PORT_BASE + 2)
        await commit(log, [_node(1), _reserve(7)])
        assert log._replica is not None
        log._replica.forceLogCompaction()
        deadline = asyncio.get_running_loop().time() + 10
        while not (tmp_path / "raft.snapshot").exists():
            assert asyncio.get_running_loop().time() < deadline, "no snapshot written"
            await asyncio.sleep(0.01)
        await commit(log, [_node(2), _reserve(5)])  # after the snapshot: journal only
        before = log.state.to_bytes()
        await log.close()

        log = await _open(tmp_path, HTTP_PORT_BASE + 2)
        try:
            with log.lock:
                assert log.state.to_bytes() == before
                assert set(log.state.nodes) == {"10.0.0.1:8080", "10.0.0.2:8080"}
                assert log.state.sequence_ceiling == 13
        finally:
            await log.close()

    asyncio.run(scenario())


def test_single_master_with_a_high_http_port_takes_a_free_raft_port(tmp_path: Path) -> None:
    log = RaftLog(str(tmp_path), "127.0.0.1:60000")
    assert int(log.raft_address.rsplit(":", 1)[1]) <= 65535
