"""A volume server killed with SIGKILL in the middle of a write burst loses no acknowledged write,
and comes back with consistent volume files.

A few writers upload a bounded burst of small random needles (raw POSTs, so the bytes are
stored as sent) into every volume of a one-server cluster; once enough writes have been
acknowledged the server gets SIGKILL. The tail of one written volume is then torn by hand, as a
crash during an append leaves it (half a needle record after the last one, and a partial last
`.idx` entry), and the server restarts on the same directory. Then:
* every write that got 201 reads back byte for byte, with the ETag it was acknowledged with;
* every `.dat` ends on a whole record (8-byte aligned), i.e. the torn tail was cut away;
* new writes land and read back, and everything still reads back after one more restart.
The other torn tail, a `.dat` cut inside the last record its `.idx` names, loses that record
only: it is not served, the others are, and new writes land on a whole-record boundary.
"""

from __future__ import annotations

import http.client
import os
import random
import struct
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import crc32c
import pytest

from ops.localcluster import LocalCluster, Node, VolumeSpec, http_call

from .conftest import ClusterFactory

BURST_NEEDLES = 2000
WRITERS = 4
ASSIGN_BATCH = 100  # fids per /dir/assign?count=: the burst spreads over several volumes
KILL_AFTER_ACKS = 800  # well inside the burst, so writes are in flight when the server dies
MAX_NEEDLE_BYTES = 4096
BURST_SECONDS = 120.0  # the whole burst on a loaded 2-core machine takes a few seconds
WRITER_STOP_SECONDS = 30.0  # writers notice the dead server at their next request
WRITE_TIMEOUT_SECONDS = 20.0  # one upload
TORN_RECORD_BYTES = 100  # written of a record that announces MAX_NEEDLE_BYTES: not 8-aligned
TORN_IDX_BYTES = 9  # of a 16- or 17-byte .idx entry
NEEDLE_ALIGNMENT = 8
CUT_NEEDLES = 20
RAW_UPLOAD = {"Content-Type": "application/octet-stream"}  # stored as sent: no multipart, no gzip


@dataclass
class Burst:
    """Shared by the writer threads: which fids are left, and what was acknowledged."""

    pending: list[tuple[str, bytes]]
    acked: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # fid -> (data, ETag)
    refused: list[str] = field(default_factory=list)  # non-201 answers while the server was up
    lock: threading.Lock = field(default_factory=threading.Lock)
    killed: threading.Event = field(default_factory=threading.Event)

    def take(self) -> tuple[str, bytes] | None:
        with self.lock:
            return self.pending.pop() if self.pending else None


def assign_fids(master: str, count: int, query: str = "") -> list[str]:
    """`count` fids from count= assigns; `query` adds assign parameters (`&replication=001`)."""
    fids: list[str] = []
    while len(fids) < count:
        assigned = http_call(master, "GET", f"/dir/assign?count={ASSIGN_BATCH}{query}")
        assert assigned.status == 200, assigned.body
        first = assigned.json()["fid"]
        fids += [first] + [f"{first}_{n}" for n in range(1, int(assigned.json()["count"]))]
    return fids[:count]


def writer(address: str, burst: Burst) -> None:
    host, _, port = address.rpartition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=WRITE_TIMEOUT_SECONDS)
    try:
        while (job := burst.take()) is not None:
            fid, data = job
            try:
                conn.request("POST", f"/{fid}", body=data, headers=RAW_UPLOAD)
                reply = conn.getresponse()
                reply.read()
            except (OSError, http.client.HTTPException):
                return  # the server is gone: this write's outcome is unknown, so it is not checked
            with burst.lock:
                if reply.status == 201:
                    burst.acked[fid] = (data, reply.getheader("Etag") or "")
                elif not burst.killed.is_set():
                    burst.refused.append(f"{fid}: {reply.status}")
    finally:
        conn.close()


def run_burst_and_kill(
    cluster: LocalCluster,
    volume: Node,
    *,
    needles: int = BURST_NEEDLES,
    kill_after: int = KILL_AFTER_ACKS,
    writers: int = WRITERS,
    assign_query: str = "",
) -> Burst:
    """Write a burst of random needles to `volume`; SIGKILL it once `kill_after` are acknowledged."""
    rng = random.Random(9)
    fids = assign_fids(cluster.master, needles, assign_query)
    burst = Burst([(fid, os.urandom(rng.randint(1, MAX_NEEDLE_BYTES))) for fid in fids])
    threads = [threading.Thread(target=writer, args=(volume.address, burst)) for _ in range(writers)]
    for thread in threads:
        thread.start()
    try:
        deadline = time.monotonic() + BURST_SECONDS
        while len(burst.acked) < kill_after:
            assert time.monotonic() < deadline, f"only {len(burst.acked)} writes acknowledged in time"
            assert any(t.is_alive() for t in threads), f"writers stopped early: {burst.refused[:5]}"
            time.sleep(0.01)
        burst.killed.set()
        cluster.kill(volume.name)  # SIGKILL, and reaped
    finally:
        burst.pending.clear()  # stop handing out work whatever happened
        for thread in threads:
            thread.join(WRITER_STOP_SECONDS)
    assert not any(t.is_alive() for t in threads), "a writer hung on the dead server"
    return burst


