from kelp_pb import events_pb2 as _events_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SubscribeRequest(_message.Message):
    __slots__ = ("since_index", "client_name")
    SINCE_INDEX_FIELD_NUMBER: _ClassVar[int]
    CLIENT_NAME_FIELD_NUMBER: _ClassVar[int]
    since_index: int
    client_name: str
    def __init__(self, since_index: _Optional[int] = ..., client_name: _Optional[str] = ...) -> None: ...

class ControlMessage(_message.Message):
    __slots__ = ("index", "event", "snapshot", "leader")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    LEADER_FIELD_NUMBER: _ClassVar[int]
    index: int
    event: _events_pb2.Event
    snapshot: _events_pb2.StateSnapshot
    leader: str
    def __init__(self, index: _Optional[int] = ..., event: _Optional[_Union[_events_pb2.Event, _Mapping]] = ..., snapshot: _Optional[_Union[_events_pb2.StateSnapshot, _Mapping]] = ..., leader: _Optional[str] = ...) -> None: ...
