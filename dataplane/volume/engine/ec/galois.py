"""GF(2^8) arithmetic and the Reed-Solomon matrices SeaweedFS's shards are made with.

The field is GF(2^8) with primitive polynomial 0x11D (x^8+x^4+x^3+x^2+1) and generator 2, the
field of klauspost/reedsolomon (which SeaweedFS uses) and of ISA-L, so both kelp backends
compute the same bytes.

The encoding matrix is klauspost's default: the (data+parity) x data Vandermonde matrix
V[r][c] = r^c (0^0 = 1), multiplied by the inverse of its top data x data block, so the data
rows are the identity and only the parity rows are stored here. For 10+4 the parity rows are
the ones written down in the shared reference (a unit test checks them).

Matrices are tuples of rows of ints; everything here is pure Python (they are at most 14 x 10,
built once per codec) except `MUL_TABLE`, the 256 x 256 product table the NumPy backend indexes.
No I/O, no network imports.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from dataplane.volume.engine.ec.errors import SingularMatrix

POLYNOMIAL = 0x11D
FIELD_SIZE = 256

Matrix = tuple[tuple[int, ...], ...]


def _tables() -> tuple[list[int], list[int]]:
    exp = [0] * 510  # doubled so exp[log a + log b] needs no modulo
    log = [0] * FIELD_SIZE
    x = 1
    for i in range(255):
        exp[i] = x
        log[x] = i
        x <<= 1
        if x & 0x100:
            x ^= POLYNOMIAL
    for i in range(255, 510):
        exp[i] = exp[i - 255]
    return exp, log


EXP, LOG = _tables()


def mul(a: int, b: int) -> int:
    if a == 0 or b == 0:
        return 0
    return EXP[LOG[a] + LOG[b]]


def inverse(a: int) -> int:
    if a == 0:
        raise ZeroDivisionError("0 has no inverse in GF(2^8)")
    return EXP[255 - LOG[a]]


def power(a: int, n: int) -> int:
    """a^n with 0^0 = 1, as klauspost's galExp."""
    if n == 0:
        return 1
    if a == 0:
        return 0
    return EXP[LOG[a] * n % 255]


def mat_mul(a: Matrix, b: Matrix) -> Matrix:
    cols = len(b[0])
    rows = []
    for row in a:
        out = []
        for c in range(cols):
            acc = 0
            for k, coef in enumerate(row):
                if coef:
                    acc ^= mul(coef, b[k][c])
            out.append(acc)
        rows.append(tuple(out))
    return tuple(rows)


def mat_invert(m: Matrix) -> Matrix:
    """Gauss-Jordan inverse of a square matrix; SingularMatrix when it has none."""
    n = len(m)
    work = [list(row) + [1 if i == j else 0 for j in range(n)] for i, row in enumerate(m)]
    for col in range(n):
        pivot = next((r for r in range(col, n) if work[r][col]), None)
        if pivot is None:
            raise SingularMatrix(n)
        work[col], work[pivot] = work[pivot], work[col]
        scale = inverse(work[col][col])
        work[col] = [mul(scale, v) for v in work[col]]
        for r in range(n):
            factor = work[r][col]
            if r != col and factor:
                work[r] = [v ^ mul(factor, p) for v, p in zip(work[r], work[col], strict=True)]
    return tuple(tuple(row[n:]) for row in work)


def vandermonde(rows: int, cols: int) -> Matrix:
    return tuple(tuple(power(r, c) for c in range(cols)) for r in range(rows))


def encoding_matrix(data_shards: int, parity_shards: int) -> Matrix:
    """The whole (data+parity) x data systematic matrix, as klauspost/reedsolomon builds it."""
    vm = vandermonde(data_shards + parity_shards, data_shards)
    top_inverse = mat_invert(vm[:data_shards])
    return mat_mul(vm, top_inverse)


def decoding_rows(matrix: Matrix, present: tuple[int, ...], wanted: tuple[int, ...]) -> Matrix:
    """Rows that turn the shards `present` (exactly data_shards of them, in that order) into
    the shards `wanted`: the inverse of the present rows gives the data shards, and a parity
    shard is its encoding row times that inverse."""
    data_shards = len(matrix[0])
    if len(present) != data_shards:
        raise ValueError(f"need exactly {data_shards} present shards, got {len(present)}")
    data_from_present = mat_invert(tuple(matrix[i] for i in present))
    rows = []
    for shard in wanted:
        if shard < data_shards:
            rows.append(data_from_present[shard])
        else:
            rows.append(mat_mul((matrix[shard],), data_from_present)[0])
    return tuple(rows)


def _mul_table() -> npt.NDArray[np.uint8]:
    table = np.zeros((FIELD_SIZE, FIELD_SIZE), dtype=np.uint8)
    log = np.array(LOG, dtype=np.int64)
    exp = np.array(EXP, dtype=np.uint8)
    nz = np.arange(1, FIELD_SIZE)
    table[1:, 1:] = exp[log[nz][:, None] + log[nz][None, :]]
    return table


MUL_TABLE = _mul_table()


def check_shapes(rows: Matrix, inputs: Sequence[npt.NDArray[np.uint8]],
                 outputs: Sequence[npt.NDArray[np.uint8]]) -> tuple[int, int]:
    """A backend's apply() arguments agree (one row per output, one column per input, equal
    buffer lengths); returns (inputs, buffer length). Raises ValueError."""
    k = len(inputs)
    if not rows or len(rows) != len(outputs) or len(rows[0]) != k:
        raise ValueError(f"{len(rows)} rows of {len(rows[0]) if rows else 0} for {k} inputs, "
                         f"{len(outputs)} outputs")
    length = len(outputs[0])
    if any(len(a) != length for a in (*inputs, *outputs)):
        raise ValueError("all shard buffers must have the same length")
    return k, length
