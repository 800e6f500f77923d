"""One client's stream as a sans-I/O state machine: bytes in, session events out.

It combines framing, decoding, TAK protocol negotiation and the accounting of
unusable input. It never touches a socket or the relay: the connection (I/O
edge) feeds it bytes and acts on what it returns, so every rule here is tested
without a network.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from allied_c2.cot.errors import CotError
from allied_c2.cot.event import CotEvent, WireFormat
from allied_c2.cot.framing import FramingError, ProtoFrame, StreamFramer, XmlFrame
from allied_c2.cot.negotiation import TakNegotiation, sniff_format
from allied_c2.cot.protocodec import parse_proto
from allied_c2.cot.special import is_control, is_ping, pong
from allied_c2.cot.xmlcodec import parse_xml


@dataclass(slots=True)  # not frozen: one per event, and a frozen __init__ costs 3x
class Received:
    """A valid event the client sent, for the relay."""

    event: CotEvent
    size: int


@dataclass(frozen=True, slots=True)
class Reply:
    """An event to send back to this client only (pong, negotiation response)."""

    event: CotEvent
    # The wire format to write it in; None: the session's current output format. The
    # negotiation response goes out in XML although protobuf follows it.
    fmt: WireFormat | None = None


@dataclass(frozen=True, slots=True)
class Refused:
    """Input that was skipped; the connection stays up."""

    reason: str
    detail: str


@dataclass(frozen=True, slots=True)
class Close:
    """The connection must end; ``reason`` is logged and counted."""

    reason: str
    detail: str


@dataclass(frozen=True, slots=True)
class Pinged:
    """A ping was answered (for counting); nothing to route."""


@dataclass(frozen=True, slots=True)
class Consumed:
    """A control event the server consumed (negotiation, other t-x-c)."""

    type: str


SessionEvent = Received | Reply | Refused | Close | Pinged | Consumed


class ClientSession:
    """The protocol state of one stream connection."""

    __slots__ = (
        "_closed",
        "_framer",
        "_garbage_threshold",
        "_negotiation",
        "_started",
        "_unusable_run",
        "max_event_bytes",
        "more_ready",
        "output_format",
    )

    def __init__(
        self,
        *,
        max_event_bytes: int = 1 << 20,
        garbage_threshold: int = 20,
        offer_protocol: bool = True,
        negotiation_timeout: float = 60.0,
    ) -> None:
        self.max_event_bytes = max_event_bytes
        self._framer = StreamFramer(max_event_bytes)
        self._negotiation = TakNegotiation(offer=offer_protocol, timeout=negotiation_timeout)
        self._garbage_threshold = garbage_threshold
        self._unusable_run = 0
        self._started = False
        self._closed = False
        self.output_format = WireFormat.XML
        self.more_ready = False  # frames left unread by the last limited receive_data

    @property
    def input_format(self) -> WireFormat:
        return self._framer.format

    def opening(self, now: datetime) -> list[SessionEvent]:
        """What the server says first: the TAK protocol offer, if enabled."""
        offer = self._negotiation.opening(now)
        return [Reply(offer)] if offer is not None else []

    def receive_data(
        self, data: bytes, now: datetime, max_frames: int | None = None
    ) -> list[SessionEvent]:
        """Feed bytes; return what the frames decoded to, at most ``max_frames`` of them.

        With a limit, complete frames may stay buffered: :attr:`more_ready` says
        so, and ``receive_data(b"", now, …)`` continues with them. The relay uses
        this to bound the work one client causes per event-loop turn.
        """
        self.more_ready = False
        if self._closed:
            return []
        if not self._started and data:
            self._started = True
            # A client may open straight in TAK protocol v1 framing without negotiating.
            if sniff_format(data) is WireFormat.PROTO:
                self._framer.switch_to(WireFormat.PROTO)
        self._framer.receive_data(data)
        out: list[SessionEvent] = []
        frames = 0
        while not self._closed:
            if max_frames is not None and frames >= max_frames:
                self.more_ready = True
                break
            frames += 1
            frame = self._framer.next_frame()
            if frame is None:
                break
            if isinstance(frame, FramingError):
                if frame.fatal:
                    self._close(out, frame.reason, frame.detail)
                else:
                    self._unusable(out, frame.reason, frame.detail)
                continue
            try:
                event = self._decode(frame)
            except CotError as exc:
                self._unusable(out, exc.reason, str(exc))
                continue
            self._unusable_run = 0
            if event is None:
                out.append(Consumed("takControl"))
                continue
            self._dispatch(event, frame, now, out)
        return out

    def _decode(self, frame: XmlFrame | ProtoFrame) -> CotEvent | None:
        if isinstance(frame, XmlFrame):
            return parse_xml(frame.data, max_bytes=self.max_event_bytes)
        return parse_proto(frame.payload)

    def _dispatch(
        self, event: CotEvent, frame: XmlFrame | ProtoFrame, now: datetime, out: list[SessionEvent]
    ) -> None:
        # Negotiation, pings and control types are all "t-…": other traffic skips them.
        if event.type.startswith("t-") and self._consumed(event, now, out):
            return
        size = len(frame.data) if isinstance(frame, XmlFrame) else len(frame.payload)
        out.append(Received(event, size))

    def _consumed(self, event: CotEvent, now: datetime, out: list[SessionEvent]) -> bool:
        """Handle negotiation, pings and control types; False for an event to relay."""
        step = self._negotiation.handle(event, now)
        if step.reply is not None:
            out.append(Reply(step.reply, self.output_format))
        if step.switch_to is not None:
            # The response above is still written in the old format; everything
            # after it, both ways, uses the new one.
            self._framer.switch_to(step.switch_to)
            self.output_format = step.switch_to
        if step.consumed:
            out.append(Consumed(event.type))
            return True
        if is_ping(event):
            out.append(Reply(pong(now, event)))
            out.append(Pinged())
            return True
        if is_control(event):
            out.append(Consumed(event.type))
            return True
        return False

    def _unusable(self, out: list[SessionEvent], reason: str, detail: str) -> None:
        out.append(Refused(reason, detail))
        self._unusable_run += 1
        if self._unusable_run >= self._garbage_threshold:
            self._close(
                out,
                "garbage",
                f"{self._unusable_run} unusable frames in a row (last: {reason})",
            )

    def _close(self, out: list[SessionEvent], reason: str, detail: str) -> None:
        self._closed = True
        out.append(Close(reason, detail))
