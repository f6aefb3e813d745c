"""VolumeInfo: a volume's `.vif`, SeaweedFS's protobuf-JSON volume info file.

Written the way weed 4.48 writes it: lowerCamel keys, every field present, 64-bit integers
as strings, 2-space indent, two spaces after each colon (protojson's whitespace, copied so
the files compare equal), no trailing newline:

    {
      "files":  [],
      "version":  3,
      "replication":  "",
      "bytesOffset":  5,
      "datFileSize":  "0",
      "expireAtSec":  "0",
      "readOnly":  false,
      "ecShardConfig":  null,
      "readOnlyCanDelete":  false
    }

Read leniently with the json module (any whitespace; the older `BytesOffset` and
`DestroyTime` spellings). Fields kelp does not model (remote-tier `files`, `ecShardConfig`)
are kept as read and written back unchanged.

The message is a persisted format, so it is built here with json, not imported from grpc
code. File I/O only; no network imports.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from dataplane.volume.engine.errors import CorruptVolume

# Field order as weed emits it; values not modelled below default to these.
_FIELD_ORDER = ("files", "version", "replication", "bytesOffset", "datFileSize", "expireAtSec",
                "readOnly", "ecShardConfig", "readOnlyCanDelete")


@dataclass(frozen=True, slots=True)
class VolumeInfo:
    version: int = 3
    bytes_offset: int = 5
    replication: str = ""
    dat_file_size: int = 0
    expire_at_sec: int = 0
    read_only: bool = False
    read_only_can_delete: bool = False
    other: Mapping[str, Any] = field(default_factory=dict)  # unmodelled fields, kept verbatim

    def with_read_only(self, read_only: bool) -> VolumeInfo:
        return replace(self, read_only=read_only)

    def to_json(self) -> str:
        values: dict[str, Any] = {"files": [], "ecShardConfig": None}
        values.update(self.other)
        values.update({
            "version": self.version,
            "replication": self.replication,
            "bytesOffset": self.bytes_offset,
            "datFileSize": str(self.dat_file_size),
            "expireAtSec": str(self.expire_at_sec),
            "readOnly": self.read_only,
            "readOnlyCanDelete": self.read_only_can_delete,
        })
        order = list(_FIELD_ORDER) + sorted(k for k in values if k not in _FIELD_ORDER)
        return _render({k: values[k] for k in order}, 0)

    @classmethod
    def from_json(cls, text: str, path: str = "") -> VolumeInfo:
        try:
            raw = json.loads(text)
        except ValueError as err:
            raise CorruptVolume(path, f"unparsable .vif: {err}") from err
        if not isinstance(raw, dict):
            raise CorruptVolume(path, ".vif is not a JSON object")
        try:
            bytes_offset = int(raw.get("bytesOffset", raw.get("BytesOffset", 0)) or 0)
            info = cls(
                version=int(raw.get("version", 0) or 0),
                bytes_offset=bytes_offset,
                replication=str(raw.get("replication", "") or ""),
                dat_file_size=int(raw.get("datFileSize", 0) or 0),
                expire_at_sec=int(raw.get("expireAtSec", raw.get("DestroyTime", 0)) or 0),
                read_only=bool(raw.get("readOnly", False)),
                read_only_can_delete=bool(raw.get("readOnlyCanDelete", False)),
                other={k: v for k, v in raw.items() if k in ("files", "ecShardConfig")
                       or k not in _KNOWN},
            )
        except (TypeError, ValueError) as err:
            raise CorruptVolume(path, f"bad .vif field: {err}") from err
        return info


_KNOWN = frozenset(_FIELD_ORDER) | {"BytesOffset", "DestroyTime"}


def read_volume_info(path: str) -> VolumeInfo | None:
    """The .vif at path, or None if there is none (volumes from before .vif files)."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return None
    return VolumeInfo.from_json(text, path)


def write_volume_info(path: str, info: VolumeInfo) -> None:
    """Replace the .vif atomically (write a temporary file, fsync, rename)."""
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(info.to_json())
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _render(value: Any, depth: int) -> str:
    """protojson multiline layout with weed's two spaces after a colon."""
    pad = "  " * (depth + 1)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f'{pad}{json.dumps(k)}:  {_render(v, depth + 1)}' for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + "  " * depth + "}"
    if isinstance(value, list):
        if not value:
            return "[]"
        items = [pad + _render(v, depth + 1) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + "  " * depth + "]"
    return json.dumps(value)

