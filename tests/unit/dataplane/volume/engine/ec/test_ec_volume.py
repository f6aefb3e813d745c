"""A kelp volume encoded, read from shards (with every 4-shard loss), deleted from,
rebuilt across directories and decoded back."""

from __future__ import annotations

import itertools
import os
import random
import shutil
from pathlib import Path

import numpy as np
import pytest

from dataplane.volume.engine.ec import ec_volume
from dataplane.volume.engine.ec.codec import ReedSolomon
from dataplane.volume.engine.ec.decoder import decode_volume
from dataplane.volume.engine.ec.ec_volume import EcVolume
from dataplane.volume.engine.ec.encoder import LEGACY, encode_volume
from dataplane.volume.engine.ec.errors import TooFewShards
from dataplane.volume.engine.ec.geometry import Layout, shard_ext
from dataplane.volume.engine.ec.info import ec_config
from dataplane.volume.engine.ec.rebuild import rebuild_shards
from dataplane.volume.engine.errors import CookieMismatch, NeedleNotFound
from dataplane.volume.engine.idx import IdxFormat
from dataplane.volume.engine.types import VolumeId
from dataplane.volume.engine.volume import Volume
from dataplane.volume.engine.volume_info import read_volume_info

from ..builders import FakeClock, upload
from ..conftest import VolumeFactory

FMT = IdxFormat(True)
KIB = 1024


def fill(v: Volume, count: int, max_size: int, seed: int = 1) -> dict[int, tuple[int, bytes]]:
    """Random needles (some empty), one overwritten, one deleted: key -> (cookie, data) live."""
    rng = random.Random(seed)
    live: dict[int, tuple[int, bytes]] = {}
    for key in range(1, count + 1):
        data = rng.randbytes(rng.randint(0, max_size)) if key % 9 else b""
        cookie = rng.getrandbits(32)
        v.write(upload(key, data, cookie=cookie))
        live[key] = (cookie, data)
    cookie = live[2][0]
    v.write(upload(2, b"second version", cookie=cookie))
    live[2] = (cookie, b"second version")
    v.delete(3, live.pop(3)[0])
    return live


def shards_of(directory: Path, base: str = "1") -> dict[int, bytes]:
    return {i: (directory / f"{base}{shard_ext(i)}").read_bytes() for i in range(14)
            if (directory / f"{base}{shard_ext(i)}").exists()}


@pytest.fixture
def encoded(tmp_path: Path, make_volume: VolumeFactory) -> tuple[Path, dict[int, tuple[int, bytes]], bytes]:
    v = make_volume(FMT)
    live = fill(v, 40, 40 * KIB)
    v.close()
    dat = (tmp_path / "1.dat").read_bytes()
    encode_volume(str(tmp_path / "1"), fmt=FMT, now_ns=123)
    return tmp_path, live, dat


Encoded = tuple[Path, dict[int, tuple[int, bytes]], bytes]


def test_encode_writes_weeds_uniform_layout(encoded: Encoded) -> None:
    directory, _, dat = encoded
    shards = shards_of(directory)
    block = Layout.uniform(len(dat)).groups[0].block
    assert all(len(s) == block for s in shards.values())
    padded = dat + bytes(10 * block - len(dat))
    assert b"".join(shards[i] for i in range(10)) == padded
    parity = [np.empty(block, dtype=np.uint8) for _ in range(4)]
    ReedSolomon(backend="numpy").encode([np.frombuffer(shards[i], dtype=np.uint8) for i in range(10)], parity)
    assert [p.tobytes() for p in parity] == [shards[i] for i in range(10, 14)]
    info = read_volume_info(str(directory / "1.vif"))
    config = ec_config(info)
    assert info is not None and config is not None
    assert (info.dat_file_size, info.bytes_offset) == (len(dat), 0)
    assert (config.block_size, config.encode_ts_ns) == (block, 123)
    assert not list(directory.glob("*.tmp"))


