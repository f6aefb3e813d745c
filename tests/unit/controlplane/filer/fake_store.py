"""An in-memory FilerStore (contract A) for core unit tests: transactions copy the state and
commit it on success, so a failed mutation leaves nothing behind, as the real store's do."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from controlplane.filer.store.changelog import ChangeRow
from controlplane.filer.store.errors import EntryExists


@dataclass
class _State:
    entries: dict[tuple[str, str], bytes] = field(default_factory=dict)
    changes: list[tuple[int, int, str, bytes]] = field(default_factory=list)  # seq, ts, dir, payload
    deletions: list[tuple[int, str]] = field(default_factory=list)
    kv: dict[bytes, bytes] = field(default_factory=dict)
    pending: list[tuple[str, int, str]] = field(default_factory=list)  # uploader, request, fid
    next_seq: int = 1
    next_deletion: int = 1


class FakeTx:
    def __init__(self, state: _State) -> None:
        self.state = state
        self.committed: list[ChangeRow] = []  # as the real Tx: the rows this transaction logged

    def find(
        self, directory: str, name: str, *, for_update: bool = False, for_share: bool = False
    ) -> bytes | None:
        return self.state.entries.get((directory, name))

    def insert(self, directory: str, name: str, entry: bytes) -> None:
        if (directory, name) in self.state.entries:
            raise EntryExists(directory, name)
        self.state.entries[(directory, name)] = entry

    def upsert(self, directory: str, name: str, entry: bytes) -> None:
        self.state.entries[(directory, name)] = entry

    def delete(self, directory: str, name: str) -> bool:
        return self.state.entries.pop((directory, name), None) is not None

    def list(
        self, directory: str, *, start: str = "", inclusive: bool = False, prefix: str = "", limit: int,
        for_update: bool = False,
    ) -> list[tuple[str, bytes]]:
        names = sorted(
            (n for (d, n) in self.state.entries if d == directory and n.startswith(prefix)),
            key=lambda n: n.encode(),
        )
        if start:
            low = start.encode()
            names = [n for n in names if (n.encode() >= low if inclusive else n.encode() > low)]
        return [(n, self.state.entries[(directory, n)]) for n in names[:limit]]

    def has_children(self, directory: str) -> bool:
        return any(d == directory for (d, _) in self.state.entries)

    def log_change(self, directory: str, ts_ns: int, payload: bytes) -> None:
        self.state.changes.append((self.state.next_seq, ts_ns, directory, payload))
        self.committed.append(ChangeRow(self.state.next_seq, ts_ns, directory, payload))
        self.state.next_seq += 1

    def queue_chunk_deletions(self, fids: Iterable[str]) -> None:
        for fid in fids:
            self.state.deletions.append((self.state.next_deletion, fid))
            self.state.next_deletion += 1

    def finish_upload(self, uploader: str, request: int) -> list[str]:
        mine = [p for p in self.state.pending if p[:2] == (uploader, request)]
        self.state.pending = [p for p in self.state.pending if p[:2] != (uploader, request)]
        return [fid for _, _, fid in mine]

    def kv_get(self, key: bytes, *, for_update: bool = False) -> bytes | None:
        return self.state.kv.get(key)

    def kv_put(self, key: bytes, value: bytes) -> None:
        self.state.kv[key] = value

    def kv_delete(self, key: bytes) -> bool:
        return self.state.kv.pop(key, None) is not None


class FakeStore:
    def __init__(self) -> None:
        self.state = _State()
        self.lock = threading.Lock()
        self.fail_next_commit: Exception | None = None

    def lane(self) -> None:
        return None  # the real store's lanes keep a connection; the fake has none to keep

    @contextmanager
    def transaction(self, *, read_only: bool = False, lane: object = None) -> Iterator[FakeTx]:
        del lane
        with self.lock:
            work = copy.deepcopy(self.state)
            yield FakeTx(work)
            if self.fail_next_commit is not None:
                error, self.fail_next_commit = self.fail_next_commit, None
                raise error
            self.state = work

    def take_chunk_deletions(self, limit: int, *, lease_seconds: float = 60.0) -> list[tuple[int, str]]:
        """Leases are not modelled: every queued row is taken again on the next pass."""
        return list(self.state.deletions[:limit])

    def done_chunk_deletions(self, ids: Iterable[int]) -> None:
        gone = set(ids)
        with self.lock:
            self.state.deletions = [d for d in self.state.deletions if d[0] not in gone]

    def record_uploads(self, uploader: str, address: str, alive_until_ns: int,
                       rows: Iterable[tuple[int, str]]) -> None:
        """Leases are not modelled (reclaim_uploads takes every other uploader's rows)."""
        with self.lock:
            self.state.pending.extend((uploader, request, fid) for request, fid in rows)

    def renew_uploader(self, uploader: str, address: str, alive_until_ns: int) -> None:
        pass

    def reclaim_uploads(self, uploader: str, address: str, now_ns: int | None = None) -> list[str]:
        with self.lock:
            taken = [fid for u, _, fid in self.state.pending if u != uploader]
            self.state.pending = [p for p in self.state.pending if p[0] == uploader]
            for fid in taken:
                self.state.deletions.append((self.state.next_deletion, fid))
                self.state.next_deletion += 1
        return taken

    def last_seq(self) -> int:
        return self.state.next_seq - 1

    def close(self) -> None:
        pass
