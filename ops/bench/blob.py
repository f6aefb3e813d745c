"""The `kelp benchmark` engine: write N blobs through a master's HTTP API, then read them back.

Speaks only SeaweedFS's public HTTP API, so it measures kelp and SeaweedFS alike:
  write: ``GET /dir/assign`` on the master (optionally ``count=B`` to reserve B keys per request,
         used as ``fid``, ``fid_1`` ... ``fid_{B-1}``), then ``POST /<fid>`` to the volume server named
         by the assign (multipart form upload like ``weed upload``, or a raw octet-stream body);
  delete: after a write, with probability ``delete_percent``%, ``DELETE /<fid>`` (not read back);
  read:  ``GET /dir/lookup?volumeId=V`` once per volume (cached), then ``GET /<fid>`` on a location,
         checking the status and the length.
Sizes follow ``weed benchmark``: SIZE plus 0..63 bytes. Latency of a write includes its share of
the assign. All phases run C concurrent workers on one event loop with one keep-alive pool.

Imports kelp_http and the standard library only: no kelp server code.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import resource
import sys
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO
from urllib.parse import urlencode

from kelp_http import HttpClient, HttpClientError

# weed benchmark pads each file with 0..63 extra bytes so sizes are not all identical.
SIZE_PAD = 64
# A failing volume server or master should show as errors, not hang the run; generous for 64 MiB.
REQUEST_TIMEOUT_S = 60.0
# How many failure messages are printed; the rest are only counted.
MAX_ERRORS_SHOWN = 5
# Retries of a 503 from /dir/assign (volume growth in progress answers 503 + Retry-After: 1).
ASSIGN_RETRIES = 30
PERCENTILES = (50, 66, 75, 80, 90, 95, 98, 99, 100)


@dataclass(frozen=True, slots=True)
class BenchConfig:
    master: str = "127.0.0.1:9333"
    n: int = 1024 * 1024  # files to write (and read)
    size: int = 1024  # bytes per file, plus 0..63
    concurrency: int = 16
    collection: str = "benchmark"
    replication: str = "000"
    ttl: str = ""
    disk: str = ""
    data_center: str = ""
    write: bool = True
    read: bool = True
    delete_percent: int = 0
    assign_batch: int = 1  # keys reserved per /dir/assign (count=)
    read_sequentially: bool = False
    upload: str = "multipart"  # or "raw"
    list_file: str = ""  # where written fids are saved (and read from when write is off)
    timeout: float = REQUEST_TIMEOUT_S
    progress: bool = True
    warmup: bool = True  # one untimed assign first, so volume growth is not timed as a write
    seed: int = 42


@dataclass(slots=True)
class PhaseStats:
    name: str
    planned: int
    completed: int = 0
    failed: int = 0
    bytes: int = 0
    seconds: float = 0.0
    client_cpu_s: float = 0.0
    latencies: array[float] = field(default_factory=lambda: array("d"))
    errors: list[str] = field(default_factory=list)

    def fail(self, message: str) -> None:
        self.failed += 1
        if len(self.errors) < MAX_ERRORS_SHOWN:
            self.errors.append(message)

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.latencies)
        out: dict[str, Any] = {
            "completed": self.completed,
            "failed": self.failed,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 4),
            "req_per_s": round(self.completed / self.seconds, 1) if self.seconds else 0.0,
            "mb_per_s": round(self.bytes / self.seconds / 1e6, 3) if self.seconds else 0.0,
            "client_cpu_us_per_req": round(self.client_cpu_s / max(1, self.completed) * 1e6, 1),
        }
        if lat:
            out["latency_ms"] = {
                "min": round(lat[0] * 1e3, 3),
                "avg": round(sum(lat) / len(lat) * 1e3, 3),
                **{f"p{p}": round(_percentile(lat, p) * 1e3, 3) for p in PERCENTILES if p != 100},
                "max": round(lat[-1] * 1e3, 3),
            }
        return out


def _percentile(sorted_values: list[float], p: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


@dataclass(frozen=True, slots=True)
class Written:
    fid: str
    size: int


class BenchmarkError(Exception):
    """The run cannot start (no master, or no list of fids to read)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _volume_id(fid: str) -> str:
    return fid.partition(",")[0]


