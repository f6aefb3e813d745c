"""ReedSolomon: 10+4 (or any data+parity) encode and reconstruct over shard buffers, with
SeaweedFS's matrix, on the ISA-L backend when libisal loads and the NumPy backend otherwise.

    rs = ReedSolomon()                         # backend="auto" | "isal" | "numpy"
    rs.encode(data, parity)                    # 10 input arrays -> fills 4 parity arrays
    rs.reconstruct({i: shard, ...}, wanted, outputs)   # any 10 present -> the wanted shards

Buffers are 1-D contiguous uint8 NumPy arrays of one length (`as_array` views any bytes-like
object without copying). The decoding rows for a loss pattern are derived once and cached.
Thread-safe: the ISA-L calls release the GIL, so callers may encode in worker threads.
No file or network I/O.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from dataplane.volume.engine.ec import backend_isal, backend_numpy
from dataplane.volume.engine.ec.errors import EcBackendUnavailable, EcError, TooFewShards
from dataplane.volume.engine.ec.galois import Matrix, decoding_rows, encoding_matrix
from dataplane.volume.engine.ec.geometry import DATA_SHARDS, PARITY_SHARDS

log = logging.getLogger(__name__)

AUTO = "auto"
BACKEND_ENV = "KELP_EC_BACKEND"  # force "isal" or "numpy" (benchmarks, debugging)

ShardArray = npt.NDArray[np.uint8]


class Backend(Protocol):
    name: str

    def apply(self, rows: Matrix, inputs: Sequence[ShardArray], outputs: Sequence[ShardArray]) -> None: ...


def make_backend(name: str = AUTO) -> Backend:
    """The named backend; "auto" is $KELP_EC_BACKEND, else ISA-L if it loads, else NumPy."""
    if name == AUTO:
        name = os.environ.get(BACKEND_ENV, AUTO) or AUTO
    if name == backend_isal.NAME:
        return backend_isal.IsalBackend()
    if name == backend_numpy.NAME:
        return backend_numpy.NumpyBackend()
    if name != AUTO:
        raise EcBackendUnavailable(name, f"unknown backend; expected {backend_isal.NAME} or "
                                         f"{backend_numpy.NAME}")
    try:
        return backend_isal.IsalBackend()
    except EcBackendUnavailable as err:
        log.warning("erasure coding falls back to NumPy: %s", err)
        return backend_numpy.NumpyBackend()


def as_array(buf: bytes | bytearray | memoryview | ShardArray) -> ShardArray:
    """A uint8 view of a bytes-like object (read-only for bytes), without copying."""
    if isinstance(buf, np.ndarray):
        return buf
    return np.frombuffer(buf, dtype=np.uint8)


@functools.lru_cache(maxsize=8)
def _matrix(data_shards: int, parity_shards: int) -> Matrix:
    return encoding_matrix(data_shards, parity_shards)


@functools.lru_cache(maxsize=256)
def _decoding_rows(data_shards: int, parity_shards: int, present: tuple[int, ...],
                   wanted: tuple[int, ...]) -> Matrix:
    return decoding_rows(_matrix(data_shards, parity_shards), present, wanted)


class ReedSolomon:
    def __init__(self, data_shards: int = DATA_SHARDS, parity_shards: int = PARITY_SHARDS, *,
                 backend: str | Backend = AUTO) -> None:
        if data_shards <= 0 or parity_shards <= 0 or data_shards + parity_shards > 256:
            raise ValueError(f"bad shard counts {data_shards}+{parity_shards}")
        self.data_shards = data_shards
        self.parity_shards = parity_shards
        self.total_shards = data_shards + parity_shards
        self.matrix = _matrix(data_shards, parity_shards)
        self.parity_rows: Matrix = self.matrix[data_shards:]
        self.backend: Backend = make_backend(backend) if isinstance(backend, str) else backend

    @property
    def backend_name(self) -> str:
        return self.backend.name

    def encode(self, data: Sequence[ShardArray], parity: Sequence[ShardArray]) -> None:
        """Fill `parity` (parity_shards arrays) from `data` (data_shards arrays)."""
        if len(data) != self.data_shards or len(parity) != self.parity_shards:
            raise ValueError(f"expected {self.data_shards} data and {self.parity_shards} parity buffers, "
                             f"got {len(data)} and {len(parity)}")
        self.backend.apply(self.parity_rows, data, parity)

    def reconstruct(self, shards: Mapping[int, ShardArray], wanted: Sequence[int],
                    outputs: Sequence[ShardArray], *, volume_id: int = 0) -> None:
        """Fill outputs[i] with shard wanted[i], computed from any data_shards of `shards`.

        A wanted shard that is also present is recomputed all the same (callers ask only for
        missing ones). TooFewShards when fewer than data_shards are present.
        """
        if len(wanted) != len(outputs):
            raise ValueError(f"{len(wanted)} wanted shards but {len(outputs)} output buffers")
        if not wanted:
            return
        bad = [s for s in (*shards, *wanted) if not 0 <= s < self.total_shards]
        if bad:
            raise EcError(f"shard ids out of range 0..{self.total_shards - 1}: {bad}")
        present = tuple(sorted(shards))
        if len(present) < self.data_shards:
            raise TooFewShards(volume_id, present, self.data_shards)
        # Prefer data shards: a wanted data shard among the chosen inputs is a plain copy row.
        chosen = present[: self.data_shards]
        rows = _decoding_rows(self.data_shards, self.parity_shards, chosen, tuple(wanted))
        self.backend.apply(rows, [shards[i] for i in chosen], outputs)
