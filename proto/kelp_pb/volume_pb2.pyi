from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
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

class EncodeToEcRequest(_message.Message):
    __slots__ = ("volume_id",)
    VOLUME_ID_FIELD_NUMBER: _ClassVar[int]
    volume_id: int
    def __init__(self, volume_id: _Optional[int] = ...) -> None: ...

class EncodeToEcResponse(_message.Message):
    __slots__ = ("shard_size", "entries", "seconds")
    SHARD_SIZE_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    shard_size: int
    entries: int
    seconds: float
    def __init__(self, shard_size: _Optional[int] = ..., entries: _Optional[int] = ..., seconds: _Optional[float] = ...) -> None: ...
