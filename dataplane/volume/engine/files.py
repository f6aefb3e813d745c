"""Small file-system steps the volume files share: positional full writes, directory fsync,
unlink that tolerates absence. No network imports.
"""

from __future__ import annotations

import contextlib
import errno
import os


def write_all(fd: int, data: bytes, offset: int) -> None:
    """pwrite until every byte is written (a regular file may take a short write)."""
    view = memoryview(data)
    while view:
        n = os.pwrite(fd, view, offset)
        if n <= 0:
            raise OSError(errno.EIO, f"write made no progress at offset {offset}")
        view = view[n:]
        offset += n


def fsync_dir(directory: str) -> None:
    """Make renames and creations in directory durable."""
    fd = os.open(directory or ".", os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def unlink_if_exists(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
