"""A master log with -raft.journalFsync commits, restarts on the same -mdir and recovers every
committed event (the fsync'ing journal is the one pysyncobj wrote through)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from kelp_pb import events_pb2

from controlplane.master.raft import RaftLog, commit
from controlplane.master.raft_journal import KelpJournal

ADDRESS = "127.0.0.1:2911"  # Raft port 22911 (raft helper's range)


def _reserve(count: int) -> events_pb2.Event:
    return events_pb2.Event(sequence_reserved=events_pb2.SequenceReserved(count=count))


def test_restart_with_journal_fsync_keeps_every_commit(tmp_path: Path) -> None:
    async def scenario() -> None:
        log = RaftLog(str(tmp_path), ADDRESS, journal_fsync=True)
        await log.start()
        try:
            assert log._replica is not None
            assert isinstance(log._replica._SyncObj__raftLog, KelpJournal)
            assert log._replica._SyncObj__raftLog.fsync
            results = await asyncio.gather(*(commit(log, [_reserve(10)]) for _ in range(20)))
            assert sorted(r[0] for r in results) == list(range(1, 201, 10))
            with log.lock:
                before = (log.state.event_index, log.state.to_bytes())
        finally:
            await log.close()
        again = RaftLog(str(tmp_path), ADDRESS, journal_fsync=True)
        await again.start()
        try:
            with again.lock:
                assert (again.state.event_index, again.state.to_bytes()) == before
            (first,) = await commit(again, [_reserve(5)])
            assert first == 201  # never re-reserves a committed range
        finally:
            await again.close()

    asyncio.run(scenario())
