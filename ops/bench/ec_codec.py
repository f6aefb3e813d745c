"""Erasure-coding benchmark: the raw Reed-Solomon codec (ISA-L and NumPy backends), then kelp's
`encode_volume` against weed 4.48's `ec.encode` on the same volume, plus kelp reading every
needle with 4 shards gone and rebuilding those 4 shards.

    python -m ops.bench.ec_codec --size-mib 1024 --runs 2 [--port-range 11300-11999] [--json out.json]
    python -m ops.bench.ec_codec --codec-only --codec-shard-kib 4 64 1024 4096

The codec figures are one thread (one core), MB/s of data-shard bytes in per call (10 x the shard
length), for shards of --codec-shard-kib each (default 4 MiB, encode_volume's buffer); ISA-L's
own erasure_code_perf counts data + parity (14 x) for encode and data + recovered for decode.

The volume (random needles of 4 KiB-1 MiB) is written once with kelp's engine; each run copies
it to a fresh directory for kelp and for weed (a `weed master` + `weed volume` on that copy,
`weed shell` `lock; ec.encode -volumeId=N -force`), alternating which goes first. weed's time is
the shell command's wall time (it includes marking the volume read-only, mounting the shards
and deleting the source, a second or less); kelp's is encode_volume (which also fsyncs the
shards). Both read a `.dat` that is in the page cache. Prints a table and RESULT_JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from dataplane.volume.engine.ec.codec import ReedSolomon
from dataplane.volume.engine.ec.ec_volume import EcVolume
from dataplane.volume.engine.ec.encoder import encode_volume
from dataplane.volume.engine.ec.errors import EcBackendUnavailable
from dataplane.volume.engine.ec.geometry import shard_ext
from dataplane.volume.engine.ec.rebuild import rebuild_shards
from dataplane.volume.engine.idx import IdxFormat
from dataplane.volume.engine.needle import Needle
from dataplane.volume.engine.types import ReplicaPlacement, Ttl, VolumeId
from dataplane.volume.engine.volume import Volume
from ops.localcluster import VolumeSpec, WeedCluster

VID = 9
FMT = IdxFormat(True)
MIB = 1 << 20
LOST = (0, 3, 10, 12)


def bench_codec(backend: str, shard_bytes: int, seconds: float) -> dict[str, float]:
    """Encode and 4-loss reconstruct throughput, MB/s of data shards processed."""
    rs = ReedSolomon(backend=backend)
    rng = np.random.default_rng(1)
    data = [rng.integers(0, 256, shard_bytes, dtype=np.uint8) for _ in range(10)]
    parity = [np.empty(shard_bytes, dtype=np.uint8) for _ in range(4)]
    rs.encode(data, parity)
    shards = dict(enumerate(data + parity))
    present = {i: a for i, a in shards.items() if i not in LOST}
    outs = [np.empty(shard_bytes, dtype=np.uint8) for _ in LOST]
    result: dict[str, float] = {}
    for name in ("encode_MBps", "reconstruct4_MBps"):
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            if name == "encode_MBps":
                rs.encode(data, parity)
            else:
                rs.reconstruct(present, list(LOST), outs)
            n += 1
        result[name] = n * 10 * shard_bytes / (time.perf_counter() - start) / 1e6
    return result


def make_volume(directory: Path, size: int) -> dict[int, tuple[int, int]]:
    """key -> (cookie, data length) of a volume of about `size` bytes."""
    rng = random.Random(7)
    v = Volume.create(str(directory), "", VolumeId(VID), ReplicaPlacement(), Ttl(), fmt=FMT)
    blob = os.urandom(2 * MIB)
    needles: dict[int, tuple[int, int]] = {}
    key = 0
    while v.size < size:
        key += 1
        length = rng.randint(4096, MIB)
        start = rng.randrange(0, MIB)
        cookie = rng.getrandbits(32)
        v.write(Needle.for_upload(cookie, key, blob[start:start + length], name=b"b.bin"))
        needles[key] = (cookie, length)
    v.close()
    return needles


def weed_encode(source: Path, workdir: Path) -> float:
    directory = workdir / "weed"
    shutil.copytree(source, directory)
    cluster = WeedCluster(volumes=[VolumeSpec(dir=str(directory), max_volumes=4)],
                          workdir=str(workdir / "wc"))
    cluster.start()
    try:
        start = time.perf_counter()
        proc = subprocess.run([WeedCluster.binary(), "shell", f"-master={cluster.master}"],
                              input=f"lock\nec.encode -volumeId={VID} -force\nunlock\nexit\n",
                              capture_output=True, text=True, timeout=600, cwd=cluster.config_dir)
        elapsed = time.perf_counter() - start
    finally:
        cluster.stop()
    if proc.returncode != 0 or not (directory / f"{VID}.ec13").exists():
        raise RuntimeError(f"weed ec.encode failed:\n{proc.stdout}\n{proc.stderr}")
    return elapsed


def kelp_encode(source: Path, workdir: Path) -> tuple[float, Path]:
    directory = workdir / "kelp"
    shutil.copytree(source, directory)
    start = time.perf_counter()
    encode_volume(str(directory / str(VID)), fmt=FMT)
    return time.perf_counter() - start, directory


def kelp_reads_and_rebuild(directory: Path, needles: dict[int, tuple[int, int]]) -> dict[str, float]:
    for shard in LOST:
        os.unlink(directory / f"{VID}{shard_ext(shard)}")
    with EcVolume(VID, "", [str(directory)], fmt=FMT) as ev:
        start = time.perf_counter()
        for key, (cookie, length) in needles.items():
            if len(ev.read_needle(key, cookie).data) != length:
                raise RuntimeError(f"needle {key} read back wrong")
        read_s = time.perf_counter() - start
    start = time.perf_counter()
    rebuild_shards(str(VID), [str(directory)], volume_id=VID)
    rebuild_s = time.perf_counter() - start
    return {"read_all_4_lost_needles_per_s": len(needles) / read_s, "read_all_4_lost_s": read_s,
            "rebuild_4_shards_s": rebuild_s}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mib", type=int, default=1024, help="volume size to encode")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--codec-seconds", type=float, default=2.0)
    parser.add_argument("--codec-shard-kib", type=int, nargs="+", default=[4096],
                        help="shard lengths for the raw codec figures (the first is results['codec'])")
    parser.add_argument("--codec-only", action="store_true", help="only the raw codec figures")
    parser.add_argument("--port-range", default="", help="KELP_PORT_RANGE for the weed processes")
    parser.add_argument("--no-weed", action="store_true", help="skip weed (kelp only)")
    parser.add_argument("--json", default="", help="also write the results here")
    args = parser.parse_args(argv)
    if args.port_range:
        os.environ["KELP_PORT_RANGE"] = args.port_range
    results: dict[str, Any] = {"codec": {}, "codec_by_shard_kib": {}, "size_mib": args.size_mib}
    for backend in ("isal", "numpy"):
        by_size: dict[int, dict[str, Any]] = {}
        for kib in args.codec_shard_kib:
            try:
                by_size[kib] = dict(bench_codec(backend, kib * 1024, args.codec_seconds))
            except EcBackendUnavailable as err:
                by_size[kib] = {"error": str(err)}
            print(f"codec {backend:5s} shards of {kib:6d} KiB {by_size[kib]}", flush=True)
        results["codec"][backend] = by_size[args.codec_shard_kib[0]]
        results["codec_by_shard_kib"][backend] = by_size
    if args.codec_only:
        print("RESULT_JSON " + json.dumps(results))
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2))
        return 0
    root = Path(tempfile.mkdtemp(prefix="ec-bench-", dir=os.environ.get("KELP_TMPDIR") or None))
    try:
        source = root / "source"
        source.mkdir()
        needles = make_volume(source, args.size_mib * MIB)
        dat_size = (source / f"{VID}.dat").stat().st_size
        results |= {"dat_bytes": dat_size, "needles": len(needles)}
        kelp_s: list[float] = []
        weed_s: list[float] = []
        extra: list[dict[str, float]] = []
        for run in range(args.runs):
            order = ("kelp", "weed") if run % 2 == 0 else ("weed", "kelp")
            for system in order:
                workdir = root / f"run{run}-{system}"
                workdir.mkdir()
                if system == "kelp":
                    seconds, directory = kelp_encode(source, workdir)
                    kelp_s.append(seconds)
                    extra.append(kelp_reads_and_rebuild(directory, needles))
                elif not args.no_weed:
                    weed_s.append(weed_encode(source, workdir))
                shutil.rmtree(workdir)
                print(f"run {run} {system}: kelp {kelp_s} weed {weed_s}", flush=True)
        results["kelp_encode_s"] = kelp_s
        results["weed_encode_s"] = weed_s
        results["kelp_read_rebuild"] = extra
    finally:
        shutil.rmtree(root, ignore_errors=True)
    mb = dat_size / 1e6
    print(f"\n{'':28s}{'median s':>10s}{'MB/s':>10s}")
    for name, times in (("kelp encode_volume", kelp_s), ("weed shell ec.encode", weed_s)):
        if times:
            med = statistics.median(times)
            print(f"{name:28s}{med:10.2f}{mb / med:10.0f}")
    if extra:
        print(f"kelp read every needle, 4 shards lost: "
              f"{statistics.median(e['read_all_4_lost_needles_per_s'] for e in extra):.0f} needles/s; "
              f"rebuild 4 shards: {statistics.median(e['rebuild_4_shards_s'] for e in extra):.2f} s")
    print("RESULT_JSON " + json.dumps(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
