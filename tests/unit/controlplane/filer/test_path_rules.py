"""filer.conf rules (path_rules.py): parsing and printing, prefix matching and merging, storage
precedence, read_only and name limits, and the rules at work in the HTTP API, gRPC's assign and
create, and the reloader (a local write applies at once; a change through another core is polled)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kelp_pb import weed_filer_pb2 as filer_pb

from controlplane.filer import path_rules
from controlplane.filer.chunks import AssignSpec
from controlplane.filer.core import FilerCore
from controlplane.filer.errors import NameTooLong
from controlplane.filer.http_api import FilerHttpApi, HttpSettings
from controlplane.filer.path_rules import PathConf, PathReadOnly, PathRules, RulesReloader
from kelp_http import Headers, Request, Response
from tests.unit.controlplane.filer.conftest import SIGNATURE
from tests.unit.controlplane.filer.test_ttl import RecordingVolumes

CONF = {
    "version": 1,
    "locations": [
        {"locationPrefix": "/a/", "collection": "coll_a", "ttl": "3d", "fsync": True},
        {"locationPrefix": "/a/b/", "replication": "001", "diskType": "ssd", "volumeGrowthCount": 2},
        {"locationPrefix": "/ro/", "readOnly": True},
        {"locationPrefix": "/short/", "maxFileNameLength": 8},
    ],
}


def rules() -> PathRules:
    return PathRules(path_rules.parse(json.dumps(CONF)))


def test_parse_and_print() -> None:
    conf = path_rules.parse(json.dumps({**CONF, "someFutureField": 1}))
    assert [loc.location_prefix for loc in conf.locations] == ["/a/", "/a/b/", "/ro/", "/short/"]
    text = path_rules.to_text(conf)
    doc = json.loads(text)
    assert doc["version"] == 1 and doc["locations"][0]["locationPrefix"] == "/a/"
    assert doc["locations"][0]["readOnly"] is False  # every field shown, as SeaweedFS writes it
    assert text.startswith('{\n  "version": 1')
    assert path_rules.parse(text) == path_rules.parse(path_rules.to_text(path_rules.parse(text)))
    assert path_rules.parse(b"") == filer_pb.FilerConf()
    with pytest.raises(path_rules.InvalidFilerConf):
        path_rules.parse("{not json")


def test_match_merges_shorter_then_longer() -> None:
    r = rules()
    one = r.match("/a/x.txt")
    assert (one.collection, one.ttl, one.location_prefix) == ("coll_a", "3d", "/a/")
    both = r.match("/a/b/c/d.bin")
    assert (both.collection, both.replication, both.disk_type, both.fsync) == ("coll_a", "001", "ssd", True)
    assert both.volume_growth_count == 2 and both.location_prefix == ""
    assert r.match("/ab") == PathConf()  # "/a/" is not a prefix of "/ab"


def test_storage_precedence() -> None:
    r = rules()
    defaults = AssignSpec(collection="filer_default", replication="000", disk_type="hdd")
    got = r.storage(r.match("/a/b/f"), AssignSpec(replication="010"), defaults)
    assert (got.collection, got.replication, got.disk_type) == ("coll_a", "010", "ssd")
    assert got.ttl_sec == 3 * 86400
    assert got.fsync and got.volume_growth_count == 2
    plain = r.defaults("/elsewhere/f", defaults)
    assert (plain.collection, plain.replication, plain.ttl_sec) == ("filer_default", "000", 0)
    assert r.storage(r.match("/a/f"), AssignSpec(ttl_sec=60)).ttl_sec == 60  # the request's ttl wins


def test_read_only_and_name_limit() -> None:
    r = rules()
    with pytest.raises(PathReadOnly, match=r"read only: /ro/ \(e.g. bucket over quota\)"):
        r.check_write("/ro/f")
    with pytest.raises(PathReadOnly):
        r.check_write("/ro/f", destination="/a/f")  # the URL path itself is read-only
    with pytest.raises(PathReadOnly):
        r.check_write("/a/f", destination="/ro/f")  # the destination's rule is read-only
    assert r.check_write("/a/f", destination="/a/b/f").replication == "001"
    r.check_write("/short/12345678")
    with pytest.raises(NameTooLong):
        r.check_write("/short/123456789")


def test_fs_configure_merge_and_delete() -> None:
    conf = path_rules.parse(json.dumps(CONF))
    merged = path_rules.with_location(conf, PathConf(location_prefix="/a/", replication="002"))
    a = next(loc for loc in merged.locations if loc.location_prefix == "/a/")
    assert (a.collection, a.replication) == ("coll_a", "002")
    added = path_rules.with_location(conf, PathConf(location_prefix="/new/", collection="n"))
    assert len(added.locations) == 5 and len(conf.locations) == 4
    gone = path_rules.without_location(conf, "/ro/")
    assert [loc.location_prefix for loc in gone.locations] == ["/a/", "/a/b/", "/short/"]


def conf_entry(conf: dict[str, Any]) -> filer_pb.Entry:
    entry = filer_pb.Entry(name=path_rules.CONF_NAME, content=json.dumps(conf).encode())
    entry.attributes.file_mode = 0o644
    entry.attributes.file_size = len(entry.content)
    return entry


@pytest.fixture
def volumes() -> RecordingVolumes:
    return RecordingVolumes()


@pytest.fixture
def api(core: FilerCore, volumes: RecordingVolumes) -> FilerHttpApi:
    core.volumes = volumes
    RulesReloader(core, volumes).attach()
    return FilerHttpApi(core, volumes, HttpSettings(max_mb=1))


async def call(api: FilerHttpApi, method: str, target: str, body: bytes = b"", **headers: str) -> Response:
    pairs = [(k.replace("_", "-"), v) for k, v in headers.items()]
    return await api.handle(Request(method, target, Headers(pairs), body))


async def test_http_uploads_follow_the_rules(
    api: FilerHttpApi, core: FilerCore, volumes: RecordingVolumes
) -> None:
    # a local write of filer.conf applies before its reply: no reload or wait needed
    await core.create(path_rules.CONF_DIRECTORY, conf_entry(CONF))
    assert (await call(api, "PUT", "/a/b/f.bin", b"data")).status == 201
    spec = volumes.specs[-1]
    assert (spec.collection, spec.replication, spec.disk_type) == ("coll_a", "001", "ssd")
    assert spec.ttl_sec == 259200
    assert spec.fsync and spec.volume_growth_count == 2
    meta = json.loads(bytes((await call(api, "GET", "/a/b/f.bin?metadata=true")).body))
    assert meta["TtlSec"] == 259200
    assert (await call(api, "PUT", "/a/q.bin?collection=mine&ttl=5m", b"d")).status == 201
    assert (volumes.specs[-1].collection, volumes.specs[-1].ttl_sec) == ("mine", 300)
    # X-Seaweedfs-Destination chooses the rule; the entry goes to the URL path
    assert (await call(api, "PUT", "/plain/f", b"d", X_Seaweedfs_Destination="/a/b/x")).status == 201
    assert volumes.specs[-1].replication == "001"
    assert (await call(api, "GET", "/plain/f")).body == b"d"
    refused = await call(api, "PUT", "/ro/f", b"d")
    assert refused.status == 507
    assert json.loads(bytes(refused.body)) == {"error": "read only: /ro/ (e.g. bucket over quota)"}
    assert (await call(api, "POST", "/ro/sub/")).status == 507  # mkdir too
    assert (await call(api, "PUT", "/plain/g", b"d", X_Seaweedfs_Destination="/ro/g")).status == 507
    assert (await call(api, "PUT", "/short/123456789", b"d")).status == 414
    assert (await call(api, "PUT", "/short/12345678", b"d")).status == 201
    assert (await call(api, "GET", "/ro/f")).status == 404
    # touching the directory above (a mount updates a parent's mtime) keeps the rules
    etc = await core.lookup("/etc", "seaweedfs")
    await core.update("/etc", etc)
    assert (await call(api, "PUT", "/ro/f", b"d")).status == 507
    # moving the directory away drops them
    await core.rename("/etc", "seaweedfs", "/", "old-etc")
    assert (await call(api, "PUT", "/ro/f", b"d")).status == 201


async def test_grpc_assign_and_create(core: FilerCore, volumes: RecordingVolumes) -> None:
    core.volumes = volumes
    RulesReloader(core, volumes).attach()
    await core.create(path_rules.CONF_DIRECTORY, conf_entry(CONF))
    await core.assign(collection="", path="/a/b/chunk")
    assert (volumes.specs[-1].collection, volumes.specs[-1].replication) == ("coll_a", "001")
    await core.assign(collection="mount_coll", path="/a/b/chunk")
    assert volumes.specs[-1].collection == "mount_coll"
    with pytest.raises(PathReadOnly):
        await core.assign(path="/ro/chunk")
    entry = filer_pb.Entry(name="f")
    core.path_rules.check_entry("/a", entry)
    assert entry.attributes.ttl_sec == 3 * 86400
    with pytest.raises(PathReadOnly):
        core.path_rules.check_entry("/ro", filer_pb.Entry(name="f"))


async def test_uploaded_conf_is_inline_and_applies(api: FilerHttpApi, volumes: RecordingVolumes) -> None:
    body = json.dumps({"locations": [{"locationPrefix": "/c/", "collection": "cc"}]}).encode()
    assert (await call(api, "PUT", path_rules.CONF_PATH, body)).status == 201  # kept inline (/etc)
    assert (await call(api, "PUT", "/c/f", b"d")).status == 201
    assert volumes.specs[-1].collection == "cc"
    assert (await call(api, "DELETE", path_rules.CONF_PATH)).status == 204
    assert (await call(api, "PUT", "/c/g", b"d")).status == 201
    assert volumes.specs[-1].collection == ""


async def test_another_filer_picks_the_change_up(store: Any, volumes: RecordingVolumes) -> None:
    writer = FilerCore(store, volumes, signature=SIGNATURE)
    reader = FilerCore(store, volumes, signature=SIGNATURE + 1)
    reloader = RulesReloader(reader, volumes)
    assert not await reloader.reload()  # nothing there yet
    await writer.create(path_rules.CONF_DIRECTORY, conf_entry(CONF))
    assert reader.path_rules.match("/a/x").collection == ""  # not seen until it polls
    assert await reloader.reload()
    assert reader.path_rules.match("/a/x").collection == "coll_a"
    assert not await reloader.reload()  # unchanged: nothing reloaded
    await writer.create(path_rules.CONF_DIRECTORY, conf_entry({"locations": []}))
    assert await reloader.reload() and reader.path_rules.match("/a/x").collection == ""
    bad = conf_entry(CONF)
    bad.content = b"{broken"
    await writer.create(path_rules.CONF_DIRECTORY, bad)
    await writer.create(path_rules.CONF_DIRECTORY, conf_entry(CONF))
    assert await reloader.reload()
    await writer.create(path_rules.CONF_DIRECTORY, bad)
    assert not await reloader.reload()  # a broken file keeps the rules in force
    assert reader.path_rules.match("/a/x").collection == "coll_a"
