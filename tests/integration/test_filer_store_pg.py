"""The filer store on PostgreSQL across real processes: `kelp filer.migrate` migrates the database
filer.toml names; then three writer processes ("filers") commit concurrently while this process
tails the change log, woken by their NOTIFYs. The tail receives every committed change exactly
once, seqs 1..N with no gap, each writer's changes in that writer's commit order."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

from controlplane.filer.store import FilerStore, StoreConfig, open_store
from tests.pgtest import filer_toml

REPO = Path(__file__).resolve().parents[2]
WRITERS = 3
TRANSACTIONS = 40

WRITER = textwrap.dedent("""
    import sys, time
    from controlplane.filer.store import open_store
    from controlplane.filer.config import load_store_config
    from pathlib import Path
    store = open_store(load_store_config(Path(sys.argv[1]) / "filer.toml").store, migrate=False)
    name = sys.argv[2]
    for t in range(int(sys.argv[3])):
        with store.transaction() as tx:
            tx.upsert("/" + name, str(t), b"entry")
            tx.log_change("/" + name, time.time_ns(), f"{name}/{t}".encode())
            if t % 5 == 0:
                tx.queue_chunk_deletions([f"{t},01"])
    store.close()
""")


def run_kelp(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ops.cli.main", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)


def test_writer_processes_and_a_tailing_reader(pg_store_config: StoreConfig, tmp_path: Path) -> None:
    (tmp_path / "filer.toml").write_text(filer_toml(pg_store_config))
    migrated = run_kelp("filer.migrate", f"-config.dir={tmp_path}")
    assert migrated.returncode == 0, migrated.stderr
    assert f"{pg_store_config.target()}: schema migrated from revision none to 0002" in migrated.stdout
    again = run_kelp("filer.migrate", f"-config.dir={tmp_path}")
    assert "already at revision 0002" in again.stdout

    reader = open_store(pg_store_config, migrate=False)
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), f"w{w}", str(TRANSACTIONS)],
                                cwd=REPO, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
               for w in range(WRITERS)]
    try:
        seen: list[tuple[int, str]] = []
        cursor = 0
        deadline = time.monotonic() + 60
        while len(seen) < WRITERS * TRANSACTIONS:
            assert time.monotonic() < deadline, f"tail stopped at {len(seen)} changes"
            if not reader.wait_for_change(cursor, 5.0):
                assert any(w.poll() is None for w in writers), "writers ended, changes missing"
                continue
            for row in reader.changes_after(cursor, limit=50):
                assert row.seq == cursor + 1
                seen.append((row.seq, row.payload.decode()))
                cursor = row.seq
        for writer in writers:
            _, err = writer.communicate(timeout=30)
            assert writer.returncode == 0, err.decode()
    finally:
        for writer in writers:
            if writer.poll() is None:
                writer.kill()
                writer.wait()
        reader.close()
    reader = open_store(pg_store_config, migrate=False)
    try:
        check_log(reader, seen, cursor)
    finally:
        reader.close()


def check_log(reader: FilerStore, seen: list[tuple[int, str]], cursor: int) -> None:
    assert reader.changes_after(cursor) == []
    assert [seq for seq, _ in seen] == list(range(1, WRITERS * TRANSACTIONS + 1))
    for w in range(WRITERS):
        mine = [payload for _, payload in seen if payload.startswith(f"w{w}/")]
        assert mine == [f"w{w}/{t}" for t in range(TRANSACTIONS)]
    assert reader.pending_chunk_deletions() == WRITERS * TRANSACTIONS // 5
    with reader.transaction(read_only=True) as tx:
        assert len(tx.list("/w0", limit=1000)) == TRANSACTIONS