def tear_tail(data_dir: Path, vid: str) -> None:
    """What a crash in the middle of an append leaves: half a record, a partial .idx entry."""
    cookie, key = 0x01020304, 0x7FFFFFFF
    header = struct.pack(">IQII", cookie, key, MAX_NEEDLE_BYTES + 64, MAX_NEEDLE_BYTES)
    with (data_dir / f"{vid}.dat").open("ab") as dat:
        dat.write((header + os.urandom(TORN_RECORD_BYTES))[:TORN_RECORD_BYTES])
    with (data_dir / f"{vid}.idx").open("ab") as idx:
        idx.write(struct.pack(">Q", key) + b"\x00")


def assert_reads_back(address: str, acked: dict[str, tuple[bytes, str]], when: str) -> None:
    lost = []
    for fid, (data, etag) in acked.items():
        read = http_call(address, "GET", f"/{fid}")
        if (read.status, read.body, read.header("Etag")) != (200, data, etag):
            got = f"{read.status}, {len(read.body)} of {len(data)} bytes, ETag {read.header('Etag')}"
            lost.append(f"{fid}: {got}")
    assert not lost, f"{when}: {len(lost)} of {len(acked)} acknowledged writes do not read back: {lost[:10]}"


def assert_dat_tails_whole(data_dir: Path) -> None:
    ragged = {p.name: p.stat().st_size for p in data_dir.glob("*.dat") if p.stat().st_size % NEEDLE_ALIGNMENT}
    assert not ragged, f"volume files that do not end on a whole record: {ragged}"


@pytest.mark.parametrize("index", ["memory", "leveldb"])
def test_acknowledged_writes_survive_kill9(cluster_factory: ClusterFactory, index: str) -> None:
    # leveldb is kelp's persistent LMDB needle map: after the kill it must replay the .idx
    # entries it had not covered yet, and ignore the torn ones.
    cluster = cluster_factory(volumes=[VolumeSpec(extra_flags=(f"-index={index}",))])
    volume = cluster.volume_nodes[0]
    burst = run_burst_and_kill(cluster, volume)
    assert not burst.refused, f"writes refused while the server was up: {burst.refused[:10]}"
    assert KILL_AFTER_ACKS <= len(burst.acked) < BURST_NEEDLES, len(burst.acked)

    torn_vid = next(iter(burst.acked)).split(",")[0]
    tear_tail(volume.data_dir, torn_vid)
    cluster.restart(volume.name)
    assert_reads_back(volume.address, burst.acked, "after SIGKILL and restart")
    assert any(volume.data_dir.glob("*.ldb")) == (index == "leveldb")
    assert_dat_tails_whole(volume.data_dir)

    later = Burst([(fid, os.urandom(MAX_NEEDLE_BYTES // 2)) for fid in assign_fids(cluster.master, 50)])
    writer(volume.address, later)
    assert len(later.acked) == 50 and not later.refused, later.refused
    assert_reads_back(volume.address, later.acked, "written after the restart")

    cluster.restart(volume.name)
    assert_reads_back(volume.address, {**burst.acked, **later.acked}, "after a second restart")
    assert_dat_tails_whole(volume.data_dir)


def test_a_dat_cut_inside_its_last_record_is_repaired(cluster_factory: ClusterFactory) -> None:
    """The other torn tail: .idx names a record that the .dat holds only half of (the .dat write
    was lost). That needle cannot come back, but it must not come back wrong, and the volume
    must take new writes at a whole-record boundary."""
    cluster = cluster_factory()
    volume = cluster.volume_nodes[0]
    assigned = http_call(cluster.master, "GET", f"/dir/assign?count={CUT_NEEDLES}")
    assert assigned.status == 200, assigned.body
    first = assigned.json()["fid"]
    fids = [first] + [f"{first}_{n}" for n in range(1, CUT_NEEDLES)]
    needles = {fid: os.urandom(MAX_NEEDLE_BYTES) for fid in fids}
    for fid, data in needles.items():
        assert http_call(volume.address, "POST", f"/{fid}", data, RAW_UPLOAD).status == 201
    cluster.kill(volume.name)

    last_fid, last_data = list(needles.items())[-1]
    dat_path = volume.data_dir / f"{first.split(',')[0]}.dat"
    cut_at = dat_path.read_bytes().index(last_data) + len(last_data) // 2
    os.truncate(dat_path, cut_at)
    cluster.restart(volume.name)

    cut = http_call(volume.address, "GET", f"/{last_fid}")
    assert cut.status in (404, 500), (cut.status, cut.body[:100])
    survivors = {fid: (data, f'"{crc32c.crc32c(data):08x}"') for fid, data in needles.items()}
    del survivors[last_fid]
    assert_reads_back(volume.address, survivors, "after the .dat was cut")
    # New keys in the same volume (same cookie, keys past the batch), so they land on the repaired tail.
    later = Burst([(f"{first}_{CUT_NEEDLES + n}", os.urandom(100 + n)) for n in range(CUT_NEEDLES)])
    writer(volume.address, later)
    assert len(later.acked) == CUT_NEEDLES and not later.refused, later.refused
    cluster.restart(volume.name)
    assert_reads_back(volume.address, {**survivors, **later.acked}, "after writing on the repaired tail")
    assert_dat_tails_whole(volume.data_dir)
