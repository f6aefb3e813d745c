from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class NodeJoined(_message.Message):
    __slots__ = ("node_id", "public_url", "grpc_port", "data_center", "rack", "max_volume_count", "time_ns", "disk_type")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_URL_FIELD_NUMBER: _ClassVar[int]
    GRPC_PORT_FIELD_NUMBER: _ClassVar[int]
    DATA_CENTER_FIELD_NUMBER: _ClassVar[int]
    RACK_FIELD_NUMBER: _ClassVar[int]
    MAX_VOLUME_COUNT_FIELD_NUMBER: _ClassVar[int]
    TIME_NS_FIELD_NUMBER: _ClassVar[int]
    DISK_TYPE_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    public_url: str
    grpc_port: int
    data_center: str
    rack: str
    max_volume_count: int
    time_ns: int
    disk_type: str
    def __init__(self, node_id: _Optional[str] = ..., public_url: _Optional[str] = ..., grpc_port: _Optional[int] = ..., data_center: _Optional[str] = ..., rack: _Optional[str] = ..., max_volume_count: _Optional[int] = ..., time_ns: _Optional[int] = ..., disk_type: _Optional[str] = ...) -> None: ...

class NodeLeft(_message.Message):
    __slots__ = ("node_id", "time_ns")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_NS_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    time_ns: int
    def __init__(self, node_id: _Optional[str] = ..., time_ns: _Optional[int] = ...) -> None: ...

class VolumeAdded(_message.Message):
    __slots__ = ("volume_id", "node_id", "collection", "replica_placement", "ttl", "version", "read_only", "disk_type")
    VOLUME_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    REPLICA_PLACEMENT_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    READ_ONLY_FIELD_NUMBER: _ClassVar[int]
    DISK_TYPE_FIELD_NUMBER: _ClassVar[int]
    volume_id: int
    node_id: str
    collection: str
    replica_placement: int
    ttl: int
    version: int
    read_only: bool
    disk_type: str
    def __init__(self, volume_id: _Optional[int] = ..., node_id: _Optional[str] = ..., collection: _Optional[str] = ..., replica_placement: _Optional[int] = ..., ttl: _Optional[int] = ..., version: _Optional[int] = ..., read_only: _Optional[bool] = ..., disk_type: _Optional[str] = ...) -> None: ...

class VolumeRemoved(_message.Message):
    __slots__ = ("volume_id", "node_id")
    VOLUME_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    volume_id: int
    node_id: str
    def __init__(self, volume_id: _Optional[int] = ..., node_id: _Optional[str] = ...) -> None: ...

class VolumeStateChanged(_message.Message):
    __slots__ = ("volume_id", "node_id", "read_only", "full")
    VOLUME_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    READ_ONLY_FIELD_NUMBER: _ClassVar[int]
    FULL_FIELD_NUMBER: _ClassVar[int]
    volume_id: int
    node_id: str
    read_only: bool
    full: bool
    def __init__(self, volume_id: _Optional[int] = ..., node_id: _Optional[str] = ..., read_only: _Optional[bool] = ..., full: _Optional[bool] = ...) -> None: ...

class SequenceReserved(_message.Message):
    __slots__ = ("up_to", "count", "at_least")
    UP_TO_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    AT_LEAST_FIELD_NUMBER: _ClassVar[int]
    up_to: int
    count: int
    at_least: int
    def __init__(self, up_to: _Optional[int] = ..., count: _Optional[int] = ..., at_least: _Optional[int] = ...) -> None: ...

class MaxVolumeIdAdvanced(_message.Message):
    __slots__ = ("max_volume_id", "count")
    MAX_VOLUME_ID_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    max_volume_id: int
    count: int
    def __init__(self, max_volume_id: _Optional[int] = ..., count: _Optional[int] = ...) -> None: ...

