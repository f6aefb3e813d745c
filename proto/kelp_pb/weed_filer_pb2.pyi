from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SSEType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NONE: _ClassVar[SSEType]
    SSE_C: _ClassVar[SSEType]
    SSE_KMS: _ClassVar[SSEType]
    SSE_S3: _ClassVar[SSEType]

class FilerError(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OK: _ClassVar[FilerError]
    ENTRY_NAME_TOO_LONG: _ClassVar[FilerError]
    PARENT_IS_FILE: _ClassVar[FilerError]
    EXISTING_IS_DIRECTORY: _ClassVar[FilerError]
    EXISTING_IS_FILE: _ClassVar[FilerError]
    ENTRY_ALREADY_EXISTS: _ClassVar[FilerError]
    PRECONDITION_FAILED: _ClassVar[FilerError]
NONE: SSEType
SSE_C: SSEType
SSE_KMS: SSEType
SSE_S3: SSEType
OK: FilerError
ENTRY_NAME_TOO_LONG: FilerError
PARENT_IS_FILE: FilerError
EXISTING_IS_DIRECTORY: FilerError
EXISTING_IS_FILE: FilerError
ENTRY_ALREADY_EXISTS: FilerError
PRECONDITION_FAILED: FilerError

class Entry(_message.Message):
    __slots__ = ("name", "is_directory", "chunks", "attributes", "extended", "hard_link_id", "hard_link_counter", "content", "quota", "worm_enforced_at_ts_ns")
    class ExtendedEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: bytes
        def __init__(self, key: _Optional[str] = ..., value: _Optional[bytes] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    IS_DIRECTORY_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    EXTENDED_FIELD_NUMBER: _ClassVar[int]
    HARD_LINK_ID_FIELD_NUMBER: _ClassVar[int]
    HARD_LINK_COUNTER_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    QUOTA_FIELD_NUMBER: _ClassVar[int]
    WORM_ENFORCED_AT_TS_NS_FIELD_NUMBER: _ClassVar[int]
    name: str
    is_directory: bool
    chunks: _containers.RepeatedCompositeFieldContainer[FileChunk]
    attributes: FuseAttributes
    extended: _containers.ScalarMap[str, bytes]
    hard_link_id: bytes
    hard_link_counter: int
    content: bytes
    quota: int
    worm_enforced_at_ts_ns: int
    def __init__(self, name: _Optional[str] = ..., is_directory: _Optional[bool] = ..., chunks: _Optional[_Iterable[_Union[FileChunk, _Mapping]]] = ..., attributes: _Optional[_Union[FuseAttributes, _Mapping]] = ..., extended: _Optional[_Mapping[str, bytes]] = ..., hard_link_id: _Optional[bytes] = ..., hard_link_counter: _Optional[int] = ..., content: _Optional[bytes] = ..., quota: _Optional[int] = ..., worm_enforced_at_ts_ns: _Optional[int] = ...) -> None: ...

class FuseAttributes(_message.Message):
    __slots__ = ("file_size", "mtime", "file_mode", "uid", "gid", "crtime", "mime", "ttl_sec", "user_name", "group_name", "symlink_target", "md5", "rdev", "inode", "ctime", "mtime_ns", "ctime_ns", "crtime_ns", "atime", "atime_ns")
    FILE_SIZE_FIELD_NUMBER: _ClassVar[int]
    MTIME_FIELD_NUMBER: _ClassVar[int]
    FILE_MODE_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    GID_FIELD_NUMBER: _ClassVar[int]
    CRTIME_FIELD_NUMBER: _ClassVar[int]
    MIME_FIELD_NUMBER: _ClassVar[int]
    TTL_SEC_FIELD_NUMBER: _ClassVar[int]
    USER_NAME_FIELD_NUMBER: _ClassVar[int]
    GROUP_NAME_FIELD_NUMBER: _ClassVar[int]
    SYMLINK_TARGET_FIELD_NUMBER: _ClassVar[int]
    MD5_FIELD_NUMBER: _ClassVar[int]
    RDEV_FIELD_NUMBER: _ClassVar[int]
    INODE_FIELD_NUMBER: _ClassVar[int]
    CTIME_FIELD_NUMBER: _ClassVar[int]
    MTIME_NS_FIELD_NUMBER: _ClassVar[int]
    CTIME_NS_FIELD_NUMBER: _ClassVar[int]
    CRTIME_NS_FIELD_NUMBER: _ClassVar[int]
    ATIME_FIELD_NUMBER: _ClassVar[int]
    ATIME_NS_FIELD_NUMBER: _ClassVar[int]
    file_size: int
    mtime: int
    file_mode: int
    uid: int
    gid: int
    crtime: int
    mime: str
    ttl_sec: int
    user_name: str
    group_name: _containers.RepeatedScalarFieldContainer[str]
    symlink_target: str
    md5: bytes
    rdev: int
    inode: int
    ctime: int
    mtime_ns: int
    ctime_ns: int
    crtime_ns: int
    atime: int
    atime_ns: int
    def __init__(self, file_size: _Optional[int] = ..., mtime: _Optional[int] = ..., file_mode: _Optional[int] = ..., uid: _Optional[int] = ..., gid: _Optional[int] = ..., crtime: _Optional[int] = ..., mime: _Optional[str] = ..., ttl_sec: _Optional[int] = ..., user_name: _Optional[str] = ..., group_name: _Optional[_Iterable[str]] = ..., symlink_target: _Optional[str] = ..., md5: _Optional[bytes] = ..., rdev: _Optional[int] = ..., inode: _Optional[int] = ..., ctime: _Optional[int] = ..., mtime_ns: _Optional[int] = ..., ctime_ns: _Optional[int] = ..., crtime_ns: _Optional[int] = ..., atime: _Optional[int] = ..., atime_ns: _Optional[int] = ...) -> None: ...

class FileChunk(_message.Message):
    __slots__ = ("file_id", "offset", "size", "modified_ts_ns", "e_tag", "source_file_id", "fid", "source_fid", "cipher_key", "is_compressed", "is_chunk_manifest", "sse_type", "sse_metadata")
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    MODIFIED_TS_NS_FIELD_NUMBER: _ClassVar[int]
    E_TAG_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FILE_ID_FIELD_NUMBER: _ClassVar[int]
    FID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FID_FIELD_NUMBER: _ClassVar[int]
    CIPHER_KEY_FIELD_NUMBER: _ClassVar[int]
    IS_COMPRESSED_FIELD_NUMBER: _ClassVar[int]
    IS_CHUNK_MANIFEST_FIELD_NUMBER: _ClassVar[int]
    SSE_TYPE_FIELD_NUMBER: _ClassVar[int]
    SSE_METADATA_FIELD_NUMBER: _ClassVar[int]
    file_id: str
    offset: int
    size: int
    modified_ts_ns: int
    e_tag: str
    source_file_id: str
    fid: FileId
    source_fid: FileId
    cipher_key: bytes
    is_compressed: bool
    is_chunk_manifest: bool
    sse_type: SSEType
    sse_metadata: bytes
    def __init__(self, file_id: _Optional[str] = ..., offset: _Optional[int] = ..., size: _Optional[int] = ..., modified_ts_ns: _Optional[int] = ..., e_tag: _Optional[str] = ..., source_file_id: _Optional[str] = ..., fid: _Optional[_Union[FileId, _Mapping]] = ..., source_fid: _Optional[_Union[FileId, _Mapping]] = ..., cipher_key: _Optional[bytes] = ..., is_compressed: _Optional[bool] = ..., is_chunk_manifest: _Optional[bool] = ..., sse_type: _Optional[_Union[SSEType, str]] = ..., sse_metadata: _Optional[bytes] = ...) -> None: ...

class FileChunkManifest(_message.Message):
    __slots__ = ("chunks",)
    CHUNKS_FIELD_NUMBER: _ClassVar[int]
    chunks: _containers.RepeatedCompositeFieldContainer[FileChunk]
    def __init__(self, chunks: _Optional[_Iterable[_Union[FileChunk, _Mapping]]] = ...) -> None: ...

class FileId(_message.Message):
    __slots__ = ("volume_id", "file_key", "cookie")
    VOLUME_ID_FIELD_NUMBER: _ClassVar[int]
    FILE_KEY_FIELD_NUMBER: _ClassVar[int]
    COOKIE_FIELD_NUMBER: _ClassVar[int]
    volume_id: int
    file_key: int
    cookie: int
    def __init__(self, volume_id: _Optional[int] = ..., file_key: _Optional[int] = ..., cookie: _Optional[int] = ...) -> None: ...

class FilerConf(_message.Message):
    __slots__ = ("version", "locations")
    class PathConf(_message.Message):
        __slots__ = ("location_prefix", "collection", "replication", "ttl", "disk_type", "fsync", "volume_growth_count", "read_only", "data_center", "rack", "data_node", "max_file_name_length", "disable_chunk_deletion", "worm", "worm_grace_period_seconds", "worm_retention_time_seconds")
        LOCATION_PREFIX_FIELD_NUMBER: _ClassVar[int]
        COLLECTION_FIELD_NUMBER: _ClassVar[int]
        REPLICATION_FIELD_NUMBER: _ClassVar[int]
        TTL_FIELD_NUMBER: _ClassVar[int]
        DISK_TYPE_FIELD_NUMBER: _ClassVar[int]
        FSYNC_FIELD_NUMBER: _ClassVar[int]
        VOLUME_GROWTH_COUNT_FIELD_NUMBER: _ClassVar[int]
        READ_ONLY_FIELD_NUMBER: _ClassVar[int]
        DATA_CENTER_FIELD_NUMBER: _ClassVar[int]
        RACK_FIELD_NUMBER: _ClassVar[int]
        DATA_NODE_FIELD_NUMBER: _ClassVar[int]
        MAX_FILE_NAME_LENGTH_FIELD_NUMBER: _ClassVar[int]
        DISABLE_CHUNK_DELETION_FIELD_NUMBER: _ClassVar[int]
        WORM_FIELD_NUMBER: _ClassVar[int]
        WORM_GRACE_PERIOD_SECONDS_FIELD_NUMBER: _ClassVar[int]
        WORM_RETENTION_TIME_SECONDS_FIELD_NUMBER: _ClassVar[int]
        location_prefix: str
        collection: str
        replication: str
        ttl: str
        disk_type: str
        fsync: bool
        volume_growth_count: int
        read_only: bool
        data_center: str
        rack: str
        data_node: str
        max_file_name_length: int
        disable_chunk_deletion: bool
        worm: bool
        worm_grace_period_seconds: int
        worm_retention_time_seconds: int
        def __init__(self, location_prefix: _Optional[str] = ..., collection: _Optional[str] = ..., replication: _Optional[str] = ..., ttl: _Optional[str] = ..., disk_type: _Optional[str] = ..., fsync: _Optional[bool] = ..., volume_growth_count: _Optional[int] = ..., read_only: _Optional[bool] = ..., data_center: _Optional[str] = ..., rack: _Optional[str] = ..., data_node: _Optional[str] = ..., max_file_name_length: _Optional[int] = ..., disable_chunk_deletion: _Optional[bool] = ..., worm: _Optional[bool] = ..., worm_grace_period_seconds: _Optional[int] = ..., worm_retention_time_seconds: _Optional[int] = ...) -> None: ...
    VERSION_FIELD_NUMBER: _ClassVar[int]
    LOCATIONS_FIELD_NUMBER: _ClassVar[int]
    version: int
    locations: _containers.RepeatedCompositeFieldContainer[FilerConf.PathConf]
    def __init__(self, version: _Optional[int] = ..., locations: _Optional[_Iterable[_Union[FilerConf.PathConf, _Mapping]]] = ...) -> None: ...

class LookupDirectoryEntryRequest(_message.Message):
    __slots__ = ("directory", "name")
    DIRECTORY_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    directory: str
    name: str
    def __init__(self, directory: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class LookupDirectoryEntryResponse(_message.Message):
    __slots__ = ("entry", "log_ts_ns", "log_signature")
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    LOG_TS_NS_FIELD_NUMBER: _ClassVar[int]
    LOG_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    entry: Entry
    log_ts_ns: int
    log_signature: int
    def __init__(self, entry: _Optional[_Union[Entry, _Mapping]] = ..., log_ts_ns: _Optional[int] = ..., log_signature: _Optional[int] = ...) -> None: ...

class ListEntriesRequest(_message.Message):
    __slots__ = ("directory", "prefix", "startFromFileName", "inclusiveStartFrom", "limit", "snapshot_ts_ns", "omit_chunks")
    DIRECTORY_FIELD_NUMBER: _ClassVar[int]
    PREFIX_FIELD_NUMBER: _ClassVar[int]
    STARTFROMFILENAME_FIELD_NUMBER: _ClassVar[int]
    INCLUSIVESTARTFROM_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_TS_NS_FIELD_NUMBER: _ClassVar[int]
    OMIT_CHUNKS_FIELD_NUMBER: _ClassVar[int]
    directory: str
    prefix: str
    startFromFileName: str
    inclusiveStartFrom: bool
    limit: int
    snapshot_ts_ns: int
    omit_chunks: bool
    def __init__(self, directory: _Optional[str] = ..., prefix: _Optional[str] = ..., startFromFileName: _Optional[str] = ..., inclusiveStartFrom: _Optional[bool] = ..., limit: _Optional[int] = ..., snapshot_ts_ns: _Optional[int] = ..., omit_chunks: _Optional[bool] = ...) -> None: ...

class ListEntriesResponse(_message.Message):
    __slots__ = ("entry", "snapshot_ts_ns")
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_TS_NS_FIELD_NUMBER: _ClassVar[int]
    entry: Entry
    snapshot_ts_ns: int
    def __init__(self, entry: _Optional[_Union[Entry, _Mapping]] = ..., snapshot_ts_ns: _Optional[int] = ...) -> None: ...

class CreateEntryRequest(_message.Message):
    __slots__ = ("directory", "entry", "o_excl", "is_from_other_cluster", "signatures", "skip_check_parent_directory", "is_moved")
    DIRECTORY_FIELD_NUMBER: _ClassVar[int]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    O_EXCL_FIELD_NUMBER: _ClassVar[int]
    IS_FROM_OTHER_CLUSTER_FIELD_NUMBER: _ClassVar[int]
    SIGNATURES_FIELD_NUMBER: _ClassVar[int]
    SKIP_CHECK_PARENT_DIRECTORY_FIELD_NUMBER: _ClassVar[int]
    IS_MOVED_FIELD_NUMBER: _ClassVar[int]
    directory: str
    entry: Entry
    o_excl: bool
    is_from_other_cluster: bool
    signatures: _containers.RepeatedScalarFieldContainer[int]
    skip_check_parent_directory: bool
    is_moved: bool
    def __init__(self, directory: _Optional[str] = ..., entry: _Optional[_Union[Entry, _Mapping]] = ..., o_excl: _Optional[bool] = ..., is_from_other_cluster: _Optional[bool] = ..., signatures: _Optional[_Iterable[int]] = ..., skip_check_parent_directory: _Optional[bool] = ..., is_moved: _Optional[bool] = ...) -> None: ...

class CreateEntryResponse(_message.Message):
    __slots__ = ("error", "metadata_event", "error_code", "log_ts_ns", "log_signature")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    METADATA_EVENT_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    LOG_TS_NS_FIELD_NUMBER: _ClassVar[int]
    LOG_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    error: str
    metadata_event: SubscribeMetadataResponse
    error_code: FilerError
    log_ts_ns: int
    log_signature: int
    def __init__(self, error: _Optional[str] = ..., metadata_event: _Optional[_Union[SubscribeMetadataResponse, _Mapping]] = ..., error_code: _Optional[_Union[FilerError, str]] = ..., log_ts_ns: _Optional[int] = ..., log_signature: _Optional[int] = ...) -> None: ...

class UpdateEntryRequest(_message.Message):
    __slots__ = ("directory", "entry", "is_from_other_cluster", "signatures", "is_moved")
    DIRECTORY_FIELD_NUMBER: _ClassVar[int]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    IS_FROM_OTHER_CLUSTER_FIELD_NUMBER: _ClassVar[int]
    SIGNATURES_FIELD_NUMBER: _ClassVar[int]
    IS_MOVED_FIELD_NUMBER: _ClassVar[int]
    directory: str
    entry: Entry
    is_from_other_cluster: bool
    signatures: _containers.RepeatedScalarFieldContainer[int]
    is_moved: bool
    def __init__(self, directory: _Optional[str] = ..., entry: _Optional[_Union[Entry, _Mapping]] = ..., is_from_other_cluster: _Optional[bool] = ..., signatures: _Optional[_Iterable[int]] = ..., is_moved: _Optional[bool] = ...) -> None: ...

class UpdateEntryResponse(_message.Message):
    __slots__ = ("metadata_event", "log_ts_ns", "log_signature")
    METADATA_EVENT_FIELD_NUMBER: _ClassVar[int]
    LOG_TS_NS_FIELD_NUMBER: _ClassVar[int]
    LOG_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    metadata_event: SubscribeMetadataResponse
    log_ts_ns: int
    log_signature: int
    def __init__(self, metadata_event: _Optional[_Union[SubscribeMetadataResponse, _Mapping]] = ..., log_ts_ns: _Optional[int] = ..., log_signature: _Optional[int] = ...) -> None: ...

class DeleteEntryRequest(_message.Message):
    __slots__ = ("directory", "name", "is_delete_data", "is_recursive", "ignore_recursive_error", "is_from_other_cluster", "signatures", "if_not_modified_after")
    DIRECTORY_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    IS_DELETE_DATA_FIELD_NUMBER: _ClassVar[int]
    IS_RECURSIVE_FIELD_NUMBER: _ClassVar[int]
    IGNORE_RECURSIVE_ERROR_FIELD_NUMBER: _ClassVar[int]
    IS_FROM_OTHER_CLUSTER_FIELD_NUMBER: _ClassVar[int]
    SIGNATURES_FIELD_NUMBER: _ClassVar[int]
    IF_NOT_MODIFIED_AFTER_FIELD_NUMBER: _ClassVar[int]
    directory: str
    name: str
    is_delete_data: bool
    is_recursive: bool
    ignore_recursive_error: bool
    is_from_other_cluster: bool
    signatures: _containers.RepeatedScalarFieldContainer[int]
    if_not_modified_after: int
    def __init__(self, directory: _Optional[str] = ..., name: _Optional[str] = ..., is_delete_data: _Optional[bool] = ..., is_recursive: _Optional[bool] = ..., ignore_recursive_error: _Optional[bool] = ..., is_from_other_cluster: _Optional[bool] = ..., signatures: _Optional[_Iterable[int]] = ..., if_not_modified_after: _Optional[int] = ...) -> None: ...

class DeleteEntryResponse(_message.Message):
    __slots__ = ("error", "metadata_event")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    METADATA_EVENT_FIELD_NUMBER: _ClassVar[int]
    error: str
    metadata_event: SubscribeMetadataResponse
    def __init__(self, error: _Optional[str] = ..., metadata_event: _Optional[_Union[SubscribeMetadataResponse, _Mapping]] = ...) -> None: ...

class AtomicRenameEntryRequest(_message.Message):
    __slots__ = ("old_directory", "old_name", "new_directory", "new_name", "signatures")
    OLD_DIRECTORY_FIELD_NUMBER: _ClassVar[int]
    OLD_NAME_FIELD_NUMBER: _ClassVar[int]
    NEW_DIRECTORY_FIELD_NUMBER: _ClassVar[int]
    NEW_NAME_FIELD_NUMBER: _ClassVar[int]
    SIGNATURES_FIELD_NUMBER: _ClassVar[int]
    old_directory: str
    old_name: str
    new_directory: str
    new_name: str
    signatures: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, old_directory: _Optional[str] = ..., old_name: _Optional[str] = ..., new_directory: _Optional[str] = ..., new_name: _Optional[str] = ..., signatures: _Optional[_Iterable[int]] = ...) -> None: ...

class AtomicRenameEntryResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StreamRenameEntryRequest(_message.Message):
    __slots__ = ("old_directory", "old_name", "new_directory", "new_name", "signatures")
    OLD_DIRECTORY_FIELD_NUMBER: _ClassVar[int]
    OLD_NAME_FIELD_NUMBER: _ClassVar[int]
    NEW_DIRECTORY_FIELD_NUMBER: _ClassVar[int]
    NEW_NAME_FIELD_NUMBER: _ClassVar[int]
    SIGNATURES_FIELD_NUMBER: _ClassVar[int]
    old_directory: str
    old_name: str
    new_directory: str
    new_name: str
    signatures: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, old_directory: _Optional[str] = ..., old_name: _Optional[str] = ..., new_directory: _Optional[str] = ..., new_name: _Optional[str] = ..., signatures: _Optional[_Iterable[int]] = ...) -> None: ...

class StreamRenameEntryResponse(_message.Message):
    __slots__ = ("directory", "event_notification", "ts_ns")
    DIRECTORY_FIELD_NUMBER: _ClassVar[int]
    EVENT_NOTIFICATION_FIELD_NUMBER: _ClassVar[int]
    TS_NS_FIELD_NUMBER: _ClassVar[int]
    directory: str
    event_notification: EventNotification
    ts_ns: int
    def __init__(self, directory: _Optional[str] = ..., event_notification: _Optional[_Union[EventNotification, _Mapping]] = ..., ts_ns: _Optional[int] = ...) -> None: ...

class StreamMutateEntryRequest(_message.Message):
    __slots__ = ("request_id", "create_request", "update_request", "delete_request", "rename_request")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CREATE_REQUEST_FIELD_NUMBER: _ClassVar[int]
    UPDATE_REQUEST_FIELD_NUMBER: _ClassVar[int]
    DELETE_REQUEST_FIELD_NUMBER: _ClassVar[int]
    RENAME_REQUEST_FIELD_NUMBER: _ClassVar[int]
    request_id: int
    create_request: CreateEntryRequest
    update_request: UpdateEntryRequest
    delete_request: DeleteEntryRequest
    rename_request: StreamRenameEntryRequest
    def __init__(self, request_id: _Optional[int] = ..., create_request: _Optional[_Union[CreateEntryRequest, _Mapping]] = ..., update_request: _Optional[_Union[UpdateEntryRequest, _Mapping]] = ..., delete_request: _Optional[_Union[DeleteEntryRequest, _Mapping]] = ..., rename_request: _Optional[_Union[StreamRenameEntryRequest, _Mapping]] = ...) -> None: ...

class StreamMutateEntryResponse(_message.Message):
    __slots__ = ("request_id", "is_last", "create_response", "update_response", "delete_response", "rename_response", "error", "errno")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    IS_LAST_FIELD_NUMBER: _ClassVar[int]
    CREATE_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    DELETE_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    RENAME_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ERRNO_FIELD_NUMBER: _ClassVar[int]
    request_id: int
    is_last: bool
    create_response: CreateEntryResponse
    update_response: UpdateEntryResponse
    delete_response: DeleteEntryResponse
    rename_response: StreamRenameEntryResponse
    error: str
    errno: int
    def __init__(self, request_id: _Optional[int] = ..., is_last: _Optional[bool] = ..., create_response: _Optional[_Union[CreateEntryResponse, _Mapping]] = ..., update_response: _Optional[_Union[UpdateEntryResponse, _Mapping]] = ..., delete_response: _Optional[_Union[DeleteEntryResponse, _Mapping]] = ..., rename_response: _Optional[_Union[StreamRenameEntryResponse, _Mapping]] = ..., error: _Optional[str] = ..., errno: _Optional[int] = ...) -> None: ...

class AssignVolumeRequest(_message.Message):
    __slots__ = ("count", "collection", "replication", "ttl_sec", "data_center", "path", "rack", "disk_type", "data_node", "expected_data_size")
    COUNT_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    REPLICATION_FIELD_NUMBER: _ClassVar[int]
    TTL_SEC_FIELD_NUMBER: _ClassVar[int]
    DATA_CENTER_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    RACK_FIELD_NUMBER: _ClassVar[int]
    DISK_TYPE_FIELD_NUMBER: _ClassVar[int]
    DATA_NODE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_DATA_SIZE_FIELD_NUMBER: _ClassVar[int]
    count: int
    collection: str
    replication: str
    ttl_sec: int
    data_center: str
    path: str
    rack: str
    disk_type: str
    data_node: str
    expected_data_size: int
    def __init__(self, count: _Optional[int] = ..., collection: _Optional[str] = ..., replication: _Optional[str] = ..., ttl_sec: _Optional[int] = ..., data_center: _Optional[str] = ..., path: _Optional[str] = ..., rack: _Optional[str] = ..., disk_type: _Optional[str] = ..., data_node: _Optional[str] = ..., expected_data_size: _Optional[int] = ...) -> None: ...

class Location(_message.Message):
    __slots__ = ("url", "public_url", "grpc_port", "data_center", "data_in_remote")
    URL_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_URL_FIELD_NUMBER: _ClassVar[int]
    GRPC_PORT_FIELD_NUMBER: _ClassVar[int]
    DATA_CENTER_FIELD_NUMBER: _ClassVar[int]
    DATA_IN_REMOTE_FIELD_NUMBER: _ClassVar[int]
    url: str
    public_url: str
    grpc_port: int
    data_center: str
    data_in_remote: bool
    def __init__(self, url: _Optional[str] = ..., public_url: _Optional[str] = ..., grpc_port: _Optional[int] = ..., data_center: _Optional[str] = ..., data_in_remote: _Optional[bool] = ...) -> None: ...

class Locations(_message.Message):
    __slots__ = ("locations",)
    LOCATIONS_FIELD_NUMBER: _ClassVar[int]
    locations: _containers.RepeatedCompositeFieldContainer[Location]
    def __init__(self, locations: _Optional[_Iterable[_Union[Location, _Mapping]]] = ...) -> None: ...

class AssignVolumeResponse(_message.Message):
    __slots__ = ("file_id", "count", "auth", "collection", "replication", "error", "location", "replicas", "fsync")
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    AUTH_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    REPLICATION_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    REPLICAS_FIELD_NUMBER: _ClassVar[int]
    FSYNC_FIELD_NUMBER: _ClassVar[int]
    file_id: str
    count: int
    auth: str
    collection: str
    replication: str
    error: str
    location: Location
    replicas: _containers.RepeatedCompositeFieldContainer[Location]
    fsync: bool
    def __init__(self, file_id: _Optional[str] = ..., count: _Optional[int] = ..., auth: _Optional[str] = ..., collection: _Optional[str] = ..., replication: _Optional[str] = ..., error: _Optional[str] = ..., location: _Optional[_Union[Location, _Mapping]] = ..., replicas: _Optional[_Iterable[_Union[Location, _Mapping]]] = ..., fsync: _Optional[bool] = ...) -> None: ...

class LookupVolumeRequest(_message.Message):
    __slots__ = ("volume_ids",)
    VOLUME_IDS_FIELD_NUMBER: _ClassVar[int]
    volume_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, volume_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class LookupVolumeResponse(_message.Message):
    __slots__ = ("locations_map",)
    class LocationsMapEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: Locations
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[Locations, _Mapping]] = ...) -> None: ...
    LOCATIONS_MAP_FIELD_NUMBER: _ClassVar[int]
    locations_map: _containers.MessageMap[str, Locations]
    def __init__(self, locations_map: _Optional[_Mapping[str, Locations]] = ...) -> None: ...

