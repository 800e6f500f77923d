"""Cursor-on-Target wire formats, sans-I/O: events, codecs, framing, negotiation.

No sockets and no server, web or database imports: bytes in, events out.
"""

from allied_c2.cot.detail import ChatInfo
from allied_c2.cot.errors import CotError
from allied_c2.cot.event import CotEvent, WireFormat
from allied_c2.cot.framing import (
    Frame,
    FramingError,
    ProtoFrame,
    StreamFramer,
    XmlFrame,
    parse_datagram,
)
from allied_c2.cot.negotiation import (
    NegotiationState,
    NegotiationStep,
    TakNegotiation,
    sniff_format,
)
from allied_c2.cot.protocodec import event_to_proto, parse_proto
from allied_c2.cot.xmlcodec import parse_xml, serialize_xml

__all__ = [
    "ChatInfo",
    "CotError",
    "CotEvent",
    "Frame",
    "FramingError",
    "NegotiationState",
    "NegotiationStep",
    "ProtoFrame",
    "StreamFramer",
    "TakNegotiation",
    "WireFormat",
    "XmlFrame",
    "event_to_proto",
    "parse_datagram",
    "parse_proto",
    "parse_xml",
    "serialize_xml",
    "sniff_format",
]
