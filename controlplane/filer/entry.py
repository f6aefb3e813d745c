"""Filer entries: `filer_pb.Entry` built, measured and shown the way SeaweedFS clients expect.

The Entry message IS the persisted format: the store keeps `Entry.SerializeToString()` opaque,
keyed by (directory, name), so an entry written by this module reads back byte for byte in
`weed mount`, `weed filer.meta.backup` and the HTTP listing.

Facts carried over from SeaweedFS (reference §5.4, gRPC §5.4-5.5):
- `file_mode` is a Go `os.FileMode`: permission bits plus Go's type bits (directory 1<<31,
  symlink 1<<27), never POSIX `S_IFDIR`.
- times in `FuseAttributes` are unix seconds with the fraction in the `*_ns` siblings.
- a chunk is named by `file_id` or by the structured `fid`; kelp stores and sends both,
  canonical lower-case.
- the HTTP ETag is the entry MD5, else the single chunk's MD5, else md5(concat(chunk md5s))-N.

Pure: imports kelp_pb messages and the engine's FileId value type only.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from kelp_pb import weed_filer_pb2 as filer_pb

from dataplane.volume.engine.types import Cookie, FileId, NeedleId, VolumeId

# Go os.FileMode bits (io/fs): the type bits sit at the top of the uint32.
MODE_DIR = 1 << 31
MODE_SYMLINK = 1 << 27
MODE_PERM = 0o777
MODE_TYPE_BITS = 0xFFF00000  # every Go type and special bit above the permission/sticky area

# SeaweedFS's choices (reference §5.1): parents made on the way get dir|0771, an explicit mkdir
# dir|0660, and an uploaded file 0660 unless the request gives ?mode=.
IMPLICIT_DIR_MODE = MODE_DIR | 0o771
MKDIR_MODE = MODE_DIR | 0o660
DEFAULT_FILE_MODE = 0o660

_NS = 1_000_000_000
GO_ZERO_TIME = "0001-01-01T00:00:00Z"  # how Go prints an unset time.Time in the JSON listing


def new_inode() -> int:
    """A random 63-bit inode: stable for the entry's life (renames keep it), never 0."""
    return secrets.randbits(63) or 1


def set_times(attributes: filer_pb.FuseAttributes, now_ns: int, *, created: bool) -> None:
    """mtime/ctime/atime (and crtime when `created`) to `now_ns`, seconds + fraction."""
    sec, frac = divmod(now_ns, _NS)
    attributes.mtime, attributes.mtime_ns = sec, frac
    attributes.ctime, attributes.ctime_ns = sec, frac
    attributes.atime, attributes.atime_ns = sec, frac
    if created:
        attributes.crtime, attributes.crtime_ns = sec, frac


def mtime_ns(entry: filer_pb.Entry) -> int:
    return int(entry.attributes.mtime) * _NS + int(entry.attributes.mtime_ns)


def new_directory(name: str, mode: int, now_ns: int, *, uid: int = 0, gid: int = 0) -> filer_pb.Entry:
    entry = filer_pb.Entry(name=name, is_directory=True)
    entry.attributes.file_mode = MODE_DIR | (mode & ~MODE_DIR & 0xFFFFFFFF)
    entry.attributes.uid, entry.attributes.gid = uid, gid
    entry.attributes.inode = new_inode()
    set_times(entry.attributes, now_ns, created=True)
    return entry


def root_entry() -> filer_pb.Entry:
    """The root as clients see it: a directory with an empty name, dir|0777 (what weed shows)."""
    entry = filer_pb.Entry(name="", is_directory=True)
    entry.attributes.file_mode = MODE_DIR | 0o777
    entry.attributes.inode = 1
    return entry


def is_directory(entry: filer_pb.Entry) -> bool:
    return entry.is_directory or bool(entry.attributes.file_mode & MODE_DIR)


# -- chunks ---------------------------------------------------------------------------------------


