"""The needle: one stored blob, and its record layout in a `.dat` file.

Record layout, version 3 (big-endian; version 2 is the same without AppendAtNs):

    offset      size      field
    0           4         cookie
    4           8         needle id (key)
    12          4         Size: length of the body below; 0 for tombstones and empty needles
    -- body (only when Size > 0) --
    16          4         DataSize
    20          DataSize  data (gzip bytes when FLAG_COMPRESSED)
    ...         1         flags
    ...         1 + n     FLAG_HAS_NAME: name length (uint8), name
    ...         1 + n     FLAG_HAS_MIME: mime length (uint8), mime
    ...         5         FLAG_HAS_LAST_MODIFIED: low 5 bytes of unix seconds
    ...         2         FLAG_HAS_TTL: count byte, unit byte
    ...         2 + n     FLAG_HAS_PAIRS: pairs length (uint16), pairs JSON
    -- tail --
    16+Size     4         CRC32-C of the stored data, raw (readers also accept the legacy transform)
    20+Size     8         AppendAtNs (version 3 only)
    ...         1..8      padding to a multiple of 8; never 0 bytes; contents ignored on read
                          (written as the Size bytes then zeros, as SeaweedFS does)

Version registry: version 3 is written; versions 2 and 3 are read. Version 1 (no DataSize, no
flags) is refused.

Pure: no file or network I/O; imports only the engine's value types and errors.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from crc32c import crc32c

from dataplane.volume.engine.errors import CorruptNeedle, InvalidNeedle
from dataplane.volume.engine.types import Ttl

VERSION_2 = 2
VERSION_3 = 3
CURRENT_VERSION = VERSION_3
READABLE_VERSIONS = frozenset({VERSION_2, VERSION_3})

FLAG_COMPRESSED = 0x01
FLAG_HAS_NAME = 0x02
FLAG_HAS_MIME = 0x04
FLAG_HAS_LAST_MODIFIED = 0x08
FLAG_HAS_TTL = 0x10
FLAG_HAS_PAIRS = 0x20
FLAG_CHUNK_MANIFEST = 0x80

HEADER_SIZE = 16
CHECKSUM_SIZE = 4
TIMESTAMP_SIZE = 8
PADDING = 8
# Names and MIME types carry a uint8 length; pairs a uint16 one.
MAX_NAME_LENGTH = 255
MAX_PAIRS_LENGTH = 0xFFFF
# Size is read into a signed 32-bit integer by SeaweedFS (negative means deleted), so a body
# must stay below 2 GiB for the record to be readable by both.
MAX_SIZE = 0x7FFFFFFF

_HEADER = struct.Struct(">IQI")  # cookie, id, Size
_U32 = struct.Struct(">I")
_U16 = struct.Struct(">H")
_HEADER_DATA = struct.Struct(">IQII")  # cookie, id, Size, DataSize
_TAIL_V3 = struct.Struct(">IQ")  # checksum, AppendAtNs
# Tail plus the longest padding (8 bytes: Size, then zeros), cut to the real padding length.
_TAIL_V3_PADDED = struct.Struct(">IQI4x")
_TAIL_V2_PADDED = struct.Struct(">II4x")
_LAST_MODIFIED = struct.Struct(">BI")  # the low 5 bytes of a uint64
NO_TTL = Ttl()


@dataclass(slots=True)
class Needle:
    """A blob and its metadata. `size` is the Size field, set when encoded or decoded."""

    cookie: int = 0
    id: int = 0
    data: bytes = b""
    flags: int = 0
    name: bytes = b""
    mime: bytes = b""
    last_modified: int = 0  # unix seconds
    ttl: Ttl = NO_TTL  # Ttl is immutable, so one shared default is safe
    pairs: bytes = b""  # JSON object of the Seaweed- headers, prefix removed
    checksum: int = 0  # CRC32-C of data as stored (raw form)
    append_at_ns: int = 0
    size: int = 0

    @classmethod
    def for_upload(
        cls,
        cookie: int,
        id: int,
        data: bytes,
        *,
        name: bytes = b"",
        mime: bytes = b"",
        last_modified: int = 0,
        ttl: Ttl = NO_TTL,
        pairs: bytes = b"",
        compressed: bool = False,
        chunk_manifest: bool = False,
    ) -> Needle:
        """A needle flagged the way SeaweedFS's HTTP write path flags one.

        Last-modified is always present; name and MIME whenever shorter than 256 bytes, even
        when empty; TTL and pairs when non-empty.
        """
        flags = FLAG_HAS_LAST_MODIFIED
        if len(name) <= MAX_NAME_LENGTH:
            flags |= FLAG_HAS_NAME
        else:
            name = b""
        if len(mime) <= MAX_NAME_LENGTH:
            flags |= FLAG_HAS_MIME
        else:
            mime = b""
        if ttl:
            flags |= FLAG_HAS_TTL
        if pairs:
            flags |= FLAG_HAS_PAIRS
        if compressed:
            flags |= FLAG_COMPRESSED
        if chunk_manifest:
            flags |= FLAG_CHUNK_MANIFEST
        return cls(cookie, id, data, flags, name, mime, last_modified, ttl, pairs)

    @property
    def is_compressed(self) -> bool:
        return bool(self.flags & FLAG_COMPRESSED)

    @property
    def is_chunk_manifest(self) -> bool:
        return bool(self.flags & FLAG_CHUNK_MANIFEST)

    @property
    def has_ttl(self) -> bool:
        return bool(self.flags & FLAG_HAS_TTL) and bool(self.ttl)

    def etag(self) -> str:
        """SeaweedFS's volume ETag: the stored CRC32-C as 8 lowercase hex digits (unquoted)."""
        return f"{self.checksum:08x}"


