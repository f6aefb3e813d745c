from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class AllocateVolumeRequest(_message.Message):
    __slots__ = ("volume_id", "collection", "replica_placement", "ttl", "preallocate", "disk_type")
    VOLUME_ID_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    REPLICA_PLACEMENT_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    PREALLOCATE_FIELD_NUMBER: _ClassVar[int]
    DISK_TYPE_FIELD_NUMBER: _ClassVar[int]
    volume_id: int
    collection: str
    replica_placement: int
    ttl: int
    preallocate: int
    disk_type: str
    def __init__(self, volume_id: _Optional[int] = ..., collection: _Optional[str] = ..., replica_placement: _Optional[int] = ..., ttl: _Optional[int] = ..., preallocate: _Optional[int] = ..., disk_type: _Optional[str] = ...) -> None: ...

class AllocateVolumeResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeleteVolumeRequest(_message.Message):
    __slots__ = ("volume_id", "only_empty")
    VOLUME_ID_FIELD_NUMBER: _ClassVar[int]
    ONLY_EMPTY_FIELD_NUMBER: _ClassVar[int]
    volume_id: int
    only_empty: bool
    def __init__(self, volume_id: _Optional[int] = ..., only_empty: _Optional[bool] = ...) -> None: ...

class DeleteVolumeResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class MarkReadOnlyRequest(_message.Message):
    __slots__ = ("volume_id", "read_only")
    VOLUME_ID_FIELD_NUMBER: _ClassVar[int]
    READ_ONLY_FIELD_NUMBER: _ClassVar[int]
    volume_id: int
    read_only: bool
    def __init__(self, volume_id: _Optional[int] = ..., read_only: _Optional[bool] = ...) -> None: ...

class MarkReadOnlyResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeleteCollectionRequest(_message.Message):
    __slots__ = ("collection",)
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    collection: str
    def __init__(self, collection: _Optional[str] = ...) -> None: ...

class DeleteCollectionResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class VacuumCheckRequest(_message.Message):
    __slots__ = ("volume_id",)
    VOLUME_ID_FIELD_NUMBER: _ClassVar[int]
    volume_id: int
    def __init__(self, volume_id: _Optional[int] = ...) -> None: ...

class VacuumCheckResponse(_message.Message):
    __slots__ = ("garbage_ratio",)
    GARBAGE_RATIO_FIELD_NUMBER: _ClassVar[int]
    garbage_ratio: float
    def __init__(self, garbage_ratio: _Optional[float] = ...) -> None: ...

class VacuumRequest(_message.Message):
    __slots__ = ("volume_id",)
    VOLUME_ID_FIELD_NUMBER: _ClassVar[int]
    volume_id: int
    def __init__(self, volume_id: _Optional[int] = ...) -> None: ...

class VacuumResponse(_message.Message):
    __slots__ = ("reclaimed_bytes",)
    RECLAIMED_BYTES_FIELD_NUMBER: _ClassVar[int]
    reclaimed_bytes: int
    def __init__(self, reclaimed_bytes: _Optional[int] = ...) -> None: ...

class LeaderChangedRequest(_message.Message):
    __slots__ = ("leader", "term")
    LEADER_FIELD_NUMBER: _ClassVar[int]
    TERM_FIELD_NUMBER: _ClassVar[int]
    leader: str
    term: int
    def __init__(self, leader: _Optional[str] = ..., term: _Optional[int] = ...) -> None: ...

class LeaderChangedResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class EcShardsGenerateRequest(_message.Message):
    __slots__ = ("volume_id", "collection")
    VOLUME_ID_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    volume_id: int
    collection: str
    def __init__(self, volume_id: _Optional[int] = ..., collection: _Optional[str] = ...) -> None: ...