class StatisticsRequest(_message.Message):
    __slots__ = ("replication", "collection", "ttl", "disk_type")
    REPLICATION_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    DISK_TYPE_FIELD_NUMBER: _ClassVar[int]
    replication: str
    collection: str
    ttl: str
    disk_type: str
    def __init__(self, replication: _Optional[str] = ..., collection: _Optional[str] = ..., ttl: _Optional[str] = ..., disk_type: _Optional[str] = ...) -> None: ...

class StatisticsResponse(_message.Message):
    __slots__ = ("total_size", "used_size", "file_count", "logical_total_size", "logical_used_size")
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    USED_SIZE_FIELD_NUMBER: _ClassVar[int]
    FILE_COUNT_FIELD_NUMBER: _ClassVar[int]
    LOGICAL_TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    LOGICAL_USED_SIZE_FIELD_NUMBER: _ClassVar[int]
    total_size: int
    used_size: int
    file_count: int
    logical_total_size: int
    logical_used_size: int
    def __init__(self, total_size: _Optional[int] = ..., used_size: _Optional[int] = ..., file_count: _Optional[int] = ..., logical_total_size: _Optional[int] = ..., logical_used_size: _Optional[int] = ...) -> None: ...

class GetFilerConfigurationRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetFilerConfigurationResponse(_message.Message):
    __slots__ = ("masters", "replication", "collection", "max_mb", "dir_buckets", "cipher", "signature", "metrics_address", "metrics_interval_sec", "version", "cluster_id", "filer_group", "major_version", "minor_version")
    MASTERS_FIELD_NUMBER: _ClassVar[int]
    REPLICATION_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    MAX_MB_FIELD_NUMBER: _ClassVar[int]
    DIR_BUCKETS_FIELD_NUMBER: _ClassVar[int]
    CIPHER_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    METRICS_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    METRICS_INTERVAL_SEC_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    FILER_GROUP_FIELD_NUMBER: _ClassVar[int]
    MAJOR_VERSION_FIELD_NUMBER: _ClassVar[int]
    MINOR_VERSION_FIELD_NUMBER: _ClassVar[int]
    masters: _containers.RepeatedScalarFieldContainer[str]
    replication: str
    collection: str
    max_mb: int
    dir_buckets: str
    cipher: bool
    signature: int
    metrics_address: str
    metrics_interval_sec: int
    version: str
    cluster_id: str
    filer_group: str
    major_version: int
    minor_version: int
    def __init__(self, masters: _Optional[_Iterable[str]] = ..., replication: _Optional[str] = ..., collection: _Optional[str] = ..., max_mb: _Optional[int] = ..., dir_buckets: _Optional[str] = ..., cipher: _Optional[bool] = ..., signature: _Optional[int] = ..., metrics_address: _Optional[str] = ..., metrics_interval_sec: _Optional[int] = ..., version: _Optional[str] = ..., cluster_id: _Optional[str] = ..., filer_group: _Optional[str] = ..., major_version: _Optional[int] = ..., minor_version: _Optional[int] = ...) -> None: ...

