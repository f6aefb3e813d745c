"""`/submit`: the master assigns, uploads the posted file to the assigned volume server as a
multipart POST (with the JWT), and answers 201 with SeaweedFS's JSON; failures are 500s."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from controlplane.master.core import AssignResult, NoWritableVolume
from kelp_http import Request, Response, json_response, start_server
from kelp_http.multipart import Part, encode_multipart, parse_multipart
from tests.unit.controlplane.master.test_http_api_support import FakeCore, run, serving


class FakeVolumeServer:
    """Stores the uploads it gets and answers like a volume server's POST /<fid>."""

    def __init__(self, status: int = 201) -> None:
        self.status = status
        self.requests: list[Request] = []

    async def handle(self, req: Request) -> Response:
        self.requests.append(req)
        if self.status >= 300:
            return json_response({"error": "volume is read only"}, self.status)
        part = parse_multipart(req.body, req.headers.get("content-type") or "")[0]
        return json_response({"name": part.filename, "size": len(part.data), "eTag": "dbc94738"}, self.status)


@asynccontextmanager
async def volume_server(fake: FakeVolumeServer) -> AsyncIterator[str]:
    server = await start_server(fake.handle, "127.0.0.1", 0)
    try:
        yield f"127.0.0.1:{server.port}"
    finally:
        await server.close()


def test_multipart_submit_uploads_to_the_assigned_server() -> None:
    fake = FakeVolumeServer()

    async def scenario() -> None:
        async with volume_server(fake) as hostport:
            core = FakeCore(
                assign_result=AssignResult("3,b8d6ce21a0", hostport, "pub:8080", 1, 0, auth="j.w.t")
            )
            body, ctype = encode_multipart(
                [("collection", "pics"), Part.file("file", "blob.bin", b"x" * 40, "image/png")]
            )
            async with serving(core) as api:
                r = await api.call(
                    "/submit?ttl=3m",
                    "POST",
                    body=body,
                    headers=(("Content-Type", ctype), ("Seaweed-Color", "blue")),
                )
                assert r.status == 201
                assert r.body == (
                    b'{"eTag":"dbc94738","fid":"3,b8d6ce21a0","fileName":"blob.bin",'
                    b'"fileUrl":"pub:8080/3,b8d6ce21a0","size":40}'
                )
            assign = core.args("assign")[0]
            assert (assign.collection, assign.ttl) == ("pics", "3m")

    run(scenario())
    (upload,) = fake.requests
    assert (upload.method, upload.path) == ("POST", "/3,b8d6ce21a0")
    assert upload.headers.get("authorization") == "Bearer j.w.t"
    assert upload.headers.get("seaweed-color") == "blue"
    (part,) = parse_multipart(upload.body, upload.headers.get("content-type") or "")
    assert (part.filename, part.data, part.content_type) == ("blob.bin", b"x" * 40, "image/png")


def test_raw_body_is_named_after_the_path_and_gzip_size_is_the_original() -> None:
    fake = FakeVolumeServer()
    data = gzip.compress(b"hello world" * 10)

    async def scenario() -> None:
        async with volume_server(fake) as hostport:
            core = FakeCore(assign_result=AssignResult("2,058b9739b1", hostport, hostport, 1, 0))
            async with serving(core) as api:
                r = await api.call("/submit", "POST", body=data, headers=(("Content-Encoding", "gzip"),))
                assert r.status == 201
                assert (r.json()["fileName"], r.json()["size"]) == ("submit", 110)

    run(scenario())
    part = parse_multipart(fake.requests[0].body, fake.requests[0].headers.get("content-type") or "")[0]
    assert part.headers.get("content-encoding") == "gzip" and part.data == data
    assert fake.requests[0].headers.get("authorization") is None


def test_failures_are_500_with_the_reason() -> None:
    fake = FakeVolumeServer(status=500)

    async def scenario() -> None:
        async with volume_server(fake) as hostport:
            core = FakeCore(assign_result=AssignResult("2,058b9739b1", hostport, hostport, 1, 0))
            async with serving(core) as api:
                r = await api.call("/submit", "POST", body=b"abc")
                assert r.status == 500 and "volume is read only" in r.json()["error"]
                core.fail["assign"] = NoWritableVolume("{}")
                r = await api.call("/submit", "POST", body=b"abc")
                assert r.status == 500 and r.json() == {"error": str(NoWritableVolume("{}"))}
                bad = (("Content-Type", "multipart/form-data; boundary=zz"),)
                r = await api.call("/submit", "POST", body=b"garbage", headers=bad)
                assert r.status == 400
                del core.fail["assign"]
                core.assign_result = AssignResult("2,058b9739b1", "127.0.0.1:24999", "127.0.0.1:24999", 1, 0)
                r = await api.call("/submit", "POST", body=b"abc")
                assert r.status == 500 and "127.0.0.1:24999" in r.json()["error"]

    run(scenario())