class EcShardsGenerateResponse(_message.Message):
    __slots__ = ("shard_size", "entries", "seconds")
    SHARD_SIZE_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    shard_size: int
    entries: int
    seconds: float
    def __init__(self, shard_size: _Optional[int] = ..., entries: _Optional[int] = ..., seconds: _Optional[float] = ...) -> None: ...

class EcShardsCopyRequest(_message.Message):
    __slots__ = ("volume_id", "collection", "shard_ids", "copy_ecx", "copy_ecj", "copy_vif", "source")
    VOLUME_ID_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    SHARD_IDS_FIELD_NUMBER: _ClassVar[int]
    COPY_ECX_FIELD_NUMBER: _ClassVar[int]
    COPY_ECJ_FIELD_NUMBER: _ClassVar[int]
    COPY_VIF_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    volume_id: int
    collection: str
    shard_ids: _containers.RepeatedScalarFieldContainer[int]
    copy_ecx: bool
    copy_ecj: bool
    copy_vif: bool
    source: str
    def __init__(self, volume_id: _Optional[int] = ..., collection: _Optional[str] = ..., shard_ids: _Optional[_Iterable[int]] = ..., copy_ecx: _Optional[bool] = ..., copy_ecj: _Optional[bool] = ..., copy_vif: _Optional[bool] = ..., source: _Optional[str] = ...) -> None: ...

class EcShardsCopyResponse(_message.Message):
    __slots__ = ("bytes",)
    BYTES_FIELD_NUMBER: _ClassVar[int]
    bytes: int
    def __init__(self, bytes: _Optional[int] = ...) -> None: ...

class EcFileReadRequest(_message.Message):
    __slots__ = ("volume_id", "collection", "ext", "ignore_missing")
    VOLUME_ID_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    EXT_FIELD_NUMBER: _ClassVar[int]
    IGNORE_MISSING_FIELD_NUMBER: _ClassVar[int]
    volume_id: int
    collection: str
    ext: str
    ignore_missing: bool
    def __init__(self, volume_id: _Optional[int] = ..., collection: _Optional[str] = ..., ext: _Optional[str] = ..., ignore_missing: _Optional[bool] = ...) -> None: ...

class EcFileReadResponse(_message.Message):
    __slots__ = ("data",)
    DATA_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    def __init__(self, data: _Optional[bytes] = ...) -> None: ...

class EcShardsMountRequest(_message.Message):
    __slots__ = ("volume_id", "collection", "shard_ids")
    VOLUME_ID_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    SHARD_IDS_FIELD_NUMBER: _ClassVar[int]
    volume_id: int
    collection: str
    shard_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, volume_id: _Optional[int] = ..., collection: _Optional[str] = ..., shard_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class EcShardsMountResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class EcShardsUnmountRequest(_message.Message):
    __slots__ = ("volume_id", "shard_ids")
    VOLUME_ID_FIELD_NUMBER: _ClassVar[int]
    SHARD_IDS_FIELD_NUMBER: _ClassVar[int]
    volume_id: int
    shard_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, volume_id: _Optional[int] = ..., shard_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class EcShardsUnmountResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class EcShardsDeleteRequest(_message.Message):
    __slots__ = ("volume_id", "collection", "shard_ids")
    VOLUME_ID_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    SHARD_IDS_FIELD_NUMBER: _ClassVar[int]
    volume_id: int
    collection: str
    shard_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, volume_id: _Optional[int] = ..., collection: _Optional[str] = ..., shard_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class EcShardsDeleteResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class EcShardReadRequest(_message.Message):
    __slots__ = ("volume_id", "shard_id", "offset", "size")
    VOLUME_ID_FIELD_NUMBER: _ClassVar[int]
    SHARD_ID_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    volume_id: int
    shard_id: int
    offset: int
    size: int
    def __init__(self, volume_id: _Optional[int] = ..., shard_id: _Optional[int] = ..., offset: _Optional[int] = ..., size: _Optional[int] = ...) -> None: ...