class EventNotification(_message.Message):
    __slots__ = ("old_entry", "new_entry", "delete_chunks", "new_parent_path", "is_from_other_cluster", "signatures")
    OLD_ENTRY_FIELD_NUMBER: _ClassVar[int]
    NEW_ENTRY_FIELD_NUMBER: _ClassVar[int]
    DELETE_CHUNKS_FIELD_NUMBER: _ClassVar[int]
    NEW_PARENT_PATH_FIELD_NUMBER: _ClassVar[int]
    IS_FROM_OTHER_CLUSTER_FIELD_NUMBER: _ClassVar[int]
    SIGNATURES_FIELD_NUMBER: _ClassVar[int]
    old_entry: Entry
    new_entry: Entry
    delete_chunks: bool
    new_parent_path: str
    is_from_other_cluster: bool
    signatures: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, old_entry: _Optional[_Union[Entry, _Mapping]] = ..., new_entry: _Optional[_Union[Entry, _Mapping]] = ..., delete_chunks: _Optional[bool] = ..., new_parent_path: _Optional[str] = ..., is_from_other_cluster: _Optional[bool] = ..., signatures: _Optional[_Iterable[int]] = ...) -> None: ...

class SubscribeMetadataRequest(_message.Message):
    __slots__ = ("client_name", "path_prefix", "since_ns", "signature", "path_prefixes", "client_id", "until_ns", "client_epoch", "directories", "client_supports_batching", "client_supports_metadata_chunks", "client_supports_idle_heartbeat")
    CLIENT_NAME_FIELD_NUMBER: _ClassVar[int]
    PATH_PREFIX_FIELD_NUMBER: _ClassVar[int]
    SINCE_NS_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    PATH_PREFIXES_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    UNTIL_NS_FIELD_NUMBER: _ClassVar[int]
    CLIENT_EPOCH_FIELD_NUMBER: _ClassVar[int]
    DIRECTORIES_FIELD_NUMBER: _ClassVar[int]
    CLIENT_SUPPORTS_BATCHING_FIELD_NUMBER: _ClassVar[int]
    CLIENT_SUPPORTS_METADATA_CHUNKS_FIELD_NUMBER: _ClassVar[int]
    CLIENT_SUPPORTS_IDLE_HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    client_name: str
    path_prefix: str
    since_ns: int
    signature: int
    path_prefixes: _containers.RepeatedScalarFieldContainer[str]
    client_id: int
    until_ns: int
    client_epoch: int
    directories: _containers.RepeatedScalarFieldContainer[str]
    client_supports_batching: bool
    client_supports_metadata_chunks: bool
    client_supports_idle_heartbeat: bool
    def __init__(self, client_name: _Optional[str] = ..., path_prefix: _Optional[str] = ..., since_ns: _Optional[int] = ..., signature: _Optional[int] = ..., path_prefixes: _Optional[_Iterable[str]] = ..., client_id: _Optional[int] = ..., until_ns: _Optional[int] = ..., client_epoch: _Optional[int] = ..., directories: _Optional[_Iterable[str]] = ..., client_supports_batching: _Optional[bool] = ..., client_supports_metadata_chunks: _Optional[bool] = ..., client_supports_idle_heartbeat: _Optional[bool] = ...) -> None: ...

