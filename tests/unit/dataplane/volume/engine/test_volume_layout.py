"""A kelp-written volume parsed from its raw bytes with nothing but the documented offset tables."""

from __future__ import annotations

import json
import struct

from crc32c import crc32c

from dataplane.volume.engine.idx import IdxFormat
from dataplane.volume.engine.types import ReplicaPlacement, Ttl

from .builders import upload
from .conftest import VolumeFactory


def test_dat_idx_vif_bytes(make_volume: VolumeFactory) -> None:
    v = make_volume(IdxFormat(True), vid=12, collection="c1", rp=ReplicaPlacement.parse("010"),
                    ttl=Ttl.parse("2w"))
    v.write(upload(0x0102, b"payload!", name=b"p.txt", mime=b"text/x", last_modified=1600000000,
                   pairs=b'{"K":"v"}'))
    v.delete(0x0102, 0x12345678)
    assert v.base.endswith("/c1_12")
    with open(v.base + ".dat", "rb") as f:
        dat = f.read()
    with open(v.base + ".idx", "rb") as f:
        idx = f.read()
    with open(v.base + ".vif") as f:
        vif_text = f.read()

    assert dat[:8] == bytes([3, 10, 2, 4, 0, 0, 0, 0])  # v3, "010", 2 weeks, revision 0, no extra

    cookie, key, size = struct.unpack_from(">IQI", dat, 8)
    assert (cookie, key) == (0x12345678, 0x0102)
    data_size = struct.unpack_from(">I", dat, 8 + 16)[0]
    assert dat[8 + 20 : 8 + 20 + data_size] == b"payload!"
    p = 8 + 20 + data_size
    flags = dat[p]
    # name, mime, last-modified, TTL (from the volume), pairs
    assert flags == 0x02 | 0x04 | 0x08 | 0x10 | 0x20
    assert dat[p + 1] == 5 and dat[p + 2 : p + 7] == b"p.txt"
    assert dat[p + 7] == 6 and dat[p + 8 : p + 14] == b"text/x"
    assert dat[p + 14 : p + 19] == (1600000000).to_bytes(5, "big")
    assert dat[p + 19 : p + 21] == bytes([2, 4])
    assert dat[p + 21 : p + 23] == (9).to_bytes(2, "big") and dat[p + 23 : p + 32] == b'{"K":"v"}'
    assert p + 32 == 8 + 16 + size
    crc, ns = struct.unpack_from(">IQ", dat, 8 + 16 + size)
    assert crc == crc32c(b"payload!") and ns > 0
    first_len = 16 + size + 12 + (8 - (16 + size + 12) % 8)
    second = 8 + first_len
    assert len(dat) == second + 32
    assert struct.unpack_from(">IQIIQ", dat, second) == (0x12345678, 0x0102, 0, crc,
                                                         struct.unpack_from(">Q", dat, second + 20)[0])
    assert struct.unpack_from(">Q", dat, second + 20)[0] > ns

    assert len(idx) == 34
    key_bytes = (0x0102).to_bytes(8, "big")
    assert idx[:17] == key_bytes + (1).to_bytes(4, "big") + b"\x00" + size.to_bytes(4, "big")
    assert idx[17:] == ((0x0102).to_bytes(8, "big") + (second // 8).to_bytes(4, "big") + b"\x00"
                        + b"\xff\xff\xff\xff")

    vif = json.loads(vif_text)
    assert vif["bytesOffset"] == 5 and vif["version"] == 3 and vif["readOnly"] is False
    assert int(vif["expireAtSec"]) > 0 and vif["datFileSize"] == "0"
    assert vif_text.startswith('{\n  "files":  [],\n  "version":  3,\n')
    v.close()
