"""kelp's Raft journal for pysyncobj: the same file format as pysyncobj 0.3.17's FileJournal,
written with plain `pwrite` instead of an mmap, validated when read, and optionally fsync'ed.

pysyncobj calls the `Journal` interface (add, clear, deleteEntriesFrom/To, indexing and slicing,
len, term/vote/commit-index accessors, onOneSecondTimer, _destroy). `raft_replica.py` installs
this class as pysyncobj's journal factory, and calls `sync()` before any message that promises
durability leaves the node (an append acknowledgement, a vote) and once per tick.

Differences from pysyncobj's FileJournal, and why:
- Reading stops at the first record that does not check out (length fields that disagree or run
  past the file, an index that is not the previous + 1) and truncates the journal there, instead
  of trusting the header's end offset. After a power loss the header may point past records that
  never reached the disk (pysyncobj's PR #197 reports a start-up hang from exactly this).
- `fsync=True` (`-raft.journalFsync`): entries are fdatasync'ed before `sync()` returns, and the
  `.meta` file (term and vote) is written to a temporary file, fsync'ed, renamed and the
  directory fsync'ed before `setCurrentTerm` returns (a vote is sent after that). Off, the
  journal survives kill -9 (the page cache keeps the writes) but not a power loss, like
  pysyncobj's own.
- `deleteEntriesTo` (log compaction) writes the remaining entries to a new file and renames it
  over the journal, so a crash during compaction keeps either the old or the new journal,
  never a half-rewritten one.
- `getRaftCommitIndex` never exceeds the last index in the journal (a commit index saved once a
  second can outrun entries that were lost).

File format (pysyncobj FileJournal version 1, little-endian):
    offset 0   24 bytes  b"PYSYNCOBJ" padded with NUL
    offset 24   8 bytes  pysyncobj version string padded with NUL
    offset 32   4 bytes  format version (1)
    offset 36   4 bytes  end offset of the last record
    offset 40           records: u32 size S, u64 index, u64 term, S-16 bytes command, u32 size S
`<journal>.meta`: a pickled dict {currentTerm, votedForNodeId, raftCommitIndex}.

Must not import anything from kelp: it is pysyncobj glue only.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import struct
from typing import Any

log = logging.getLogger(__name__)

APP_NAME = b"PYSYNCOBJ"
APP_VERSION = b"0.3.17"
NAME_SIZE = 24
VERSION_SIZE = 8
FORMAT_VERSION = 1
END_OFFSET_AT = NAME_SIZE + VERSION_SIZE + 4
FIRST_RECORD_AT = END_OFFSET_AT + 4
_SIZE = struct.Struct("<I")
_INDEX_TERM = struct.Struct("<QQ")

Entry = tuple[bytes, int, int]  # (command, raft index, term), as pysyncobj keeps them


def _header() -> bytes:
    return (
        APP_NAME.ljust(NAME_SIZE, b"\0")
        + APP_VERSION.ljust(VERSION_SIZE, b"\0")
        + struct.pack("<II", FORMAT_VERSION, FIRST_RECORD_AT)
    )


def _record(command: bytes, index: int, term: int) -> bytes:
    body = _INDEX_TERM.pack(index, term) + command
    size = _SIZE.pack(len(body))
    return size + body + size


def parse_records(data: bytes) -> tuple[list[Entry], list[int], int, str]:
    """Entries of a journal file's bytes, their record offsets, the offset after the last good
    record, and why reading stopped early ("" when the header's end offset was reached)."""
    if len(data) < FIRST_RECORD_AT:
        return [], [], FIRST_RECORD_AT, "" if not data else "short header"
    (end,) = _SIZE.unpack_from(data, END_OFFSET_AT)
    entries: list[Entry] = []
    offsets: list[int] = []
    at = FIRST_RECORD_AT
    limit = min(end, len(data))
    problem = "" if end <= len(data) else f"end offset {end} past the file's {len(data)} bytes"
    while at < limit:
        if at + 4 > limit:
            return entries, offsets, at, "torn record size"
        (size,) = _SIZE.unpack_from(data, at)
        if size < _INDEX_TERM.size or at + 8 + size > limit:
            return entries, offsets, at, f"record at {at} has a bad size {size}"
        (trailer,) = _SIZE.unpack_from(data, at + 4 + size)
        if trailer != size:
            return entries, offsets, at, f"record at {at}: size fields disagree"
        index, term = _INDEX_TERM.unpack_from(data, at + 4)
        if entries and index != entries[-1][1] + 1:
            return entries, offsets, at, f"record at {at}: index {index} after {entries[-1][1]}"
        entries.append((bytes(data[at + 4 + _INDEX_TERM.size : at + 4 + size]), index, term))
        offsets.append(at)
        at += size + 8
    return entries, offsets, at, problem


class KelpJournal:
    """A pysyncobj `Journal` on a file (see the module docstring)."""

    def __init__(self, path: str, *, fsync: bool = False) -> None:
        self.path = path
        self.fsync = fsync
        self._meta_path = path + ".meta"
        self._dirty = False
        created = not os.path.exists(path)
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        if created:
            os.pwrite(self._fd, _header(), 0)
            self._durable_dir()
        data = _read_all(self._fd)
        self._entries, self._offsets, self._end, problem = parse_records(data)
        if problem:
            log.warning(
                "raft journal truncated at its last good record path=%s offset=%d entries=%d reason=%s",
                path, self._end, len(self._entries), problem,
            )
            self._set_end(self._end)
            self.sync()
        self._meta: dict[str, Any] = self._read_meta()
        self._meta_saved = True

    # -- entries ---------------------------------------------------------------------------

    def add(self, command: bytes, idx: int, term: int) -> None:
        record = _record(bytes(command), idx, term)
        os.pwrite(self._fd, record, self._end)
        self._entries.append((command, idx, term))
        self._offsets.append(self._end)
        self._set_end(self._end + len(record))

    def clear(self) -> None:
        self._entries = []
        self._offsets = []
        self._set_end(FIRST_RECORD_AT)

    def deleteEntriesFrom(self, entryFrom: int) -> None:
        """Drop the entries at list position `entryFrom` and after."""
        if entryFrom >= len(self._entries):
            return
        end = self._offsets[entryFrom] if entryFrom >= 0 else FIRST_RECORD_AT
        del self._entries[entryFrom:]
        del self._offsets[entryFrom:]
        self._set_end(end)

    def deleteEntriesTo(self, entryTo: int) -> None:
        """Drop the entries before list position `entryTo` (they are in a snapshot now):
        write the rest to a new file and rename it over this one."""
        keep = self._entries[entryTo:]
        tmp = self.path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(_header())
            for command, idx, term in keep:
                f.write(_record(bytes(command), idx, term))
            end = f.tell()
            f.seek(END_OFFSET_AT)
            f.write(_SIZE.pack(end))
            f.flush()
            if self.fsync:
                os.fsync(f.fileno())
        os.replace(tmp, self.path)
        self._durable_dir()
        os.close(self._fd)
        self._fd = os.open(self.path, os.O_RDWR)
        self._entries = list(keep)
        self._offsets = []
        at = FIRST_RECORD_AT
        for command, _, _ in keep:
            self._offsets.append(at)
            at += len(command) + _INDEX_TERM.size + 8
        self._end = at
        self._dirty = False

    def __getitem__(self, item: Any) -> Any:
        return self._entries[item]

    def __len__(self) -> int:
        return len(self._entries)

    def _set_end(self, end: int) -> None:
        self._end = end
        os.pwrite(self._fd, _SIZE.pack(end), END_OFFSET_AT)
        self._dirty = True

    def sync(self) -> None:
        """Make the entries written so far durable (fsync mode); otherwise nothing."""
        if self.fsync and self._dirty:
            os.fdatasync(self._fd)
        self._dirty = False

    def flush(self) -> None:
        self.sync()

    def _destroy(self) -> None:
        with contextlib.suppress(OSError):
            self.sync()
            if not self._meta_saved:
                self._write_meta()
            os.close(self._fd)

    # -- term, vote, commit index (the .meta file) ----------------------------------------

    def _read_meta(self) -> dict[str, Any]:
        try:
            with open(self._meta_path, "rb") as f:
                meta = pickle.load(f)  # our own file (pysyncobj's format)
        except FileNotFoundError:
            return {}
        except Exception as err:  # a torn .meta: the term is re-learned, the vote is lost
            log.warning("raft meta unreadable, starting from an empty one path=%s error=%s",
                        self._meta_path, err)
            return {}
        return meta if isinstance(meta, dict) else {}

    def _write_meta(self) -> None:
        tmp = self._meta_path + ".tmp"
        with open(tmp, "wb") as f:
            pickle.dump(self._meta, f)
            f.flush()
            if self.fsync:
                os.fsync(f.fileno())
        os.replace(tmp, self._meta_path)
        self._durable_dir()
        self._meta_saved = True

    def _durable_dir(self) -> None:
        if not self.fsync:
            return
        fd = os.open(os.path.dirname(os.path.abspath(self.path)), os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def setRaftCommitIndex(self, raftCommitIndex: int) -> None:
        if self._meta.get("raftCommitIndex") != raftCommitIndex:
            self._meta["raftCommitIndex"] = raftCommitIndex
            self._meta_saved = False

    def getRaftCommitIndex(self) -> int:
        saved = int(self._meta.get("raftCommitIndex", 1))
        last = self._entries[-1][1] if self._entries else 1
        return max(1, min(saved, last))

    def setCurrentTerm(self, term: int, votedForNodeId: Any) -> None:
        # Raft: term and vote are durable before any message showing them is sent.
        self._meta["currentTerm"] = term
        self._meta["votedForNodeId"] = votedForNodeId
        self._write_meta()

    def getCurrentTerm(self) -> int:
        return int(self._meta.get("currentTerm", 0))

    def getVotedForNodeId(self) -> Any:
        return self._meta.get("votedForNodeId")

    def onOneSecondTimer(self) -> None:
        if not self._meta_saved:
            self._write_meta()


def _read_all(fd: int) -> bytes:
    size = os.fstat(fd).st_size
    chunks = []
    at = 0
    while at < size:
        chunk = os.pread(fd, min(1 << 24, size - at), at)
        if not chunk:
            break
        chunks.append(chunk)
        at += len(chunk)
    return b"".join(chunks)
