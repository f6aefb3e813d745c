"""Errors of the filer core: each names one condition and carries its data as attributes.

Adapters map them to statuses in one table each (http_api.py: SeaweedFS's HTTP statuses; grpc_api.py:
FilerError codes and the message substrings Go clients look for). The messages that SeaweedFS clients
match on (`filer: no entry is found in filer store`, `fail to delete non-empty folder`) are kept
verbatim in `str()`.

Pure: imports nothing from kelp.
"""

from __future__ import annotations

from collections.abc import Sequence

NOT_FOUND_MESSAGE = "filer: no entry is found in filer store"


class FilerError(Exception):
    """Base of every filer core error."""


class InvalidPath(FilerError, ValueError):
    """A path the filer refuses: `..`, NUL, not absolute, too long."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"invalid path {path!r}: {reason}")
        self.path = path
        self.reason = reason


class NameTooLong(InvalidPath):
    """One name (path segment) or the whole path is longer than the filer stores (HTTP 414)."""

    def __init__(self, path: str, length: int, limit: int) -> None:
        super().__init__(path, f"{length} bytes is longer than the limit of {limit} bytes")
        self.length = length
        self.limit = limit


class EntryNotFound(FilerError, LookupError):
    def __init__(self, path: str) -> None:
        # The message alone, without the path: Go clients compare it (mount, shell, meta.backup).
        super().__init__(NOT_FOUND_MESSAGE)
        self.path = path


class EntryExists(FilerError):
    """Creating with o_excl (or mkdir) where an entry already is."""

    def __init__(self, path: str, is_directory: bool) -> None:
        kind = "dir" if is_directory else "file"
        super().__init__(f"{kind} {path} already exists")
        self.path = path
        self.is_directory = is_directory


class ParentIsFile(FilerError):
    """A path whose ancestor is a file, not a directory."""

    def __init__(self, path: str, parent: str) -> None:
        super().__init__(f"{parent} is a file")
        self.path = path
        self.parent = parent


class ExistingIsDirectory(FilerError):
    """Writing a file over a directory (or moving a file onto one)."""

    def __init__(self, path: str) -> None:
        super().__init__(f"existing entry is a directory: {path}")
        self.path = path


class ExistingIsFile(FilerError):
    """Replacing a file by a directory."""

    def __init__(self, path: str) -> None:
        super().__init__(f"existing entry is a file: {path}")
        self.path = path


class DirectoryNotEmpty(FilerError):
    def __init__(self, path: str) -> None:
        # Clients match on this text (weed mount maps it to ENOTEMPTY).
        super().__init__(f"fail to delete non-empty folder: {path}")
        self.path = path


class InvalidRename(FilerError, ValueError):
    """Renaming the root, or a directory into its own subtree."""

    def __init__(self, old_path: str, new_path: str, reason: str) -> None:
        super().__init__(f"cannot move {old_path} to {new_path}: {reason}")
        self.old_path = old_path
        self.new_path = new_path
        self.reason = reason


class ChunkWriteFailed(FilerError):
    """A chunk could not be stored on any volume server (assign or upload failed). `written`
    names the fids already stored for this request, which the caller must discard."""

    def __init__(self, path: str, reason: str, written: Sequence[str] = ()) -> None:
        super().__init__(f"write {path}: {reason}")
        self.path = path
        self.reason = reason
        self.written = tuple(written)


class ChunkReadFailed(FilerError):
    """A chunk of a file could not be read from any replica. `missing` is True when every
    replica answered that the needle does not exist (as opposed to not answering)."""

    def __init__(self, fid: str, reason: str, *, missing: bool = False) -> None:
        super().__init__(f"read chunk {fid}: {reason}")
        self.fid = fid
        self.reason = reason
        self.missing = missing


class DigestMismatch(FilerError, ValueError):
    """The client's Content-MD5 does not match the data received."""

    def __init__(self, expected: str, actual: str) -> None:
        super().__init__(f"Content-MD5 mismatch: expected {expected}, computed {actual}")
        self.expected = expected
        self.actual = actual
