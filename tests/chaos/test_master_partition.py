"""A leader cut off from the other masters never answers an assign once another master can
lead, and after healing all three converge to the same applied state.

Network namespaces made by this test: a hub namespace holding a bridge, and one namespace per
master and one for the volume server, each joined to the hub by a veth pair (addresses exist
only inside those namespaces). The leader is cut off by taking its veth end in the hub down.
A probe process in each master's namespace calls /dir/assign on that master every 20 ms and
/cluster/status every 50 ms, and writes what it saw with wall-clock times (one clock for all
namespaces), so the isolated side's answers can be set against the new leader's election.
Needs root and `ip netns`; skipped otherwise.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ops.localcluster import REPO_ROOT, port_range_from_env

SUBNET = "10.77.{n}.{host}"
DEADLINE_SECONDS = 40.0
PARTITION_SECONDS = 3.0  # isolated long enough for an election and many refused assigns

PROBE = r"""
import json, sys, time, urllib.request, os
address, out, stop = sys.argv[1], sys.argv[2], sys.argv[3]
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
def get(path, timeout):
    try:
        with opener.open(f"http://{address}{path}", timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, None
    except Exception as e:
        return 0, None
next_status = 0.0
with open(out, "a") as f:
    while not os.path.exists(stop):
        t = time.time()
        code, body = get("/dir/assign", 1.0)
        f.write(json.dumps({"t": t, "done": time.time(), "kind": "assign", "code": code,
                            "fid": (body or {}).get("fid")}) + "\n")
        if time.time() >= next_status:
            next_status = time.time() + 0.05
            code, s = get("/cluster/status", 1.0)
            if code == 200:
                f.write(json.dumps({"t": time.time(), "kind": "status", "leader": bool(s.get("IsLeader")),
                                    "term": s.get("Term"), "index": s.get("EventIndex"),
                                    "digest": s.get("StateDigest")}) + "\n")
        f.flush()
        time.sleep(0.02)
"""


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


def netns_available() -> bool:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        return False
    name = f"kelpchk{uuid.uuid4().hex[:6]}"
    try:
        ip("netns", "add", name)
    except (subprocess.SubprocessError, OSError):
        return False
    ip("netns", "del", name)
    return True


class Net:
    """The hub and one namespace per member, named with a random tag so parallel runs differ."""

    def __init__(self, members: list[str]) -> None:
        tag = uuid.uuid4().hex[:5]
        self.subnet = 100 + int(tag, 16) % 100
        self.hub = f"kh{tag}"
        self.ns = {m: f"k{tag}{i}" for i, m in enumerate(members)}
        self.ip = {m: SUBNET.format(n=self.subnet, host=i + 1) for i, m in enumerate(members)}
        self.hub_end = {m: f"h{tag}{i}" for i, m in enumerate(members)}
        self.created: list[str] = []

    def up(self) -> None:
        ip("netns", "add", self.hub)
        self.created.append(self.hub)
        ip("-n", self.hub, "link", "add", "br0", "type", "bridge")
        ip("-n", self.hub, "link", "set", "br0", "up")
        for member, ns in self.ns.items():
            ip("netns", "add", ns)
            self.created.append(ns)
            ip("-n", ns, "link", "set", "lo", "up")
            hub_end = self.hub_end[member]
            ip("-n", self.hub, "link", "add", hub_end, "type", "veth", "peer", "name", "eth0", "netns", ns)
            ip("-n", self.hub, "link", "set", hub_end, "master", "br0")
            ip("-n", self.hub, "link", "set", hub_end, "up")
            ip("-n", ns, "addr", "add", f"{self.ip[member]}/24", "dev", "eth0")
            ip("-n", ns, "link", "set", "eth0", "up")

    def cut(self, member: str) -> None:
        ip("-n", self.hub, "link", "set", self.hub_end[member], "down")

    def heal(self, member: str) -> None:
        ip("-n", self.hub, "link", "set", self.hub_end[member], "up")

    def down(self) -> None:
        for ns in reversed(self.created):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=10)


def records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        with contextlib.suppress(ValueError):  # a line being written
            out.append(json.loads(line))
    return out


def poll(what: str, check: Callable[[], bool], seconds: float = DEADLINE_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"no {what} within {seconds} s"
        time.sleep(0.05)


@pytest.fixture
def workdir() -> Iterator[Path]:
    base = os.environ.get("KELP_TMPDIR") or None
    if base:
        os.makedirs(base, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="kelp-partition-", dir=base))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.skipif(not netns_available(), reason="needs root and ip netns")
def test_an_isolated_leader_never_answers_an_assign_after_a_new_leader_is_elected(workdir: Path) -> None:
    masters = ["m0", "m1", "m2"]
    net = Net([*masters, "vol"])
    low, _ = port_range_from_env()
    port = low + 300
    addr = {m: f"{net.ip[m]}:{port}" for m in masters}
    peers = ",".join(addr[m] for m in masters)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "proto")])
    env["PYTHONUNBUFFERED"] = "1"
    procs: dict[str, subprocess.Popen[bytes]] = {}
    stop_file = workdir / "stop"
    probe = workdir / "probe.py"
    probe.write_text(PROBE)
    out = {m: workdir / f"probe-{m}.jsonl" for m in masters}

    def spawn(name: str, ns: str, argv: list[str]) -> None:
        log = (workdir / f"{name}.log").open("ab")
        procs[name] = subprocess.Popen(["ip", "netns", "exec", ns, *argv], env=env, cwd=workdir,
                                       stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def status(m: str) -> dict[str, Any] | None:
        got = [r for r in records(out[m]) if r["kind"] == "status"]
        return got[-1] if got else None

    try:
        net.up()
        kelp = [sys.executable, "-m", "ops.cli.main"]
        for m in masters:
            spawn(m, net.ns[m], [*kelp, "master", f"-ip={net.ip[m]}", f"-port={port}",
                                 f"-mdir={workdir / m}", f"-peers={peers}", "-pulseSeconds=1"])
        (workdir / "vol").mkdir(exist_ok=True)
        spawn("vol", net.ns["vol"], [*kelp, "volume", f"-ip={net.ip['vol']}", f"-port={port + 1}",
                                     f"-dir={workdir / 'vol'}", "-max=8", f"-master={peers}",
                                     "-pulseSeconds=1"])
        for m in masters:
            spawn(f"probe-{m}", net.ns[m], [sys.executable, str(probe), addr[m], str(out[m]), str(stop_file)])

        def all_ok() -> bool:
            return all(
                any(r["kind"] == "assign" and r["code"] == 200 for r in records(out[m])) for m in masters
            )

        poll("assigns answered through every master", all_ok, 60)

        def current_leader() -> str | None:
            # The probes write status lines on their own schedule: wait for one naming the leader.
            return next((m for m in masters if (s := status(m)) and s["leader"]), None)

        poll("a probe's status naming the leader", lambda: current_leader() is not None)
        leader = current_leader()
        assert leader is not None
        old_term = status(leader)["term"]  # type: ignore[index]
        others = [m for m in masters if m != leader]

        cut_at = time.time()
        net.cut(leader)

        def new_leader() -> str | None:
            for m in others:
                for r in records(out[m]):
                    if r["kind"] == "status" and r["leader"] and r["t"] > cut_at and r["term"] > old_term:
                        return m
            return None

        poll("a new leader", lambda: new_leader() is not None)
        successor = new_leader()
        assert successor is not None
        elected_seen = min(r["t"] for r in records(out[successor])
                           if r["kind"] == "status" and r["leader"] and r["t"] > cut_at)
        first_new_assign = min(r["done"] for r in records(out[successor])
                               if r["kind"] == "assign" and r["code"] == 200 and r["t"] > cut_at)
        # Keep the old leader cut off a while, so it has every chance to answer wrongly.
        poll("the isolation period", lambda: time.time() > cut_at + PARTITION_SECONDS)
        isolated = [r for r in records(out[leader]) if r["kind"] == "assign" and r["t"] >= cut_at]
        answered = [r for r in isolated if r["code"] == 200]
        refused = [r for r in isolated if r["code"] != 200]
        last_answer = max((r["done"] for r in answered), default=cut_at)
        print(f"\ncut at 0; old leader's last assign answer {last_answer - cut_at:+.3f} s "
              f"({len(answered)} answered after the cut, {len(refused)} refused); "
              f"new leader seen {elected_seen - cut_at:+.3f} s; "
              f"first assign from the new leader {first_new_assign - cut_at:+.3f} s")
        assert refused, "the isolated master was never asked"
        assert last_answer < elected_seen, "the isolated old leader answered an assign after the election"
        late = [r for r in answered if r["done"] >= elected_seen]
        assert not late
        stale = status(leader)
        assert stale is not None and not stale["leader"]

        net.heal(leader)

        def converged() -> bool:
            latest = [status(m) for m in masters]
            if any(s is None or s["t"] < time.time() - 1 for s in latest):
                return False
            keys = {(s["index"], s["digest"]) for s in latest if s}
            return len(keys) == 1 and sum(bool(s and s["leader"]) for s in latest) == 1

        poll("convergence after healing", converged)
        fids = [r["fid"] for m in masters for r in records(out[m]) if r["kind"] == "assign" and r["fid"]]
        assert len(set(fids)) == len(fids), "a fid was handed out twice"
    finally:
        stop_file.touch()
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(timeout=12)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        net.down()
