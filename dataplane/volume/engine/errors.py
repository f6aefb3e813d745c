"""Errors raised by the storage engine and its value types.

Each names the condition and carries its data as attributes, so adapters map
them to statuses without parsing message text. No network imports here.
"""

from __future__ import annotations


class EngineError(Exception):
    """Base of every storage-engine error."""


class InvalidFileId(EngineError, ValueError):
    def __init__(self, text: str, reason: str) -> None:
        super().__init__(f"invalid file id {text!r}: {reason}")
        self.text = text
        self.reason = reason


class InvalidReplication(EngineError, ValueError):
    def __init__(self, text: str) -> None:
        # SeaweedFS's wording, which clients match on.
        super().__init__(f"unexpected replication type: {text}")
        self.text = text


class InvalidTtl(EngineError, ValueError):
    def __init__(self, text: str) -> None:
        super().__init__(f"invalid ttl {text!r}")
        self.text = text


class VolumeNotFound(EngineError, LookupError):
    def __init__(self, volume_id: int) -> None:
        super().__init__(f"volume {volume_id} not found")
        self.volume_id = volume_id


class VolumeExists(EngineError):
    def __init__(self, volume_id: int) -> None:
        super().__init__(f"volume {volume_id} already exists")
        self.volume_id = volume_id


class NoFreeSlot(EngineError):
    """Every directory already holds its maximum number of volumes."""

    def __init__(self, volume_id: int, max_volume_count: int) -> None:
        super().__init__(f"no free volume slot for volume {volume_id} (max {max_volume_count})")
        self.volume_id = volume_id
        self.max_volume_count = max_volume_count


class NeedleNotFound(EngineError, LookupError):
    """The key is not in the volume, was deleted, or its TTL has expired."""

    def __init__(self, volume_id: int, key: int, *, deleted: bool = False, expired: bool = False) -> None:
        state = "deleted" if deleted else "expired" if expired else "not found"
        super().__init__(f"needle {key:x} in volume {volume_id} {state}")
        self.volume_id = volume_id
        self.key = key
        self.deleted = deleted
        self.expired = expired


class CookieMismatch(EngineError):
    def __init__(self, volume_id: int, key: int, expected: int, given: int) -> None:
        # "mismatching cookie" is SeaweedFS's wording for the overwrite case.
        super().__init__(f"mismatching cookie {given:08x} for needle {key:x} in volume {volume_id}")
        self.volume_id = volume_id
        self.key = key
        self.expected = expected
        self.given = given


class VolumeReadOnly(EngineError):
    def __init__(self, volume_id: int) -> None:
        super().__init__(f"volume {volume_id} is read only")
        self.volume_id = volume_id


class VolumeFull(EngineError):
    """An append would end past the largest offset the .idx format can address."""

    def __init__(self, volume_id: int, offset: int, max_size: int) -> None:
        super().__init__(f"volume {volume_id} is full: append at {offset} past {max_size} bytes")
        self.volume_id = volume_id
        self.offset = offset
        self.max_size = max_size


class NeedleTooLarge(EngineError, ValueError):
    def __init__(self, volume_id: int, key: int, size: int, max_size: int) -> None:
        super().__init__(f"needle {key:x} for volume {volume_id} is {size} bytes, over {max_size}")
        self.volume_id = volume_id
        self.key = key
        self.size = size
        self.max_size = max_size


class CorruptNeedle(EngineError):
    """A needle record failed its CRC, or its header does not match the index."""

    def __init__(self, volume_id: int, key: int, offset: int, reason: str) -> None:
        super().__init__(f"corrupt needle {key:x} in volume {volume_id} at offset {offset}: {reason}")
        self.volume_id = volume_id
        self.key = key
        self.offset = offset
        self.reason = reason


class CorruptVolume(EngineError):
    """A volume's files cannot be opened: bad superblock, unknown version, unreadable .vif."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"corrupt volume {path}: {reason}")
        self.path = path
        self.reason = reason


class InvalidNeedle(EngineError, ValueError):
    """A needle that cannot be encoded (a field over its length limit)."""

    def __init__(self, key: int, reason: str) -> None:
        super().__init__(f"invalid needle {key:x}: {reason}")
        self.key = key
        self.reason = reason


class VacuumInProgress(EngineError):
    def __init__(self, volume_id: int) -> None:
        super().__init__(f"volume {volume_id} is already being vacuumed")
        self.volume_id = volume_id
