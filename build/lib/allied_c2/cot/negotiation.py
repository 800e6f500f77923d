"""Server side of TAK protocol negotiation on a stream, sans-I/O.

The sequence on one connection (cot-tak.md, and the TAK protocol text):

1. The connection starts in XML. The server calls :meth:`TakNegotiation.opening`
   once and sends the returned ``t-x-takp-v`` event, whose detail is
   ``<TakControl><TakProtocolSupport version="1"/></TakControl>``
   (state ``START`` -> ``OFFERED``).
2. A client that wants protobuf answers ``t-x-takp-q`` with
   ``<TakControl><TakRequest version="1"/></TakControl>`` and sends nothing
   more in XML. :meth:`TakNegotiation.handle` consumes it and returns the
   ``t-x-takp-r`` reply with ``<TakResponse status="true"/>`` and
   ``switch_to=PROTO``. The server sends that reply **in XML**, then writes
   protobuf to this client, and calls ``framer.switch_to(PROTO)`` so that
   bytes already buffered after the request are read as protobuf
   (state ``PROTO``).
3. A request for another version, or one arriving after ``timeout`` seconds
   from the offer, gets ``status="false"`` and no switch (state ``XML``).
4. A client that never asks stays in XML. Other ``t-x-takp-*`` events are
   consumed without reply.
5. A client that opens directly in protobuf (first byte ``0xBF``, see
   :func:`sniff_format`) is marked with :meth:`TakNegotiation.started_in`;
   no offer is sent then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from allied_c2.cot.event import CotEvent, WireFormat
from allied_c2.cot.special import new_detail, server_event
from allied_c2.cot.xmltree import Element, sub_element

SUPPORTED_VERSION = "1"
OFFER = "t-x-takp-v"
REQUEST = "t-x-takp-q"
RESPONSE = "t-x-takp-r"
NEGOTIATION_UID = "protouid"


class NegotiationState(StrEnum):
    START = "start"  # nothing sent yet
    OFFERED = "offered"  # t-x-takp-v sent, waiting for a request
    PROTO = "proto"  # both sides speak TAK protocol v1
    XML = "xml"  # settled on XML (declined, unsupported or too late)


@dataclass(frozen=True, slots=True)
class NegotiationStep:
    consumed: bool  # the event was negotiation and must not be routed
    reply: CotEvent | None  # send this to the client (in the current format)
    switch_to: WireFormat | None  # then switch both directions to this format


_NOT_MINE = NegotiationStep(False, None, None)


def sniff_format(first_bytes: bytes) -> WireFormat | None:
    """The format a client opened with, or None while only whitespace has arrived."""
    stripped = first_bytes.lstrip(b" \t\r\n")
    if not stripped:
        return None
    return WireFormat.PROTO if stripped[0] == 0xBF else WireFormat.XML


def _control(tag: str, attrib: dict[str, str]) -> Element:
    detail = new_detail()
    control = sub_element(detail, "TakControl", {})
    sub_element(control, tag, attrib)
    return detail


def _requested_version(event: CotEvent) -> str | None:
    if event.detail is None:
        return None
    for control in event.detail:
        if control.tag != "TakControl":
            continue
        for child in control:
            if child.tag == "TakRequest":
                version: str | None = child.get("version")
                return version
    return None


class TakNegotiation:
    def __init__(self, offer: bool = True, timeout: float = 60.0) -> None:
        self.offer = offer
        self.timeout = timedelta(seconds=timeout)
        self.state = NegotiationState.START
        self.offered_at: datetime | None = None

    @property
    def format(self) -> WireFormat:
        """The format the client is to receive now."""
        return WireFormat.PROTO if self.state is NegotiationState.PROTO else WireFormat.XML

    def started_in(self, fmt: WireFormat) -> None:
        """Record the format the client opened with (from :func:`sniff_format`)."""
        if fmt is WireFormat.PROTO and self.state is NegotiationState.START:
            self.state = NegotiationState.PROTO

    def opening(self, now: datetime) -> CotEvent | None:
        """The protocol offer to send first, once; None when not offering."""
        if not self.offer or self.state is not NegotiationState.START:
            return None
        self.state = NegotiationState.OFFERED
        self.offered_at = now
        return server_event(
            uid=NEGOTIATION_UID,
            type=OFFER,
            now=now,
            stale_after=timedelta(minutes=1),
            how="m-g",
            detail=_control("TakProtocolSupport", {"version": SUPPORTED_VERSION}),
        )

    def _response(self, now: datetime, accepted: bool) -> CotEvent:
        return server_event(
            uid=NEGOTIATION_UID,
            type=RESPONSE,
            now=now,
            stale_after=timedelta(minutes=1),
            how="m-g",
            detail=_control("TakResponse", {"status": "true" if accepted else "false"}),
        )

    def expired(self, now: datetime) -> bool:
        """Whether the offer's window has closed without a request."""
        if (
            self.state is NegotiationState.OFFERED
            and self.offered_at is not None
            and now - self.offered_at > self.timeout
        ):
            self.state = NegotiationState.XML
        return self.state is NegotiationState.XML

    def handle(self, event: CotEvent, now: datetime) -> NegotiationStep:
        if not event.type.startswith("t-x-takp"):
            return _NOT_MINE
        if event.type != REQUEST:
            return NegotiationStep(True, None, None)
        if self.state is NegotiationState.PROTO:
            # Already switched: confirm again rather than leave the client waiting.
            return NegotiationStep(True, self._response(now, True), None)
        self.expired(now)
        accepted = (
            _requested_version(event) == SUPPORTED_VERSION
            and self.state is not NegotiationState.XML
        )
        if accepted:
            self.state = NegotiationState.PROTO
            return NegotiationStep(True, self._response(now, True), WireFormat.PROTO)
        self.state = NegotiationState.XML
        return NegotiationStep(True, self._response(now, False), None)
