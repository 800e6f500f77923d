"""Splitting a CoT byte stream into frames, sans-I/O (bytes in, frames out).

Feed whatever the socket produced to :meth:`StreamFramer.receive_data`, then
call :meth:`StreamFramer.next_frame` until it returns ``None`` (more data
needed). TCP splits and merges events arbitrarily; the framer does not care.

XML (TAK protocol version 0): an event runs from ``<event`` to right after the
first ``</event>``. Whitespace and ``<?xml …?>`` declarations between events
are skipped. Bytes that cannot start an event are reported once as a
non-fatal ``garbage`` error and dropped up to the next ``<event`` or ``<?xml``.

TAK protocol v1 stream: ``0xBF``, the payload length as an unsigned varint
(at most 10 bytes), then the ``TakMessage``. A byte other than ``0xBF`` where
a frame should start is a non-fatal ``bad_magic`` error; the framer resyncs at
the next ``0xBF``.

Fatal errors (the connection should end): an XML event or a declared
protobuf length over ``max_event_bytes`` (``too_large``), or a varint longer
than 10 bytes (``bad_length``). After one the framer discards everything.
Memory stays bounded by ``max_event_bytes`` plus one read, and every byte is
searched a constant number of times (the ``</event>`` search resumes where it
stopped).
"""

from __future__ import annotations

from dataclasses import dataclass

from allied_c2.cot.event import WireFormat

MESH_HEADER = b"\xbf\x01\xbf"
_MAGIC = 0xBF
_WHITESPACE = b" \t\r\n"
_EVENT_OPEN = b"<event"
_EVENT_CLOSE = b"</event>"
_DECLARATION = b"<?xml"
_MAX_VARINT = 10


@dataclass(frozen=True, slots=True)
class XmlFrame:
    data: bytes


@dataclass(frozen=True, slots=True)
class ProtoFrame:
    payload: bytes


@dataclass(frozen=True, slots=True)
class FramingError:
    reason: str
    fatal: bool
    detail: str


Frame = XmlFrame | ProtoFrame | FramingError


def decode_varint(data: bytes | bytearray, pos: int) -> tuple[int, int] | None:
    """``(value, next_pos)``, or None when the varint is not complete yet.

    Raises ValueError for a varint longer than 10 bytes.
    """
    value = 0
    for index in range(_MAX_VARINT):
        if pos + index >= len(data):
            return None
        byte = data[pos + index]
        value |= (byte & 0x7F) << (7 * index)
        if not byte & 0x80:
            return value, pos + index + 1
    raise ValueError("varint longer than 10 bytes")


