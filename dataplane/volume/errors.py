"""Errors raised by the volume server's adapters (not the engine): bad uploads,
rejected tokens, replication failures.

Each names the condition and carries its data as attributes; `http_errors.py` maps
them (and the engine's errors) to statuses in one table. No network imports here.
"""

from __future__ import annotations

from collections.abc import Sequence


class VolumeServerError(Exception):
    """Base of the volume server's own errors."""


class BadUpload(VolumeServerError, ValueError):
    """The request body or its parameters cannot be stored (answered 400)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class FileTooLarge(BadUpload):
    def __init__(self, limit: int) -> None:
        # SeaweedFS's wording, which clients match on.
        super().__init__(f"file over the limited {limit} bytes")
        self.limit = limit


class ContentMd5Mismatch(BadUpload):
    def __init__(self, expected: str, received: str, size: int) -> None:
        super().__init__(
            "Content-MD5 did not match md5 of file data"
            f" expected [{expected}] received [{received}] size {size}"
        )
        self.expected = expected
        self.received = received
        self.size = size


class JwtRejected(VolumeServerError):
    """No token, a bad signature, an expired token, or a token for another fid."""

    def __init__(self, fid: str, reason: str) -> None:
        super().__init__(f"wrong jwt for {fid}: {reason}")
        self.fid = fid
        self.reason = reason


class ReplicaLookupFailed(VolumeServerError):
    """The masters could not say where the volume's other replicas are."""

    def __init__(self, volume_id: int, reason: str) -> None:
        super().__init__(f"replicating lookup failed for {volume_id}: {reason}")
        self.volume_id = volume_id
        self.reason = reason


class TooFewReplicas(VolumeServerError):
    """The master lists fewer servers than the volume's copy count: refuse rather than under-replicate."""

    def __init__(self, volume_id: int, listed: int, copy_count: int) -> None:
        super().__init__(
            f"volume {volume_id} has {listed} known replica locations, fewer than its copy count {copy_count}"
        )
        self.volume_id = volume_id
        self.listed = listed
        self.copy_count = copy_count


class ReplicationFailed(VolumeServerError):
    """At least one replica did not take the write or delete; `failures` maps peer -> reason."""

    def __init__(self, volume_id: int, failures: Sequence[tuple[str, str]]) -> None:
        detail = "; ".join(f"{peer}: {reason}" for peer, reason in failures)
        super().__init__(f"failed to write to replicas for volume {volume_id}: {detail}")
        self.volume_id = volume_id
        self.failures = tuple(failures)


class VolumeNotEmpty(VolumeServerError):
    def __init__(self, volume_id: int, file_count: int) -> None:
        super().__init__(f"volume {volume_id} is not empty ({file_count} live files)")
        self.volume_id = volume_id
        self.file_count = file_count

