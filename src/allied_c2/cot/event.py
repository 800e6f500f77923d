"""One CoT event, whichever wire it came from, with both encodings cached.

An event is treated as immutable once built: the relay serialises it at most
once per wire format however many clients receive it, and an event parsed
from XML that is passed on unchanged goes out as the very bytes that came in.
Derive changed events with :meth:`CotEvent.with_marking` or
:meth:`CotEvent.evolve`, which start with empty caches. ``detail`` (an lxml
element) is the source of truth for everything inside ``<detail>`` when the
event is re-serialised; the flat fields beside it are read from it by
:meth:`CotEvent.create` and by the codecs, and must not be mutated.
"""

from __future__ import annotations

import dataclasses
import operator
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from allied_c2.cot.detail import ChatInfo, read_detail
from allied_c2.cot.times import format_time
from allied_c2.cot.validation import UNKNOWN_VALUE
from allied_c2.cot.xmltree import Element

__all__ = ["ChatInfo", "CotEvent", "WireFormat"]

PROTO_MAGIC = 0xBF


class WireFormat(StrEnum):
    XML = "xml"
    PROTO = "proto"


def encode_varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _blank_to_none(value: str | None) -> str | None:
    return value or None


@dataclass(slots=True, eq=False)
class CotEvent:
    uid: str
    type: str
    how: str
    time: datetime
    start: datetime
    stale: datetime
    lat: float
    lon: float
    hae: float = UNKNOWN_VALUE
    ce: float = UNKNOWN_VALUE
    le: float = UNKNOWN_VALUE
    access: str | None = None
    caveat: str | None = None
    releasable_to: str | None = None
    qos: str | None = None
    opex: str | None = None
    callsign: str | None = None
    endpoint: str | None = None
    group_name: str | None = None
    group_role: str | None = None
    dest_callsigns: tuple[str, ...] = ()
    dest_uids: tuple[str, ...] = ()
    dest_missions: tuple[str, ...] = ()
    dest_groups: tuple[str, ...] = ()
    chat: ChatInfo | None = None
    link_uids: tuple[str, ...] = ()
    course: float | None = None
    speed: float | None = None
    remarks: str | None = None
    detail: Element | None = field(default=None, repr=False)
    # Wire caches; the sources are what a codec read, reused while unchanged.
    _source_xml: bytes | None = field(default=None, init=False, repr=False)
    _source_proto: bytes | None = field(default=None, init=False, repr=False)
    _xml: bytes | None = field(default=None, init=False, repr=False)
    _proto_payload: bytes | None = field(default=None, init=False, repr=False)
    _proto: bytes | None = field(default=None, init=False, repr=False)

    @classmethod
    def create(
        cls,
        *,
        uid: str,
        type: str,
        how: str,
        time: datetime,
        start: datetime,
        stale: datetime,
        lat: float,
        lon: float,
        hae: float = UNKNOWN_VALUE,
        ce: float = UNKNOWN_VALUE,
        le: float = UNKNOWN_VALUE,
        access: str | None = None,
        caveat: str | None = None,
        releasable_to: str | None = None,
        qos: str | None = None,
        opex: str | None = None,
        detail: Element | None = None,
    ) -> CotEvent:
        """Build an event, reading callsign, addressing, chat, track… from ``detail``."""
        info = read_detail(detail)
        # Positional, in field order: binding thirty keywords costs about as much
        # as reading the detail, once per event. test_event checks the order.
        return cls(
            uid,
            type,
            how,
            time,
            start,
            stale,
            lat,
            lon,
            hae,
            ce,
            le,
            _blank_to_none(access),
            _blank_to_none(caveat),
            _blank_to_none(releasable_to),
            _blank_to_none(qos),
            _blank_to_none(opex),
            info.callsign,
            info.endpoint,
            info.group_name,
            info.group_role,
            info.dest_callsigns,
            info.dest_uids,
            info.dest_missions,
            info.dest_groups,
            info.chat,
            info.link_uids,
            info.course,
            info.speed,
            info.remarks,
            detail,
        )

    @property
    def xml_wire(self) -> bytes:
        """The standalone ``<event …>…</event>``, UTF-8, no XML declaration."""
        cached = self._xml
        if cached is None:
            cached = self._source_xml
            if cached is None:
                from allied_c2.cot.xmlcodec import serialize_xml

                cached = serialize_xml(self)
            self._xml = cached
        return cached

    @property
    def proto_payload(self) -> bytes:
        """The serialized ``TakMessage`` (no stream header)."""
        cached = self._proto_payload
        if cached is None:
            cached = self._source_proto
            if cached is None:
                from allied_c2.cot.protocodec import event_to_proto

                cached = event_to_proto(self)
            self._proto_payload = cached
        return cached

    @property
    def proto_wire(self) -> bytes:
        """TAK protocol v1 stream framing: 0xBF, varint length, ``TakMessage``."""
        cached = self._proto
        if cached is None:
            payload = self.proto_payload
            cached = bytes((PROTO_MAGIC,)) + encode_varint(len(payload)) + payload
            self._proto = cached
        return cached

    @property
    def mesh_wire(self) -> bytes:
        """TAK protocol v1 mesh (UDP) datagram: ``BF 01 BF`` then the ``TakMessage``."""
        return b"\xbf\x01\xbf" + self.proto_payload

    def wire(self, fmt: WireFormat) -> bytes:
        return self.proto_wire if fmt is WireFormat.PROTO else self.xml_wire

    def proto_message(self) -> Any:
        """A fresh ``TakMessage`` for this event (callers may modify it)."""
        from allied_c2.cot.protocodec import event_to_message

        return event_to_message(self)

    def is_stale(self, now: datetime) -> bool:
        return self.stale <= now

    def evolve(self, **changes: Any) -> CotEvent:
        """A copy with ``changes`` applied and empty wire caches."""
        return dataclasses.replace(self, **changes)

    def _clone(self) -> CotEvent:
        # dataclasses.replace re-runs __init__ over ~30 fields; this is the relay's
        # hot path (every unmarked event is re-marked), so copy the slots directly.
        clone = object.__new__(CotEvent)
        for name, value in zip(_FIELD_NAMES, _all_fields(self), strict=True):
            object.__setattr__(clone, name, value)
        return clone

    def with_marking(
        self,
        access: str | None,
        caveat: str | None,
        releasable_to: str | None,
        *,
        in_place: bool = False,
    ) -> CotEvent:
        """This event re-marked; ``self`` when the marking is already exactly that.

        ``in_place`` re-marks ``self`` instead of a copy. It is only for an event
        nobody else holds yet: the relay stamps each event it has just decoded,
        and copying thirty fields per event is measurable there.
        """
        access, caveat, releasable_to = (
            _blank_to_none(access),
            _blank_to_none(caveat),
            _blank_to_none(releasable_to),
        )
        if (access, caveat, releasable_to) == (self.access, self.caveat, self.releasable_to):
            return self
        source = self._source_xml
        unmarked = self.access is self.caveat is self.releasable_to is None
        marked = self if in_place else self._clone()
        marked.access, marked.caveat, marked.releasable_to = access, caveat, releasable_to
        marked._source_xml = marked._source_proto = None
        marked._xml = marked._proto_payload = marked._proto = None
        if source is not None and unmarked:
            # The common case (ATAK sends no marking): write the attributes into
            # the bytes as received instead of re-rendering the whole tree.
            from allied_c2.cot.xmlcodec import with_root_attributes

            marked._source_xml = with_root_attributes(
                source,
                {"access": access, "caveat": caveat, "releasableTo": releasable_to},
            )
        return marked

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view for the web API."""
        group = (
            {"name": self.group_name, "role": self.group_role}
            if self.group_name is not None or self.group_role is not None
            else None
        )
        return {
            "uid": self.uid,
            "type": self.type,
            "how": self.how,
            "time": format_time(self.time),
            "start": format_time(self.start),
            "stale": format_time(self.stale),
            "lat": self.lat,
            "lon": self.lon,
            "hae": self.hae,
            "ce": self.ce,
            "le": self.le,
            "callsign": self.callsign,
            "group": group,
            "course": self.course,
            "speed": self.speed,
            "remarks": self.remarks,
            "access": self.access,
            "caveat": self.caveat,
            "releasableTo": self.releasable_to,
        }


_FIELD_NAMES = tuple(f.name for f in dataclasses.fields(CotEvent))
_all_fields = operator.attrgetter(*_FIELD_NAMES)
