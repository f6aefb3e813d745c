"""Errors of filer.meta.backup and filer.meta.verify: each names what to do about it.

Imports nothing from kelp.
"""

from __future__ import annotations


class BackupError(Exception):
    """Base class: something stops the backup; str() is one line for the operator."""


class BackupConfigError(BackupError):
    """backup_filer.toml is missing, unreadable or names no store."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


class CheckpointTrimmed(BackupError):
    """The filer no longer holds the change log from the checkpoint on (retention trimmed it)."""

    def __init__(self, since_ns: int, filer: str, detail: str) -> None:
        super().__init__(
            f"filer {filer} no longer holds the change log from the checkpoint (since_ns={since_ns}): "
            "run again with -restart to copy the whole tree anew"
        )
        self.since_ns = since_ns
        self.filer = filer
        self.detail = detail


class CheckpointMismatch(BackupError):
    """The standby's checkpoint was made for another -filerPath."""

    def __init__(self, stored_path: str, wanted_path: str) -> None:
        super().__init__(
            f"the standby's checkpoint is for -filerPath={stored_path}, not {wanted_path}: "
            "use the same -filerPath, or -restart to copy the new one anew"
        )
        self.stored_path = stored_path
        self.wanted_path = wanted_path


class InvalidEvent(BackupError):
    """A metadata event the standby cannot apply (no name on an entry it would write)."""

    def __init__(self, ts_ns: int, reason: str) -> None:
        super().__init__(f"metadata event ts_ns={ts_ns} cannot be applied: {reason}")
        self.ts_ns = ts_ns
        self.reason = reason
