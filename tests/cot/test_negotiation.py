from __future__ import annotations

from datetime import UTC, datetime, timedelta

from allied_c2.cot.event import CotEvent, WireFormat
from allied_c2.cot.framing import ProtoFrame, StreamFramer, XmlFrame
from allied_c2.cot.negotiation import NegotiationState, TakNegotiation, sniff_format
from allied_c2.cot.protocodec import parse_proto
from allied_c2.cot.xmlcodec import parse_xml

from .samples import GEOCHAT, event_xml

NOW = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)


def request(version: str = "1") -> CotEvent:
    return parse_xml(
        event_xml(
            "ANDROID-1",
            "t-x-takp-q",
            detail=f'<TakControl><TakRequest version="{version}"/></TakControl>',
        )
    )


def control_child(event: CotEvent) -> tuple[str, dict[str, str]]:
    assert event.detail is not None
    (control,) = list(event.detail)
    assert control.tag == "TakControl"
    (child,) = list(control)
    return child.tag, dict(child.attrib)


def test_offer_is_sent_once_and_parses_back() -> None:
    negotiation = TakNegotiation()
    offer = negotiation.opening(NOW)
    assert offer is not None
    assert negotiation.state is NegotiationState.OFFERED
    assert negotiation.opening(NOW) is None
    wire = parse_xml(offer.xml_wire)
    assert wire.type == "t-x-takp-v"
    assert control_child(wire) == ("TakProtocolSupport", {"version": "1"})


def test_full_sequence_switches_to_proto_after_xml_reply() -> None:
    negotiation = TakNegotiation()
    framer = StreamFramer()
    assert negotiation.opening(NOW) is not None
    # The client's request and its first protobuf event arrive in one read.
    pli = parse_xml(GEOCHAT)
    framer.receive_data(request().xml_wire + pli.proto_wire)
    frame = framer.next_frame()
    assert isinstance(frame, XmlFrame)
    step = negotiation.handle(parse_xml(frame.data), NOW + timedelta(seconds=1))
    assert step.consumed and step.switch_to is WireFormat.PROTO
    assert step.reply is not None
    reply = parse_xml(step.reply.xml_wire)  # the reply itself still goes out as XML
    assert reply.type == "t-x-takp-r"
    assert control_child(reply) == ("TakResponse", {"status": "true"})
    framer.switch_to(step.switch_to)
    assert negotiation.state is NegotiationState.PROTO
    assert negotiation.format is WireFormat.PROTO
    frame = framer.next_frame()
    assert isinstance(frame, ProtoFrame)
    decoded = parse_proto(frame.payload)
    assert decoded is not None and decoded.uid == pli.uid


def test_unsupported_version_is_declined() -> None:
    negotiation = TakNegotiation()
    negotiation.opening(NOW)
    step = negotiation.handle(request("2"), NOW)
    assert step.consumed and step.switch_to is None
    assert step.reply is not None
    assert control_child(step.reply) == ("TakResponse", {"status": "false"})
    assert negotiation.state is NegotiationState.XML
    assert negotiation.format is WireFormat.XML


def test_request_after_timeout_is_declined() -> None:
    negotiation = TakNegotiation(timeout=60)
    negotiation.opening(NOW)
    assert not negotiation.expired(NOW + timedelta(seconds=60))
    step = negotiation.handle(request(), NOW + timedelta(seconds=61))
    assert step.switch_to is None
    assert step.reply is not None
    assert control_child(step.reply) == ("TakResponse", {"status": "false"})


def test_other_events_pass_and_other_takp_events_are_consumed() -> None:
    negotiation = TakNegotiation()
    negotiation.opening(NOW)
    step = negotiation.handle(parse_xml(GEOCHAT), NOW)
    assert (step.consumed, step.reply, step.switch_to) == (False, None, None)
    echo = parse_xml(event_xml("X", "t-x-takp-v"))
    step = negotiation.handle(echo, NOW)
    assert step.consumed and step.reply is None and step.switch_to is None
    assert negotiation.state is NegotiationState.OFFERED


def test_no_offer_when_disabled_but_a_request_is_still_answered() -> None:
    negotiation = TakNegotiation(offer=False)
    assert negotiation.opening(NOW) is None
    step = negotiation.handle(request(), NOW)
    assert step.switch_to is WireFormat.PROTO


def test_repeated_request_after_switch_is_confirmed_without_switching_again() -> None:
    negotiation = TakNegotiation()
    negotiation.opening(NOW)
    negotiation.handle(request(), NOW)
    step = negotiation.handle(request(), NOW)
    assert step.consumed and step.switch_to is None and step.reply is not None


def test_client_opening_in_protobuf() -> None:
    assert sniff_format(b"") is None
    assert sniff_format(b" \n") is None
    assert sniff_format(b"\xbf\x10") is WireFormat.PROTO
    assert sniff_format(b"<?xml") is WireFormat.XML
    negotiation = TakNegotiation()
    negotiation.started_in(WireFormat.PROTO)
    assert negotiation.state is NegotiationState.PROTO
    assert negotiation.opening(NOW) is None