def test_small_buffers_give_the_same_files(tmp_path: Path, make_volume: VolumeFactory) -> None:
    v = make_volume(FMT)
    fill(v, 30, 30 * KIB)
    v.close()
    base = str(tmp_path / "1")
    outputs = []
    for buffer_size in (8 << 20, 64 * KIB, 1000):  # 1000 does not divide the block: short last chunk
        encode_volume(base, fmt=FMT, buffer_size=buffer_size, now_ns=1)
        outputs.append(shards_of(tmp_path))
    assert outputs[0] == outputs[1] == outputs[2]


def test_legacy_layout_with_large_and_small_rows(tmp_path: Path, make_volume: VolumeFactory) -> None:
    v = make_volume(FMT)
    live = fill(v, 60, 30 * KIB)
    v.close()
    dat = (tmp_path / "1.dat").read_bytes()
    large, small = 64 * KIB, 4 * KIB
    encode_volume(str(tmp_path / "1"), fmt=FMT, layout=LEGACY, large_block=large, small_block=small,
                  buffer_size=16 * KIB)
    layout = Layout.legacy(len(dat), large_block=large, small_block=small)
    assert layout.groups[0].rows >= 1 and len(layout.groups) == 2
    shards = shards_of(tmp_path)
    assert all(len(s) == layout.shard_size for s in shards.values())
    config = ec_config(read_volume_info(str(tmp_path / "1.vif")))
    assert config is not None and config.block_size == 0  # legacy: no blockSize recorded
    with EcVolume(1, "", [str(tmp_path)], fmt=FMT, layout=layout) as ev:
        for key, (cookie, data) in live.items():
            assert ev.read_needle(key, cookie).data == data
        for shard in (0, 4, 9, 12):
            ev.remove_shard(shard)
        for key, (cookie, data) in live.items():
            assert ev.read_needle(key, cookie).data == data


def test_every_needle_reads_back_under_every_four_shard_loss(tmp_path: Path,
                                                             make_volume: VolumeFactory) -> None:
    v = make_volume(FMT)
    live = fill(v, 12, 3 * KIB)
    v.close()
    encode_volume(str(tmp_path / "1"), fmt=FMT)
    with EcVolume(1, "", [str(tmp_path)], fmt=FMT) as ev:
        paths = {s: ev.shard_path(s) for s in ev.shard_ids}
        for lost in itertools.combinations(range(14), 4):
            for shard in lost:
                ev.remove_shard(shard)
            for key, (cookie, data) in live.items():
                assert ev.read_needle(key, cookie).data == data, (lost, key)
            for shard in lost:
                path = paths[shard]
                assert path is not None
                ev.add_shard(shard, path)


