"""Volume directories are interchangeable between SeaweedFS 4.48 (`.venv/bin/weed`, the 5-byte
"large disk" build) and kelp: what one wrote, the other serves identically.

* weed master + weed volume write a set of needles over HTTP (binary, auto-gzipped text, pairs
  sent as `Seaweed-` headers, a 0-byte one, a deleted one, an overwritten one, a raw PUT named
  after its fid, one in a collection, one with a TTL) and vacuum the volumes holding garbage.
  weed's answers to GET, gzip GET, HEAD, Range and conditional GETs are recorded; weed stops; a
  kelp master + `kelp volume` on the same directory must answer each of those requests with the
  same status, bytes and headers (Date, Server and X-Amz-Request-Id aside: they differ between
  any two servers).
* The reverse: a directory kelp wrote (large disk, its default) is served by `weed volume`.
* The standard 4-byte-offset build is kelp-only (the PyPI weed is large-disk): a kelp volume with
  `-largeDisk=false` writes 16-byte `.idx` entries and serves the same answers after a restart.
"""

from __future__ import annotations

import gzip
import os
import struct
from dataclasses import dataclass
from pathlib import Path

from ops.localcluster import HttpReply, LocalCluster, VolumeSpec, http_call, multipart_file

from .conftest import ClusterFactory

IGNORED_HEADERS = frozenset({"date", "server", "x-amz-request-id"})
COLLECTION = "pics"
FIXED_TS = 1600000000  # Last-Modified of the needles written with ?ts=
SLOTS = 24  # three layouts (default, collection, TTL) of 7 volumes each
VACUUM_THRESHOLD = 0.0001  # any garbage at all
IDX_ENTRY_STANDARD = 16  # key u64, offset u32, size u32
IDX_ENTRY_LARGE_DISK = 17  # key u64, offset low u32, offset high byte, size u32
RAW = bytes(range(256))  # binary at the start, text-like at the end
TEXT = b"".join(b"line %d of a very compressible text file\n" % (i % 7) for i in range(200))


@dataclass(frozen=True, slots=True)
class Written:
    """One needle as written: a name for reports, and its fid."""

    name: str
    fid: str


def assign(master: str, query: str = "") -> str:
    assigned = http_call(master, "GET", f"/dir/assign{query}")
    assert assigned.status == 200, assigned.body
    return str(assigned.json()["fid"])


def upload(
    volume: str, fid: str, body: bytes, headers: dict[str, str], query: str = "", method: str = "POST"
) -> None:
    written = http_call(volume, method, f"/{fid}{query}", body, headers)
    assert written.status == 201, (fid, written.body)


def write_needles(master: str, volume: str) -> list[Written]:
    """The same needle set, written through any master + volume server pair (weed or kelp)."""
    needles: list[Written] = []

    def post_file(name: str, filename: str, data: bytes, mime: str, *, query: str = "",
                  assign_query: str = "", extra: dict[str, str] | None = None) -> str:
        fid = assign(master, assign_query)
        body, content_type = multipart_file(filename, data, mime)
        upload(volume, fid, body, {"Content-Type": content_type, **(extra or {})}, query)
        needles.append(Written(name, fid))
        return fid

    post_file("binary", "blob.bin", os.urandom(3000), "application/x-foo", query=f"?ts={FIXED_TS}")
    post_file("text", "notes.txt", TEXT, "text/plain")  # auto-gzipped by the writer
    post_file("pairs", "photo.png", os.urandom(500), "image/png",
              extra={"Seaweed-Color": "blue", "Seaweed-x-test": "t1"})
    post_file("empty", "empty.txt", b"", "text/plain")
    post_file("large", "big.bin", os.urandom(200 << 10), "application/octet-stream")
    post_file("collection", "c.bin", os.urandom(700), "application/x-bar",
              assign_query=f"?collection={COLLECTION}")

    gone = post_file("deleted", "gone.bin", os.urandom(100), "application/x-gone")
    assert http_call(volume, "DELETE", f"/{gone}").status == 202

    again = post_file("overwritten", "first.bin", os.urandom(400), "application/x-first")
    body, content_type = multipart_file("second.bin", os.urandom(300), "application/x-second")
    upload(volume, again, body, {"Content-Type": content_type})

    post_file("ttl", "t.bin", os.urandom(300), "application/x-ttl", query="?ttl=5m", assign_query="?ttl=5m")
    raw = assign(master)
    # Fixed bytes: its type is sniffed on every read, and sniffing random bytes gives random types.
    upload(volume, raw, RAW, {"Content-Type": "application/octet-stream"}, method="PUT")
    needles.append(Written("raw", raw))

    # Compact the volumes that hold garbage (the deleted and the overwritten needle), so the
    # reader also gets rewritten files with a compaction revision of 1.
    vacuumed = http_call(master, "GET", f"/vol/vacuum?garbageThreshold={VACUUM_THRESHOLD}")
    assert vacuumed.status == 200, vacuumed.body
    return needles


