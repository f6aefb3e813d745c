"""The ISA-L backend: Intel's erasure-code kernels from `libisal.so.2` (Debian `libisal2`),
called through ctypes with kelp's own coefficient rows.

ISA-L's GF(2^8) uses the same polynomial (0x11D) as klauspost/reedsolomon, so giving
`ec_init_tables` the parity rows of the systematic Vandermonde matrix (or decoding rows
derived from it) makes `ec_encode_data` produce SeaweedFS's bytes. ctypes releases the GIL for
the duration of each call, so encoders running in threads use several cores.

Loads nothing at import; `load()` raises EcBackendUnavailable when the library is missing.
No network imports.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from dataplane.volume.engine.ec.errors import EcBackendUnavailable
from dataplane.volume.engine.ec.galois import Matrix, check_shapes

NAME = "isal"
_LIBRARY_NAMES = ("libisal.so.2", "libisal.so")
# One ec_encode_data call takes an int length; stay far below 2^31.
MAX_CALL_LENGTH = 1 << 30
# Expanded tables are 32 bytes per coefficient; a handful of matrices (encode plus the decode
# rows of recent loss patterns) is all a server uses, so a small cache suffices.
_TABLE_CACHE_SIZE = 64

_lib: ctypes.CDLL | None = None
_load_lock = threading.Lock()


def load() -> ctypes.CDLL:
    """The library, loaded once; EcBackendUnavailable if it cannot be."""
    global _lib
    with _load_lock:
        if _lib is not None:
            return _lib
        names = list(_LIBRARY_NAMES)
        found = ctypes.util.find_library("isal")
        if found:
            names.append(found)
        errors = []
        for name in names:
            try:
                lib = ctypes.CDLL(name)
            except OSError as err:
                errors.append(str(err))
                continue
            lib.ec_init_tables.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
            lib.ec_init_tables.restype = None
            lib.ec_encode_data.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_void_p,
                                           ctypes.c_void_p, ctypes.c_void_p]
            lib.ec_encode_data.restype = None
            _lib = lib
            return lib
        raise EcBackendUnavailable(NAME, "; ".join(errors) or "libisal not found (apt-get install libisal2)")


class IsalBackend:
    """apply(rows, inputs, outputs): outputs[r] = XOR over c of rows[r][c] * inputs[c]."""

    name = NAME

    def __init__(self) -> None:
        self._lib = load()
        self._tables: dict[Matrix, npt.NDArray[np.uint8]] = {}
        self._lock = threading.Lock()

    def _tables_for(self, rows: Matrix) -> npt.NDArray[np.uint8]:
        with self._lock:
            tables = self._tables.get(rows)
            if tables is None:
                k = len(rows[0])
                coefficients = np.array(rows, dtype=np.uint8).reshape(-1)
                tables = np.empty(32 * k * len(rows), dtype=np.uint8)
                self._lib.ec_init_tables(k, len(rows), coefficients.ctypes.data, tables.ctypes.data)
                if len(self._tables) >= _TABLE_CACHE_SIZE:
                    self._tables.pop(next(iter(self._tables)))
                self._tables[rows] = tables
            return tables

    def apply(self, rows: Matrix, inputs: Sequence[npt.NDArray[np.uint8]],
              outputs: Sequence[npt.NDArray[np.uint8]]) -> None:
        k, length = check_shapes(rows, inputs, outputs)
        tables = self._tables_for(rows)
        in_ptrs = (ctypes.c_void_p * k)(*(a.ctypes.data for a in inputs))
        out_ptrs = (ctypes.c_void_p * len(outputs))(*(a.ctypes.data for a in outputs))
        step = MAX_CALL_LENGTH
        for start in range(0, length, step):
            n = min(step, length - start)
            if start:
                in_ptrs = (ctypes.c_void_p * k)(*(a.ctypes.data + start for a in inputs))
                out_ptrs = (ctypes.c_void_p * len(outputs))(*(a.ctypes.data + start for a in outputs))
            self._lib.ec_encode_data(n, k, len(outputs), tables.ctypes.data, in_ptrs, out_ptrs)
