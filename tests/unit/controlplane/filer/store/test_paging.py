"""Paging by name over 10,000 entries of one directory (inserted in one transaction), with and
without a prefix: every name exactly once, in order."""

from __future__ import annotations

from controlplane.filer.store import FilerStore

COUNT = 10_000


def test_pages_through_ten_thousand_entries(store: FilerStore) -> None:
    names = [f"file{i:05d}" for i in range(COUNT)]
    with store.transaction() as tx:
        for name in reversed(names):
            tx.insert("/big", name, name.encode())
    seen: list[str] = []
    start = ""
    while True:
        with store.transaction(read_only=True) as tx:
            page = tx.list("/big", start=start, limit=1001)
        seen.extend(name for name, _ in page)
        assert all(entry == name.encode() for name, entry in page)
        if len(page) < 1001:
            break
        start = page[-1][0]
    assert seen == names

    with store.transaction(read_only=True) as tx:
        hundred = tx.list("/big", prefix="file012", limit=1000)
        assert [n for n, _ in hundred] == names[1200:1300]
        tail = tx.list("/big", prefix="file012", start="file01289", limit=1000)
        assert [n for n, _ in tail] == names[1290:1300]
        assert tx.has_children("/big")