def padding_length(size: int, version: int = CURRENT_VERSION) -> int:
    """Padding after a record whose Size field is `size`: 1..8 bytes, never 0."""
    unpadded = HEADER_SIZE + size + CHECKSUM_SIZE + (TIMESTAMP_SIZE if version == VERSION_3 else 0)
    return PADDING - unpadded % PADDING


def record_length(size: int, version: int = CURRENT_VERSION) -> int:
    """Whole record length in `.dat` for a Size field of `size` (a multiple of 8)."""
    tail = CHECKSUM_SIZE + (TIMESTAMP_SIZE if version == VERSION_3 else 0)
    unpadded = HEADER_SIZE + size + tail
    return unpadded + PADDING - unpadded % PADDING


def checksum(data: bytes) -> int:
    """CRC32-C of stored bytes, as written in the record (no transform)."""
    return crc32c(data)


def legacy_checksum(crc: int) -> int:
    """The transformed CRC written by SeaweedFS volume servers before 3.09."""
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def checksum_matches(stored: int, data: bytes) -> bool:
    crc = crc32c(data)
    return stored == crc or stored == legacy_checksum(crc)


def _body_meta(needle: Needle) -> bytearray:
    """Flags byte and the optional fields that follow the data."""
    flags = needle.flags
    meta = bytearray((flags,))
    if flags & FLAG_HAS_NAME:
        name = needle.name[:MAX_NAME_LENGTH]
        meta.append(len(name))
        meta += name
    if flags & FLAG_HAS_MIME:
        mime = needle.mime[:MAX_NAME_LENGTH]
        meta.append(len(mime))
        meta += mime
    if flags & FLAG_HAS_LAST_MODIFIED:
        meta += _LAST_MODIFIED.pack(needle.last_modified >> 32 & 0xFF, needle.last_modified & 0xFFFFFFFF)
    if flags & FLAG_HAS_TTL:
        meta += needle.ttl.to_bytes()
    if flags & FLAG_HAS_PAIRS:
        if len(needle.pairs) > MAX_PAIRS_LENGTH:
            raise InvalidNeedle(needle.id, f"pairs are {len(needle.pairs)} bytes, over {MAX_PAIRS_LENGTH}")
        meta += _U16.pack(len(needle.pairs))
        meta += needle.pairs
    return meta


def encode(needle: Needle, version: int = CURRENT_VERSION) -> list[bytes | bytearray]:
    """The record for `needle` as buffers to write back to back (for os.pwritev).

    Uses needle.checksum and needle.append_at_ns as given; sets needle.size. An empty
    needle has Size 0 and loses its metadata, as in SeaweedFS.
    """
    buffers = encode_body(needle)
    buffers.append(encode_tail(needle.checksum, needle.append_at_ns, needle.size, version))
    return buffers


def encode_body(needle: Needle) -> list[bytes | bytearray]:
    """Header and body of the record (everything before the tail); sets needle.size."""
    data = needle.data
    if data:
        meta = _body_meta(needle)
        size = 4 + len(data) + len(meta)
        if size > MAX_SIZE:
            raise InvalidNeedle(needle.id, f"body of {size} bytes is over {MAX_SIZE}")
        needle.size = size
        return [_HEADER_DATA.pack(needle.cookie, needle.id, size, len(data)), data, meta]
    needle.size = 0
    return [_HEADER.pack(needle.cookie, needle.id, 0)]


