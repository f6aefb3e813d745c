"""Value types shared by the engine, the master and clients: ids, file ids,
replica placement and TTL, with SeaweedFS's text and byte encodings.

Pure: no I/O. The master imports this module (it is not server code).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NewType

from dataplane.volume.engine.errors import InvalidFileId, InvalidReplication, InvalidTtl

VolumeId = NewType("VolumeId", int)  # uint32
NeedleId = NewType("NeedleId", int)  # uint64, the needle key
Cookie = NewType("Cookie", int)  # uint32, random per assign

MAX_UINT32 = 0xFFFFFFFF
MAX_UINT64 = 0xFFFFFFFFFFFFFFFF


@dataclass(frozen=True, slots=True)
class FileId:
    """`<vid>,<key hex><cookie hex8>`; the key hex drops whole leading zero bytes."""

    volume_id: VolumeId
    key: NeedleId
    cookie: Cookie

    @classmethod
    def parse(cls, text: str) -> FileId:
        """Parse `vid,keycookie[_delta]` (also `vid/keycookie`), as the volume server does."""
        sep = "," if "," in text else "/"
        vid_text, _, rest = text.partition(sep)
        if not rest:
            raise InvalidFileId(text, "missing key and cookie")
        return cls(parse_volume_id(vid_text, text), *parse_key_cookie(rest, text))

    def key_cookie(self) -> str:
        return format_key_cookie(self.key, self.cookie)

    def __str__(self) -> str:
        return f"{self.volume_id},{self.key_cookie()}"


def parse_volume_id(vid_text: str, whole: str | None = None) -> VolumeId:
    if not vid_text.isdigit():
        raise InvalidFileId(whole if whole is not None else vid_text, "volume id is not a number")
    vid = int(vid_text)
    if vid > MAX_UINT32:
        raise InvalidFileId(whole if whole is not None else vid_text, "volume id out of range")
    return VolumeId(vid)


def parse_key_cookie(text: str, whole: str | None = None) -> tuple[NeedleId, Cookie]:
    """Parse `keyhex cookiehex8[_delta]`: 9..24 hex digits, the last 8 the cookie.

    A `_N` suffix adds N to the key (the keys of a count>1 assign).
    """
    whole = whole if whole is not None else text
    delta = 0
    if "_" in text:
        text, _, delta_text = text.partition("_")
        if not delta_text.isdigit():
            raise InvalidFileId(whole, "delta suffix is not a number")
        delta = int(delta_text)
    if not 8 < len(text) <= 24:
        raise InvalidFileId(whole, "key and cookie must be 9 to 24 hex digits")
    try:
        key = int(text[:-8], 16)
        cookie = int(text[-8:], 16)
    except ValueError as err:
        raise InvalidFileId(whole, "not hexadecimal") from err
    key += delta
    if key > MAX_UINT64:
        raise InvalidFileId(whole, "key out of range")
    return NeedleId(key), Cookie(cookie)


def format_key_cookie(key: int, cookie: int) -> str:
    key_hex = key.to_bytes(8, "big").lstrip(b"\x00").hex()
    return f"{key_hex}{cookie:08x}"


@dataclass(frozen=True, slots=True)
class ReplicaPlacement:
    """`xyz`: x copies in other data centers, y on other racks, z on other servers."""

    diff_data_center: int = 0
    diff_rack: int = 0
    same_rack: int = 0

    @classmethod
    def parse(cls, text: str) -> ReplicaPlacement:
        """Digits only (SeaweedFS accepts junk characters; kelp refuses them); "" means 000."""
        if text == "":
            return cls()
        if not text.isdigit() or len(text) > 3:
            raise InvalidReplication(text)
        digits = text.rjust(3, "0")
        return cls(int(digits[0]), int(digits[1]), int(digits[2]))

    @classmethod
    def from_byte(cls, b: int) -> ReplicaPlacement:
        if not 0 <= b <= 255:
            raise InvalidReplication(str(b))
        return cls(b // 100, (b // 10) % 10, b % 10)

    def to_byte(self) -> int:
        return self.diff_data_center * 100 + self.diff_rack * 10 + self.same_rack

    @property
    def copy_count(self) -> int:
        return self.diff_data_center + self.diff_rack + self.same_rack + 1

    def __str__(self) -> str:
        return f"{self.diff_data_center}{self.diff_rack}{self.same_rack}"


# TTL units as stored in the superblock and needle (byte values), with seconds each.
TTL_UNITS: dict[str, tuple[int, int]] = {
    "m": (1, 60),
    "h": (2, 3600),
    "d": (3, 86400),
    "w": (4, 7 * 86400),
    "M": (5, 30 * 86400),
    "y": (6, 365 * 86400),
}
_UNIT_BY_BYTE = {byte: (letter, secs) for letter, (byte, secs) in TTL_UNITS.items()}


@dataclass(frozen=True, slots=True)
class Ttl:
    """A time to live: a count (0-255) of a unit; count 0 means none."""

    count: int = 0
    unit: int = 0  # 0 none, 1 m, 2 h, 3 d, 4 w, 5 M, 6 y

    @classmethod
    def parse(cls, text: str) -> Ttl:
        """`3m`, `4h`, `5d`, `6w`, `7M`, `8y`; digits alone are minutes.

        As in SeaweedFS, an unknown unit letter means no TTL; a non-number is an error.
        The value is normalized to the largest unit that expresses it exactly.
        """
        if text == "":
            return cls()
        number, unit = (text, "m") if text[-1].isdigit() else (text[:-1], text[-1])
        if not number.isdigit():
            raise InvalidTtl(text)
        if unit not in TTL_UNITS:
            return cls()
        return cls.from_seconds(int(number) * TTL_UNITS[unit][1])

    @classmethod
    def from_seconds(cls, seconds: int) -> Ttl:
        if seconds <= 0:
            return cls()
        for letter in ("y", "M", "w", "d", "h"):
            byte, secs = TTL_UNITS[letter]
            if seconds % secs == 0 and seconds // secs < 256:
                return cls(seconds // secs, byte)
        minutes = max(1, seconds // 60)
        if minutes < 256:
            return cls(minutes, TTL_UNITS["m"][0])
        for letter in ("h", "d", "w", "M", "y"):
            byte, secs = TTL_UNITS[letter]
            if seconds // secs < 256:
                return cls(max(1, seconds // secs), byte)
        return cls(255, TTL_UNITS["y"][0])

    @classmethod
    def from_u16(cls, value: int) -> Ttl:
        return cls.from_bytes(bytes([(value >> 8) & 0xFF, value & 0xFF]))

    @classmethod
    def from_bytes(cls, b: bytes) -> Ttl:
        count, unit = b[0], b[1]
        if count == 0 or unit not in _UNIT_BY_BYTE:
            return cls()
        return cls(count, unit)

    def to_bytes(self) -> bytes:
        return bytes([self.count, self.unit])

    def to_u16(self) -> int:
        return self.count << 8 | self.unit

    @property
    def seconds(self) -> int:
        if self.count == 0:
            return 0
        return self.count * _UNIT_BY_BYTE[self.unit][1]

    def __bool__(self) -> bool:
        return self.count != 0

    def __str__(self) -> str:
        if self.count == 0:
            return ""
        return f"{self.count}{_UNIT_BY_BYTE[self.unit][0]}"
