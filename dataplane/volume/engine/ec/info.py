"""The `.vif` of an erasure-coded volume: VolumeInfo with an `ecShardConfig`, as weed 4.48
writes it after encoding (replication "", bytesOffset 0, datFileSize = the `.dat` length at
encode time; 64-bit numbers as strings):

    "ecShardConfig":  {
      "dataShards":  10,
      "parityShards":  4,
      "encodeTsNs":  "1795312650005477442",
      "blockSize":  "2097152"
    }

`blockSize` names the uniform layout's block (see geometry); its absence means the legacy
large/small-row layout of older SeaweedFS. `encodeTsNs` identifies one encode run (shards of
different runs must not be mixed). Built on volume_info.VolumeInfo, which keeps
`ecShardConfig` verbatim. No I/O here; no network imports.
"""

from __future__ import annotations

from dataclasses import dataclass

from dataplane.volume.engine.ec.geometry import DATA_SHARDS, PARITY_SHARDS, Layout
from dataplane.volume.engine.volume_info import VolumeInfo


@dataclass(frozen=True, slots=True)
class EcConfig:
    data_shards: int = DATA_SHARDS
    parity_shards: int = PARITY_SHARDS
    encode_ts_ns: int = 0
    block_size: int = 0  # 0: not recorded (legacy layout)

    def to_json_value(self) -> dict[str, object]:
        value: dict[str, object] = {"dataShards": self.data_shards, "parityShards": self.parity_shards,
                                    "encodeTsNs": str(self.encode_ts_ns)}
        if self.block_size:
            value["blockSize"] = str(self.block_size)
        return value


def ec_volume_info(*, version: int, dat_file_size: int, expire_at_sec: int, config: EcConfig) -> VolumeInfo:
    """The `.vif` weed writes for a freshly encoded volume."""
    return VolumeInfo(version=version, bytes_offset=0, replication="", dat_file_size=dat_file_size,
                      expire_at_sec=expire_at_sec, other={"ecShardConfig": config.to_json_value()})


def ec_config(info: VolumeInfo | None) -> EcConfig | None:
    """The EC config a `.vif` records, or None (not an EC `.vif`, or an old one without it)."""
    if info is None:
        return None
    raw = info.other.get("ecShardConfig")
    if not isinstance(raw, dict):
        return None
    try:
        return EcConfig(data_shards=int(raw.get("dataShards") or DATA_SHARDS),
                        parity_shards=int(raw.get("parityShards") or PARITY_SHARDS),
                        encode_ts_ns=int(raw.get("encodeTsNs") or 0),
                        block_size=int(raw.get("blockSize") or 0))
    except (TypeError, ValueError):
        return None


def layout_for(info: VolumeInfo | None, shard_size: int) -> Layout:
    """The block layout of an encoded volume, from its `.vif` (and shard size, for volumes
    whose `.vif` predates datFileSize), as weed resolves it."""
    config = ec_config(info)
    data_shards = config.data_shards if config else DATA_SHARDS
    dat_size = info.dat_file_size if info is not None else 0
    if config is not None and config.block_size:
        return Layout.with_block(config.block_size, dat_size or shard_size * data_shards,
                                 data_shards=data_shards)
    if dat_size:
        return Layout.legacy(dat_size, data_shards=data_shards)
    return Layout.legacy_for_shard_size(shard_size, data_shards=data_shards)
