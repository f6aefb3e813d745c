"""`kelp benchmark`: weed benchmark's workload over the HTTP API (works against SeaweedFS too).

Parses weed-style flags, runs ops.bench.blob on uvloop, prints weed-like tables and, last, one
line `RESULT_JSON {...}` for scripts. Exit status 0 when nothing failed, 1 if any request
failed, 2 on a usage error.

Imports controlplane.shell.flags, ops.bench.blob and kelp_http only: no server code.
"""

from __future__ import annotations

import json
import sys

from controlplane.shell.flags import FlagSet, host_ports, parse_or_exit, positive
from kelp_http import run
from ops.bench.blob import REQUEST_TIMEOUT_S, BenchConfig, BenchmarkError, BlobBenchmark

SUMMARY = "write then read many small files over the HTTP API, weed-style"


def flag_set() -> FlagSet:
    fs = FlagSet(
        "benchmark", SUMMARY, example="kelp benchmark -master=127.0.0.1:9333 -n=100000 -size=1024 -c=16"
    )
    fs.string("master", "localhost:9333", "master HTTP address", check=host_ports)
    fs.integer("n", 1024 * 1024, "number of files to write (and read back)", minimum=1)
    fs.integer("size", 1024, "file size in bytes, plus 0..63 bytes of padding", minimum=0)
    fs.integer("c", 16, "number of concurrent writers / readers", minimum=1, maximum=4096)
    fs.string("collection", "benchmark", "collection to write into")
    fs.string("replication", "000", "replication type for the assigns")
    fs.string("ttl", "", "time to live of the written files, e.g. 3m, 1d")
    fs.string("disk", "", "disk type of the volumes to use (hdd, ssd, ...)")
    fs.string("dataCenter", "", "preferred data center of the volumes")
    fs.boolean("write", True, "run the write phase")
    fs.boolean("read", True, "run the read phase")
    fs.integer(
        "deletePercent", 0, "percent of written files deleted right after the write", minimum=0, maximum=100
    )
    fs.integer(
        "assignBatch", 1, "file ids reserved per /dir/assign (count=); 1 = one assign per file", minimum=1
    )
    fs.boolean("readSequentially", False, "read in write order instead of a random order")
    fs.string("upload", "multipart", "upload body form", choices=("multipart", "raw"))
    fs.string("list", "/tmp/benchmark_list.txt", "file of written fids (read from it when -write=false)")
    fs.number("timeout", REQUEST_TIMEOUT_S, "seconds before one request counts as failed", check=positive)
    fs.boolean("progress", True, "print a progress line every second")
    fs.boolean("warmup", True, "assign once before timing, so volume growth is not counted as a write")
    return fs


def main(argv: list[str]) -> int:
    flags = parse_or_exit(flag_set(), argv)
    config = BenchConfig(
        master=flags.text("master"),
        n=flags.integer("n"),
        size=flags.integer("size"),
        concurrency=flags.integer("c"),
        collection=flags.text("collection"),
        replication=flags.text("replication"),
        ttl=flags.text("ttl"),
        disk=flags.text("disk"),
        data_center=flags.text("dataCenter"),
        write=flags.boolean("write"),
        read=flags.boolean("read"),
        delete_percent=flags.integer("deletePercent"),
        assign_batch=flags.integer("assignBatch"),
        read_sequentially=flags.boolean("readSequentially"),
        upload=flags.text("upload"),
        list_file=flags.text("list"),
        timeout=flags.number("timeout"),
        progress=flags.boolean("progress"),
        warmup=flags.boolean("warmup"),
    )
    try:
        results = run(BlobBenchmark(config).run())
    except BenchmarkError as err:
        sys.stderr.write(f"kelp benchmark: {err.reason}\n")
        return 1
    sys.stdout.write("RESULT_JSON " + json.dumps(results) + "\n")
    failed = sum(results.get(phase, {}).get("failed", 0) for phase in ("write", "read"))
    return 1 if failed else 0
