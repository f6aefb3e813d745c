"""Entries: insert/find/upsert/delete, EntryExists leaving the transaction usable, has_children,
listing order (byte order), start/inclusive/prefix/limit, read-only transactions."""

from __future__ import annotations

import pytest

from controlplane.filer.store import EntryExists, FilerStore, ReadOnlyTransaction, prefix_upper_bound


def test_insert_find_upsert_delete(store: FilerStore) -> None:
    with store.transaction() as tx:
        assert tx.find("/a", "x") is None
        tx.insert("/a", "x", b"one")
        assert tx.find("/a", "x") == b"one"
    with store.transaction() as tx:
        tx.upsert("/a", "x", b"two")
        tx.upsert("/a", "y", b"\x00\xff binary")
    with store.transaction(read_only=True) as tx:
        assert tx.find("/a", "x") == b"two"
        assert tx.find("/a", "y") == b"\x00\xff binary"
        assert tx.find("/b", "x") is None
    with store.transaction() as tx:
        assert tx.delete("/a", "x") is True
        assert tx.delete("/a", "x") is False
    with store.transaction() as tx:
        assert tx.find("/a", "x") is None
        assert tx.list("/a", limit=10) == [("y", b"\x00\xff binary")]


def test_insert_existing_raises_and_transaction_goes_on(store: FilerStore) -> None:
    with store.transaction() as tx:
        tx.insert("/", "dup", b"first")
    with store.transaction() as tx:
        with pytest.raises(EntryExists) as caught:
            tx.insert("/", "dup", b"second")
        assert (caught.value.directory, caught.value.name) == ("/", "dup")
        tx.insert("/", "other", b"after the conflict")  # PostgreSQL: the transaction is not aborted
    with store.transaction() as tx:
        assert tx.find("/", "dup") == b"first"
        assert tx.find("/", "other") == b"after the conflict"


def test_has_children(store: FilerStore) -> None:
    with store.transaction() as tx:
        tx.insert("/d", "f", b"")
        tx.insert("/d/e", "g", b"")
        assert tx.has_children("/d")
        assert tx.has_children("/d/e")
        assert not tx.has_children("/d/f")
        assert not tx.has_children("/")
        tx.delete("/d/e", "g")
        assert not tx.has_children("/d/e")


def test_list_sorts_by_bytes_and_pages(store: FilerStore) -> None:
    names = ["b", "a", "B", "a0", "a-", "é", "aé", "z", "ab", "abc", "\U0001f600", "A"]
    with store.transaction() as tx:
        for name in names:
            tx.insert("/p", name, name.encode())
        tx.insert("/p/ab", "child", b"")  # another directory's rows never show
        tx.insert("/pq", "x", b"")
    expected = sorted(names, key=lambda n: n.encode())  # byte (code point) order
    with store.transaction(read_only=True) as tx:
        assert [n for n, _ in tx.list("/p", limit=100)] == expected
        assert [n for n, _ in tx.list("/p", limit=3)] == expected[:3]
        assert [n for n, _ in tx.list("/p", start="a", limit=100)] == [n for n in expected if n > "a"]
        assert [n for n, _ in tx.list("/p", start="a", inclusive=True, limit=2)] == ["a", "a-"]
        assert [n for n, _ in tx.list("/p", prefix="a", limit=100)] == ["a", "a-", "a0", "ab", "abc", "aé"]
        assert [n for n, _ in tx.list("/p", prefix="ab", start="ab", limit=100)] == ["abc"]
        from_ab = tx.list("/p", prefix="ab", start="ab", inclusive=True, limit=100)
        assert [n for n, _ in from_ab] == ["ab", "abc"]
        assert [n for n, _ in tx.list("/p", prefix="é", limit=100)] == ["é"]
        assert tx.list("/p", prefix="q", limit=100) == []
        assert tx.list("/p", limit=0) == []
        assert tx.list("/missing", limit=10) == []
        assert dict(tx.list("/p", prefix="z", limit=10)) == {"z": b"z"}


def test_read_only_transaction_refuses_writes(store: FilerStore) -> None:
    with store.transaction(read_only=True) as tx:
        for write in (lambda: tx.insert("/", "x", b""), lambda: tx.upsert("/", "x", b""),
                      lambda: tx.delete("/", "x"), lambda: tx.log_change("/", 1, b""),
                      lambda: tx.queue_chunk_deletions(["1,01"]), lambda: tx.kv_put(b"k", b"v")):
            with pytest.raises(ReadOnlyTransaction):
                write()


def test_prefix_upper_bound() -> None:
    assert prefix_upper_bound("abc") == "abd"
    assert prefix_upper_bound("a\U0010ffff") == "b"
    assert prefix_upper_bound("\U0010ffff") is None
    assert prefix_upper_bound("\ud7ff") == "\ue000"  # skips the surrogates, which text cannot hold
    assert prefix_upper_bound("") is None