def chunk_fid(chunk: filer_pb.FileChunk) -> str:
    """The canonical fid string of a chunk, from `file_id` or, failing that, the `fid` message."""
    if chunk.file_id:
        return str(chunk.file_id)
    fid = chunk.fid
    return str(FileId(VolumeId(fid.volume_id), NeedleId(fid.file_key), Cookie(fid.cookie)))


def make_chunk(
    fid: str, offset: int, size: int, modified_ts_ns: int, md5: bytes, *, is_compressed: bool = False,
    is_chunk_manifest: bool = False,
) -> filer_pb.FileChunk:
    """A chunk with both fid forms set (canonical string and structured message)."""
    parsed = FileId.parse(fid)
    chunk = filer_pb.FileChunk(
        file_id=str(parsed),
        offset=offset,
        size=size,
        modified_ts_ns=modified_ts_ns,
        e_tag=base64.b64encode(md5).decode() if md5 else "",
        is_compressed=is_compressed,
        is_chunk_manifest=is_chunk_manifest,
    )
    chunk.fid.volume_id, chunk.fid.file_key, chunk.fid.cookie = parsed.volume_id, parsed.key, parsed.cookie
    return chunk


def normalize_chunks(chunks: Iterable[filer_pb.FileChunk]) -> None:
    """Fill in whichever fid form a client left out (gRPC clients may send either)."""
    for chunk in chunks:
        if not chunk.file_id and chunk.HasField("fid"):
            chunk.file_id = chunk_fid(chunk)
        elif chunk.file_id and not chunk.HasField("fid"):
            parsed = FileId.parse(chunk.file_id)
            chunk.file_id = str(parsed)
            chunk.fid.volume_id, chunk.fid.file_key, chunk.fid.cookie = (
                parsed.volume_id, parsed.key, parsed.cookie)


def chunk_md5(chunk: filer_pb.FileChunk) -> bytes:
    """The raw MD5 in a chunk's e_tag (base64 from kelp and weed; hex accepted), or b""."""
    tag = chunk.e_tag.strip('"')
    if len(tag) == 32:
        try:
            return bytes.fromhex(tag)
        except ValueError:
            pass
    try:
        raw = base64.b64decode(tag, validate=True)
    except (binascii.Error, ValueError):
        return b""
    return raw if len(raw) == 16 else b""


def file_size(entry: filer_pb.Entry) -> int:
    """What readers take as the size: max(attributes.file_size, end of the last chunk), or the
    inline content's length."""
    size = int(entry.attributes.file_size)
    if entry.content:
        return max(size, len(entry.content))
    for chunk in entry.chunks:
        end = chunk.offset + chunk.size
        if end > size:
            size = end
    return size


def etag(entry: filer_pb.Entry) -> str:
    """SeaweedFS's filer ETag, unquoted."""
    if entry.attributes.md5:
        return bytes(entry.attributes.md5).hex()
    if len(entry.chunks) == 1:
        md5 = chunk_md5(entry.chunks[0])
        return md5.hex() if md5 else entry.chunks[0].e_tag
    if entry.content and not entry.chunks:
        return hashlib.md5(entry.content).hexdigest()
    joined = hashlib.md5(b"".join(chunk_md5(c) for c in entry.chunks)).hexdigest()
    return f"{joined}-{len(entry.chunks)}"


# -- JSON (listing and ?metadata=true) -------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _utc_seconds(seconds: int) -> str:
    # Cached: a listing formats four stamps per entry, mostly of a few distinct seconds, and
    # datetime formatting was 40% of a listing's CPU.
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _rfc3339(seconds: int, nanos: int) -> str:
    if seconds == 0 and nanos == 0:
        return GO_ZERO_TIME
    return _rfc3339_cached(seconds, nanos)


