"""fs.configure over a fake filer.conf: printing, simulation vs -apply, merging into a prefix's
rule, -delete, explicit -readOnly=false, weed's option checks, and the admin lock hook."""

from __future__ import annotations

import asyncio
import io
import json

from controlplane.shell.env import ShellEnv
from controlplane.shell.fs_configure import SIMULATION_NOTE, FsConfigure
from controlplane.shell.master_pool import MasterPool
from controlplane.shell.registry import Registry
from controlplane.shell.session import Session
from tests.unit.controlplane.shell.fake_masters import FakeCluster
from tests.unit.controlplane.shell.test_cluster_commands import FakeLock


class FakeConfFile:
    def __init__(self, content: bytes = b"") -> None:
        self.content = content
        self.writes = 0

    async def read(self) -> bytes:
        return self.content

    async def write(self, content: bytes) -> None:
        self.content = content
        self.writes += 1


def run(conf: FakeConfFile, script: str, lock: FakeLock | None = None) -> tuple[bool, str, str]:
    out, err = io.StringIO(), io.StringIO()
    masters = MasterPool(["m1:9333"], FakeCluster(["m1:9333"], leader="m1:9333").connect)
    registry = Registry([FsConfigure(conf)])
    session = Session(registry, ShellEnv(masters, out, admin_lock=lock), err=err)
    ok = asyncio.run(session.run_script(script))
    return ok, out.getvalue(), err.getvalue()


def printed(out: str) -> dict[str, object]:
    return json.loads(out[out.index("{"):])


def test_prints_the_current_configuration() -> None:
    conf = FakeConfFile(b'{"locations":[{"locationPrefix":"/a/","collection":"x"}]}')
    ok, out, err = run(conf, "fs.configure")
    assert ok and err == "" and SIMULATION_NOTE not in out
    assert printed(out)["locations"][0]["collection"] == "x"  # type: ignore[index]
    assert conf.writes == 0
    ok, out, _ = run(FakeConfFile(), "fs.configure")
    assert ok and printed(out) == {"version": 1, "locations": []}


def test_simulation_then_apply_then_delete() -> None:
    conf = FakeConfFile()
    ok, out, _ = run(conf, "fs.configure -locationPrefix=/my/ -collection=abc -ttl=7d")
    assert ok and out.startswith(SIMULATION_NOTE) and conf.writes == 0
    rule = printed(out)["locations"][0]  # type: ignore[index]
    assert (rule["locationPrefix"], rule["collection"], rule["ttl"]) == ("/my/", "abc", "7d")
    lock = FakeLock(held=True)
    ok, out, _ = run(conf, "fs.configure -locationPrefix=/my/ -collection=abc -apply", lock=lock)
    assert ok and SIMULATION_NOTE not in out and conf.writes == 1 and lock.asked == ["fs.configure"]
    # another option merges into the same rule
    assert run(conf, "fs.configure -locationPrefix=/my/ -replication=001 -readOnly -apply")[0]
    rule = json.loads(conf.content)["locations"][0]
    assert (rule["collection"], rule["replication"], rule["readOnly"]) == ("abc", "001", True)
    assert run(conf, "fs.configure -locationPrefix=/my/ -readOnly=false -apply")[0]
    assert json.loads(conf.content)["locations"][0]["readOnly"] is False
    assert run(conf, "fs.configure -locationPrefix=/my/ -delete -apply")[0]
    assert json.loads(conf.content)["locations"] == []


def test_refused_without_the_lock() -> None:
    conf = FakeConfFile()
    ok, _, err = run(conf, "fs.configure -locationPrefix=/x/ -collection=c -apply", lock=FakeLock(held=False))
    assert not ok and "admin lock is not held" in err and conf.writes == 0


def test_option_checks() -> None:
    conf = FakeConfFile()
    ok, _, err = run(conf, "fs.configure -locationPrefix=/buckets/b/ -collection=c")
    assert not ok and "one s3 bucket goes to one collection" in err
    ok, _, err = run(conf, "fs.configure -locationPrefix=/x/ -replication=001 -volumeGrowthCount=3")
    assert not ok and "volumeGrowthCount 3 should be divided by replication copy count 2" in err
    ok, _, err = run(conf, "fs.configure -locationPrefix=/x/ -ttl=300d")
    assert not ok and "ttl should be of the following format" in err
    ok, _, err = run(conf, "fs.configure -locationPrefix=/x/ -replication=0x1")
    assert not ok and "parse replication 0x1" in err
    assert conf.writes == 0
    ok, _, err = run(FakeConfFile(b"{broken"), "fs.configure")
    assert not ok and "parse /etc/seaweedfs/filer.conf" in err
