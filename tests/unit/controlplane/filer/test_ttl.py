"""Entry TTL (ttl.py) through FilerCore and the HTTP API with an injected clock: an entry expires at
crtime + ttl_sec; lookups then miss it, listings skip it (and still fill their page), the read
deletes it with its chunks queued and a delete event logged; ?ttl= on an upload sets ttl_sec and
goes to the assign."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kelp_pb import weed_filer_pb2 as filer_pb

from controlplane.filer import ttl
from controlplane.filer.chunks import Assignment, AssignSpec
from controlplane.filer.core import FilerCore
from controlplane.filer.errors import EntryNotFound
from controlplane.filer.http_api import FilerHttpApi, HttpSettings
from kelp_http import Headers, Request, Response
from tests.unit.controlplane.filer.conftest import SIGNATURE, file_entry, logged, queued, stored
from tests.unit.controlplane.filer.fake_volumes import FakeVolumes

START_NS = 1_800_000_000 * 10**9
MINUTE_NS = 60 * 10**9


class Clock:
    """Wall time the test moves; each reading advances a microsecond (stamps stay distinct)."""

    def __init__(self) -> None:
        self.now = START_NS

    def __call__(self) -> int:
        self.now += 1000
        return self.now

    def advance(self, ns: int) -> None:
        self.now += ns


class RecordingVolumes(FakeVolumes):
    def __init__(self) -> None:
        super().__init__()
        self.specs: list[AssignSpec] = []

    async def assign(self, spec: AssignSpec, count: int = 1) -> Assignment:
        self.specs.append(spec)
        return await super().assign(spec, count)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def timed(store: Any, clock: Clock) -> FilerCore:
    return FilerCore(store, signature=SIGNATURE, clock=clock)


def with_ttl(name: str, fid: str, seconds: int, born_ns: int) -> filer_pb.Entry:
    entry = file_entry(name, fid)
    entry.attributes.ttl_sec = seconds
    entry.attributes.crtime, entry.attributes.crtime_ns = divmod(born_ns, 10**9)
    return entry


def test_expiry_time() -> None:
    entry = with_ttl("f", "3,01637037d6", 60, START_NS + 5)
    assert ttl.expires_at_ns(entry) == START_NS + 5 + MINUTE_NS
    assert not ttl.is_expired(entry, lambda: START_NS + MINUTE_NS)
    assert ttl.is_expired(entry, lambda: START_NS + 5 + MINUTE_NS)
    entry.is_directory = True  # directories never expire
    assert ttl.expires_at_ns(entry) is None
    assert ttl.expires_at_ns(file_entry("g", "3,01637037d6")) is None


async def test_lookup_misses_then_deletes_lazily(timed: FilerCore, store: Any, clock: Clock) -> None:
    await timed.create("/t", with_ttl("f", "3,01637037d6", 60, clock.now))
    assert (await timed.lookup("/t", "f")).attributes.ttl_sec == 60
    clock.advance(MINUTE_NS)
    with pytest.raises(EntryNotFound):
        await timed.lookup("/t", "f")
    assert ("/t", "f") not in stored(store)  # the read deleted it
    assert queued(store) == ["3,01637037d6"]
    last = logged(store)[-1]
    assert last.directory == "/t" and last.event_notification.old_entry.name == "f"
    assert not last.event_notification.HasField("new_entry") and last.event_notification.delete_chunks


async def test_listing_skips_expired_and_fills_the_page(timed: FilerCore, store: Any, clock: Clock) -> None:
    for i, name in enumerate("abcdef"):
        seconds = 60 if name in "abd" else 0
        await timed.create("/l", with_ttl(name, f"3,0{i + 1}637037d6", seconds, clock.now))
    clock.advance(2 * MINUTE_NS)
    page = await timed.list("/l", limit=2)
    assert [e.name for e in page] == ["c", "e"]
    assert [e.name for e in await timed.list("/l")] == ["c", "e", "f"]
    assert sorted(queued(store)) == ["3,01637037d6", "3,02637037d6", "3,04637037d6"]
    assert {n for d, n in stored(store) if d == "/l"} == {"c", "e", "f"}


async def test_create_over_an_expired_entry(timed: FilerCore, store: Any, clock: Clock) -> None:
    await timed.create("/", with_ttl("f", "3,01637037d6", 60, clock.now))
    clock.advance(MINUTE_NS)
    await timed.create("/", file_entry("f", "4,02637037d6"), o_excl=True)  # the old one is gone
    assert [c.file_id for c in (await timed.lookup("/", "f")).chunks] == ["4,02637037d6"]
    assert queued(store) == ["3,01637037d6"]


async def test_http_upload_with_ttl(timed: FilerCore, store: Any, clock: Clock) -> None:
    volumes = RecordingVolumes()
    timed.volumes = volumes
    api = FilerHttpApi(timed, volumes, HttpSettings(max_mb=1))

    async def call(method: str, target: str, body: bytes = b"", **headers: str) -> Response:
        return await api.handle(Request(method, target, Headers(list(headers.items())), body))

    assert (await call("PUT", "/h/short.txt?ttl=1m", b"soon gone")).status == 201
    assert (await call("PUT", "/h/kept.txt", b"stays")).status == 201
    assert volumes.specs[0].ttl_sec == 60 and volumes.specs[1].ttl_sec == 0  # the assign's ttl
    meta = json.loads(bytes((await call("GET", "/h/short.txt?metadata=true")).body))
    assert meta["TtlSec"] == 60
    assert (await call("GET", "/h/short.txt")).body == b"soon gone"
    clock.advance(MINUTE_NS)
    assert (await call("GET", "/h/short.txt")).status == 404
    listing = json.loads(bytes((await call("GET", "/h/", Accept="application/json")).body))
    assert [e["FullPath"] for e in listing["Entries"]] == ["/h/kept.txt"]
    assert (await call("GET", "/h/kept.txt")).body == b"stays"
    assert len(queued(store)) == 1
    assert (await call("PUT", "/h/bad.txt?ttl=x1m", b"z")).status == 400