def requests_for(needle: Written, etag: str | None) -> list[tuple[str, str, dict[str, str]]]:
    """(label, method, headers) of every read compared between the two servers."""
    reads = [
        ("GET", "GET", {}),
        ("GET gzip", "GET", {"Accept-Encoding": "gzip"}),
        ("HEAD", "HEAD", {}),
        ("HEAD gzip", "HEAD", {"Accept-Encoding": "gzip"}),
        ("Range", "GET", {"Range": "bytes=10-99"}),
        ("suffix Range", "GET", {"Range": "bytes=-5"}),
        ("If-Modified-Since", "GET", {"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"}),
    ]
    if etag:
        reads.append(("If-None-Match", "GET", {"If-None-Match": etag}))
    if needle.name == "empty":
        # weed answers a suffix range on 0 bytes with 206 "bytes 0--1/0", a Go quirk; 416 is what
        # RFC 9110 asks for, so neither is required of kelp.
        reads = [read for read in reads if "Range" not in read[0]]
    return reads


def comparable(reply: HttpReply) -> tuple[int, bytes, list[tuple[str, str]]]:
    headers = sorted((k.lower(), v) for k, v in reply.headers if k.lower() not in IGNORED_HEADERS)
    return reply.status, reply.body, headers


def record(volume: str, needles: list[Written]) -> dict[tuple[str, str], HttpReply]:
    """Every read of every needle, keyed by (needle name, read label)."""
    answers: dict[tuple[str, str], HttpReply] = {}
    for needle in needles:
        first = http_call(volume, "GET", f"/{needle.fid}")
        for label, method, headers in requests_for(needle, first.header("Etag")):
            answers[(needle.name, label)] = http_call(volume, method, f"/{needle.fid}", headers=headers)
    return answers


def assert_same_answers(
    before: dict[tuple[str, str], HttpReply], after: dict[tuple[str, str], HttpReply], what: str
) -> None:
    differences = []
    for key, reply in before.items():
        old, new = comparable(reply), comparable(after[key])
        if old[0] != new[0]:
            differences.append(f"{key}: status {old[0]} then {new[0]} ({after[key].body[:120]!r})")
        if old[1] != new[1]:
            differences.append(f"{key}: body differs ({len(old[1])} vs {len(new[1])} bytes)")
        if old[2] != new[2]:
            only_old = sorted(set(old[2]) - set(new[2]))
            only_new = sorted(set(new[2]) - set(old[2]))
            differences.append(f"{key}: headers only before {only_old}, only after {only_new}")
    assert not differences, f"{what}:\n" + "\n".join(differences)


def assert_needles_sane(answers: dict[tuple[str, str], HttpReply]) -> None:
    """What both servers must have served in the first place (so identical answers mean right ones)."""
    assert answers[("deleted", "GET")].status == 404
    text, zipped = answers[("text", "GET")], answers[("text", "GET gzip")]
    assert (text.status, text.body) == (200, TEXT)
    assert zipped.header("Content-Encoding") == "gzip" and gzip.decompress(zipped.body) == TEXT
    pairs = answers[("pairs", "GET")]
    assert (pairs.header("Color"), pairs.header("X-Test")) == ("blue", "t1")
    assert answers[("empty", "GET")].body == b"" and answers[("empty", "GET")].header("Etag") == '"00000000"'
    assert answers[("overwritten", "GET")].header("Content-Type") == "application/x-second"
    assert answers[("binary", "GET")].header("Last-Modified") == "Sun, 13 Sep 2020 12:26:40 GMT"
    assert answers[("binary", "Range")].status == 206 and len(answers[("binary", "Range")].body) == 90
    assert answers[("binary", "If-None-Match")].status == 304