class BlobBenchmark:
    """One benchmark run; ``await run()`` returns the summaries of the phases that ran."""

    def __init__(self, config: BenchConfig, out: TextIO = sys.stdout) -> None:
        self.config = config
        self.out = out
        self.client = HttpClient(max_idle_per_host=max(64, config.concurrency * 2))
        self._rng = random.Random(config.seed)
        self._data = self._rng.randbytes(config.size + SIZE_PAD)
        self._boundary = "kelpbenchmarkboundary" + self._rng.randbytes(8).hex()
        self._mp_head = (
            f"--{self._boundary}\r\n"
            'Content-Disposition: form-data; name="file"; filename="benchmark.dat"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        self._mp_tail = f"\r\n--{self._boundary}--\r\n".encode()
        self._written: list[Written] = []
        self._locations: dict[str, asyncio.Future[list[str]]] = {}
        self._next = 0
        self._deleted = 0
        self._batch_path = self._assign_path(config.assign_batch)

    # ---- whole run -----------------------------------------------------------------------------

    async def run(self) -> dict[str, Any]:
        cfg = self.config
        results: dict[str, Any] = {"config": _public_config(cfg)}
        try:
            await self._check_master()
            if cfg.write:
                if cfg.warmup:
                    await self._warm_up()
                stats = await self._phase("write", cfg.n, self._write_worker)
                results["write"] = stats.summary()
                if cfg.delete_percent:
                    results["write"]["deleted"] = self._deleted
                self._save_list()
            if cfg.read:
                if not cfg.write:
                    self._load_list()
                if not self._written:
                    raise BenchmarkError("nothing to read: no file was written")
                if not cfg.read_sequentially:
                    self._rng.shuffle(self._written)
                stats = await self._phase("read", len(self._written), self._read_worker)
                results["read"] = stats.summary()
        finally:
            await self.client.close()
        return results

    async def _check_master(self) -> None:
        try:
            await self.client.request(
                "GET", self.config.master, "/cluster/status", timeout=self.config.timeout
            )
        except (HttpClientError, OSError, TimeoutError) as err:
            raise BenchmarkError(f"cannot reach the master at {self.config.master}: {err}") from err

    async def _phase(self, name: str, planned: int, worker: Callable[[PhaseStats], Any]) -> PhaseStats:
        stats = PhaseStats(name, planned)
        self._next = 0
        self._deleted = 0
        title = (
            "Writing"
            if name == "write"
            else "Randomly Reading"
            if not self.config.read_sequentially
            else "Reading"
        )
        self._print(f"\n------------ {title} Benchmark ----------")
        cpu0 = _cpu_seconds()
        t0 = time.perf_counter()
        async with asyncio.TaskGroup() as tg:
            progress = tg.create_task(self._progress(stats, t0)) if self.config.progress else None
            workers = [tg.create_task(worker(stats)) for _ in range(self.config.concurrency)]
            await asyncio.gather(*workers)
            if progress is not None:
                progress.cancel()
        stats.seconds = time.perf_counter() - t0
        stats.client_cpu_s = _cpu_seconds() - cpu0
        self._report(stats)
        return stats

    def _take(self, planned: int) -> int:
        i = self._next
        self._next = i + 1
        return i if i < planned else -1

    # ---- write ---------------------------------------------------------------------------------

    async def _write_worker(self, stats: PhaseStats) -> None:
        cfg = self.config
        batch: list[tuple[str, str, str]] = []  # (fid, volume url, auth header) reserved ahead
        while (i := self._take(stats.planned)) >= 0:
            t0 = time.perf_counter()
            size = cfg.size + (i * 7919) % SIZE_PAD
            try:
                if not batch:
                    batch = await self._assign()
                fid, url, auth = batch.pop()
                status = await self._upload(url, fid, size, auth)
            except (HttpClientError, OSError, TimeoutError, ValueError, KeyError) as err:
                stats.latencies.append(time.perf_counter() - t0)
                stats.fail(f"write #{i}: {type(err).__name__}: {err}")
                continue
            stats.latencies.append(time.perf_counter() - t0)
            if status not in (201, 204):
                stats.fail(f"write {fid} to {url}: HTTP {status}")
                continue
            stats.completed += 1
            stats.bytes += size
            if cfg.delete_percent and self._rng.randrange(100) < cfg.delete_percent:
                await self._delete(stats, url, fid, auth)
            else:
                self._written.append(Written(fid, size))

    def _assign_path(self, count: int) -> str:
        cfg = self.config
        params = {"count": str(count), "collection": cfg.collection, "replication": cfg.replication}
        for key, value in (("ttl", cfg.ttl), ("disk", cfg.disk), ("dataCenter", cfg.data_center)):
            if value:
                params[key] = value
        return "/dir/assign?" + urlencode(params)

    async def _warm_up(self) -> None:
        try:
            await self._assign(count=1)
        except (HttpClientError, OSError, TimeoutError, ValueError, KeyError) as err:
            raise BenchmarkError(f"the master cannot assign: {err}") from err

    async def _assign(self, count: int = 0) -> list[tuple[str, str, str]]:
        cfg = self.config
        path = self._assign_path(count) if count else self._batch_path
        for _ in range(ASSIGN_RETRIES):
            r = await self.client.request("GET", cfg.master, path, timeout=cfg.timeout)
            if r.status == 503:
                # Growth in progress: SeaweedFS answers 503 + Retry-After: 1 until volumes exist.
                await asyncio.sleep(float(r.headers.get("retry-after") or 1))
                continue
            reply = json.loads(r.body)
            if r.status != 200 or "fid" not in reply:
                raise ValueError(f"assign HTTP {r.status}: {reply.get('error', r.body[:200])}")
            fid, url = reply["fid"], reply["url"]
            auth = r.headers.get("authorization") or ""
            count = int(reply.get("count") or 1)
            # Popped from the end: reversed so keys are written in increasing order.
            return [(fid if k == 0 else f"{fid}_{k}", url, auth) for k in reversed(range(count))]
        raise ValueError(f"assign still 503 after {ASSIGN_RETRIES} tries")

    async def _upload(self, url: str, fid: str, size: int, auth: str) -> int:
        cfg = self.config
        data = self._data
        headers: list[tuple[str, str]] = [("Authorization", auth)] if auth else []
        if cfg.upload == "raw":
            headers.append(("Content-Type", "application/octet-stream"))
            body = data[:size]
        else:
            headers.append(("Content-Type", f"multipart/form-data; boundary={self._boundary}"))
            body = self._mp_head + data[:size] + self._mp_tail
        r = await self.client.request("POST", url, "/" + fid, headers=headers, body=body, timeout=cfg.timeout)
        return r.status

    async def _delete(self, stats: PhaseStats, url: str, fid: str, auth: str) -> None:
        headers = [("Authorization", auth)] if auth else []
        try:
            r = await self.client.request(
                "DELETE", url, "/" + fid, headers=headers, timeout=self.config.timeout
            )
        except (HttpClientError, OSError, TimeoutError) as err:
            stats.fail(f"delete {fid}: {type(err).__name__}: {err}")
            return
        if r.status == 202:
            self._deleted += 1
        else:
            stats.fail(f"delete {fid}: HTTP {r.status}")

    # ---- read ----------------------------------------------------------------------------------

    async def _read_worker(self, stats: PhaseStats) -> None:
        written = self._written
        timeout = self.config.timeout
        while (i := self._take(stats.planned)) >= 0:
            item = written[i]
            t0 = time.perf_counter()
            try:
                locations = await self._lookup(_volume_id(item.fid))
                url = locations[0] if len(locations) == 1 else self._rng.choice(locations)
                r = await self.client.request("GET", url, "/" + item.fid, timeout=timeout)
            except (HttpClientError, OSError, TimeoutError, ValueError, KeyError) as err:
                stats.latencies.append(time.perf_counter() - t0)
                stats.fail(f"read {item.fid}: {type(err).__name__}: {err}")
                continue
            stats.latencies.append(time.perf_counter() - t0)
            if r.status != 200:
                stats.fail(f"read {item.fid} from {url}: HTTP {r.status}")
            elif len(r.body) != item.size:
                stats.fail(f"read {item.fid}: {len(r.body)} bytes, wrote {item.size}")
            else:
                stats.completed += 1
                stats.bytes += item.size

    async def _lookup(self, vid: str) -> list[str]:
        """Locations of a volume, asked once per volume; concurrent misses share one request."""
        fut = self._locations.get(vid)
        if fut is None:
            fut = asyncio.get_running_loop().create_future()
            self._locations[vid] = fut
            try:
                fut.set_result(await self._ask_lookup(vid))
            except BaseException as err:
                del self._locations[vid]
                fut.set_exception(err)
                fut.exception()  # retrieved here so a failure nobody else awaited is not logged
                raise
        return await fut

    async def _ask_lookup(self, vid: str) -> list[str]:
        cfg = self.config
        query = urlencode({"volumeId": vid, "collection": cfg.collection})
        r = await self.client.request("GET", cfg.master, "/dir/lookup?" + query, timeout=cfg.timeout)
        reply = json.loads(r.body)
        urls = [loc["url"] for loc in reply.get("locations") or []]
        if r.status != 200 or not urls:
            raise ValueError(f"lookup of volume {vid}: HTTP {r.status} {reply.get('error', '')}")
        return urls

    # ---- fid list ------------------------------------------------------------------------------

    def _save_list(self) -> None:
        if not self.config.list_file:
            return
        with open(self.config.list_file, "w") as f:
            f.writelines(f"{w.fid}\t{w.size}\n" for w in self._written)

    def _load_list(self) -> None:
        path = self.config.list_file
        if not path or not os.path.exists(path):
            raise BenchmarkError(f"-write=false needs the fid list of an earlier run (-list={path or '?'})")
        with open(path) as f:
            for line in f:
                fid, _, size = line.strip().partition("\t")
                if fid:
                    self._written.append(Written(fid, int(size or 0)))

    # ---- output --------------------------------------------------------------------------------

    def _print(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    async def _progress(self, stats: PhaseStats, t0: float) -> None:
        last_done, last_bytes, last_t = 0, 0, t0
        while True:
            await asyncio.sleep(1.0)
            now = time.perf_counter()
            done = stats.completed + stats.failed
            rate = (done - last_done) / (now - last_t)
            mbps = (stats.bytes - last_bytes) / (now - last_t) / 1e6
            pct = 100.0 * done / max(1, stats.planned)
            self._print(
                f"Completed {done} of {stats.planned} requests, {pct:.1f}% {rate:.1f}/s {mbps:.1f}MB/s"
            )
            last_done, last_bytes, last_t = done, stats.bytes, now

    def _report(self, stats: PhaseStats) -> None:
        s = stats.summary()
        lines = [
            f"Concurrency Level:      {self.config.concurrency}",
            f"Time taken for tests:   {stats.seconds:.3f} seconds",
            f"Completed requests:     {stats.completed}",
            f"Failed requests:        {stats.failed}",
            f"Total transferred:      {stats.bytes} bytes",
            f"Requests per second:    {s['req_per_s']:.2f} [#/sec]",
            f"Transfer rate:          {stats.bytes / max(stats.seconds, 1e-9) / 1024:.2f} [Kbytes/sec]",
            f"Client CPU per request: {s['client_cpu_us_per_req']:.1f} µs",
        ]
        lat = s.get("latency_ms")
        if lat:
            lines += [
                "",
                "Connection Times (ms)",
                "              min      avg        max",
                f"Total:        {lat['min']:<8.1f} {lat['avg']:<10.1f} {lat['max']:.1f}",
                "",
                "Percentage of the requests served within a certain time (ms)",
            ]
            lines += [f"   {p}%     {lat[f'p{p}']:.1f} ms" for p in PERCENTILES if p != 100]
            lines.append(f"  100%     {lat['max']:.1f} ms")
        for message in stats.errors:
            lines.append(f"error: {message}")
        self._print("\n".join(lines))


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _public_config(cfg: BenchConfig) -> dict[str, Any]:
    return {
        "master": cfg.master,
        "n": cfg.n,
        "size": cfg.size,
        "c": cfg.concurrency,
        "collection": cfg.collection,
        "replication": cfg.replication,
        "assign_batch": cfg.assign_batch,
        "upload": cfg.upload,
        "delete_percent": cfg.delete_percent,
    }
