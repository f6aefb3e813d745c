"""Rendered listing entries: keyed by path and stored bytes, bounded by bytes, LRU."""

from __future__ import annotations

from controlplane.filer.listing_cache import RenderedEntries


def test_a_changed_entry_misses_and_the_budget_evicts_the_oldest() -> None:
    cache = RenderedEntries(budget_bytes=1000)
    cache.put("/d/a", b"v1", b"A1")
    assert cache.get("/d/a", b"v1") == b"A1"
    assert cache.get("/d/a", b"v2") is None  # other bytes: another rendering
    assert cache.get("/e/a", b"v1") is None  # same bytes elsewhere: FullPath differs
    for n in range(20):
        cache.put(f"/d/f{n}", b"x" * 40, b"y" * 40)
    assert cache.get("/d/a", b"v1") is None  # evicted first
    assert cache.get("/d/f19", b"x" * 40) == b"y" * 40
    cache.put("/big", b"", b"z" * 2000)  # over the whole budget: not kept
    assert cache.get("/big", b"") is None
