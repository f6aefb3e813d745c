"""The benchmark engine against an in-process fake master + volume server: counts, fids, failures."""

from __future__ import annotations

import io
import json
from pathlib import Path

from kelp_http import Request, Response, error_response, json_response, run, start_server
from kelp_http.multipart import parse_multipart
from ops.bench.blob import BenchConfig, BlobBenchmark


class FakeCluster:
    """Master and volume server on one port; stores uploads in a dict; can fail some uploads."""

    def __init__(self, fail_every: int = 0) -> None:
        self.fail_every = fail_every
        self.blobs: dict[str, bytes] = {}
        self.assigns: list[int] = []
        self.lookups = 0
        self.uploads = 0
        self.next_key = 1
        self.address = ""

    async def handle(self, req: Request) -> Response:
        if req.path == "/cluster/status":
            return json_response({"IsLeader": True})
        if req.path == "/dir/assign":
            count = int(req.query.get("count", "1"))
            self.assigns.append(count)
            key, self.next_key = self.next_key, self.next_key + count
            fid = f"{1 + key % 3},{key:02x}12345678"
            return json_response({"fid": fid, "url": self.address, "publicUrl": self.address, "count": count})
        if req.path == "/dir/lookup":
            self.lookups += 1
            return json_response(
                {"volumeOrFileId": req.query["volumeId"], "locations": [{"url": self.address}]}
            )
        fid = req.path[1:]
        if req.method == "POST":
            self.uploads += 1
            if self.fail_every and self.uploads % self.fail_every == 0:
                return error_response(500, "injected")
            ctype = req.headers.get("content-type") or ""
            data = parse_multipart(req.body, ctype)[0].data if "multipart" in ctype else req.body
            self.blobs[fid] = data
            return json_response({"size": len(data)}, status=201)
        if req.method == "DELETE":
            return (
                json_response({"size": 1}, status=202)
                if self.blobs.pop(fid, None) is not None
                else Response(404)
            )
        blob = self.blobs.get(fid)
        return Response(200, [], blob) if blob is not None else Response(404)


def _bench(cluster: FakeCluster, **kwargs: object) -> dict:
    async def scenario() -> dict:
        server = await start_server(cluster.handle, "127.0.0.1", 0)
        cluster.address = f"127.0.0.1:{server.port}"
        try:
            config = BenchConfig(master=cluster.address, progress=False, **kwargs)  # type: ignore[arg-type]
            return await BlobBenchmark(config, out=io.StringIO()).run()
        finally:
            await server.close()

    return run(scenario())


def test_writes_then_reads_every_file_with_weed_sizes() -> None:
    cluster = FakeCluster()
    result = _bench(cluster, n=100, size=10, concurrency=4)
    assert result["write"]["completed"] == 100 and result["write"]["failed"] == 0
    assert result["read"]["completed"] == 100 and result["read"]["failed"] == 0
    assert len(cluster.blobs) == 100
    assert {len(b) for b in cluster.blobs.values()} <= set(range(10, 10 + 64))
    assert result["write"]["bytes"] == sum(len(b) for b in cluster.blobs.values())
    assert cluster.lookups == 3  # once per volume, cached
    lat = result["read"]["latency_ms"]
    assert lat["min"] <= lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["max"]


def test_assign_batches_use_suffixed_fids() -> None:
    cluster = FakeCluster()
    result = _bench(cluster, n=50, size=1, concurrency=2, assign_batch=10, upload="raw")
    assert result["write"]["completed"] == 50
    # One warm-up assign of 1, then batches of 10 per worker.
    assert cluster.assigns[0] == 1 and set(cluster.assigns[1:]) == {10}
    assert any("_" in fid for fid in cluster.blobs)


def test_failed_uploads_are_counted_not_read(tmp_path: Path) -> None:
    cluster = FakeCluster(fail_every=5)
    listing = tmp_path / "fids"
    result = _bench(cluster, n=40, size=1, concurrency=4, list_file=str(listing))
    assert result["write"]["failed"] == 8 and result["write"]["completed"] == 32
    assert result["read"]["completed"] == 32 and result["read"]["failed"] == 0
    assert len(listing.read_text().splitlines()) == 32


def test_delete_percent_deletes_and_skips_those_reads() -> None:
    cluster = FakeCluster()
    result = _bench(cluster, n=200, size=1, concurrency=4, delete_percent=50)
    deleted = result["write"]["deleted"]
    assert 50 < deleted < 150
    assert len(cluster.blobs) == 200 - deleted
    assert result["read"]["completed"] == 200 - deleted


def test_result_is_json_serialisable() -> None:
    result = _bench(FakeCluster(), n=5, size=1, concurrency=1)
    assert json.loads(json.dumps(result))["config"]["n"] == 5
