"""uploads.py on the real SQLite store: chunks stored for a request that never committed (its
filer died) are reclaimed into the deletion queue; committed ones never are; a swept request
cannot commit; records are group-committed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from controlplane.filer.chunks import AssignSpec, write_data
from controlplane.filer.core import FilerCore
from controlplane.filer.store import FilerStore, StoreConfig, open_store
from controlplane.filer.uploads import UploadJournal, UploadReclaimed, UploadTicket
from tests.unit.controlplane.filer.conftest import file_entry, queued
from tests.unit.controlplane.filer.fake_volumes import FakeVolumes

ADDRESS = "127.0.0.1:8888"


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[FilerStore]:
    store = open_store(StoreConfig(kind="sqlite", path=str(tmp_path / "filer.db")))
    yield store
    store.close()


async def _upload(ticket: UploadTicket, volumes: FakeVolumes, size: int = 10 * 1024) -> list[str]:
    """Store a body in 1 KiB chunks through the ticket, as the HTTP API does; the fids stored."""
    written = await write_data(volumes, bytes(size), chunk_size=1024, spec=AssignSpec(), name="f", mime="",
                               now_ns=1, path="/f", record=ticket.record)
    return [c.file_id for c in written.chunks]


async def test_a_dead_request_is_reclaimed_by_the_next_filer_at_its_address(sqlite_store: FilerStore) -> None:
    volumes = FakeVolumes()
    dead = UploadJournal(sqlite_store, address=ADDRESS)
    fids = await _upload(dead.ticket(), volumes)  # ... and the filer is killed before its commit
    assert sorted(sqlite_store.pending_upload_fids()) == sorted(fids) and len(fids) == 10
    assert await UploadJournal(sqlite_store, address="10.0.0.9:8888").reclaim() == []  # dead's lease holds
    restarted = UploadJournal(sqlite_store, address=ADDRESS)
    assert sorted(await restarted.reclaim()) == sorted(fids)
    assert sorted(queued(sqlite_store)) == sorted(fids) and sqlite_store.pending_upload_fids() == []


async def test_an_expired_lease_is_reclaimed_by_any_filer(sqlite_store: FilerStore) -> None:
    volumes = FakeVolumes()
    other = UploadJournal(sqlite_store, address="10.0.0.9:8888", lease_seconds=60)
    fids = await _upload(other.ticket(), volumes)
    mine = UploadJournal(sqlite_store, address=ADDRESS)
    assert sqlite_store.reclaim_uploads(mine.uploader, ADDRESS) == []
    later = time.time_ns() + 61 * 10**9
    assert sorted(sqlite_store.reclaim_uploads(mine.uploader, ADDRESS, now_ns=later)) == sorted(fids)


async def test_a_committed_upload_leaves_nothing_to_reclaim(sqlite_store: FilerStore) -> None:
    volumes = FakeVolumes()
    core = FilerCore(sqlite_store, volumes, uploads=UploadJournal(sqlite_store, address=ADDRESS))
    ticket = core.uploads.ticket()
    fids = await _upload(ticket, volumes)
    await core.create("/", file_entry("f", *fids), upload=ticket)
    assert sqlite_store.pending_upload_fids() == []
    assert await UploadJournal(sqlite_store, address=ADDRESS).reclaim() == []
    assert queued(sqlite_store) == []


async def test_a_swept_request_cannot_commit(sqlite_store: FilerStore) -> None:
    volumes = FakeVolumes()
    core = FilerCore(sqlite_store, volumes, uploads=UploadJournal(sqlite_store, address=ADDRESS))
    ticket = core.uploads.ticket()
    fids = await _upload(ticket, volumes)
    await UploadJournal(sqlite_store, address=ADDRESS).reclaim()  # e.g. this filer's lease lapsed
    with pytest.raises(UploadReclaimed) as caught:
        await core.create("/", file_entry("f", *fids), upload=ticket)
    assert caught.value.recorded == 10 and caught.value.found == 0
    assert await core.find("/f") is None
    assert sorted(queued(sqlite_store)) == sorted(fids)  # queued once, by the sweep


async def test_discard_queues_what_the_request_stored(sqlite_store: FilerStore) -> None:
    volumes = FakeVolumes()
    core = FilerCore(sqlite_store, volumes)
    ticket = core.uploads.ticket()
    fids = await _upload(ticket, volumes)
    await core.discard_chunks([], upload=ticket)
    assert sorted(queued(sqlite_store)) == sorted(fids) and sqlite_store.pending_upload_fids() == []


async def test_concurrent_records_share_transactions(sqlite_store: FilerStore) -> None:
    calls: list[int] = []
    original = sqlite_store.record_uploads

    def counting(uploader: str, address: str, alive_until_ns: int, rows: list[tuple[int, str]]) -> None:
        calls.append(len(rows))
        original(uploader, address, alive_until_ns, rows)

    sqlite_store.record_uploads = counting  # type: ignore[method-assign]
    journal = UploadJournal(sqlite_store)
    tickets = [journal.ticket() for _ in range(50)]
    await asyncio.gather(*(t.record(f"3,{i:x}0000abcd") for i, t in enumerate(tickets)))
    assert sum(calls) == 50 and len(calls) <= 3, calls
    assert len(sqlite_store.pending_upload_fids()) == 50