def encode_tail(checksum: int, append_at_ns: int, size: int, version: int = CURRENT_VERSION) -> bytes:
    """Checksum, AppendAtNs (v3) and padding of a record whose Size field is `size`."""
    # SeaweedFS's padding happens to start with the Size field's bytes; copy it so files match.
    if version == VERSION_3:
        pad = PADDING - (HEADER_SIZE + size + CHECKSUM_SIZE + TIMESTAMP_SIZE) % PADDING
        return _TAIL_V3_PADDED.pack(checksum, append_at_ns, size)[: 12 + pad]
    pad = PADDING - (HEADER_SIZE + size + CHECKSUM_SIZE) % PADDING
    return _TAIL_V2_PADDED.pack(checksum, size)[: 4 + pad]


def encode_tombstone(cookie: int, key: int, deleted_checksum: int, append_at_ns: int,
                     version: int = CURRENT_VERSION) -> bytes:
    """A deletion record: Size 0, carrying the deleted needle's CRC."""
    return b"".join(encode(Needle(cookie, key, checksum=deleted_checksum, append_at_ns=append_at_ns),
                           version))


def parse_header(buf: bytes | memoryview) -> tuple[int, int, int]:
    """(cookie, id, Size) from the first 16 bytes of a record."""
    cookie, key, size = _HEADER.unpack_from(buf, 0)
    return cookie, key, size


def decode(buf: bytes, version: int = CURRENT_VERSION, *, volume_id: int = 0, offset: int = 0,
           verify: bool = True) -> Needle:
    """Parse one whole record (at least record_length(Size) bytes, padding optional).

    With `verify`, a CRC that matches neither the raw nor the legacy form raises
    CorruptNeedle; so does any field running past the body.
    """
    try:
        cookie, key, size = _HEADER.unpack_from(buf, 0)
    except struct.error as err:
        raise CorruptNeedle(volume_id, 0, offset, "record shorter than its header") from err
    tail_at = HEADER_SIZE + size
    if version == VERSION_3:
        if len(buf) < tail_at + 12:
            raise CorruptNeedle(volume_id, key, offset, f"record shorter than its Size {size}")
        crc, append_at_ns = _TAIL_V3.unpack_from(buf, tail_at)
    else:
        if len(buf) < tail_at + 4:
            raise CorruptNeedle(volume_id, key, offset, f"record shorter than its Size {size}")
        (crc,) = _U32.unpack_from(buf, tail_at)
        append_at_ns = 0
    if size == 0:
        return Needle(cookie, key, b"", 0, b"", b"", 0, NO_TTL, b"", crc, append_at_ns, 0)
    flags, last_modified, ttl = 0, 0, NO_TTL
    name = mime = pairs = b""
    try:
        (data_size,) = _U32.unpack_from(buf, HEADER_SIZE)
        p = HEADER_SIZE + 4 + data_size
        if p > tail_at:
            raise ValueError(f"DataSize {data_size} runs past the body")
        data = buf[HEADER_SIZE + 4 : p]
        if p < tail_at:
            flags = buf[p]
            p += 1
            if flags & FLAG_HAS_NAME:
                n = buf[p]
                name = buf[p + 1 : p + 1 + n]
                p += 1 + n
            if flags & FLAG_HAS_MIME:
                n = buf[p]
                mime = buf[p + 1 : p + 1 + n]
                p += 1 + n
            if flags & FLAG_HAS_LAST_MODIFIED:
                high, low = _LAST_MODIFIED.unpack_from(buf, p)
                last_modified = high << 32 | low
                p += 5
            if flags & FLAG_HAS_TTL:
                ttl = Ttl.from_bytes(buf[p : p + 2])
                p += 2
            if flags & FLAG_HAS_PAIRS:
                (n,) = _U16.unpack_from(buf, p)
                pairs = buf[p + 2 : p + 2 + n]
                p += 2 + n
            if p > tail_at:
                raise ValueError("optional fields run past the body")
    except (struct.error, IndexError, ValueError) as err:
        raise CorruptNeedle(volume_id, key, offset, f"unparsable body: {err}") from err
    if verify and not checksum_matches(crc, data):
        raise CorruptNeedle(volume_id, key, offset, f"CRC mismatch: stored {crc:08x}")
    return Needle(cookie, key, data, flags, name, mime, last_modified, ttl, pairs, crc, append_at_ns, size)
