"""Errors raised by the data-plane client (lookups against the masters).

Each carries its data as attributes. No server code here.
"""

from __future__ import annotations

from collections.abc import Sequence


class ClientError(Exception):
    """Base of every dataplane.client error."""


class VolumeNotFound(ClientError, LookupError):
    """The masters answered: no server holds this volume."""

    def __init__(self, volume_id: int, reason: str = "") -> None:
        super().__init__(f"volume {volume_id} not found" + (f": {reason}" if reason else ""))
        self.volume_id = volume_id
        self.reason = reason


class MasterUnreachable(ClientError, ConnectionError):
    """No configured master answered."""

    def __init__(self, masters: Sequence[str], reason: str) -> None:
        super().__init__(f"no master reachable ({', '.join(masters)}): {reason}")
        self.masters = tuple(masters)
        self.reason = reason


class InvalidChunkManifest(ClientError, ValueError):
    """A `cm=true` needle whose data is not a chunk manifest."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"invalid chunk manifest: {reason}")
        self.reason = reason


class ChunkUnavailable(ClientError):
    """A chunk of a manifest file could not be read or deleted."""

    def __init__(self, fid: str, reason: str) -> None:
        super().__init__(f"chunk {fid}: {reason}")
        self.fid = fid
        self.reason = reason
