"""Errors of the erasure-coding engine, each carrying its data as attributes so a server
adapter maps them to statuses without parsing text. No network imports.
"""

from __future__ import annotations

from dataplane.volume.engine.errors import EngineError


class EcError(EngineError):
    """Base of every erasure-coding error."""


class SingularMatrix(EcError):
    """A set of shard rows that cannot be inverted (never happens for distinct rows of the
    systematic Vandermonde matrix; kept so a bug cannot produce wrong bytes silently)."""

    def __init__(self, size: int) -> None:
        super().__init__(f"{size}x{size} decoding matrix is singular")
        self.size = size


class TooFewShards(EcError):
    """Fewer shards are readable than the data shard count."""

    def __init__(self, volume_id: int, present: tuple[int, ...], needed: int) -> None:
        super().__init__(f"ec volume {volume_id}: only {len(present)} shards available {list(present)}, "
                         f"need at least {needed}")
        self.volume_id = volume_id
        self.present = present
        self.needed = needed


class ShardSizeMismatch(EcError):
    """Shard files of one volume differ in size (a truncated or foreign shard)."""

    def __init__(self, volume_id: int, sizes: dict[int, int]) -> None:
        super().__init__(f"ec volume {volume_id}: shard sizes differ {sizes}")
        self.volume_id = volume_id
        self.sizes = sizes


class ShardReadError(EcError):
    """A shard range could not be read in full (short file, I/O error)."""

    def __init__(self, volume_id: int, shard: int, offset: int, length: int, reason: str) -> None:
        super().__init__(f"ec volume {volume_id} shard {shard}: cannot read {length} bytes at {offset}: "
                         f"{reason}")
        self.volume_id = volume_id
        self.shard = shard
        self.offset = offset
        self.length = length
        self.reason = reason


class EcIndexMissing(EcError):
    """No .ecx for the volume in any of the directories given."""

    def __init__(self, volume_id: int, directories: tuple[str, ...]) -> None:
        super().__init__(f"ec volume {volume_id}: no .ecx in {list(directories)}")
        self.volume_id = volume_id
        self.directories = directories


class CorruptEcIndex(EcError):
    """.ecx or .ecj of the wrong length, or .ecx entries out of order."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"corrupt ec index {path}: {reason}")
        self.path = path
        self.reason = reason


class EcBackendUnavailable(EcError):
    """A backend was asked for by name but cannot be loaded (e.g. libisal is not installed)."""

    def __init__(self, backend: str, reason: str) -> None:
        super().__init__(f"erasure coding backend {backend!r} unavailable: {reason}")
        self.backend = backend
        self.reason = reason