class LogFileChunkRef(_message.Message):
    __slots__ = ("chunks", "file_ts_ns", "filer_id")
    CHUNKS_FIELD_NUMBER: _ClassVar[int]
    FILE_TS_NS_FIELD_NUMBER: _ClassVar[int]
    FILER_ID_FIELD_NUMBER: _ClassVar[int]
    chunks: _containers.RepeatedCompositeFieldContainer[FileChunk]
    file_ts_ns: int
    filer_id: str
    def __init__(self, chunks: _Optional[_Iterable[_Union[FileChunk, _Mapping]]] = ..., file_ts_ns: _Optional[int] = ..., filer_id: _Optional[str] = ...) -> None: ...

class SubscribeMetadataResponse(_message.Message):
    __slots__ = ("directory", "event_notification", "ts_ns", "events", "log_file_refs", "flushed_ts_ns")
    DIRECTORY_FIELD_NUMBER: _ClassVar[int]
    EVENT_NOTIFICATION_FIELD_NUMBER: _ClassVar[int]
    TS_NS_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    LOG_FILE_REFS_FIELD_NUMBER: _ClassVar[int]
    FLUSHED_TS_NS_FIELD_NUMBER: _ClassVar[int]
    directory: str
    event_notification: EventNotification
    ts_ns: int
    events: _containers.RepeatedCompositeFieldContainer[SubscribeMetadataResponse]
    log_file_refs: _containers.RepeatedCompositeFieldContainer[LogFileChunkRef]
    flushed_ts_ns: int
    def __init__(self, directory: _Optional[str] = ..., event_notification: _Optional[_Union[EventNotification, _Mapping]] = ..., ts_ns: _Optional[int] = ..., events: _Optional[_Iterable[_Union[SubscribeMetadataResponse, _Mapping]]] = ..., log_file_refs: _Optional[_Iterable[_Union[LogFileChunkRef, _Mapping]]] = ..., flushed_ts_ns: _Optional[int] = ...) -> None: ...

