from allied_c2.federation.proto import binarypayload_pb2 as _binarypayload_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Empty(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class FederateProvenance(_message.Message):
    __slots__ = ("federationServerId", "federationServerName")
    FEDERATIONSERVERID_FIELD_NUMBER: _ClassVar[int]
    FEDERATIONSERVERNAME_FIELD_NUMBER: _ClassVar[int]
    federationServerId: str
    federationServerName: str
    def __init__(self, federationServerId: _Optional[str] = ..., federationServerName: _Optional[str] = ...) -> None: ...

class FederateHops(_message.Message):
    __slots__ = ("maxHops", "currentHops")
    MAXHOPS_FIELD_NUMBER: _ClassVar[int]
    CURRENTHOPS_FIELD_NUMBER: _ClassVar[int]
    maxHops: int
    currentHops: int
    def __init__(self, maxHops: _Optional[int] = ..., currentHops: _Optional[int] = ...) -> None: ...

class FederateGroupHopLimit(_message.Message):
    __slots__ = ("groupName", "maxHops", "currentHops")
    GROUPNAME_FIELD_NUMBER: _ClassVar[int]
    MAXHOPS_FIELD_NUMBER: _ClassVar[int]
    CURRENTHOPS_FIELD_NUMBER: _ClassVar[int]
    groupName: str
    maxHops: int
    currentHops: int
    def __init__(self, groupName: _Optional[str] = ..., maxHops: _Optional[int] = ..., currentHops: _Optional[int] = ...) -> None: ...

class FederateGroupHopLimits(_message.Message):
    __slots__ = ("limits", "useFederateGroupHopLimits")
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    USEFEDERATEGROUPHOPLIMITS_FIELD_NUMBER: _ClassVar[int]
    limits: _containers.RepeatedCompositeFieldContainer[FederateGroupHopLimit]
    useFederateGroupHopLimits: bool
    def __init__(self, limits: _Optional[_Iterable[_Union[FederateGroupHopLimit, _Mapping]]] = ..., useFederateGroupHopLimits: _Optional[bool] = ...) -> None: ...

class BinaryBlob(_message.Message):
    __slots__ = ("type", "data", "filename", "timestamp", "description", "provenance", "hops", "groupHopLimits")
    class MediaType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        EMPTY: _ClassVar[BinaryBlob.MediaType]
        OTHER: _ClassVar[BinaryBlob.MediaType]
        IMAGE: _ClassVar[BinaryBlob.MediaType]
    EMPTY: BinaryBlob.MediaType
    OTHER: BinaryBlob.MediaType
    IMAGE: BinaryBlob.MediaType
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PROVENANCE_FIELD_NUMBER: _ClassVar[int]
    HOPS_FIELD_NUMBER: _ClassVar[int]
    GROUPHOPLIMITS_FIELD_NUMBER: _ClassVar[int]
    type: BinaryBlob.MediaType
    data: bytes
    filename: str
    timestamp: int
    description: str
    provenance: _containers.RepeatedCompositeFieldContainer[FederateProvenance]
    hops: FederateHops
    groupHopLimits: FederateGroupHopLimits
    def __init__(self, type: _Optional[_Union[BinaryBlob.MediaType, str]] = ..., data: _Optional[bytes] = ..., filename: _Optional[str] = ..., timestamp: _Optional[int] = ..., description: _Optional[str] = ..., provenance: _Optional[_Iterable[_Union[FederateProvenance, _Mapping]]] = ..., hops: _Optional[_Union[FederateHops, _Mapping]] = ..., groupHopLimits: _Optional[_Union[FederateGroupHopLimits, _Mapping]] = ...) -> None: ...

class GeoEvent(_message.Message):
    __slots__ = ("sendTime", "startTime", "staleTime", "lat", "lon", "hae", "ce", "le", "uid", "type", "coordSource", "other", "battery", "ploc", "palt", "screenName", "groupName", "groupRole", "phone", "speed", "course", "binary", "ptpUids", "ptpCallsigns", "feedUid", "missionNames", "access", "caveat", "releaseableTo", "bloads")
    SENDTIME_FIELD_NUMBER: _ClassVar[int]
    STARTTIME_FIELD_NUMBER: _ClassVar[int]
    STALETIME_FIELD_NUMBER: _ClassVar[int]
    LAT_FIELD_NUMBER: _ClassVar[int]
    LON_FIELD_NUMBER: _ClassVar[int]
    HAE_FIELD_NUMBER: _ClassVar[int]
    CE_FIELD_NUMBER: _ClassVar[int]
    LE_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    COORDSOURCE_FIELD_NUMBER: _ClassVar[int]
    OTHER_FIELD_NUMBER: _ClassVar[int]
    BATTERY_FIELD_NUMBER: _ClassVar[int]
    PLOC_FIELD_NUMBER: _ClassVar[int]
    PALT_FIELD_NUMBER: _ClassVar[int]
    SCREENNAME_FIELD_NUMBER: _ClassVar[int]
    GROUPNAME_FIELD_NUMBER: _ClassVar[int]
    GROUPROLE_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    SPEED_FIELD_NUMBER: _ClassVar[int]
    COURSE_FIELD_NUMBER: _ClassVar[int]
    BINARY_FIELD_NUMBER: _ClassVar[int]
    PTPUIDS_FIELD_NUMBER: _ClassVar[int]
    PTPCALLSIGNS_FIELD_NUMBER: _ClassVar[int]
    FEEDUID_FIELD_NUMBER: _ClassVar[int]
    MISSIONNAMES_FIELD_NUMBER: _ClassVar[int]
    ACCESS_FIELD_NUMBER: _ClassVar[int]
    CAVEAT_FIELD_NUMBER: _ClassVar[int]
    RELEASEABLETO_FIELD_NUMBER: _ClassVar[int]
    BLOADS_FIELD_NUMBER: _ClassVar[int]
    sendTime: int
    startTime: int
    staleTime: int
    lat: float
    lon: float
    hae: float
    ce: float
    le: float
    uid: str
    type: str
    coordSource: str
    other: str
    battery: int
    ploc: str
    palt: str
    screenName: str
    groupName: str
    groupRole: str
    phone: str
    speed: float
    course: float
    binary: BinaryBlob
    ptpUids: _containers.RepeatedScalarFieldContainer[str]
    ptpCallsigns: _containers.RepeatedScalarFieldContainer[str]
    feedUid: str
    missionNames: _containers.RepeatedScalarFieldContainer[str]
    access: str
    caveat: str
    releaseableTo: str
    bloads: _containers.RepeatedCompositeFieldContainer[_binarypayload_pb2.BinaryPayload]
    def __init__(self, sendTime: _Optional[int] = ..., startTime: _Optional[int] = ..., staleTime: _Optional[int] = ..., lat: _Optional[float] = ..., lon: _Optional[float] = ..., hae: _Optional[float] = ..., ce: _Optional[float] = ..., le: _Optional[float] = ..., uid: _Optional[str] = ..., type: _Optional[str] = ..., coordSource: _Optional[str] = ..., other: _Optional[str] = ..., battery: _Optional[int] = ..., ploc: _Optional[str] = ..., palt: _Optional[str] = ..., screenName: _Optional[str] = ..., groupName: _Optional[str] = ..., groupRole: _Optional[str] = ..., phone: _Optional[str] = ..., speed: _Optional[float] = ..., course: _Optional[float] = ..., binary: _Optional[_Union[BinaryBlob, _Mapping]] = ..., ptpUids: _Optional[_Iterable[str]] = ..., ptpCallsigns: _Optional[_Iterable[str]] = ..., feedUid: _Optional[str] = ..., missionNames: _Optional[_Iterable[str]] = ..., access: _Optional[str] = ..., caveat: _Optional[str] = ..., releaseableTo: _Optional[str] = ..., bloads: _Optional[_Iterable[_Union[_binarypayload_pb2.BinaryPayload, _Mapping]]] = ...) -> None: ...

class ContactListEntry(_message.Message):
    __slots__ = ("operation", "uid", "callsign", "phone", "sip", "directConnect")
    class CRUD(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        INVALID: _ClassVar[ContactListEntry.CRUD]
        CREATE: _ClassVar[ContactListEntry.CRUD]
        READ: _ClassVar[ContactListEntry.CRUD]
        UPDATE: _ClassVar[ContactListEntry.CRUD]
        DELETE: _ClassVar[ContactListEntry.CRUD]
    INVALID: ContactListEntry.CRUD
    CREATE: ContactListEntry.CRUD
    READ: ContactListEntry.CRUD
    UPDATE: ContactListEntry.CRUD
    DELETE: ContactListEntry.CRUD
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    CALLSIGN_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    SIP_FIELD_NUMBER: _ClassVar[int]
    DIRECTCONNECT_FIELD_NUMBER: _ClassVar[int]
    operation: ContactListEntry.CRUD
    uid: str
    callsign: str
    phone: str
    sip: str
    directConnect: str
    def __init__(self, operation: _Optional[_Union[ContactListEntry.CRUD, str]] = ..., uid: _Optional[str] = ..., callsign: _Optional[str] = ..., phone: _Optional[str] = ..., sip: _Optional[str] = ..., directConnect: _Optional[str] = ...) -> None: ...

class FederatedEvent(_message.Message):
    __slots__ = ("event", "contact", "federateGroups", "federateProvenance", "federateHops", "federateGroupHopLimits")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    CONTACT_FIELD_NUMBER: _ClassVar[int]
    FEDERATEGROUPS_FIELD_NUMBER: _ClassVar[int]
    FEDERATEPROVENANCE_FIELD_NUMBER: _ClassVar[int]
    FEDERATEHOPS_FIELD_NUMBER: _ClassVar[int]
    FEDERATEGROUPHOPLIMITS_FIELD_NUMBER: _ClassVar[int]
    event: GeoEvent
    contact: ContactListEntry
    federateGroups: _containers.RepeatedScalarFieldContainer[str]
    federateProvenance: _containers.RepeatedCompositeFieldContainer[FederateProvenance]
    federateHops: FederateHops
    federateGroupHopLimits: FederateGroupHopLimits
    def __init__(self, event: _Optional[_Union[GeoEvent, _Mapping]] = ..., contact: _Optional[_Union[ContactListEntry, _Mapping]] = ..., federateGroups: _Optional[_Iterable[str]] = ..., federateProvenance: _Optional[_Iterable[_Union[FederateProvenance, _Mapping]]] = ..., federateHops: _Optional[_Union[FederateHops, _Mapping]] = ..., federateGroupHopLimits: _Optional[_Union[FederateGroupHopLimits, _Mapping]] = ...) -> None: ...

class Identity(_message.Message):
    __slots__ = ("name", "uid", "description", "type", "serverId")
    class ServerType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        FEDERATION_HUB_SERVER: _ClassVar[Identity.ServerType]
        FEDERATION_HUB_CLIENT: _ClassVar[Identity.ServerType]
        FEDERATION_TAK_SERVER: _ClassVar[Identity.ServerType]
        FEDERATION_TAK_CLIENT: _ClassVar[Identity.ServerType]
    FEDERATION_HUB_SERVER: Identity.ServerType
    FEDERATION_HUB_CLIENT: Identity.ServerType
    FEDERATION_TAK_SERVER: Identity.ServerType
    FEDERATION_TAK_CLIENT: Identity.ServerType
    NAME_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    SERVERID_FIELD_NUMBER: _ClassVar[int]
    name: str
    uid: str
    description: str
    type: Identity.ServerType
    serverId: str
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., description: _Optional[str] = ..., type: _Optional[_Union[Identity.ServerType, str]] = ..., serverId: _Optional[str] = ...) -> None: ...

class TakServerVersion(_message.Message):
    __slots__ = ("major", "minor", "patch", "branch", "variant")
    MAJOR_FIELD_NUMBER: _ClassVar[int]
    MINOR_FIELD_NUMBER: _ClassVar[int]
    PATCH_FIELD_NUMBER: _ClassVar[int]
    BRANCH_FIELD_NUMBER: _ClassVar[int]
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    major: int
    minor: int
    patch: int
    branch: str
    variant: str
    def __init__(self, major: _Optional[int] = ..., minor: _Optional[int] = ..., patch: _Optional[int] = ..., branch: _Optional[str] = ..., variant: _Optional[str] = ...) -> None: ...

class Subscription(_message.Message):
    __slots__ = ("identity", "filter", "version")
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    identity: Identity
    filter: str
    version: TakServerVersion
    def __init__(self, identity: _Optional[_Union[Identity, _Mapping]] = ..., filter: _Optional[str] = ..., version: _Optional[_Union[TakServerVersion, _Mapping]] = ...) -> None: ...

class ClientHealth(_message.Message):
    __slots__ = ("status",)
    class ServingStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        UNKNOWN: _ClassVar[ClientHealth.ServingStatus]
        SERVING: _ClassVar[ClientHealth.ServingStatus]
        NOT_SERVING: _ClassVar[ClientHealth.ServingStatus]
    UNKNOWN: ClientHealth.ServingStatus
    SERVING: ClientHealth.ServingStatus
    NOT_SERVING: ClientHealth.ServingStatus
    STATUS_FIELD_NUMBER: _ClassVar[int]
    status: ClientHealth.ServingStatus
    def __init__(self, status: _Optional[_Union[ClientHealth.ServingStatus, str]] = ...) -> None: ...

class ServerHealth(_message.Message):
    __slots__ = ("status",)
    class ServingStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        UNKNOWN: _ClassVar[ServerHealth.ServingStatus]
        SERVING: _ClassVar[ServerHealth.ServingStatus]
        NOT_SERVING: _ClassVar[ServerHealth.ServingStatus]
        NOT_CONNECTED: _ClassVar[ServerHealth.ServingStatus]
    UNKNOWN: ServerHealth.ServingStatus
    SERVING: ServerHealth.ServingStatus
    NOT_SERVING: ServerHealth.ServingStatus
    NOT_CONNECTED: ServerHealth.ServingStatus
    STATUS_FIELD_NUMBER: _ClassVar[int]
    status: ServerHealth.ServingStatus
    def __init__(self, status: _Optional[_Union[ServerHealth.ServingStatus, str]] = ...) -> None: ...

class ROL(_message.Message):
    __slots__ = ("program", "payload", "federateGroups", "federateProvenance", "federateHops", "federateGroupHopLimits")
    PROGRAM_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    FEDERATEGROUPS_FIELD_NUMBER: _ClassVar[int]
    FEDERATEPROVENANCE_FIELD_NUMBER: _ClassVar[int]
    FEDERATEHOPS_FIELD_NUMBER: _ClassVar[int]
    FEDERATEGROUPHOPLIMITS_FIELD_NUMBER: _ClassVar[int]
    program: str
    payload: _containers.RepeatedCompositeFieldContainer[BinaryBlob]
    federateGroups: _containers.RepeatedScalarFieldContainer[str]
    federateProvenance: _containers.RepeatedCompositeFieldContainer[FederateProvenance]
    federateHops: FederateHops
    federateGroupHopLimits: FederateGroupHopLimits
    def __init__(self, program: _Optional[str] = ..., payload: _Optional[_Iterable[_Union[BinaryBlob, _Mapping]]] = ..., federateGroups: _Optional[_Iterable[str]] = ..., federateProvenance: _Optional[_Iterable[_Union[FederateProvenance, _Mapping]]] = ..., federateHops: _Optional[_Union[FederateHops, _Mapping]] = ..., federateGroupHopLimits: _Optional[_Union[FederateGroupHopLimits, _Mapping]] = ...) -> None: ...

class FederateGroups(_message.Message):
    __slots__ = ("streamUpdate", "federateGroups", "federateProvenance", "federateHops", "federateGroupHopLimits")
    STREAMUPDATE_FIELD_NUMBER: _ClassVar[int]
    FEDERATEGROUPS_FIELD_NUMBER: _ClassVar[int]
    FEDERATEPROVENANCE_FIELD_NUMBER: _ClassVar[int]
    FEDERATEHOPS_FIELD_NUMBER: _ClassVar[int]
    FEDERATEGROUPHOPLIMITS_FIELD_NUMBER: _ClassVar[int]
    streamUpdate: ServerHealth
    federateGroups: _containers.RepeatedScalarFieldContainer[str]
    federateProvenance: _containers.RepeatedCompositeFieldContainer[FederateProvenance]
    federateHops: FederateHops
    federateGroupHopLimits: FederateGroupHopLimits
    def __init__(self, streamUpdate: _Optional[_Union[ServerHealth, _Mapping]] = ..., federateGroups: _Optional[_Iterable[str]] = ..., federateProvenance: _Optional[_Iterable[_Union[FederateProvenance, _Mapping]]] = ..., federateHops: _Optional[_Union[FederateHops, _Mapping]] = ..., federateGroupHopLimits: _Optional[_Union[FederateGroupHopLimits, _Mapping]] = ...) -> None: ...

class FederateTokenResponse(_message.Message):
    __slots__ = ("token",)
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token: str
    def __init__(self, token: _Optional[str] = ...) -> None: ...
