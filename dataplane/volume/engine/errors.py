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
