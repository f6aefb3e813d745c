"""Bad HTTP input gets SeaweedFS's status and error body, and harms nothing.

Malformed fids, unknown volumes and keys, wrong cookies, bad Range headers, bodies over
`-fileSizeLimitMB`, missing or junk parameters and unknown replication strings are sent to a
master and a volume server. Each answer must have SeaweedFS 4.48's status and body: the exact
JSON where SeaweedFS's message is part of its interface, a JSON `{"error": ...}` where only the
wording differs, an empty body where SeaweedFS sends none. The same table runs against the real
`weed` binary, so every expectation here is SeaweedFS's actual behaviour, not a reading of it.
Requests that are not valid HTTP (a junk request line, a junk Content-Length, a header that never
ends, a body cut short) get 400 or a closed connection, never a stored needle or an open
connection that keeps buffering. Afterwards both processes are alive, a needle written first
still reads back (also after a volume server restart), the refused writes left nothing behind,
and a normal round trip works.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import pytest

from ops.localcluster import HttpReply, LocalCluster, VolumeSpec, http_call, multipart_file

FILE_SIZE_LIMIT_MB = 1
HEADER_FLOOD_BYTES = 8 << 20  # Go refuses headers past 1 MiB; nobody needs 8
CLOSE_SECONDS = 10.0  # a server refusing a request closes the connection well within this
RAW_IO_SECONDS = 2.0  # one socket read or write
LIMIT_BYTES = FILE_SIZE_LIMIT_MB << 20
KEEPER_BYTES = 40
JSON_ERROR = "a JSON error"  # {"error": "<any non-empty message>"}, application/json


@dataclass(frozen=True, slots=True)
class Case:
    label: str
    server: str  # "master" or "volume"
    method: str
    path: str  # formatted with the names in `Fids.names()`
    status: int
    body: bytes | str | Mapping[str, object]  # exact bytes, JSON_ERROR, or the exact JSON object
    headers: dict[str, str] = field(default_factory=dict)
    payload: bytes = b""
    expect_headers: dict[str, str] = field(default_factory=dict)
    error_prefix: str = ""  # with JSON_ERROR: how the message must start


@dataclass(frozen=True, slots=True)
class Fids:
    keeper: str  # written before the bad input; must survive it
    spare: str  # assigned, never successfully written

    def names(self) -> dict[str, str]:
        vid, _, key_cookie = self.keeper.partition(",")
        key, cookie = key_cookie[:-8], key_cookie[-8:]
        return {
            "fid": self.keeper,
            "vid": vid,
            "kc": key_cookie,
            "cookie": cookie,
            "bad_cookie_fid": f"{vid},{key}{int(cookie, 16) ^ 1:08x}",
            "unknown_key_fid": f"{vid},{int(key, 16) + 0x10000:x}{cookie}",
            "spare": self.spare,
        }


OVERSIZE = os.urandom(LIMIT_BYTES + 1)
OVERSIZE_FORM, OVERSIZE_FORM_TYPE = multipart_file("big.bin", OVERSIZE)
SMALL_FORM, SMALL_FORM_TYPE = multipart_file("small.bin", b"x" * 10)
INVALID_RANGE = b"invalid range\n"  # Go's text error: 416 bodies are text/plain, not JSON
TOO_BIG = {"error": f"file over the limited {LIMIT_BYTES} bytes"}

VOLUME_CASES = (
    Case("fid too short", "volume", "GET", "/{vid},1234", 400, b""),
    Case("fid too long", "volume", "GET", "/{vid}," + "0" * 25, 400, b""),
    Case("fid not hex", "volume", "GET", "/{vid},01zz37d6aa", 400, b""),
    Case("volume id not a number", "volume", "GET", "/abc,{kc}", 400, b""),
    Case("two slashes", "volume", "GET", "/foo/{vid},{kc}", 400, b""),
    Case("unknown volume", "volume", "GET", "/9999,{kc}", 404, b""),
    Case("unknown key", "volume", "GET", "/{unknown_key_fid}", 404, b""),
    Case("wrong cookie", "volume", "GET", "/{bad_cookie_fid}", 404, b""),
    Case("wrong cookie, HEAD", "volume", "HEAD", "/{bad_cookie_fid}", 404, b""),
    Case("delete, wrong cookie", "volume", "DELETE", "/{bad_cookie_fid}", 400,
         {"error": "File Random Cookie does not match."}),
    Case("delete, unknown volume", "volume", "DELETE", "/9999,{kc}", 404, {"size": 0}),
    Case("delete, unknown key", "volume", "DELETE", "/{unknown_key_fid}", 404, {"size": 0}),
    Case("delete, malformed fid", "volume", "DELETE", "/{vid},1234", 400, JSON_ERROR),
    Case("delete, volume id not a number", "volume", "DELETE", "/abc,{kc}", 404, {"size": 0}),
    Case("unsupported method", "volume", "PATCH", "/{fid}", 400, {"error": "unsupported method PATCH"}),
    Case("range past the end", "volume", "GET", "/{fid}", 416, b"invalid range: failed to overlap\n",
         headers={"Range": "bytes=100-200"}, expect_headers={"Content-Range": f"bytes */{KEEPER_BYTES}"}),
    Case("range starting at the end", "volume", "GET", "/{fid}", 416, b"invalid range: failed to overlap\n",
         headers={"Range": f"bytes={KEEPER_BYTES}-"},
         expect_headers={"Content-Range": f"bytes */{KEEPER_BYTES}"}),
    Case("range not numbers", "volume", "GET", "/{fid}", 416, INVALID_RANGE, headers={"Range": "bytes=abc"}),
    Case("range backwards", "volume", "GET", "/{fid}", 416, INVALID_RANGE, headers={"Range": "bytes=5-2"}),
    Case("range unit", "volume", "GET", "/{fid}", 416, INVALID_RANGE, headers={"Range": "items=0-1"}),
    Case("multipart over the size limit", "volume", "POST", "/{spare}", 400, TOO_BIG,
         headers={"Content-Type": OVERSIZE_FORM_TYPE}, payload=OVERSIZE_FORM),
    Case("raw PUT over the size limit", "volume", "PUT", "/{spare}", 400, TOO_BIG,
         headers={"Content-Type": "application/octet-stream"}, payload=OVERSIZE),
    Case("Content-MD5 mismatch", "volume", "POST", "/{spare}", 400, JSON_ERROR,
         headers={"Content-Type": "text/x-a", "Content-MD5": "AAAAAAAAAAAAAAAAAAAAAA=="}, payload=b"hello",
         error_prefix="Content-MD5 did not match md5 of file data expected [AAAAAAAAAAAAAAAAAAAAAA==]"),
    Case("overwrite with another cookie", "volume", "POST", "/{bad_cookie_fid}", 500, JSON_ERROR,
         headers={"Content-Type": SMALL_FORM_TYPE}, payload=SMALL_FORM,
         error_prefix="failed to write to local disk: mismatching cookie"),
)

MASTER_CASES = (
    Case("replication not digits", "master", "GET", "/dir/assign?replication=abc", 406,
         {"error": "unexpected replication type: abc"}),
    Case("replication over 255", "master", "GET", "/dir/assign?replication=300", 406,
         {"error": "unexpected replication type: 300"}),
    Case("replication with a letter", "master", "GET", "/dir/assign?replication=0a0", 406,
         {"error": "unexpected replication type: 0a0"}),
    Case("ttl not a number", "master", "GET", "/dir/assign?ttl=abc", 406, JSON_ERROR),
    Case("lookup without volumeId", "master", "GET", "/dir/lookup", 404, {"error": "unknown volume id "}),
    Case("lookup of junk", "master", "GET", "/dir/lookup?volumeId=abc", 404,
         {"volumeOrFileId": "abc", "error": "unknown volume id abc"}),
    Case("lookup of an unknown volume", "master", "GET", "/dir/lookup?volumeId=9999", 404,
         {"volumeOrFileId": "9999", "error": "volume id 9999 not found"}),
    Case("grow without count", "master", "GET", "/vol/grow", 406,
         {"error": "can not parse parameter count "}),
    Case("grow with junk count", "master", "GET", "/vol/grow?count=abc", 406,
         {"error": "can not parse parameter count abc"}),
    Case("grow with bad replication", "master", "GET", "/vol/grow?count=1&replication=abc", 406,
         {"error": "unexpected replication type: abc"}),
    Case("delete an unknown collection", "master", "GET", "/col/delete?collection=nope", 400,
         {"error": "collection nope does not exist"}),
    Case("collection info without a name", "master", "GET", "/collection/info", 400,
         {"error": "collection is required"}),
    Case("collection info, unknown", "master", "GET", "/collection/info?collection=nope", 400,
         {"error": "collection nope does not exist"}),
    Case("submit by GET", "master", "GET", "/submit", 405, {"error": "Only submit via POST!"}),
    Case("cluster status by POST", "master", "POST", "/cluster/status", 405, b""),
    Case("redirect for an unknown volume", "master", "GET", "/9999,{kc}", 404, JSON_ERROR),
)


def check(case: Case, reply: HttpReply) -> list[str]:
    """Every way `reply` differs from what SeaweedFS answers to `case`."""
    problems = []
    if reply.status != case.status:
        problems.append(f"status {reply.status}, wanted {case.status}")
    if isinstance(case.body, bytes):
        if case.method != "HEAD" and reply.body != case.body:
            problems.append(f"body {reply.body[:200]!r}, wanted {case.body!r}")
    else:
        if not (reply.header("Content-Type") or "").startswith("application/json"):
            problems.append(f"Content-Type {reply.header('Content-Type')!r}, wanted application/json")
        try:
            got = json.loads(reply.body)
        except ValueError:
            return [*problems, f"body {reply.body[:200]!r} is not JSON"]
        if case.body == JSON_ERROR:
            message = got.get("error") if isinstance(got, dict) else None
            if not isinstance(message, str) or not message.startswith(case.error_prefix) or not message:
                problems.append(f"body {got!r}, wanted an error starting {case.error_prefix!r}")
        elif got != case.body:
            problems.append(f"body {got!r}, wanted {case.body!r}")
    for name, value in case.expect_headers.items():
        if reply.header(name) != value:
            problems.append(f"{name}: {reply.header(name)!r}, wanted {value!r}")
    return problems


def round_trip(cluster: LocalCluster) -> None:
    assigned = http_call(cluster.master, "GET", "/dir/assign")
    assert assigned.status == 200, assigned.body
    fid, url = assigned.json()["fid"], assigned.json()["url"]
    data = os.urandom(1000)
    body, content_type = multipart_file("after.bin", data)
    assert http_call(url, "POST", f"/{fid}", body, {"Content-Type": content_type}).status == 201
    assert http_call(url, "GET", f"/{fid}").body == data
    assert http_call(url, "DELETE", f"/{fid}").status == 202
    assert http_call(url, "GET", f"/{fid}").status == 404


@pytest.fixture(params=["kelp", "weed"])
def cluster(request: pytest.FixtureRequest) -> LocalCluster:
    name = "cluster_factory" if request.param == "kelp" else "weed_cluster_factory"
    factory = request.getfixturevalue(name)
    spec = VolumeSpec(extra_flags=(f"-fileSizeLimitMB={FILE_SIZE_LIMIT_MB}",))
    cluster: LocalCluster = factory(volumes=[spec])
    return cluster


def test_bad_input_gets_seaweedfs_answers_and_harms_nothing(cluster: LocalCluster) -> None:
    volume = cluster.volume_nodes[0]
    assigned = http_call(cluster.master, "GET", "/dir/assign?count=2")
    assert assigned.status == 200, assigned.body
    fids = Fids(keeper=assigned.json()["fid"], spare=assigned.json()["fid"] + "_1")
    keeper = os.urandom(KEEPER_BYTES)
    body, content_type = multipart_file("keeper.bin", keeper)
    written = http_call(volume.address, "POST", f"/{fids.keeper}", body, {"Content-Type": content_type})
    assert written.status == 201, written.body

    names = fids.names()
    failures = []
    for case in VOLUME_CASES + MASTER_CASES:
        address = cluster.master if case.server == "master" else volume.address
        reply = http_call(address, case.method, case.path.format(**names), case.payload, case.headers)
        failures += [f"{case.label} ({case.method} {case.path}): {problem}" for problem in check(case, reply)]
    assert not failures, f"{cluster.kind} answered differently from SeaweedFS:\n" + "\n".join(failures)

    assert all(node.running() for node in cluster.nodes.values())
    for when in ("after the bad input", "after a restart"):
        read = http_call(volume.address, "GET", f"/{fids.keeper}")
        assert (read.status, read.body, read.header("Etag")) == (200, keeper, written.header("Etag")), when
        assert http_call(volume.address, "GET", f"/{fids.spare}").status == 404, when
        if when == "after the bad input":
            cluster.restart(volume.name)
    round_trip(cluster)


@dataclass(frozen=True, slots=True)
class RawReply:
    data: bytes  # what came back before the server closed (or before we gave up)
    closed: bool  # the server ended the connection (EOF or reset) within CLOSE_SECONDS

    @property
    def status(self) -> int | None:
        head = self.data.split(b"\r\n", 1)[0].split()
        return int(head[1]) if len(head) > 1 and head[0].startswith(b"HTTP/") else None


def raw_exchange(address: str, data: bytes, *, half_close: bool) -> RawReply:
    """Send bytes that are not (all) valid HTTP on a fresh connection; read until the server closes."""
    host, _, port = address.rpartition(":")
    received = b""
    with socket.create_connection((host, int(port)), timeout=RAW_IO_SECONDS) as sock:
        try:
            sock.sendall(data)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # cut off while sending: the server has stopped reading; see what it said
        deadline = time.monotonic() + CLOSE_SECONDS
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return RawReply(received, closed=True)
            if not chunk:
                return RawReply(received, closed=True)
            received += chunk
    return RawReply(received, closed=False)


def test_broken_http_is_refused_and_harms_nothing(cluster: LocalCluster) -> None:
    volume = cluster.volume_nodes[0]
    assigned = http_call(cluster.master, "GET", "/dir/assign")
    assert assigned.status == 200, assigned.body
    fid = assigned.json()["fid"]

    for address in (cluster.master, volume.address):
        junk = raw_exchange(address, b"GARBAGE\r\n\r\n", half_close=False)
        assert (junk.status, junk.closed) == (400, True), (address, junk)
        bad_length = f"POST /{fid} HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n".encode()
        reply = raw_exchange(address, bad_length, half_close=False)
        assert (reply.status, reply.closed) == (400, True), (address, reply)
        flood = b"GET /status HTTP/1.1\r\nHost: x\r\nX-Flood: " + b"a" * HEADER_FLOOD_BYTES
        reply = raw_exchange(address, flood, half_close=False)
        assert reply.closed and reply.status in (None, 400, 431), (
            f"{address} kept a connection open with an {HEADER_FLOOD_BYTES}-byte header: {reply.data[:100]!r}"
        )

    head = f"PUT /{fid} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"
    cut_short = raw_exchange(volume.address, head.encode() + b"x" * 500, half_close=True)
    assert cut_short.status is None or cut_short.status >= 400, cut_short
    assert http_call(volume.address, "GET", f"/{fid}").status == 404, "half a body was stored"

    assert all(node.running() for node in cluster.nodes.values())
    round_trip(cluster)
