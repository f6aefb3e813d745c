"""Cross-filer change lag: a PUT acknowledged by filer A until filer B's SubscribeMetadata
subscriber receives it, with three filers on one PostgreSQL database.

    python -m ops.bench.filer_cross_lag --writers 8 --puts 40 [--port-range 10000-10299]

Each subscriber runs in a process of its own (this module with `--subscribe`), so the figures are
the filers' and not this process's GIL: the integration test keeps its subscribers as threads next
to eight writer threads, and its first-second tail comes from that. Writers PUT through filer 0;
filers 1 and 2 each feed one subscriber. Prints p50/p99/max per subscriber and RESULT_JSON.
Makes and drops its database (KELP_PG_* settings, as tests/pgtest.py).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from ops.localcluster import REPO_ROOT, LocalCluster, VolumeSpec, http_call

PREFIX = "/lag/"
SETTLE_SECONDS = 3.0  # after the last ack, for the last events to arrive
READY_SECONDS = 30.0


def subscribe(grpc_port: int, out: Path, since_ns: int) -> None:
    """The subscriber process: one line per received entry, "name unix-seconds"."""
    import grpc
    from kelp_pb import weed_filer_pb2, weed_filer_pb2_grpc

    request = weed_filer_pb2.SubscribeMetadataRequest(client_name="lag-bench", path_prefix=PREFIX,
                                                       since_ns=since_ns, signature=1)
    with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel, out.open("w", buffering=1) as sink:
        sink.write("ready\n")
        for event in weed_filer_pb2_grpc.SeaweedFilerStub(channel).SubscribeMetadata(request):
            name = event.event_notification.new_entry.name
            if name:
                sink.write(f"{name} {time.time()}\n")


def percentile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--writers", type=int, default=8)
    ap.add_argument("--puts", type=int, default=40, help="PUTs per writer")
    ap.add_argument("--port-range", default="10000-10299")
    ap.add_argument("--subscribe", nargs=3, metavar=("GRPC_PORT", "OUT", "SINCE_NS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.subscribe:
        subscribe(int(args.subscribe[0]), Path(args.subscribe[1]), int(args.subscribe[2]))
        return 0
    sys.path.insert(0, str(REPO_ROOT))
    from tests.pgtest import create_database, drop_database, filer_toml, store_config

    low, high = (int(p) for p in args.port_range.split("-"))
    database = create_database()
    work = Path(tempfile.mkdtemp(prefix="kelp-lag-"))
    cluster = LocalCluster([VolumeSpec(max_volumes=20)], workdir=work / "cluster", port_range=(low, high),
                           filers=3, filer_store=filer_toml(store_config(database)))
    subscribers: list[subprocess.Popen[bytes]] = []
    try:
        cluster.start()
        nodes = cluster.filer_nodes
        since = time.time_ns()
        outs = [work / f"sub{i}.txt" for i in (1, 2)]
        for i, out in zip((1, 2), outs, strict=True):
            argv = [sys.executable, "-m", "ops.bench.filer_cross_lag", "--subscribe", str(nodes[i].grpc_port),
                    str(out), str(since)]
            subscribers.append(subprocess.Popen(argv, cwd=REPO_ROOT))
        deadline = time.monotonic() + READY_SECONDS
        while not all(o.exists() and o.read_text().startswith("ready") for o in outs):
            if time.monotonic() > deadline:
                raise RuntimeError("subscribers did not start")
            time.sleep(0.05)  # a poll with a deadline
        acks: dict[str, float] = {}

        def write(k: int) -> None:
            for j in range(args.puts):
                name = f"w{k}f{j}"
                reply = http_call(nodes[0].address, "PUT", f"{PREFIX}w{k}/{name}", b"x" * 2000)
                if reply.status not in (200, 201):
                    raise RuntimeError(f"PUT {name}: {reply.status}")
                acks[name] = time.time()

        threads = [threading.Thread(target=write, args=(k,)) for k in range(args.writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        time.sleep(SETTLE_SECONDS)  # the time the last events get, not a synchronisation
        result: dict[str, dict[str, float]] = {}
        for i, out in zip((1, 2), outs, strict=True):
            seen: dict[str, float] = {}
            for line in out.read_text().splitlines()[1:]:
                name, _, at = line.partition(" ")
                seen.setdefault(name, float(at))
            lags = sorted(seen[name] - at for name, at in acks.items() if name in seen)
            result[f"filer{i}"] = {"n": len(lags), "missing": len(acks) - len(lags),
                                   "p50_ms": round(percentile(lags, 0.5) * 1000, 2),
                                   "p99_ms": round(percentile(lags, 0.99) * 1000, 2),
                                   "max_ms": round(lags[-1] * 1000, 2)}
            print(f"filer{i} subscriber: {result[f'filer{i}']}")
        print("RESULT_JSON " + json.dumps(result))
        return 0
    finally:
        for process in subscribers:
            process.kill()
            process.wait()
        cluster.stop()
        drop_database(database)


if __name__ == "__main__":
    sys.exit(main())
