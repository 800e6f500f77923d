from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class BinaryPayload(_message.Message):
    __slots__ = ("type", "version", "data", "timestamp", "uuid")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    UUID_FIELD_NUMBER: _ClassVar[int]
    type: str
    version: str
    data: bytes
    timestamp: int
    uuid: str
    def __init__(self, type: _Optional[str] = ..., version: _Optional[str] = ..., data: _Optional[bytes] = ..., timestamp: _Optional[int] = ..., uuid: _Optional[str] = ...) -> None: ...
