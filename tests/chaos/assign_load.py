"""A steady assign + write load against a set of masters, recording everything it was told.

Each thread keeps a "current master" and moves to the next one on any failure (as SeaweedFS's
clients and the reference failover script do), after a short pause so a dead cluster is not spun
on. Every fid a master hands out is recorded with the time it arrived; every write a volume server
acknowledged (201) is recorded with its payload, so a test can check that no (volume, key) was
handed out twice and that every acknowledged write reads back.

Bounded: each thread stops at `stop()`, at `max_seconds`, or after `max_ops` assigns.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field

from ops.localcluster import http_call

REQUEST_SECONDS = 2.0  # one assign or write; a failover answers in well under this
FAILURE_PAUSE_SECONDS = 0.05  # between tries after a failure: a pacing delay, not a wait for state


@dataclass
class Acked:
    fid: str
    url: str
    payload: bytes


@dataclass
class LoadRecord:
    # (monotonic time the request was sent, time the answer arrived, fid)
    assigned: list[tuple[float, float, str]] = field(default_factory=list)
    acked: list[Acked] = field(default_factory=list)
    failures: int = 0
    write_failures: int = 0


def fid_pair(fid: str) -> tuple[int, int]:
    vid, _, key_cookie = fid.partition(",")
    return int(vid), int(key_cookie[:-8], 16)


class AssignLoad:
    def __init__(
        self,
        masters: list[str],
        *,
        threads: int = 2,
        write: bool = True,
        max_seconds: float = 600.0,
        max_ops: int = 200_000,
    ) -> None:
        self.masters = list(masters)
        self.write = write
        self.record = LoadRecord()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._deadline = time.monotonic() + max_seconds
        self._per_thread = max_ops // threads
        self._threads = [
            threading.Thread(target=self._run, args=(n,), name=f"assign-load-{n}", daemon=True)
            for n in range(threads)
        ]

    def __enter__(self) -> AssignLoad:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=3 * REQUEST_SECONDS + 5)

    def first_success_after(self, t: float) -> float | None:
        """When the first assign sent after `t` succeeded (answers to requests sent before `t`
        do not count: they may have been served by a master killed at `t`)."""
        with self._lock:
            return min((end for start, end, _ in self.record.assigned if start > t), default=None)

    def _run(self, n: int) -> None:
        current = n % len(self.masters)
        for i in range(self._per_thread):
            if self._stop.is_set() or time.monotonic() > self._deadline:
                return
            master = self.masters[current]
            sent = time.monotonic()
            try:
                reply = http_call(master, "GET", "/dir/assign", timeout=REQUEST_SECONDS)
                ok = reply.status == 200
                body = reply.json() if ok else None
            except (OSError, ValueError):
                ok, body = False, None
            if not ok or body is None or "fid" not in body:
                with self._lock:
                    self.record.failures += 1
                current = (current + 1) % len(self.masters)
                self._stop.wait(FAILURE_PAUSE_SECONDS)
                continue
            fid, url = body["fid"], body["url"]
            with self._lock:
                self.record.assigned.append((sent, time.monotonic(), fid))
            if self.write:
                self._write(fid, url, f"{n}-{i}-".encode() + os.urandom(8).hex().encode())

    def _write(self, fid: str, url: str, payload: bytes) -> None:
        try:
            reply = http_call(url, "PUT", f"/{fid}", body=payload, timeout=REQUEST_SECONDS)
            acked = reply.status == 201
        except OSError:
            acked = False
        with self._lock:
            if acked:
                self.record.acked.append(Acked(fid, url, payload))
            else:
                self.record.write_failures += 1