def test_large_intervals_are_reconstructed_piece_by_piece(encoded: Encoded,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    directory, live, _ = encoded
    monkeypatch.setattr(ec_volume, "RECONSTRUCT_PIECE", 1000)
    with EcVolume(1, "", [str(directory)], fmt=FMT) as ev:
        for shard in (0, 1, 2, 3):
            ev.remove_shard(shard)
        big = [key for key, (_, data) in live.items() if len(data) > 5000]
        assert big
        for key in big:
            assert ev.read_needle(key, live[key][0]).data == live[key][1]


def test_reads_use_fetch_for_remote_shards(encoded: Encoded,
                                           tmp_path_factory: pytest.TempPathFactory) -> None:
    directory, live, _ = encoded
    remote = tmp_path_factory.mktemp("remote")
    # This server keeps shards 6..13; the peer has 1..5. The needles all lie in shard 0 (a small
    # volume), which nobody has: it is rebuilt from the 8 local shards plus 2 fetched ones.
    for shard in range(6):
        shutil.move(str(directory / f"1{shard_ext(shard)}"), remote)
    fetched: list[int] = []

    def fetch(shard: int, offset: int, length: int) -> bytes | None:
        fetched.append(shard)
        if shard == 0 or shard >= 3:  # lost, and (for this test) a peer that serves only 1 and 2
            return None
        with open(remote / f"1{shard_ext(shard)}", "rb") as f:
            f.seek(offset)
            return f.read(length)

    with EcVolume(1, "", [str(directory)], fmt=FMT) as ev:
        assert ev.shard_ids == tuple(range(6, 14))
        for key, (cookie, data) in live.items():
            assert ev.read_needle(key, cookie, fetch).data == data
        assert set(fetched) == {0, 1, 2}
        ev.remove_shard(13)
        with pytest.raises(TooFewShards):
            ev.read_needle(1, live[1][0], fetch)


def test_not_found_deleted_and_cookie(encoded: Encoded) -> None:
    directory, live, _ = encoded
    with EcVolume(1, "", [str(directory)], fmt=FMT) as ev:
        with pytest.raises(NeedleNotFound) as err:
            ev.read_needle(3)  # deleted before encoding: not in .ecx at all
        assert not err.value.deleted
        with pytest.raises(CookieMismatch):
            ev.read_needle(5, live[5][0] ^ 1)
        with pytest.raises(CookieMismatch):
            ev.delete_needle(5, live[5][0] ^ 1)
        assert ev.delete_needle(5, live[5][0]) > 0
        assert not ev.journal_delete(5)  # already journaled
        with pytest.raises(NeedleNotFound) as err:
            ev.read_needle(5)
        assert err.value.deleted
    assert (directory / "1.ecj").read_bytes() == (5).to_bytes(8, "big")
    with EcVolume(1, "", [str(directory)], fmt=FMT) as ev:  # the journal survives a reopen
        assert ev.is_deleted(5)
        assert ev.apply_journal() == 1
        assert not (directory / "1.ecj").exists()
        with pytest.raises(NeedleNotFound):
            ev.read_needle(5)
        assert ev.counts() == (len(live), 1)  # entries in .ecx, deletions known


def test_rebuild_across_directories(encoded: Encoded,
                                    tmp_path_factory: pytest.TempPathFactory) -> None:
    directory, _, _ = encoded
    originals = shards_of(directory)
    other = tmp_path_factory.mktemp("disk2")
    for shard in (3, 4, 5, 10, 11):
        shutil.move(str(directory / f"1{shard_ext(shard)}"), other)
    for shard in (0, 7, 12):  # lost
        os.unlink(directory / f"1{shard_ext(shard)}")
    (directory / f"1{shard_ext(13)}").write_bytes(b"")  # zero-length residue counts as missing
    result = rebuild_shards("1", [str(directory), str(other)], volume_id=1, buffer_size=100 * KIB)
    assert result.rebuilt == [0, 7, 12, 13]
    assert shards_of(directory) | shards_of(other) == originals
    assert not list(directory.glob("*.tmp"))
    assert rebuild_shards("1", [str(directory), str(other)]).rebuilt == []
    for shard in (0, 1, 2, 7, 8):
        os.unlink(directory / f"1{shard_ext(shard)}")
    with pytest.raises(TooFewShards) as err:
        rebuild_shards("1", [str(directory), str(other)], volume_id=1)
    assert len(err.value.present) == 9


def test_decode_with_missing_data_shards(encoded: Encoded,
                                         tmp_path_factory: pytest.TempPathFactory, clock: FakeClock) -> None:
    directory, live, dat = encoded
    with EcVolume(1, "", [str(directory)], fmt=FMT) as ev:
        ev.delete_needle(7, live.pop(7)[0])  # deleted while encoded
    out = tmp_path_factory.mktemp("decoded")
    for shard in (0, 2, 9, 13):
        os.unlink(directory / f"1{shard_ext(shard)}")
    result = decode_volume("1", [str(directory)], fmt=FMT, out_dir=str(out), volume_id=1,
                           buffer_size=64 * KIB)
    assert result.reconstructed == [0, 2, 9]
    assert (out / "1.dat").read_bytes() == dat[: result.dat_size]
    assert not (directory / "1.ecj").exists()  # folded into .ecx
    shutil.copy(directory / "1.vif", out / "1.vif")
    for _ in range(2):  # reopening (start-up repair) must not resurrect the deleted needle
        v = Volume.open(str(out), "", VolumeId(1), fmt=FMT, clock=clock)
        for key, (cookie, data) in live.items():
            assert v.read(key, cookie).data == data
        for key in (3, 7):
            with pytest.raises(NeedleNotFound):
                v.read(key, 0)
        v.close()
