"""The Reed-Solomon codec: SeaweedFS's matrix, both backends agreeing byte for byte, and
reconstruction from every 4-shard loss."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from dataplane.volume.engine.ec import backend_isal
from dataplane.volume.engine.ec.codec import ReedSolomon, as_array, make_backend
from dataplane.volume.engine.ec.errors import EcBackendUnavailable, SingularMatrix, TooFewShards
from dataplane.volume.engine.ec.galois import (
    MUL_TABLE,
    encoding_matrix,
    inverse,
    mat_invert,
    mat_mul,
    mul,
)

# The parity rows written down in the shared reference (checked there against weed's shards).
REFERENCE_PARITY_ROWS = (
    "81 96 af b8 d2 c4 fe e8 03 02",
    "96 81 b8 af c4 d2 e8 fe 02 03",
    "bf d6 62 0a 06 6f df b7 05 04",
    "d6 bf 0a 62 6f 06 b7 df 04 05",
)


def isal_available() -> bool:
    try:
        backend_isal.load()
    except EcBackendUnavailable:
        return False
    return True


needs_isal = pytest.mark.skipif(not isal_available(),
                                reason="libisal2 not installed (bash ops/dev.sh install)")


def random_shards(rng: np.random.Generator, count: int, length: int) -> list[np.ndarray]:
    return [rng.integers(0, 256, length, dtype=np.uint8) for _ in range(count)]


def test_matrix_is_klauspost_systematic_vandermonde() -> None:
    m = encoding_matrix(10, 4)
    assert m[:10] == tuple(tuple(1 if i == j else 0 for j in range(10)) for i in range(10))
    assert [" ".join(f"{v:02x}" for v in row) for row in m[10:]] == list(REFERENCE_PARITY_ROWS)


def test_field_arithmetic() -> None:
    assert mul(2, 0x80) == 0x1D  # x^8 reduces by the polynomial 0x11D
    for a in range(1, 256):
        assert mul(a, inverse(a)) == 1
    assert all(MUL_TABLE[a, b] == mul(a, b) for a in (0, 1, 2, 0x53, 0xFF) for b in range(256))
    sub = encoding_matrix(10, 4)[4:]
    identity = tuple(tuple(1 if i == j else 0 for j in range(10)) for i in range(10))
    assert mat_mul(mat_invert(sub), sub) == identity
    with pytest.raises(SingularMatrix):
        mat_invert(((1, 2), (1, 2)))


@pytest.mark.parametrize("backend", ["numpy", pytest.param("isal", marks=needs_isal)])
def test_unit_vectors_encode_to_matrix_columns(backend: str) -> None:
    rs = ReedSolomon(backend=backend)
    for c in range(10):
        data = [np.zeros(3, dtype=np.uint8) for _ in range(10)]
        data[c][:] = 1
        parity = [np.empty(3, dtype=np.uint8) for _ in range(4)]
        rs.encode(data, parity)
        assert [int(p[0]) for p in parity] == [rs.parity_rows[r][c] for r in range(4)]


@needs_isal
@pytest.mark.parametrize("length", [1, 17, 4096 + 3, 1 << 20])
def test_isal_and_numpy_encode_the_same_bytes(length: int) -> None:
    rng = np.random.default_rng(length)
    data = random_shards(rng, 10, length)
    out = {}
    for backend in ("isal", "numpy"):
        parity = [np.empty(length, dtype=np.uint8) for _ in range(4)]
        ReedSolomon(backend=backend).encode(data, parity)
        out[backend] = [p.tobytes() for p in parity]
    assert out["isal"] == out["numpy"]


@needs_isal
def test_isal_and_numpy_reconstruct_the_same_bytes() -> None:
    rng = np.random.default_rng(7)
    data = random_shards(rng, 10, 5000)
    parity = [np.empty(5000, dtype=np.uint8) for _ in range(4)]
    ReedSolomon(backend="numpy").encode(data, parity)
    shards = dict(enumerate(data + parity))
    present = {i: shards[i] for i in (1, 2, 4, 5, 7, 8, 10, 11, 12, 13)}
    results = []
    for backend in ("isal", "numpy"):
        outs = [np.empty(5000, dtype=np.uint8) for _ in range(4)]
        ReedSolomon(backend=backend).reconstruct(present, [0, 3, 6, 9], outs)
        results.append([o.tobytes() for o in outs])
    assert results[0] == results[1] == [shards[i].tobytes() for i in (0, 3, 6, 9)]


@pytest.mark.parametrize("backend", ["numpy", pytest.param("isal", marks=needs_isal)])
def test_every_four_shard_loss_is_recovered(backend: str) -> None:
    rs = ReedSolomon(backend=backend)
    rng = np.random.default_rng(1)
    data = random_shards(rng, 10, 64)
    parity = [np.empty(64, dtype=np.uint8) for _ in range(4)]
    rs.encode(data, parity)
    shards = dict(enumerate(data + parity))
    patterns = list(itertools.combinations(range(14), 4))
    assert len(patterns) == 1001
    for lost in patterns:
        present = {i: a for i, a in shards.items() if i not in lost}
        outs = [np.empty(64, dtype=np.uint8) for _ in lost]
        rs.reconstruct(present, list(lost), outs)
        assert all(np.array_equal(o, shards[i]) for o, i in zip(outs, lost, strict=True)), lost


def test_five_losses_are_too_many() -> None:
    rs = ReedSolomon(backend="numpy")
    shards = {i: np.zeros(8, dtype=np.uint8) for i in range(9)}
    with pytest.raises(TooFewShards) as err:
        rs.reconstruct(shards, [9], [np.empty(8, dtype=np.uint8)], volume_id=5)
    assert err.value.present == tuple(range(9)) and err.value.needed == 10 and err.value.volume_id == 5


def test_backend_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KELP_EC_BACKEND", "numpy")
    assert ReedSolomon().backend_name == "numpy"
    with pytest.raises(EcBackendUnavailable):
        make_backend("gpu")
    monkeypatch.delenv("KELP_EC_BACKEND")
    expected = "isal" if isal_available() else "numpy"
    assert ReedSolomon().backend_name == expected


def test_as_array_views_without_copy() -> None:
    buf = bytearray(b"abc")
    view = as_array(buf)
    buf[0] = ord("z")
    assert view[0] == ord("z")
