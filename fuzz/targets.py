"""The fuzz targets: one property per parser, shared by atheris (fuzz/target.py) and pytest.

Each ``check_*`` takes arbitrary bytes and raises only if it found a bug: any
exception other than the parser's documented refusal (``CotError``,
``MarkingError``, ``ScenarioError``), or a broken round trip. Everything a client
or an operator can send reaches one of these parsers, so "refuses cleanly or
round-trips" is the whole contract.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime

from google.protobuf.message import DecodeError

from allied_c2.alliance.scenario import ScenarioError, dump_structure, load_scenario_text
from allied_c2.cot.errors import CotError
from allied_c2.cot.event import CotEvent, WireFormat
from allied_c2.cot.framing import FramingError, ProtoFrame, StreamFramer, XmlFrame, parse_datagram
from allied_c2.cot.protocodec import parse_proto
from allied_c2.cot.xmlcodec import parse_xml, serialize_xml
from allied_c2.federation import wire
from allied_c2.federation.guard import Guard, PeerView
from allied_c2.federation.identity import federate_principal
from allied_c2.federation.link import InContact, InEvent, Link
from allied_c2.federation.proto import fig_pb2
from allied_c2.federation.rules import NO_RULES
from allied_c2.security.audience import Audience
from allied_c2.security.decision import ReleaseCache
from allied_c2.security.levels import MarkingError
from allied_c2.security.markings import marking_from_cot, marking_to_cot, parse_banner
from allied_c2.security.policy import DEFAULT_POLICY
from allied_c2.web.manifest import manifest_parameter

FIELDS = (
    "uid", "type", "how", "time", "start", "stale", "lat", "lon", "hae", "ce", "le",
    "access", "caveat", "releasable_to", "callsign", "endpoint", "group_name", "group_role",
    "dest_callsigns", "course", "speed", "remarks",
)  # fmt: skip
FRAMER_MAX = 4096  # small, so too_large is reachable from short inputs


def view(event: CotEvent) -> dict[str, object]:
    return {name: getattr(event, name) for name in FIELDS}


def _frames(framer: StreamFramer) -> list[tuple[str, bytes]]:
    out: list[tuple[str, bytes]] = []
    while (frame := framer.next_frame()) is not None:
        if isinstance(frame, XmlFrame):
            out.append(("xml", bytes(frame.data)))
        elif isinstance(frame, ProtoFrame):
            out.append(("proto", bytes(frame.payload)))
        else:
            out.append((f"error:{frame.reason}:{frame.fatal}", b""))
    return out


def check_framer(data: bytes) -> None:
    """Whole or in pieces, the same frames; memory bounded by the limit plus one read."""
    if not data:
        return
    proto = data[0] & 1 == 1
    body = data[1:]
    # The chunking comes from the input too (at most 256 pieces, to keep it fast).
    step = max(1 + data[0] % 61, len(body) // 256)
    whole = StreamFramer(FRAMER_MAX)
    pieces = StreamFramer(FRAMER_MAX)
    if proto:
        whole.switch_to(WireFormat.PROTO)
        pieces.switch_to(WireFormat.PROTO)
    whole.receive_data(body)
    expected = _frames(whole)
    got: list[tuple[str, bytes]] = []
    for start in range(0, len(body), step):
        pieces.receive_data(body[start : start + step])
        got.extend(_frames(pieces))
        assert pieces.buffered <= FRAMER_MAX + step + 16, pieces.buffered
    _same_frames(expected, got)
    frame = parse_datagram(body, FRAMER_MAX)
    assert isinstance(frame, XmlFrame | ProtoFrame | FramingError)


def _same_frames(expected: list[tuple[str, bytes]], got: list[tuple[str, bytes]]) -> None:
    # Garbage is reported once per run of unusable bytes; chunking may split one run
    # into several reports, so only the usable frames and fatal errors must agree.
    def usable(frames: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
        return [f for f in frames if not f[0].startswith("error:") or f[0].endswith(":True")]

    assert usable(expected) == usable(got), (usable(expected), usable(got))


def check_xml(data: bytes) -> None:
    """Refused with a CotError, or parsed; a parsed event survives XML and protobuf."""
    try:
        event = parse_xml(data)
    except CotError:
        return
    # CoT times go out with millisecond precision, so the first re-serialisation may
    # round them; from then on the event is a fixed point of both encodings.
    event = parse_xml(serialize_xml(event))
    again = parse_xml(serialize_xml(event))
    assert view(again) == view(event), (view(event), view(again))
    via_proto = parse_proto(event.proto_payload)
    assert via_proto is not None
    assert view(via_proto) == view(event), (view(event), view(via_proto))


def check_proto(data: bytes) -> None:
    """A TakMessage is refused with a CotError, or its event survives both encodings."""
    try:
        event = parse_proto(data)
    except CotError:
        return
    if event is None:
        return  # takControl only
    again = parse_proto(event.proto_payload)
    assert again is not None and view(again) == view(event), (view(event), again)
    via_xml = parse_xml(event.xml_wire)
    assert view(via_xml) == view(event), (view(event), view(via_xml))


def check_markings(data: bytes) -> None:
    """A banner is refused with a MarkingError, or parses to a marking whose own banner,
    portion and CoT attributes read back as the same marking."""
    text = data.decode("utf-8", errors="replace")
    for strict in (True, False):
        try:
            marking = parse_banner(text, strict=strict)
        except MarkingError:
            continue
        assert parse_banner(marking.banner(), strict=False) == marking, marking.banner()
        assert parse_banner(marking.portion(), strict=False) == marking, marking.portion()
        assert marking_from_cot(*marking_to_cot(marking)) == marking, marking_to_cot(marking)
    access, _, rest = text.partition("\x00")
    caveat, _, releasable = rest.partition("\x00")
    try:
        marking_from_cot(access or None, caveat or None, releasable or None)
    except MarkingError:
        return


def check_scenario(data: bytes) -> None:
    """A scenario is refused with a ScenarioError (every problem listed), or loads, and
    what it exports loads to the same structure."""
    text = data.decode("utf-8", errors="replace")
    try:
        structure = load_scenario_text(text, "fuzz.yaml")
    except ScenarioError as exc:
        assert exc.problems, "a ScenarioError must say what is wrong"
        return
    again = load_scenario_text(dump_structure(structure), "exported.yaml")
    assert sorted(again.organisations) == sorted(structure.organisations)
    assert dump_structure(again) == dump_structure(structure)


NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
GUARD = Guard(Audience(ReleaseCache(DEFAULT_POLICY)), DEFAULT_POLICY, "fuzz.example", "USA")
PEER = PeerView("JPN-SRV", federate_principal("JPN-SRV", "JPN", "SECRET"), NO_RULES)


def check_federation(data: bytes) -> None:
    """A ``FederatedEvent`` from a peer is refused (not protobuf) or discarded by the link
    (loop, hops, malformed…), or becomes an event or contact that reaches local clients in
    both encodings and crosses back unchanged (a fixed point of the federation wire)."""
    try:
        message = fig_pb2.FederatedEvent.FromString(data)
    except DecodeError:
        return
    result = Link(PEER, GUARD, "fuzz-server-id").receive(message, NOW)
    if isinstance(result, InContact):
        if result.notice is not None:
            parse_xml(result.notice.xml_wire)
        return
    if not isinstance(result, InEvent):
        return
    event = result.event
    assert parse_proto(event.proto_payload) is not None
    parse_xml(event.xml_wire)
    once = wire.cot_event(wire.geo_event(event))
    twice = wire.cot_event(wire.geo_event(once))
    assert view(twice) == view(once), (view(once), view(twice))


def check_data_package(data: bytes) -> None:
    """An uploaded data package: its manifest's marking is read, or None; never an error."""
    value = manifest_parameter(io.BytesIO(data), "marking")
    assert value is None or isinstance(value, str)


TARGETS: dict[str, Callable[[bytes], None]] = {
    "framer": check_framer,
    "xml": check_xml,
    "proto": check_proto,
    "markings": check_markings,
    "scenario": check_scenario,
    "federation": check_federation,
    "data_package": check_data_package,
}
