"""Concurrent writers and a tailing reader: the reader, always asking for the changes after the
last seq it saw, receives every committed change exactly once and in seq order, seqs 1..N with no
gap; some writer transactions fail and roll back on purpose and leave no trace."""

from __future__ import annotations

import random
import threading
import time

from controlplane.filer.store import FilerStore

WRITERS = 4
TRANSACTIONS = 30


class Abandon(Exception):
    pass


def test_tailing_reader_sees_each_change_once(store: FilerStore) -> None:
    committed: list[bytes] = []
    committed_lock = threading.Lock()
    errors: list[BaseException] = []

    def writer(w: int) -> None:
        rng = random.Random(w)
        try:
            for t in range(TRANSACTIONS):
                payloads = [f"{w}/{t}/{i}".encode() for i in range(rng.randint(1, 3))]
                abandon = rng.random() < 0.2
                try:
                    with store.transaction() as tx:
                        tx.upsert(f"/w{w}", f"t{t}", b"")
                        for payload in payloads:
                            tx.log_change(f"/w{w}", time.time_ns(), payload)
                        if abandon:
                            raise Abandon
                except Abandon:
                    continue
                with committed_lock:
                    committed.extend(payloads)
        except BaseException as err:  # surfaced by the main thread
            errors.append(err)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    seen: list[tuple[int, bytes]] = []
    cursor = 0
    deadline = time.monotonic() + 60
    while any(thread.is_alive() for thread in threads) or cursor < store.last_seq():
        assert time.monotonic() < deadline
        rows = store.changes_after(cursor, limit=7)
        if rows:
            assert rows[0].seq == cursor + 1  # never a gap, so never a skipped commit
            seen.extend((r.seq, r.payload) for r in rows)
            cursor = rows[-1].seq
        else:
            store.wait_for_change(cursor, 0.05)
    for thread in threads:
        thread.join()
    assert errors == []
    assert [seq for seq, _ in seen] == list(range(1, len(seen) + 1))
    assert sorted(payload for _, payload in seen) == sorted(committed)
    assert len({payload for _, payload in seen}) == len(seen)
    assert [(r.seq, r.payload) for r in store.changes_after(0, limit=10_000)] == seen
