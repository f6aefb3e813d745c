"""Which events a subscriber gets: path prefixes see both sides of a rename across the boundary,
exact directories, the subscriber's own signature is dropped, the serving filer's is appended,
and until_ns ends the stream."""

from __future__ import annotations

from pathlib import Path

from kelp_pb import weed_filer_pb2 as filer_pb

from controlplane.filer.subscribe import EventFilter, subscribe
from tests.unit.controlplane.filer.subscribe_helpers import (
    FILER_SIGNATURE,
    core_on,
    file_entry,
    path_of,
    running_notifier,
    sqlite_store,
    take,
)

MOUNT_SIGNATURE = -338331746


def _event(
    directory: str, old: str | None, new: str | None, new_parent: str = ""
) -> filer_pb.SubscribeMetadataResponse:
    event = filer_pb.SubscribeMetadataResponse(directory=directory, ts_ns=1)
    if old is not None:
        event.event_notification.old_entry.name = old
    if new is not None:
        event.event_notification.new_entry.name = new
        event.event_notification.new_parent_path = new_parent or directory
    return event


def test_prefix_matches_old_or_new_path() -> None:
    f = EventFilter(prefixes=("/m/",))
    assert f.matches(_event("/m", None, "a"))  # create inside
    assert f.matches(_event("/m/sub", "a", None))  # delete deeper
    assert not f.matches(_event("/", None, "m"))  # the prefix directory itself is outside "/m/"
    assert not f.matches(_event("/other", None, "a"))
    assert f.matches(_event("/m", "a", "a", "/out"))  # moved out: seen (as leaving)
    assert f.matches(_event("/out", "a", "a", "/m"))  # moved in: seen (as arriving)
    assert not f.matches(_event("/x", "a", "b", "/y"))


def test_request_fields_combine() -> None:
    req = filer_pb.SubscribeMetadataRequest(
        path_prefix="/m/", path_prefixes=["/etc/seaweedfs/filer.conf"], directories=["/exact/"], signature=5
    )
    f = EventFilter.from_request(req)
    assert f.matches(_event("/etc/seaweedfs", None, "filer.conf"))
    assert not f.matches(_event("/etc/seaweedfs", None, "other.conf"))
    assert f.matches(_event("/exact", "a", None))
    assert not f.matches(_event("/exact/below", "a", None))  # directories are exact
    mine = _event("/m", None, "a")
    mine.event_notification.signatures.extend([5, 99])
    assert not f.matches(mine)
    assert EventFilter.from_request(filer_pb.SubscribeMetadataRequest()).matches(_event("/any", "a", None))


async def test_stream_filters_signature_and_appends_the_filers(tmp_path: Path) -> None:
    store = sqlite_store(tmp_path)
    core = core_on(store)
    await core.create("/m", file_entry("by-mount"), signatures=[MOUNT_SIGNATURE])
    await core.create("/m", file_entry("by-other"), signatures=[123])
    await core.create("/n", file_entry("elsewhere"))
    await core.rename("/n", "elsewhere", "/m", "moved-in")
    async with running_notifier(store) as notifier:
        wanted = EventFilter(prefixes=("/m/",), signature=MOUNT_SIGNATURE)
        stream = subscribe(store, notifier, wanted, 0, filer_signature=55)
        got = await take(stream, 2)
        assert [path_of(e) for e in got] == ["/m/by-other", "/m/moved-in"]
        assert list(got[0].event_notification.signatures) == [123, FILER_SIGNATURE, 55]
        await stream.aclose()  # type: ignore[attr-defined]


async def test_until_ns_ends_the_stream(tmp_path: Path) -> None:
    store = sqlite_store(tmp_path)
    core = core_on(store)
    events = [await core.create("/", file_entry(f"f{i}")) for i in range(3)]
    async with running_notifier(store) as notifier:
        stream = subscribe(store, notifier, EventFilter(until_ns=events[1].ts_ns), 0, filer_signature=0)
        got = [path_of(e) async for e in stream]
    assert got == ["/f0", "/f1"]