@functools.lru_cache(maxsize=16384)
def _rfc3339_cached(seconds: int, nanos: int) -> str:
    # Entries written together share stamps (an upload's mtime, crtime and ctime are one), so
    # whole stamps repeat too.
    stamp = _utc_seconds(seconds)
    if nanos:
        stamp += "." + f"{nanos:09d}".rstrip("0")
    return stamp + "Z"


def _b64(data: bytes) -> str | None:
    return base64.b64encode(data).decode() if data else None


def _fid_json(fid: filer_pb.FileId) -> dict[str, int]:
    out: dict[str, int] = {}
    if fid.volume_id:
        out["volume_id"] = fid.volume_id
    if fid.file_key:
        out["file_key"] = fid.file_key
    if fid.cookie:
        out["cookie"] = fid.cookie
    return out


def chunk_json(chunk: filer_pb.FileChunk) -> dict[str, Any]:
    """Protobuf snake_case names, zero and false fields left out (as Go's JSON of the struct)."""
    out: dict[str, Any] = {"file_id": chunk_fid(chunk)}
    if chunk.offset:
        out["offset"] = chunk.offset
    if chunk.size:
        out["size"] = chunk.size
    if chunk.modified_ts_ns:
        out["modified_ts_ns"] = chunk.modified_ts_ns
    if chunk.e_tag:
        out["e_tag"] = chunk.e_tag
    if chunk.HasField("fid"):
        out["fid"] = _fid_json(chunk.fid)
    if chunk.cipher_key:
        out["cipher_key"] = _b64(chunk.cipher_key)
    if chunk.is_compressed:
        out["is_compressed"] = True
    if chunk.is_chunk_manifest:
        out["is_chunk_manifest"] = True
    return out


def entry_json(
    full_path: str, entry: filer_pb.Entry, chunks: Iterable[filer_pb.FileChunk] | None = None
) -> dict[str, Any]:
    """The JSON SeaweedFS's filer gives for an entry in a listing or with ?metadata=true.
    `chunks` replaces the stored list (resolved manifests)."""
    # Written for speed (a listing calls it per entry): protobuf field reads are C calls, so
    # each is made once, and empty parts are skipped before any work.
    a = entry.attributes
    extended = entry.extended
    directory = is_directory(entry)
    out: dict[str, Any] = {
        "FullPath": full_path,
        "Mtime": _rfc3339(a.mtime, a.mtime_ns),
        "Crtime": _rfc3339(a.crtime, a.crtime_ns),
        "Ctime": _rfc3339(a.ctime, a.ctime_ns),
        "Atime": _rfc3339(a.atime, a.atime_ns),
        "Mode": a.file_mode,
        "Uid": a.uid,
        "Gid": a.gid,
        "Mime": a.mime,
        "TtlSec": a.ttl_sec,
        "UserName": a.user_name,
        "GroupNames": list(a.group_name) if a.group_name else None,
        "SymlinkTarget": a.symlink_target,
        "Md5": _b64(a.md5),
        "FileSize": a.file_size,  # a file's is set below, from its chunks or content too
        "Rdev": a.rdev,
        "Inode": a.inode,
        "Extended": {k: _b64(v) or "" for k, v in sorted(extended.items())} if extended else None,
    }
    stored = entry.chunks
    shown = stored if chunks is None else list(chunks)
    if shown:
        out["chunks"] = [chunk_json(c) for c in shown]
    content = entry.content
    if not directory:
        size = int(a.file_size)
        if content:
            size = max(size, len(content))
        else:  # file_size(entry), in the same pass over the chunks
            for chunk in stored:
                end = chunk.offset + chunk.size
                if end > size:
                    size = end
        out["FileSize"] = size
    out["HardLinkId"] = _b64(entry.hard_link_id)
    out["HardLinkCounter"] = entry.hard_link_counter
    out["Content"] = _b64(content)
    out["Remote"] = None
    out["Quota"] = entry.quota
    out["WORMEnforcedAtTsNs"] = entry.worm_enforced_at_ts_ns
    return out
