"""The key-value space: put, get, overwrite, delete, binary keys."""

from __future__ import annotations

from controlplane.filer.store import FilerStore


def test_kv_round_trip(store: FilerStore) -> None:
    with store.transaction() as tx:
        assert tx.kv_get(b"k") is None
        tx.kv_put(b"k", b"v1")
        tx.kv_put(b"\x00\xffbin", b"\x01")
    with store.transaction() as tx:
        assert tx.kv_get(b"k") == b"v1"
        tx.kv_put(b"k", b"v2")
        assert tx.kv_get(b"k") == b"v2"
        assert tx.kv_get(b"\x00\xffbin") == b"\x01"
        assert tx.kv_delete(b"k") is True
        assert tx.kv_delete(b"k") is False
    with store.transaction(read_only=True) as tx:
        assert tx.kv_get(b"k") is None
        assert tx.kv_get(b"\x00\xffbin") == b"\x01"
