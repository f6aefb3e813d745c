"""Reconstruction from every loss pattern of 1 to 4 of the 14 shards (14 + 91 + 364 + 1001 = 1470),
and the clear error once only 9 remain.

The expected bytes do not come from kelp's codec: the parity of one random stripe set is
computed here from the four parity rows written down in the shared reference (§8.2, checked
there against weed's shards) with a GF(2^8) product table built here by shift-and-add over the
polynomial 0x11D. The codec's parity must equal it, and every reconstruction must give back those
original shards. Each pattern is solved twice: from all survivors (the codec takes the ten lowest
ids) and from the ten highest-numbered survivors, so parity-heavy decoding matrices are reached too.
"""

from __future__ import annotations

import itertools

import numpy as np
import numpy.typing as npt
import pytest

from dataplane.volume.engine.ec import backend_isal
from dataplane.volume.engine.ec.codec import ReedSolomon
from dataplane.volume.engine.ec.errors import EcBackendUnavailable, TooFewShards

Shard = npt.NDArray[np.uint8]

DATA, PARITY, TOTAL = 10, 4, 14
LENGTH = 4096 + 5  # a few KiB, not a multiple of 16/32/64, so the ISA-L tail path runs too
PARITY_ROWS_HEX = (  # reference §8.2, p10..p13
    "81 96 af b8 d2 c4 fe e8 03 02",
    "96 81 b8 af c4 d2 e8 fe 02 03",
    "bf d6 62 0a 06 6f df b7 05 04",
    "d6 bf 0a 62 6f 06 b7 df 04 05",
)


def gf_mul(a: int, b: int) -> int:
    """Multiplication in GF(2^8) modulo x^8+x^4+x^3+x^2+1, the schoolbook way."""
    product = 0
    while b:
        if b & 1:
            product ^= a
        a <<= 1
        if a & 0x100:
            a ^= 0x11D
        b >>= 1
    return product


PRODUCTS = np.array([[gf_mul(a, b) for b in range(256)] for a in range(256)], dtype=np.uint8)


def reference_parity(data: list[Shard]) -> list[Shard]:
    """parity[r] = XOR over c of M[r][c] * data[c], from the reference's matrix rows."""
    parity = []
    for row_hex in PARITY_ROWS_HEX:
        out = np.zeros(LENGTH, dtype=np.uint8)
        for coef, shard in zip((int(h, 16) for h in row_hex.split()), data, strict=True):
            out ^= PRODUCTS[coef][shard]
        parity.append(out)
    return parity


def isal_available() -> bool:
    try:
        backend_isal.load()
    except EcBackendUnavailable:
        return False
    return True


BACKENDS = ["numpy", pytest.param("isal", marks=pytest.mark.skipif(
    not isal_available(), reason="libisal2 not installed (bash ops/dev.sh install)"))]


@pytest.fixture(scope="module")
def originals() -> dict[int, Shard]:
    """Shards 0-13 of one random stripe: random data, parity by the reference's matrix."""
    data = list(np.random.default_rng(6).integers(0, 256, (DATA, LENGTH), dtype=np.uint8))
    return dict(enumerate(data + reference_parity(data)))


def test_schoolbook_field() -> None:
    assert gf_mul(3, 7) == 9  # no reduction: carry-less 0b11 * 0b111
    assert gf_mul(0x80, 2) == 0x1D  # x^8 reduces by 0x11D
    assert all(sum(PRODUCTS[a] == 1) == 1 for a in range(1, 256))  # every nonzero a has one inverse


@pytest.mark.parametrize("backend", BACKENDS)
def test_codec_parity_is_the_reference_parity(backend: str, originals: dict[int, Shard]) -> None:
    parity = [np.empty(LENGTH, dtype=np.uint8) for _ in range(PARITY)]
    ReedSolomon(backend=backend).encode([originals[i] for i in range(DATA)], parity)
    for r, got in enumerate(parity):
        assert np.array_equal(got, originals[DATA + r]), f"parity shard {DATA + r}"


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_loss_of_one_to_four_shards_is_rebuilt(backend: str, originals: dict[int, Shard]) -> None:
    rs = ReedSolomon(backend=backend)
    patterns = [lost for k in (1, 2, 3, 4) for lost in itertools.combinations(range(TOTAL), k)]
    assert len(patterns) == 1470
    wrong = []
    for lost in patterns:
        survivors = [i for i in range(TOTAL) if i not in lost]
        for inputs in (survivors, survivors[-DATA:]):
            outs = [np.full(LENGTH, 0xAA, dtype=np.uint8) for _ in lost]  # garbage, not zeros
            rs.reconstruct({i: originals[i] for i in inputs}, list(lost), outs, volume_id=3)
            if not all(np.array_equal(out, originals[i]) for out, i in zip(outs, lost, strict=True)):
                wrong.append((lost, tuple(inputs)))
    assert not wrong, f"{len(wrong)} patterns rebuilt wrong bytes, first {wrong[:3]}"


@pytest.mark.parametrize("backend", BACKENDS)
def test_nine_shards_are_too_few(backend: str, originals: dict[int, Shard]) -> None:
    rs = ReedSolomon(backend=backend)
    patterns = list(itertools.combinations(range(TOTAL), 5))
    assert len(patterns) == 2002
    for lost in patterns:
        present = {i: originals[i] for i in range(TOTAL) if i not in lost}
        outs = [np.zeros(LENGTH, dtype=np.uint8) for _ in lost]
        with pytest.raises(TooFewShards) as err:
            rs.reconstruct(present, list(lost), outs, volume_id=42)
        assert err.value.present == tuple(sorted(present)) and err.value.needed == DATA
        assert all(not out.any() for out in outs), f"{lost}: outputs written before the error"
    assert str(err.value) == ("ec volume 42: only 9 shards available [0, 1, 2, 3, 4, 5, 6, 7, 8], "
                              "need at least 10")
