from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ClusterMember(_message.Message):
    __slots__ = ("address", "raft_address", "role", "healthy", "last_contact_seconds")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    RAFT_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    HEALTHY_FIELD_NUMBER: _ClassVar[int]
    LAST_CONTACT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    address: str
    raft_address: str
    role: str
    healthy: bool
    last_contact_seconds: float
    def __init__(self, address: _Optional[str] = ..., raft_address: _Optional[str] = ..., role: _Optional[str] = ..., healthy: _Optional[bool] = ..., last_contact_seconds: _Optional[float] = ...) -> None: ...

class ClusterStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ClusterStatusResponse(_message.Message):
    __slots__ = ("is_leader", "leader", "term", "event_index", "state_digest", "commit_index", "applied_index", "members", "max_volume_id", "self")
    IS_LEADER_FIELD_NUMBER: _ClassVar[int]
    LEADER_FIELD_NUMBER: _ClassVar[int]
    TERM_FIELD_NUMBER: _ClassVar[int]
    EVENT_INDEX_FIELD_NUMBER: _ClassVar[int]
    STATE_DIGEST_FIELD_NUMBER: _ClassVar[int]
    COMMIT_INDEX_FIELD_NUMBER: _ClassVar[int]
    APPLIED_INDEX_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    MAX_VOLUME_ID_FIELD_NUMBER: _ClassVar[int]
    SELF_FIELD_NUMBER: _ClassVar[int]
    is_leader: bool
    leader: str
    term: int
    event_index: int
    state_digest: str
    commit_index: int
    applied_index: int
    members: _containers.RepeatedCompositeFieldContainer[ClusterMember]
    max_volume_id: int
    self: str
    def __init__(self_, is_leader: _Optional[bool] = ..., leader: _Optional[str] = ..., term: _Optional[int] = ..., event_index: _Optional[int] = ..., state_digest: _Optional[str] = ..., commit_index: _Optional[int] = ..., applied_index: _Optional[int] = ..., members: _Optional[_Iterable[_Union[ClusterMember, _Mapping]]] = ..., max_volume_id: _Optional[int] = ..., self: _Optional[str] = ...) -> None: ...

class RaftListClusterServersRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RaftListClusterServersResponse(_message.Message):
    __slots__ = ("members",)
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    members: _containers.RepeatedCompositeFieldContainer[ClusterMember]
    def __init__(self, members: _Optional[_Iterable[_Union[ClusterMember, _Mapping]]] = ...) -> None: ...

class RaftAddServerRequest(_message.Message):
    __slots__ = ("address",)
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    address: str
    def __init__(self, address: _Optional[str] = ...) -> None: ...

class RaftAddServerResponse(_message.Message):
    __slots__ = ("members",)
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    members: _containers.RepeatedCompositeFieldContainer[ClusterMember]
    def __init__(self, members: _Optional[_Iterable[_Union[ClusterMember, _Mapping]]] = ...) -> None: ...

class RaftRemoveServerRequest(_message.Message):
    __slots__ = ("address",)
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    address: str
    def __init__(self, address: _Optional[str] = ...) -> None: ...

class RaftRemoveServerResponse(_message.Message):
    __slots__ = ("members",)
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    members: _containers.RepeatedCompositeFieldContainer[ClusterMember]
    def __init__(self, members: _Optional[_Iterable[_Union[ClusterMember, _Mapping]]] = ...) -> None: ...

class MaintenanceHistoryRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class MaintenanceCommandOutcome(_message.Message):
    __slots__ = ("command", "ok", "output", "time_ns", "lock_token")
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    OK_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    TIME_NS_FIELD_NUMBER: _ClassVar[int]
    LOCK_TOKEN_FIELD_NUMBER: _ClassVar[int]
    command: str
    ok: bool
    output: str
    time_ns: int
    lock_token: int
    def __init__(self, command: _Optional[str] = ..., ok: _Optional[bool] = ..., output: _Optional[str] = ..., time_ns: _Optional[int] = ..., lock_token: _Optional[int] = ...) -> None: ...

class MaintenanceRun(_message.Message):
    __slots__ = ("run_id", "term", "leader", "started_ns", "finished_ns", "ok", "abandoned", "reason", "commands")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    TERM_FIELD_NUMBER: _ClassVar[int]
    LEADER_FIELD_NUMBER: _ClassVar[int]
    STARTED_NS_FIELD_NUMBER: _ClassVar[int]
    FINISHED_NS_FIELD_NUMBER: _ClassVar[int]
    OK_FIELD_NUMBER: _ClassVar[int]
    ABANDONED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    COMMANDS_FIELD_NUMBER: _ClassVar[int]
    run_id: int
    term: int
    leader: str
    started_ns: int
    finished_ns: int
    ok: bool
    abandoned: bool
    reason: str
    commands: _containers.RepeatedCompositeFieldContainer[MaintenanceCommandOutcome]
    def __init__(self, run_id: _Optional[int] = ..., term: _Optional[int] = ..., leader: _Optional[str] = ..., started_ns: _Optional[int] = ..., finished_ns: _Optional[int] = ..., ok: _Optional[bool] = ..., abandoned: _Optional[bool] = ..., reason: _Optional[str] = ..., commands: _Optional[_Iterable[_Union[MaintenanceCommandOutcome, _Mapping]]] = ...) -> None: ...

class MaintenanceHistoryResponse(_message.Message):
    __slots__ = ("configured", "commands", "interval_seconds", "runs", "next_due_ns")
    CONFIGURED_FIELD_NUMBER: _ClassVar[int]
    COMMANDS_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    RUNS_FIELD_NUMBER: _ClassVar[int]
    NEXT_DUE_NS_FIELD_NUMBER: _ClassVar[int]
    configured: bool
    commands: _containers.RepeatedScalarFieldContainer[str]
    interval_seconds: float
    runs: _containers.RepeatedCompositeFieldContainer[MaintenanceRun]
    next_due_ns: int
    def __init__(self, configured: _Optional[bool] = ..., commands: _Optional[_Iterable[str]] = ..., interval_seconds: _Optional[float] = ..., runs: _Optional[_Iterable[_Union[MaintenanceRun, _Mapping]]] = ..., next_due_ns: _Optional[int] = ...) -> None: ...
