"""Listing 10,000 entries of one directory over the filer's HTTP API, paged with `limit` and
`lastFileName` (JSON, `Accept: application/json`), on SQLite and on PostgreSQL.

The entries are made through the HTTP API by a small bounded pool of keep-alive clients. Names
mix case, digits, punctuation and non-ASCII, so the order asserted is the byte (code point)
order SeaweedFS pages by, not a locale's.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import pytest

from ops.localcluster import LocalCluster
from tests.pgtest import filer_cluster

pytestmark = pytest.mark.timeout(280)

COUNT = 10_000
PAGE = 1000
CLIENTS = 8
IO_TIMEOUT = 60
_STEMS = ("a", "B", "z", "_u", "-d", "é", "Zz", "a b", "a.b", "0")


def _names() -> list[str]:
    # Distinct names whose byte order differs from their numbering and from a case-folding order.
    return [f"{_STEMS[i % len(_STEMS)]}{i:05d}{'~' if i % 7 == 0 else ''}" for i in range(COUNT)]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def cluster(request: pytest.FixtureRequest) -> Iterator[LocalCluster]:
    with filer_cluster(request.param) as made:
        yield made


class _Clients:
    """One keep-alive connection per worker thread."""

    def __init__(self, address: str) -> None:
        self.host, port = address.rsplit(":", 1)
        self.port = int(port)
        self.local = threading.local()
        self.all: list[http.client.HTTPConnection] = []
        self.lock = threading.Lock()

    def call(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None,
             ) -> tuple[int, bytes]:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=IO_TIMEOUT)
            self.local.conn = conn
            with self.lock:
                self.all.append(conn)
        conn.request(method, path, body=body, headers=headers or {})
        reply = conn.getresponse()
        return reply.status, reply.read()

    def close(self) -> None:
        for conn in self.all:
            conn.close()


def test_ten_thousand_entries_page_in_byte_order(cluster: LocalCluster) -> None:
    names = _names()
    directory = "/listing/many"
    clients = _Clients(cluster.filer)
    try:
        def put(name: str) -> int:
            status, _ = clients.call("PUT", f"{directory}/{quote(name)}", name.encode(),
                                     {"Content-Type": "text/plain"})
            return status

        with ThreadPoolExecutor(CLIENTS) as pool:
            statuses = list(pool.map(put, names))
        assert statuses == [201] * COUNT

        seen: list[str] = []
        last = ""
        pages = 0
        while True:
            status, body = clients.call("GET", f"{directory}/?limit={PAGE}&lastFileName={quote(last)}",
                                        headers={"Accept": "application/json"})
            assert status == 200, body
            page = json.loads(body)
            entries = page["Entries"] or []
            pages += 1
            seen += [e["FullPath"].rsplit("/", 1)[1] for e in entries]
            assert page["Limit"] == PAGE
            if not page["ShouldDisplayLoadMore"]:
                break
            assert len(entries) == PAGE and page["LastFileName"] == seen[-1]
            last = page["LastFileName"]
            assert pages <= COUNT // PAGE + 1, "the listing does not end"
        # 10,000 names at 1,000 a page: the 10th page is full and has nothing after it.
        assert pages == COUNT // PAGE
        assert len(entries) == PAGE and page["LastFileName"] == seen[-1]
        assert seen == sorted(names)
        assert len(set(seen)) == COUNT

        # Past the end: an empty page that says there is no more.
        status, body = clients.call("GET", f"{directory}/?limit={PAGE}&lastFileName={quote(seen[-1])}",
                                    headers={"Accept": "application/json"})
        tail = json.loads(body)
        assert status == 200 and not tail["Entries"] and tail["ShouldDisplayLoadMore"] is False
        # A page boundary in the middle, by a name that is not the last of a page.
        status, body = clients.call("GET", f"{directory}/?limit=3&lastFileName={quote(seen[4321])}",
                                    headers={"Accept": "application/json"})
        middle = json.loads(body)
        assert [e["FullPath"].rsplit("/", 1)[1] for e in middle["Entries"]] == seen[4322:4325]
        assert middle["ShouldDisplayLoadMore"] is True
    finally:
        clients.close()
