"""Creates under a directory racing a recursive delete (or a rename) of it, through two filer cores on one
PostgreSQL database, never leave an orphan (an entry whose parent directory row is gone) nor a
leaked chunk: every chunk written is either in an entry that is still reachable or queued for
deletion.

Without the shared lock on the parent (ensure_directory's FOR SHARE), a create that found /d/x
commits /d/x/fN after the delete's listing of /d/x took its snapshot: the delete removes /d/x, the
new row stays under a directory that no longer exists, and its chunk is neither reachable nor
queued.
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest
import sqlalchemy as sa
from kelp_pb import weed_filer_pb2 as filer_pb

from controlplane.filer import entry as entries
from controlplane.filer import paths
from controlplane.filer.core import FilerCore
from controlplane.filer.entry import chunk_fid
from controlplane.filer.errors import EntryNotFound
from controlplane.filer.store import FilerStore, StoreConfig, open_store
from tests.unit.controlplane.filer.conftest import file_entry, queued

ROUNDS = 40
CREATES = 4  # concurrent creates per round, each in /d/x (nested, so ensure_directory walks)


def all_rows(store: FilerStore) -> dict[tuple[str, str], filer_pb.Entry]:
    """Every stored entry row, read straight from the table (a walk from the root misses orphans)."""
    with store.transaction(read_only=True) as tx:
        rows = tx.connection.execute(sa.text("SELECT directory, name, entry FROM filer_entries")).all()
    return {(row[0], row[1]): filer_pb.Entry.FromString(bytes(row[2])) for row in rows}


def find_orphans(rows: dict[tuple[str, str], filer_pb.Entry]) -> list[str]:
    orphans = []
    for directory, name in rows:
        parent = rows.get(paths.split(directory))
        if directory != paths.ROOT and (parent is None or not entries.is_directory(parent)):
            orphans.append(paths.join(directory, name))
    return sorted(orphans)


@pytest.mark.parametrize("racer", ["delete", "rename"])
async def test_create_racing_tree_walk_leaves_no_orphan(pg_store_config: StoreConfig, racer: str) -> None:
    """racer: a recursive delete of /d, or a rename of /d (each round to a new name)."""
    store_a, store_b = open_store(pg_store_config), open_store(pg_store_config)
    try:
        creator, deleter = FilerCore(store_a), FilerCore(store_b)
        written: list[str] = []
        deletes_done = 0

        async def create(r: int, k: int) -> None:
            fid = f"{r + 2},{k + 0x10:x}12345678"  # canonical: a 2-digit key
            written.append(fid)
            await creator.create("/d/x", file_entry(f"f{r}_{k}", fid))

        async def walk(r: int) -> None:
            nonlocal deletes_done
            with contextlib.suppress(EntryNotFound):
                if racer == "delete":
                    await deleter.delete("/", "d", recursive=True)
                else:
                    await deleter.rename("/", "d", "/", f"e{r}")
                deletes_done += 1

        for r in range(ROUNDS):
            seed = f"1,{r + 0x10:x}12345678"
            written.append(seed)
            await creator.create("/d/x", file_entry(f"seed{r}", seed))  # /d/x exists as the race starts
            # The walk starts a moment after the creates, so it often lists /d/x while they run.
            jobs = [create(r, k) for k in range(CREATES)]
            await asyncio.gather(*jobs[:2], walk(r), *jobs[2:])
            # Checked every round: the next round's creates make /d/x again, adopting an orphan.
            orphans = find_orphans(all_rows(store_a))
            assert not orphans, f"round {r}: entries whose parent directory is gone: {orphans[:10]}"

        assert deletes_done > ROUNDS // 2, "the walk rarely ran: the race was not exercised"
        rows = all_rows(store_a)
        live = [chunk_fid(c) for entry in rows.values() for c in entry.chunks]
        dropped = queued(store_a)
        assert not set(live) & set(dropped), "a live chunk is queued for deletion"
        assert sorted(live + dropped) == sorted(written), "a chunk leaked (neither live nor queued)"
    finally:
        store_a.close()
        store_b.close()
