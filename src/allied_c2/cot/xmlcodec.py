"""CoT XML in and out.

Parsing is hardened: a document with a DOCTYPE or ENTITY declaration is
refused before lxml sees it (and again after, should an encoding have hidden
it), entities are never expanded, nothing is fetched, and libxml2's depth and
size limits stay on. Only UTF-8 (and its ASCII subset) is accepted: it is what
every TAK client sends, and the original bytes are relayed as they came. A
declaration that names another encoding for bytes that are plainly not in it
(a 2015 Windows client wrote ``encoding="utf-16"`` on ASCII) is ignored rather
than trusted; see docs/cot-conformance.md.
"""

from __future__ import annotations

import functools
import re

from allied_c2.cot.errors import CotError
from allied_c2.cot.event import CotEvent
from allied_c2.cot.times import format_time, parse_time
from allied_c2.cot.validation import check_point, check_type, check_uid
from allied_c2.cot.xmltree import Element, XMLSyntaxError, has_dtd, parse, to_text

DEFAULT_MAX_BYTES = 1 << 20
_UTF8_NAMES = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})
_WHITESPACE = b" \t\r\n"
# The encoding an XML declaration names, read from the raw bytes (so only when the
# declaration itself is written in single bytes, as ASCII-compatible text is).
_DECLARED = re.compile(rb"\s*<\?xml\s[^>]*?\bencoding\s*=\s*[\"']([A-Za-z0-9._:-]+)[\"']")
_WIDE = ("utf-16", "utf16", "utf-32", "utf32", "ucs-2", "ucs2", "ucs-4", "ucs4", "unicode")


def _event_start(data: bytes) -> int:
    """Offset of ``<event`` after an optional BOM, declaration and whitespace, else -1."""
    pos = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    n = len(data)
    while pos < n and data[pos] in _WHITESPACE:
        pos += 1
    if data.startswith(b"<?xml", pos):
        end = data.find(b"?>", pos)
        if end < 0:
            return -1
        pos = end + 2
        while pos < n and data[pos] in _WHITESPACE:
            pos += 1
    return pos if data.startswith(b"<event", pos) else -1


def _misdeclared(data: bytes) -> int:
    """Where ``<event`` starts if the declaration names an encoding the bytes are not in.

    -1 when the declaration can be trusted (none, or UTF-8 or ASCII). A document
    whose declaration names UTF-16 or UTF-32 in single bytes cannot be in that
    encoding (its first bytes would be ``3C 00`` or ``00 3C``); one naming any other encoding reads
    the same in it as in UTF-8 when it is pure ASCII. Either way the declaration
    is dropped and the rest is read as UTF-8. Otherwise it is refused.
    """
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    match = _DECLARED.match(data, start)
    if match is None:
        return -1
    declared = match.group(1).decode("ascii").lower()
    if declared in _UTF8_NAMES:
        return -1
    begin = _event_start(data)
    if begin >= 0 and (declared.startswith(_WIDE) or data.isascii()):
        return begin
    raise CotError("bad_encoding", f"encoding {declared!r} is not UTF-8")


def _parse_root(data: bytes) -> Element:
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise CotError("dtd_forbidden")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CotError("bad_encoding", "UTF-16 is not accepted")
    if not data.startswith(b"<event"):
        begin = _misdeclared(data)
        if begin >= 0:
            data = data[begin:]  # from <event on, which libxml2 reads as UTF-8
    try:
        root = parse(data)
    except XMLSyntaxError as exc:
        raise CotError("malformed_xml", str(exc)[:200]) from None
    if root is None:
        raise CotError("malformed_xml", "empty document")
    if data.startswith(b"<event"):
        # What the stream framer hands over. With the root element first there is
        # no room for a DOCTYPE, and with no declaration or BOM libxml2 read UTF-8.
        return root
    docinfo = root.getroottree().docinfo
    if has_dtd(docinfo):
        raise CotError("dtd_forbidden")
    encoding = docinfo.encoding
    if encoding and encoding.lower() not in _UTF8_NAMES:
        raise CotError("bad_encoding", f"encoding {encoding!r} is not UTF-8")
    return root


