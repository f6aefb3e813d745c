"""Micro-benchmark of kelp_http's server: server CPU µs per request for a trivial handler under wrk.

Starts a child process serving a trivial handler (GET answers --size bytes, POST reads the body and
answers a small JSON), drives it with ``wrk`` (16 keep-alive connections, 1 thread), and reports req/s and the
child's CPU time per request read from /proc. Usage:

    python -m ops.bench.http_server [--port 25100] [--seconds 5] [--connections 16]

Imports kelp_http only (and the standard library); it is a measuring tool, not part of a server.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

# Ticks per second for /proc/PID/stat utime/stime.
_CLK_TCK = os.sysconf("SC_CLK_TCK")
# How long to wait for the child server to listen before giving up.
_START_TIMEOUT_S = 10.0

_CHILD = """
import asyncio, sys
from kelp_http import Response, json_response, run, start_server
BODY = b"x" * int(sys.argv[2])
async def handler(req):
    if req.method == "POST":
        return json_response({"name": "n", "size": len(req.body), "eTag": "00000000"}, status=201)
    return Response(200, [("Content-Type", "application/octet-stream"), ("Etag", '"00000000"')], BODY)
async def main():
    server = await start_server(handler, "127.0.0.1", int(sys.argv[1]), server_header="kelp")
    print("ready", flush=True)
    await asyncio.Event().wait()
run(main())
"""

_POST_LUA = 'wrk.method = "POST"\nwrk.body = string.rep("x", {size})\n'


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK


def _wrk(url: str, seconds: float, connections: int, script: str | None) -> dict[str, float]:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency"]
    if script:
        cmd += ["-s", script]
    out = subprocess.run([*cmd, url], check=True, capture_output=True, text=True).stdout
    total = re.search(r"(\d+) requests in", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    if not total or not rps:
        raise RuntimeError(f"cannot parse wrk output:\n{out}")
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}
    return {
        "requests": float(total.group(1)),
        "rps": float(rps.group(1)),
        "p50_ms": float(p50.group(1)) * scale[p50.group(2)] if p50 else -1.0,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=25100)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--size", type=int, default=1024, help="GET reply and POST body size in bytes")
    args = ap.parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk not found (apt-get install -y wrk)", file=sys.stderr)
        return 2
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(args.port), str(args.size)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    results: dict[str, dict[str, float]] = {}
    try:
        assert child.stdout is not None
        deadline = time.monotonic() + _START_TIMEOUT_S
        if child.stdout.readline().strip() != "ready" or time.monotonic() > deadline:
            raise RuntimeError("server child did not start")
        url = f"http://127.0.0.1:{args.port}/3,01637037d6"
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
            lua.write(_POST_LUA.format(size=args.size))
        try:
            for name, script in ((f"get_{args.size}", None), (f"post_{args.size}", lua.name)):
                before = _cpu_seconds(child.pid)
                r = _wrk(url, args.seconds, args.connections, script)
                r["server_cpu_us_per_req"] = (_cpu_seconds(child.pid) - before) / r["requests"] * 1e6
                results[name] = r
                print(
                    f"{name}: {r['rps']:,.0f} req/s  p50 {r['p50_ms']:.2f} ms  "
                    f"server CPU {r['server_cpu_us_per_req']:.1f} µs/req"
                )
        finally:
            os.unlink(lua.name)
    finally:
        child.kill()
        child.wait()
    print("RESULT_JSON " + json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