class EcShardReadResponse(_message.Message):
    __slots__ = ("data",)
    DATA_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    def __init__(self, data: _Optional[bytes] = ...) -> None: ...

class EcBlobDeleteRequest(_message.Message):
    __slots__ = ("volume_id", "keys")
    VOLUME_ID_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    volume_id: int
    keys: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, volume_id: _Optional[int] = ..., keys: _Optional[_Iterable[int]] = ...) -> None: ...

class EcBlobDeleteResponse(_message.Message):
    __slots__ = ("journaled",)
    JOURNALED_FIELD_NUMBER: _ClassVar[int]
    journaled: int
    def __init__(self, journaled: _Optional[int] = ...) -> None: ...

class EcJournalReadRequest(_message.Message):
    __slots__ = ("volume_id",)
    VOLUME_ID_FIELD_NUMBER: _ClassVar[int]
    volume_id: int
    def __init__(self, volume_id: _Optional[int] = ...) -> None: ...

class EcJournalReadResponse(_message.Message):
    __slots__ = ("keys",)
    KEYS_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, keys: _Optional[_Iterable[int]] = ...) -> None: ...

class EcShardsRebuildRequest(_message.Message):
    __slots__ = ("volume_id", "collection")
    VOLUME_ID_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    volume_id: int
    collection: str
    def __init__(self, volume_id: _Optional[int] = ..., collection: _Optional[str] = ...) -> None: ...

class EcShardsRebuildResponse(_message.Message):
    __slots__ = ("rebuilt_shard_ids",)
    REBUILT_SHARD_IDS_FIELD_NUMBER: _ClassVar[int]
    rebuilt_shard_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, rebuilt_shard_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class EcShardsToVolumeRequest(_message.Message):
    __slots__ = ("volume_id", "collection")
    VOLUME_ID_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    volume_id: int
    collection: str
    def __init__(self, volume_id: _Optional[int] = ..., collection: _Optional[str] = ...) -> None: ...

class EcShardsToVolumeResponse(_message.Message):
    __slots__ = ("dat_size", "live_entries")
    DAT_SIZE_FIELD_NUMBER: _ClassVar[int]
    LIVE_ENTRIES_FIELD_NUMBER: _ClassVar[int]
    dat_size: int
    live_entries: int
    def __init__(self, dat_size: _Optional[int] = ..., live_entries: _Optional[int] = ...) -> None: ...

class VolumeCopyRequest(_message.Message):
    __slots__ = ("volume_id", "collection", "source")
    VOLUME_ID_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    volume_id: int
    collection: str
    source: str
    def __init__(self, volume_id: _Optional[int] = ..., collection: _Optional[str] = ..., source: _Optional[str] = ...) -> None: ...

class VolumeCopyResponse(_message.Message):
    __slots__ = ("bytes",)
    BYTES_FIELD_NUMBER: _ClassVar[int]
    bytes: int
    def __init__(self, bytes: _Optional[int] = ...) -> None: ...

class ReadVolumeFileRequest(_message.Message):
    __slots__ = ("volume_id", "ext")
    VOLUME_ID_FIELD_NUMBER: _ClassVar[int]
    EXT_FIELD_NUMBER: _ClassVar[int]
    volume_id: int
    ext: str
    def __init__(self, volume_id: _Optional[int] = ..., ext: _Optional[str] = ...) -> None: ...

class ReadVolumeFileResponse(_message.Message):
    __slots__ = ("data",)
    DATA_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    def __init__(self, data: _Optional[bytes] = ...) -> None: ...

class VolumeConfigureRequest(_message.Message):
    __slots__ = ("volume_id", "replication")
    VOLUME_ID_FIELD_NUMBER: _ClassVar[int]
    REPLICATION_FIELD_NUMBER: _ClassVar[int]
    volume_id: int
    replication: str
    def __init__(self, volume_id: _Optional[int] = ..., replication: _Optional[str] = ...) -> None: ...

class VolumeConfigureResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