class KvGetRequest(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: bytes
    def __init__(self, key: _Optional[bytes] = ...) -> None: ...

class KvGetResponse(_message.Message):
    __slots__ = ("value", "error")
    VALUE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    value: bytes
    error: str
    def __init__(self, value: _Optional[bytes] = ..., error: _Optional[str] = ...) -> None: ...

class KvPutRequest(_message.Message):
    __slots__ = ("key", "value")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    key: bytes
    value: bytes
    def __init__(self, key: _Optional[bytes] = ..., value: _Optional[bytes] = ...) -> None: ...

class KvPutResponse(_message.Message):
    __slots__ = ("error",)
    ERROR_FIELD_NUMBER: _ClassVar[int]
    error: str
    def __init__(self, error: _Optional[str] = ...) -> None: ...

class MountRegisterRequest(_message.Message):
    __slots__ = ("peer_addr", "rack", "ttl_seconds", "data_center")
    PEER_ADDR_FIELD_NUMBER: _ClassVar[int]
    RACK_FIELD_NUMBER: _ClassVar[int]
    TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    DATA_CENTER_FIELD_NUMBER: _ClassVar[int]
    peer_addr: str
    rack: str
    ttl_seconds: int
    data_center: str
    def __init__(self, peer_addr: _Optional[str] = ..., rack: _Optional[str] = ..., ttl_seconds: _Optional[int] = ..., data_center: _Optional[str] = ...) -> None: ...

class MountRegisterResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class MountListRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class MountInfo(_message.Message):
    __slots__ = ("peer_addr", "rack", "last_seen_ns", "data_center")
    PEER_ADDR_FIELD_NUMBER: _ClassVar[int]
    RACK_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_NS_FIELD_NUMBER: _ClassVar[int]
    DATA_CENTER_FIELD_NUMBER: _ClassVar[int]
    peer_addr: str
    rack: str
    last_seen_ns: int
    data_center: str
    def __init__(self, peer_addr: _Optional[str] = ..., rack: _Optional[str] = ..., last_seen_ns: _Optional[int] = ..., data_center: _Optional[str] = ...) -> None: ...

class MountListResponse(_message.Message):
    __slots__ = ("mounts",)
    MOUNTS_FIELD_NUMBER: _ClassVar[int]
    mounts: _containers.RepeatedCompositeFieldContainer[MountInfo]
    def __init__(self, mounts: _Optional[_Iterable[_Union[MountInfo, _Mapping]]] = ...) -> None: ...