class CollectionDeleted(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class TopologyIdSet(_message.Message):
    __slots__ = ("topology_id",)
    TOPOLOGY_ID_FIELD_NUMBER: _ClassVar[int]
    topology_id: str
    def __init__(self, topology_id: _Optional[str] = ...) -> None: ...

class AdminLockLeased(_message.Message):
    __slots__ = ("lock_name", "token", "client_name", "lock_ts_ns", "lease_ns", "message", "term")
    LOCK_NAME_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    CLIENT_NAME_FIELD_NUMBER: _ClassVar[int]
    LOCK_TS_NS_FIELD_NUMBER: _ClassVar[int]
    LEASE_NS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TERM_FIELD_NUMBER: _ClassVar[int]
    lock_name: str
    token: int
    client_name: str
    lock_ts_ns: int
    lease_ns: int
    message: str
    term: int
    def __init__(self, lock_name: _Optional[str] = ..., token: _Optional[int] = ..., client_name: _Optional[str] = ..., lock_ts_ns: _Optional[int] = ..., lease_ns: _Optional[int] = ..., message: _Optional[str] = ..., term: _Optional[int] = ...) -> None: ...

class AdminLockReleased(_message.Message):
    __slots__ = ("lock_name", "token")
    LOCK_NAME_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    lock_name: str
    token: int
    def __init__(self, lock_name: _Optional[str] = ..., token: _Optional[int] = ...) -> None: ...

class EcShardsMounted(_message.Message):
    __slots__ = ("volume_id", "node_id", "collection", "shard_bits", "disk_type")
    VOLUME_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    SHARD_BITS_FIELD_NUMBER: _ClassVar[int]
    DISK_TYPE_FIELD_NUMBER: _ClassVar[int]
    volume_id: int
    node_id: str
    collection: str
    shard_bits: int
    disk_type: str
    def __init__(self, volume_id: _Optional[int] = ..., node_id: _Optional[str] = ..., collection: _Optional[str] = ..., shard_bits: _Optional[int] = ..., disk_type: _Optional[str] = ...) -> None: ...

class EcShardsUnmounted(_message.Message):
    __slots__ = ("volume_id", "node_id", "shard_bits")
    VOLUME_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    SHARD_BITS_FIELD_NUMBER: _ClassVar[int]
    volume_id: int
    node_id: str
    shard_bits: int
    def __init__(self, volume_id: _Optional[int] = ..., node_id: _Optional[str] = ..., shard_bits: _Optional[int] = ...) -> None: ...

class MaintenanceConfigured(_message.Message):
    __slots__ = ("scripts", "interval_ns", "time_ns")
    SCRIPTS_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_NS_FIELD_NUMBER: _ClassVar[int]
    TIME_NS_FIELD_NUMBER: _ClassVar[int]
    scripts: str
    interval_ns: int
    time_ns: int
    def __init__(self, scripts: _Optional[str] = ..., interval_ns: _Optional[int] = ..., time_ns: _Optional[int] = ...) -> None: ...

class MaintenanceRunStarted(_message.Message):
    __slots__ = ("run_id", "term", "time_ns", "leader")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    TERM_FIELD_NUMBER: _ClassVar[int]
    TIME_NS_FIELD_NUMBER: _ClassVar[int]
    LEADER_FIELD_NUMBER: _ClassVar[int]
    run_id: int
    term: int
    time_ns: int
    leader: str
    def __init__(self, run_id: _Optional[int] = ..., term: _Optional[int] = ..., time_ns: _Optional[int] = ..., leader: _Optional[str] = ...) -> None: ...

class MaintenanceCommandDone(_message.Message):
    __slots__ = ("run_id", "command", "ok", "output", "time_ns", "lock_token")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    OK_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    TIME_NS_FIELD_NUMBER: _ClassVar[int]
    LOCK_TOKEN_FIELD_NUMBER: _ClassVar[int]
    run_id: int
    command: str
    ok: bool
    output: str
    time_ns: int
    lock_token: int
    def __init__(self, run_id: _Optional[int] = ..., command: _Optional[str] = ..., ok: _Optional[bool] = ..., output: _Optional[str] = ..., time_ns: _Optional[int] = ..., lock_token: _Optional[int] = ...) -> None: ...

class MaintenanceRunFinished(_message.Message):
    __slots__ = ("run_id", "time_ns", "ok", "abandoned", "reason")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_NS_FIELD_NUMBER: _ClassVar[int]
    OK_FIELD_NUMBER: _ClassVar[int]
    ABANDONED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    run_id: int
    time_ns: int
    ok: bool
    abandoned: bool
    reason: str
    def __init__(self, run_id: _Optional[int] = ..., time_ns: _Optional[int] = ..., ok: _Optional[bool] = ..., abandoned: _Optional[bool] = ..., reason: _Optional[str] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("node_joined", "node_left", "volume_added", "volume_removed", "volume_state_changed", "sequence_reserved", "max_volume_id_advanced", "collection_deleted", "topology_id_set", "admin_lock_leased", "admin_lock_released", "ec_shards_mounted", "ec_shards_unmounted", "maintenance_configured", "maintenance_run_started", "maintenance_command_done", "maintenance_run_finished")
    NODE_JOINED_FIELD_NUMBER: _ClassVar[int]
    NODE_LEFT_FIELD_NUMBER: _ClassVar[int]
    VOLUME_ADDED_FIELD_NUMBER: _ClassVar[int]
    VOLUME_REMOVED_FIELD_NUMBER: _ClassVar[int]
    VOLUME_STATE_CHANGED_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_RESERVED_FIELD_NUMBER: _ClassVar[int]
    MAX_VOLUME_ID_ADVANCED_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_DELETED_FIELD_NUMBER: _ClassVar[int]
    TOPOLOGY_ID_SET_FIELD_NUMBER: _ClassVar[int]
    ADMIN_LOCK_LEASED_FIELD_NUMBER: _ClassVar[int]
    ADMIN_LOCK_RELEASED_FIELD_NUMBER: _ClassVar[int]
    EC_SHARDS_MOUNTED_FIELD_NUMBER: _ClassVar[int]
    EC_SHARDS_UNMOUNTED_FIELD_NUMBER: _ClassVar[int]
    MAINTENANCE_CONFIGURED_FIELD_NUMBER: _ClassVar[int]
    MAINTENANCE_RUN_STARTED_FIELD_NUMBER: _ClassVar[int]
    MAINTENANCE_COMMAND_DONE_FIELD_NUMBER: _ClassVar[int]
    MAINTENANCE_RUN_FINISHED_FIELD_NUMBER: _ClassVar[int]
    node_joined: NodeJoined
    node_left: NodeLeft
    volume_added: VolumeAdded
    volume_removed: VolumeRemoved
    volume_state_changed: VolumeStateChanged
    sequence_reserved: SequenceReserved
    max_volume_id_advanced: MaxVolumeIdAdvanced
    collection_deleted: CollectionDeleted
    topology_id_set: TopologyIdSet
    admin_lock_leased: AdminLockLeased
    admin_lock_released: AdminLockReleased
    ec_shards_mounted: EcShardsMounted
    ec_shards_unmounted: EcShardsUnmounted
    maintenance_configured: MaintenanceConfigured
    maintenance_run_started: MaintenanceRunStarted
    maintenance_command_done: MaintenanceCommandDone
    maintenance_run_finished: MaintenanceRunFinished
    def __init__(self, node_joined: _Optional[_Union[NodeJoined, _Mapping]] = ..., node_left: _Optional[_Union[NodeLeft, _Mapping]] = ..., volume_added: _Optional[_Union[VolumeAdded, _Mapping]] = ..., volume_removed: _Optional[_Union[VolumeRemoved, _Mapping]] = ..., volume_state_changed: _Optional[_Union[VolumeStateChanged, _Mapping]] = ..., sequence_reserved: _Optional[_Union[SequenceReserved, _Mapping]] = ..., max_volume_id_advanced: _Optional[_Union[MaxVolumeIdAdvanced, _Mapping]] = ..., collection_deleted: _Optional[_Union[CollectionDeleted, _Mapping]] = ..., topology_id_set: _Optional[_Union[TopologyIdSet, _Mapping]] = ..., admin_lock_leased: _Optional[_Union[AdminLockLeased, _Mapping]] = ..., admin_lock_released: _Optional[_Union[AdminLockReleased, _Mapping]] = ..., ec_shards_mounted: _Optional[_Union[EcShardsMounted, _Mapping]] = ..., ec_shards_unmounted: _Optional[_Union[EcShardsUnmounted, _Mapping]] = ..., maintenance_configured: _Optional[_Union[MaintenanceConfigured, _Mapping]] = ..., maintenance_run_started: _Optional[_Union[MaintenanceRunStarted, _Mapping]] = ..., maintenance_command_done: _Optional[_Union[MaintenanceCommandDone, _Mapping]] = ..., maintenance_run_finished: _Optional[_Union[MaintenanceRunFinished, _Mapping]] = ...) -> None: ...

class EventBatch(_message.Message):
    __slots__ = ("events",)
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[Event]
    def __init__(self, events: _Optional[_Iterable[_Union[Event, _Mapping]]] = ...) -> None: ...

class StateSnapshot(_message.Message):
    __slots__ = ("version", "events", "event_index")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    EVENT_INDEX_FIELD_NUMBER: _ClassVar[int]
    version: int
    events: _containers.RepeatedCompositeFieldContainer[Event]
    event_index: int
    def __init__(self, version: _Optional[int] = ..., events: _Optional[_Iterable[_Union[Event, _Mapping]]] = ..., event_index: _Optional[int] = ...) -> None: ...