def parse_xml(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> CotEvent:
    """Parse and validate one CoT ``<event>``; raise :class:`CotError` when refused."""
    if not isinstance(data, bytes):
        data = bytes(data)
    if len(data) > max_bytes:
        raise CotError("too_large", f"{len(data)} bytes, limit {max_bytes}")
    root = _parse_root(data)
    if root.tag != "event":
        raise CotError("not_an_event", f"root element is {str(root.tag)[:40]!r}")
    get = root.get
    uid = check_uid(get("uid"))
    cot_type = check_type(get("type"))
    time_text, start_text = get("time"), get("start")
    time = parse_time(time_text, "time")
    # Clients usually send start == time; datetimes are immutable, so share it.
    start = time if start_text == time_text else parse_time(start_text, "start")
    stale = parse_time(get("stale"), "stale")
    point: Element | None = None
    detail: Element | None = None
    for child in root:
        tag = child.tag
        if tag == "point" and point is None:
            point = child
        elif tag == "detail" and detail is None:
            detail = child
    if point is None:
        raise CotError("missing_point")
    pget = point.get
    lat, lon, hae, ce, le = check_point(
        pget("lat"), pget("lon"), pget("hae"), pget("ce"), pget("le")
    )
    event = CotEvent.create(
        uid=uid,
        type=cot_type,
        how=get("how") or "",
        time=time,
        start=start,
        stale=stale,
        lat=lat,
        lon=lon,
        hae=hae,
        ce=ce,
        le=le,
        access=get("access"),
        caveat=get("caveat"),
        releasable_to=get("releasableTo"),
        qos=get("qos"),
        opex=get("opex"),
        detail=detail,
    )
    if data.startswith(b"<event") and data.endswith(b"</event>"):
        event._source_xml = data  # what the stream framer hands over: no copy needed
        return event
    begin = _event_start(data)
    if begin >= 0:
        source = data[begin:].rstrip(_WHITESPACE)
        if source.endswith(b"</event>"):
            event._source_xml = source
    return event


def with_root_attributes(source: bytes, attributes: dict[str, str | None]) -> bytes:
    """``source`` (starting ``<event``) with attributes it does not have added to the root.

    The caller guarantees the attributes are absent, so no duplicate can arise.
    """
    head = len(b"<event")
    return source[:head] + _attribute_text(tuple(attributes.items())) + source[head:]


@functools.lru_cache(maxsize=1024)
def _attribute_text(attributes: tuple[tuple[str, str | None], ...]) -> bytes:
    # A relay stamps the same few markings on every event: render each once.
    return "".join(
        f' {name}="{_attr(value)}"' for name, value in attributes if value is not None
    ).encode("utf-8")


def _attr(value: str) -> str:
    if any(c in value for c in '&<>"\n\r\t'):
        value = (
            value.replace("&", "&amp;")
            .replace("<", "&lt;")
            .replace(">", "&gt;")
            .replace('"', "&quot;")
            .replace("\n", "&#10;")
            .replace("\r", "&#13;")
            .replace("\t", "&#9;")
        )
    return value


def serialize_xml(event: CotEvent) -> bytes:
    """Render ``event`` as a standalone UTF-8 ``<event>`` without XML declaration."""
    parts = [
        '<event version="2.0" uid="',
        _attr(event.uid),
        '" type="',
        _attr(event.type),
        '" how="',
        _attr(event.how),
        '" time="',
        format_time(event.time),
        '" start="',
        format_time(event.start),
        '" stale="',
        format_time(event.stale),
        '"',
    ]
    for name, value in (
        ("access", event.access),
        ("qos", event.qos),
        ("opex", event.opex),
        ("caveat", event.caveat),
        ("releasableTo", event.releasable_to),
    ):
        if value is not None:
            parts.append(f' {name}="{_attr(value)}"')
    parts.append(
        f'><point lat="{event.lat!r}" lon="{event.lon!r}" hae="{event.hae!r}"'
        f' ce="{event.ce!r}" le="{event.le!r}"/>'
    )
    if event.detail is not None:
        parts.append(to_text(event.detail))
    parts.append("</event>")
    return "".join(parts).encode("utf-8")