class StreamFramer:
    def __init__(self, max_event_bytes: int = 1 << 20) -> None:
        self.max_event_bytes = max_event_bytes
        self.format: WireFormat = WireFormat.XML
        self.closed = False
        self._buf = bytearray()
        self._off = 0  # start of unconsumed data
        self._scan = 0  # where the next "</event>" search resumes

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as frames."""
        return len(self._buf) - self._off

    def receive_data(self, data: bytes) -> None:
        if self.closed or not data:
            return
        if self._off:
            del self._buf[: self._off]
            self._scan = max(0, self._scan - self._off)
            self._off = 0
        self._buf += data

    def switch_to(self, fmt: WireFormat) -> None:
        """Read everything after the last returned frame in ``fmt``."""
        self.format = fmt
        self._scan = self._off

    def next_frame(self) -> Frame | None:
        if self.closed:
            return None
        if self.format is WireFormat.PROTO:
            return self._next_proto()
        return self._next_xml()

    def _fatal(self, reason: str, detail: str) -> FramingError:
        self.closed = True
        self._buf = bytearray()
        self._off = self._scan = 0
        return FramingError(reason, True, detail)

    def _next_xml(self) -> Frame | None:
        buf = self._buf
        n = len(buf)
        off = self._off
        while True:
            while off < n and buf[off] in _WHITESPACE:
                off += 1
            self._off = off
            if off == n:
                return None
            if n - off < len(_DECLARATION) and _DECLARATION.startswith(buf[off:n]):
                return None  # a possible "<?xml" cut by the read
            if buf.startswith(_DECLARATION, off):
                # Only "<?xml" starts a declaration; any other "<?" is garbage, as when
                # skipping garbage, so a cut stream is read as the whole one would be.
                end = buf.find(b"?>", off + 2)
                if end >= 0 and end + 2 - off > self.max_event_bytes:
                    # The same verdict however the stream was cut: a declaration this
                    # long is refused when it arrives in one read as when it arrives
                    # in pieces (found by fuzzing, fuzz/targets.py).
                    return self._fatal("too_large", "XML declaration over the size limit")
                if end < 0:
                    if n - off > self.max_event_bytes:
                        return self._fatal("too_large", "unterminated XML declaration")
                    return None
                off = end + 2
                self._scan = off
                continue
            if n - off < len(_EVENT_OPEN) and _EVENT_OPEN.startswith(buf[off:n]):
                return None  # a possible "<event" cut by the read
            if buf.startswith(_EVENT_OPEN, off):
                return self._xml_event(off, n)
            return self._skip_garbage(off, n)

    def _xml_event(self, off: int, n: int) -> Frame | None:
        buf = self._buf
        close = buf.find(_EVENT_CLOSE, max(self._scan, off))
        if close < 0:
            if n - off > self.max_event_bytes:
                return self._fatal(
                    "too_large", f"event exceeds {self.max_event_bytes} bytes without its end"
                )
            self._scan = max(off, n - len(_EVENT_CLOSE) + 1)
            return None
        end = close + len(_EVENT_CLOSE)
        if end - off > self.max_event_bytes:
            return self._fatal(
                "too_large", f"event of {end - off} bytes, limit {self.max_event_bytes}"
            )
        frame = XmlFrame(bytes(buf[off:end]))
        self._off = self._scan = end
        return frame

    def _skip_garbage(self, off: int, n: int) -> FramingError:
        buf = self._buf
        candidates = [
            i for i in (buf.find(_EVENT_OPEN, off + 1), buf.find(b"<?xml", off + 1)) if i >= 0
        ]
        if candidates:
            stop = min(candidates)
        else:
            # Keep a tail that could be the start of "<event" or "<?xml" cut by the read,
            # and nothing else: a kept "<?s" would be read as a declaration next time,
            # where the whole stream would have been skipped (found by fuzzing).
            stop = max(off + 1, n - len(_EVENT_OPEN) + 1)
            tail = buf.rfind(b"<", stop, n)
            rest = bytes(buf[tail:n]) if tail >= 0 else b""
            keep = tail >= 0 and (_EVENT_OPEN.startswith(rest) or b"<?xml".startswith(rest))
            stop = tail if keep else n
        self._off = self._scan = stop
        return FramingError("garbage", False, f"skipped {stop - off} bytes that are not an event")

    def _next_proto(self) -> Frame | None:
        buf = self._buf
        n = len(buf)
        off = self._off
        if off >= n:
            return None
        if buf[off] != _MAGIC:
            nxt = buf.find(b"\xbf", off + 1)
            stop = nxt if nxt >= 0 else n
            self._off = self._scan = stop
            return FramingError("bad_magic", False, f"skipped {stop - off} bytes before 0xBF")
        try:
            decoded = decode_varint(buf, off + 1)
        except ValueError as exc:
            return self._fatal("bad_length", str(exc))
        if decoded is None:
            return None
        length, start = decoded
        if length > self.max_event_bytes:
            return self._fatal(
                "too_large", f"declared length {length} bytes, limit {self.max_event_bytes}"
            )
        end = start + length
        if end > n:
            return None
        frame = ProtoFrame(bytes(buf[start:end]))
        self._off = self._scan = end
        return frame


def parse_datagram(data: bytes, max_event_bytes: int = 1 << 20) -> Frame:
    """Classify one UDP datagram: mesh protobuf (``BF 01 BF`` + TakMessage) or XML."""
    if len(data) > max_event_bytes:
        return FramingError("too_large", False, f"datagram of {len(data)} bytes")
    if data[:1] == b"\xbf":
        if data.startswith(MESH_HEADER):
            return ProtoFrame(bytes(data[3:]))
        if len(data) >= 3 and data[2] == _MAGIC:
            return FramingError(
                "unsupported_version", False, f"TAK protocol version {data[1]} in mesh header"
            )
        return FramingError("bad_magic", False, "not a TAK protocol mesh header")
    pos = 0
    n = len(data)
    while pos < n and data[pos] in _WHITESPACE:
        pos += 1
    if data.startswith(b"<?xml", pos):
        end = data.find(b"?>", pos)
        pos = n if end < 0 else end + 2
        while pos < n and data[pos] in _WHITESPACE:
            pos += 1
    if not data.startswith(_EVENT_OPEN, pos):
        return FramingError("garbage", False, "datagram is neither CoT XML nor TAK protocol")
    return XmlFrame(bytes(data[pos:]).rstrip(_WHITESPACE))
