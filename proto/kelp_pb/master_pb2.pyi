from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class VolumeReport(_message.Message):
    __slots__ = ("id", "collection", "replica_placement", "ttl", "version", "read_only", "size", "file_count", "delete_count", "deleted_byte_count", "compact_revision", "modified_at_second", "disk_type")
    ID_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    REPLICA_PLACEMENT_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    READ_ONLY_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    FILE_COUNT_FIELD_NUMBER: _ClassVar[int]
    DELETE_COUNT_FIELD_NUMBER: _ClassVar[int]
    DELETED_BYTE_COUNT_FIELD_NUMBER: _ClassVar[int]
    COMPACT_REVISION_FIELD_NUMBER: _ClassVar[int]
    MODIFIED_AT_SECOND_FIELD_NUMBER: _ClassVar[int]
    DISK_TYPE_FIELD_NUMBER: _ClassVar[int]
    id: int
    collection: str
    replica_placement: int
    ttl: int
    version: int
    read_only: bool
    size: int
    file_count: int
    delete_count: int
    deleted_byte_count: int
    compact_revision: int
    modified_at_second: int
    disk_type: str
    def __init__(self, id: _Optional[int] = ..., collection: _Optional[str] = ..., replica_placement: _Optional[int] = ..., ttl: _Optional[int] = ..., version: _Optional[int] = ..., read_only: _Optional[bool] = ..., size: _Optional[int] = ..., file_count: _Optional[int] = ..., delete_count: _Optional[int] = ..., deleted_byte_count: _Optional[int] = ..., compact_revision: _Optional[int] = ..., modified_at_second: _Optional[int] = ..., disk_type: _Optional[str] = ...) -> None: ...

class EcShardReport(_message.Message):
    __slots__ = ("id", "collection", "shard_bits", "disk_type")
    ID_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    SHARD_BITS_FIELD_NUMBER: _ClassVar[int]
    DISK_TYPE_FIELD_NUMBER: _ClassVar[int]
    id: int
    collection: str
    shard_bits: int
    disk_type: str
    def __init__(self, id: _Optional[int] = ..., collection: _Optional[str] = ..., shard_bits: _Optional[int] = ..., disk_type: _Optional[str] = ...) -> None: ...

class HeartbeatRequest(_message.Message):
    __slots__ = ("ip", "port", "public_url", "grpc_port", "data_center", "rack", "max_volume_count", "max_file_key", "volumes", "disk_type", "ec_shards")
    IP_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_URL_FIELD_NUMBER: _ClassVar[int]
    GRPC_PORT_FIELD_NUMBER: _ClassVar[int]
    DATA_CENTER_FIELD_NUMBER: _ClassVar[int]
    RACK_FIELD_NUMBER: _ClassVar[int]
    MAX_VOLUME_COUNT_FIELD_NUMBER: _ClassVar[int]
    MAX_FILE_KEY_FIELD_NUMBER: _ClassVar[int]
    VOLUMES_FIELD_NUMBER: _ClassVar[int]
    DISK_TYPE_FIELD_NUMBER: _ClassVar[int]
    EC_SHARDS_FIELD_NUMBER: _ClassVar[int]
    ip: str
    port: int
    public_url: str
    grpc_port: int
    data_center: str
    rack: str
    max_volume_count: int
    max_file_key: int
    volumes: _containers.RepeatedCompositeFieldContainer[VolumeReport]
    disk_type: str
    ec_shards: _containers.RepeatedCompositeFieldContainer[EcShardReport]
    def __init__(self, ip: _Optional[str] = ..., port: _Optional[int] = ..., public_url: _Optional[str] = ..., grpc_port: _Optional[int] = ..., data_center: _Optional[str] = ..., rack: _Optional[str] = ..., max_volume_count: _Optional[int] = ..., max_file_key: _Optional[int] = ..., volumes: _Optional[_Iterable[_Union[VolumeReport, _Mapping]]] = ..., disk_type: _Optional[str] = ..., ec_shards: _Optional[_Iterable[_Union[EcShardReport, _Mapping]]] = ...) -> None: ...

class HeartbeatResponse(_message.Message):
    __slots__ = ("volume_size_limit", "leader", "pulse_seconds")
    VOLUME_SIZE_LIMIT_FIELD_NUMBER: _ClassVar[int]
    LEADER_FIELD_NUMBER: _ClassVar[int]
    PULSE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    volume_size_limit: int
    leader: str
    pulse_seconds: int
    def __init__(self, volume_size_limit: _Optional[int] = ..., leader: _Optional[str] = ..., pulse_seconds: _Optional[int] = ...) -> None: ...

class Location(_message.Message):
    __slots__ = ("url", "public_url", "grpc_port", "data_center", "rack")
    URL_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_URL_FIELD_NUMBER: _ClassVar[int]
    GRPC_PORT_FIELD_NUMBER: _ClassVar[int]
    DATA_CENTER_FIELD_NUMBER: _ClassVar[int]
    RACK_FIELD_NUMBER: _ClassVar[int]
    url: str
    public_url: str
    grpc_port: int
    data_center: str
    rack: str
    def __init__(self, url: _Optional[str] = ..., public_url: _Optional[str] = ..., grpc_port: _Optional[int] = ..., data_center: _Optional[str] = ..., rack: _Optional[str] = ...) -> None: ...

class LookupRequest(_message.Message):
    __slots__ = ("volume_ids",)
    VOLUME_IDS_FIELD_NUMBER: _ClassVar[int]
    volume_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, volume_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class EcShardLocation(_message.Message):
    __slots__ = ("shard_id", "location")
    SHARD_ID_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    shard_id: int
    location: Location
    def __init__(self, shard_id: _Optional[int] = ..., location: _Optional[_Union[Location, _Mapping]] = ...) -> None: ...

class VolumeLocations(_message.Message):
    __slots__ = ("volume_id", "locations", "replica_placement", "error", "ec_shards")
    VOLUME_ID_FIELD_NUMBER: _ClassVar[int]
    LOCATIONS_FIELD_NUMBER: _ClassVar[int]
    REPLICA_PLACEMENT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    EC_SHARDS_FIELD_NUMBER: _ClassVar[int]
    volume_id: int
    locations: _containers.RepeatedCompositeFieldContainer[Location]
    replica_placement: int
    error: str
    ec_shards: _containers.RepeatedCompositeFieldContainer[EcShardLocation]
    def __init__(self, volume_id: _Optional[int] = ..., locations: _Optional[_Iterable[_Union[Location, _Mapping]]] = ..., replica_placement: _Optional[int] = ..., error: _Optional[str] = ..., ec_shards: _Optional[_Iterable[_Union[EcShardLocation, _Mapping]]] = ...) -> None: ...

class LookupResponse(_message.Message):
    __slots__ = ("volumes",)
    VOLUMES_FIELD_NUMBER: _ClassVar[int]
    volumes: _containers.RepeatedCompositeFieldContainer[VolumeLocations]
    def __init__(self, volumes: _Optional[_Iterable[_Union[VolumeLocations, _Mapping]]] = ...) -> None: ...
