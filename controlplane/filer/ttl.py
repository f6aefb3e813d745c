"""Entry TTL: when an entry with `attributes.ttl_sec` stops being visible.

Facts carried over from SeaweedFS's filer: an entry (never a directory) with ttl_sec > 0 expires
at crtime + ttl_sec; from then on lookups answer not found and listings skip it, and the filer
deletes it lazily, when a read comes across it. The TTL comes from `?ttl=` on an HTTP upload
(1m is the smallest unit), a gRPC entry's attributes, or the filer.conf rule of its path; the
same TTL goes to the master's assign, so the chunks land on volumes whose needles expire too.

kelp also queues the chunks of an expired entry for deletion (in the transaction that deletes
it) and logs the delete, so subscribers drop it as well; SeaweedFS leaves the chunks to the
volume TTL and logs nothing.

The clock is the core's (injectable), called only for entries that have a TTL.

Pure: imports kelp_pb messages only.
"""

from __future__ import annotations

from collections.abc import Callable

from kelp_pb import weed_filer_pb2 as filer_pb

_NS = 1_000_000_000
_MODE_DIR = 1 << 31  # Go os.ModeDir (entry.py's MODE_DIR; not imported to keep this leaf small)


def expires_at_ns(entry: filer_pb.Entry) -> int | None:
    """When the entry expires (unix ns), or None if it never does. Without a crtime (a client
    that sent none) the mtime counts."""
    a = entry.attributes
    if a.ttl_sec <= 0 or entry.is_directory or a.file_mode & _MODE_DIR:
        return None
    born = a.crtime * _NS + a.crtime_ns if a.crtime or a.crtime_ns else a.mtime * _NS + a.mtime_ns
    return int(born + a.ttl_sec * _NS)


def is_expired(entry: filer_pb.Entry, clock: Callable[[], int]) -> bool:
    """True once the entry's TTL has passed by `clock` (unix ns)."""
    at = expires_at_ns(entry)
    return at is not None and clock() >= at
