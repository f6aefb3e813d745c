"""Filer paths: one normal form ("/a/b", root "/"), checked once at the edge.

Every path the core sees went through `normalize`: absolute, no empty or `.` segments, no trailing
slash, and never a `..` segment (refused rather than resolved, so no request can name anything
outside the directory it appears to address), NUL or an over-long name. The store keys entries
by (directory, name), so `split` and `join` are the only ways the two forms meet.

Pure: imports only kelp's filer errors.
"""

from __future__ import annotations

from controlplane.filer.errors import InvalidPath, NameTooLong

ROOT = "/"
# One name: NAME_MAX of Linux file systems, and SeaweedFS's default MaxFilenameLength, so any
# name the filer accepts can also be created by `weed mount` and copied out to a local disk.
MAX_NAME_BYTES = 255
# A whole path: PATH_MAX. Also bounds the (directory, name) index keys in the store.
MAX_PATH_BYTES = 4096


def normalize(path: str) -> str:
    """The normal form of an absolute path; raises InvalidPath (or NameTooLong)."""
    if "\x00" in path:
        raise InvalidPath(path.replace("\x00", "\\x00"), "contains a NUL byte")
    if not path.startswith("/"):
        raise InvalidPath(path, "not an absolute path")
    names = [part for part in path.split("/") if part and part != "."]
    for name in names:
        if name == "..":
            raise InvalidPath(path, "'..' is not allowed in a filer path")
        size = len(name.encode("utf-8", "surrogatepass"))
        if size > MAX_NAME_BYTES:
            raise NameTooLong(path, size, MAX_NAME_BYTES)
    normal = "/" + "/".join(names)
    size = len(normal.encode("utf-8", "surrogatepass"))
    if size > MAX_PATH_BYTES:
        raise NameTooLong(path, size, MAX_PATH_BYTES)
    return normal


def check_name(name: str) -> str:
    """A single entry name as given by a gRPC client: non-empty, no '/', '.', '..' or NUL."""
    if not name or name in (".", "..") or "/" in name or "\x00" in name:
        raise InvalidPath(name.replace("\x00", "\\x00"), "not a valid entry name")
    size = len(name.encode("utf-8", "surrogatepass"))
    if size > MAX_NAME_BYTES:
        raise NameTooLong(name, size, MAX_NAME_BYTES)
    return name


def split(path: str) -> tuple[str, str]:
    """("/a", "b") for "/a/b"; ("/", "") for the root. `path` must be normal."""
    if path == ROOT:
        return ROOT, ""
    directory, _, name = path.rpartition("/")
    return directory or ROOT, name


def join(directory: str, name: str) -> str:
    """The full path of `name` in `directory` (both normal); the root for ("/", "")."""
    if not name:
        return directory
    return f"{directory}/{name}" if directory != ROOT else f"/{name}"


def ancestors(path: str) -> list[str]:
    """Every directory above `path`, root first: "/a/b/c" gives ["/", "/a", "/a/b"]."""
    if path == ROOT:
        return []
    out = [ROOT]
    parts = path.split("/")[1:-1]
    for i in range(len(parts)):
        out.append("/" + "/".join(parts[: i + 1]))
    return out


def is_within(path: str, directory: str) -> bool:
    """True when `path` is `directory` itself or below it."""
    if directory == ROOT:
        return True
    return path == directory or path.startswith(directory + "/")
