"""A needle whose stored bytes rotted on disk is reported as an error, never served as good data.

Twenty random needles are written to one volume; with the server stopped, one byte in the
middle of one needle's data is flipped in the `.dat` (found by searching for the data, so the
test does not depend on the record layout); after a restart, GET of that needle gets 500 (the
CRC32-C check fails) whole or ranged, HEAD does too, and every other needle still reads back
byte for byte. SeaweedFS 4.48 answers the same reads with 500 (and an empty body).
"""

from __future__ import annotations

import os
import signal

from ops.localcluster import http_call

from .conftest import ClusterFactory

NEEDLES = 20
NEEDLE_BYTES = 4096
FLIP_AT = 1000  # inside the data, far from the record's header and checksum
VICTIM = 7  # which of the needles rots
RAW_UPLOAD = {"Content-Type": "application/octet-stream"}  # stored as sent: no multipart, no gzip


def test_a_flipped_byte_is_an_error_not_data(cluster_factory: ClusterFactory) -> None:
    cluster = cluster_factory()
    volume = cluster.volume_nodes[0]
    assigned = http_call(cluster.master, "GET", f"/dir/assign?count={NEEDLES}")
    assert assigned.status == 200, assigned.body
    first = assigned.json()["fid"]
    needles = {(first if n == 0 else f"{first}_{n}"): os.urandom(NEEDLE_BYTES) for n in range(NEEDLES)}
    for fid, data in needles.items():
        written = http_call(volume.address, "POST", f"/{fid}", data, RAW_UPLOAD)
        assert written.status == 201, written.body

    cluster.kill(volume.name, signal.SIGTERM)
    victim, victim_data = list(needles.items())[VICTIM]
    dat_path = volume.data_dir / f"{first.split(',')[0]}.dat"
    dat = bytearray(dat_path.read_bytes())
    at = dat.index(victim_data) + FLIP_AT
    dat[at] ^= 0xFF
    dat_path.write_bytes(dat)
    cluster.restart(volume.name)

    for headers in ({}, {"Range": f"bytes={FLIP_AT - 10}-{FLIP_AT + 10}"}, {"Range": "bytes=0-9"}):
        read = http_call(volume.address, "GET", f"/{victim}", headers=headers)
        assert read.status == 500, (headers, read.status, read.body[:200])
        assert bytes(dat[at - 10 : at + 10]) not in read.body
    assert http_call(volume.address, "HEAD", f"/{victim}").status == 500

    for fid, data in needles.items():
        if fid != victim:
            read = http_call(volume.address, "GET", f"/{fid}")
            assert (read.status, read.body) == (200, data), fid
    assert cluster.nodes[volume.name].running()