def compaction_revisions(directory: Path) -> dict[str, int]:
    """Superblock bytes 4-5 of every .dat: how often each volume was vacuumed."""
    revisions = {}
    for dat in directory.glob("*.dat"):
        with dat.open("rb") as f:
            revisions[dat.name] = struct.unpack(">H", f.read(8)[4:6])[0]
    return revisions


# Uploads through kelp after it takes over weed's directory: enough to touch every volume.
NEW_UPLOADS = 30


def volume_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.suffix in (".dat", ".idx", ".vif"))


def test_kelp_serves_what_weed_wrote(
    tmp_path: Path, weed_cluster_factory: ClusterFactory, cluster_factory: ClusterFactory
) -> None:
    shared = tmp_path / "volumes"
    weed = weed_cluster_factory(volumes=[VolumeSpec(dir=str(shared), max_volumes=SLOTS)])
    needles = write_needles(weed.master, weed.volume_addresses[0])
    before = record(weed.volume_addresses[0], needles)
    weed.stop()
    assert_needles_sane(before)
    assert any(compaction_revisions(shared).values()), "weed vacuumed nothing"
    assert any(name.startswith(f"{COLLECTION}_") for name in volume_files(shared))

    kelp = cluster_factory(volumes=[VolumeSpec(dir=str(shared), max_volumes=SLOTS)])
    after = record(kelp.volume_addresses[0], needles)
    assert_same_answers(before, after, "kelp serving weed's volumes answered differently")

    # kelp's master is new to these volumes: it must learn their highest keys from the
    # heartbeat, or its first keys would land on weed's needles ("mismatching cookie").
    for i in range(NEW_UPLOADS):
        fid = assign(kelp.master)
        body, content_type = multipart_file(f"new{i}.bin", os.urandom(64), "application/x-new")
        upload(kelp.volume_addresses[0], fid, body, {"Content-Type": content_type})
    assert_same_answers(before, record(kelp.volume_addresses[0], needles), "new uploads changed old needles")


def test_weed_serves_what_kelp_wrote(
    tmp_path: Path, weed_cluster_factory: ClusterFactory, cluster_factory: ClusterFactory
) -> None:
    shared = tmp_path / "volumes"
    # Large disk (5-byte offsets) is kelp's default, as it is the PyPI weed build's.
    kelp = cluster_factory(volumes=[VolumeSpec(dir=str(shared), max_volumes=SLOTS)])
    needles = write_needles(kelp.master, kelp.volume_addresses[0])
    before = record(kelp.volume_addresses[0], needles)
    kelp.stop()
    assert_needles_sane(before)
    assert any(compaction_revisions(shared).values()), "kelp vacuumed nothing"

    weed = weed_cluster_factory(volumes=[VolumeSpec(dir=str(shared), max_volumes=SLOTS)])
    after = record(weed.volume_addresses[0], needles)
    assert_same_answers(before, after, "weed serving kelp's volumes answered differently")


def test_standard_offsets_survive_a_restart(tmp_path: Path, cluster_factory: ClusterFactory) -> None:
    kelp: LocalCluster = cluster_factory(volumes=[VolumeSpec(max_volumes=SLOTS)], large_disk=False)
    volume = kelp.volume_nodes[0]
    needles = write_needles(kelp.master, volume.address)
    before = record(volume.address, needles)
    assert_needles_sane(before)

    kelp.restart(volume.name)
    after = record(volume.address, needles)
    assert_same_answers(before, after, "a -largeDisk=false volume answered differently after a restart")

    # Every .idx entry parsed at 16 bytes names one of our keys: at 17 bytes they would be garbage.
    keys = {int(n.fid.split(",")[1][:-8], 16) for n in needles}
    for idx in volume.data_dir.glob("*.idx"):
        entries = idx.read_bytes()
        assert len(entries) % IDX_ENTRY_STANDARD == 0, (idx.name, len(entries))
        for at in range(0, len(entries), IDX_ENTRY_STANDARD):
            key, offset, _size = struct.unpack_from(">QII", entries, at)
            assert key in keys and offset > 0, (idx.name, at, key, offset)
