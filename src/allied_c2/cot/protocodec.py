"""TAK protocol v1 payloads (``TakMessage``) in and out.

The rule from the TAK protocol: an element of ``<detail>`` travels either in
its typed message (contact, __group, precisionlocation, status, takv, track)
or verbatim in ``xmlDetail``, never split. An element goes typed whenever the
typed message gives back exactly that element: known attributes with non-empty
values written as the decoder writes them (``course="0"`` would come back as
``0.0``), no children, no text. Anything richer stays in ``xmlDetail`` so that
nothing is lost on the way through; text between elements travels there too.
The decoder builds exactly what a message carries, typed elements first (as
ATAK writes them). Marking travels in ``access``, ``caveat`` (16) and
``releasableTo`` (17). docs/cot-conformance.md has the whole contract.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

from google.protobuf.message import DecodeError

from allied_c2.cot.errors import CotError
from allied_c2.cot.event import CotEvent
from allied_c2.cot.proto.takmessage_pb2 import TakMessage
from allied_c2.cot.times import from_millis, to_millis
from allied_c2.cot.validation import check_point, check_type, check_uid, check_xml_text
from allied_c2.cot.xmltree import (
    Element,
    XMLSyntaxError,
    new_element,
    parse,
    sub_element,
    to_text,
)


# Characters XML 1.0 cannot carry at all; protobuf strings may hold them.
def _plain(element: Element, allowed: frozenset[str]) -> dict[str, str] | None:
    """The element's attributes if a typed message can carry all of it, else None."""
    if len(element) or (element.text and element.text.strip()):
        return None
    attrib: dict[str, str] = dict(element.attrib)
    if not attrib or not allowed.issuperset(attrib) or not all(attrib.values()):
        return None
    return attrib


def _put_strings(target: Any, attrib: dict[str, str]) -> None:
    for key, value in attrib.items():
        setattr(target, key, value)


def _contact(element: Element, detail: Any) -> bool:
    attrib = _plain(element, frozenset({"endpoint", "callsign"}))
    if attrib is None:
        return False
    _put_strings(detail.contact, attrib)
    return True


def _group(element: Element, detail: Any) -> bool:
    attrib = _plain(element, frozenset({"name", "role"}))
    if attrib is None:
        return False
    _put_strings(detail.group, attrib)
    return True


def _precision(element: Element, detail: Any) -> bool:
    attrib = _plain(element, frozenset({"geopointsrc", "altsrc"}))
    if attrib is None:
        return False
    _put_strings(detail.precisionLocation, attrib)
    return True


def _takv(element: Element, detail: Any) -> bool:
    attrib = _plain(element, frozenset({"device", "platform", "os", "version"}))
    if attrib is None:
        return False
    _put_strings(detail.takv, attrib)
    return True


def _status(element: Element, detail: Any) -> bool:
    attrib = _plain(element, frozenset({"battery"}))
    if attrib is None or "battery" not in attrib:
        return False
    battery = attrib["battery"]
    if not (battery.isascii() and battery.isdigit()) or int(battery) >= 1 << 32:
        return False
    if str(int(battery)) != battery:  # "087" would come back as "87"
        return False
    detail.status.battery = int(battery)
    return True


def _track(element: Element, detail: Any) -> bool:
    attrib = _plain(element, frozenset({"speed", "course"}))
    if attrib is None or len(attrib) != 2:
        return False  # Track always has both: a lone course would gain a speed
    try:
        speed, course = float(attrib["speed"]), float(attrib["course"])
    except ValueError:
        return False
    # The decoder writes repr(); "0", "1.50" or Java's "1.0E-4" would not come back.
    if repr(speed) != attrib["speed"] or repr(course) != attrib["course"]:
        return False
    detail.track.speed = speed
    detail.track.course = course
    return True


_TYPED: dict[str, Callable[[Element, Any], bool]] = {
    "contact": _contact,
    "__group": _group,
    "precisionlocation": _precision,
    "status": _status,
    "takv": _takv,
    "track": _track,
}


def event_to_message(event: CotEvent) -> Any:
    """Build the ``TakMessage`` for ``event``."""
    message = TakMessage()
    cot = message.cotEvent
    cot.type = event.type
    cot.uid = event.uid
    cot.how = event.how
    if event.access:
        cot.access = event.access
    if event.qos:
        cot.qos = event.qos
    if event.opex:
        cot.opex = event.opex
    if event.caveat:
        cot.caveat = event.caveat
    if event.releasable_to:
        cot.releasableTo = event.releasable_to
    cot.sendTime = to_millis(event.time)
    cot.startTime = to_millis(event.start)
    cot.staleTime = to_millis(event.stale)
    cot.lat = event.lat
    cot.lon = event.lon
    cot.hae = event.hae
    cot.ce = event.ce
    cot.le = event.le
    if event.detail is not None:
        detail = cot.detail
        detail.SetInParent()  # an empty <detail/> stays present
        # Readers take the first element of each tag (cot/detail.py), so only the first
        # may become a typed field: the decoder puts typed fields first, and a later
        # duplicate lifted over a first that stays XML would change what a protobuf
        # client reads (found by fuzzing, fuzz/targets.py).
        seen: set[str] = set()
        rest: list[str] = []
        text = event.detail.text
        if text and not text.isspace():
            rest.append(_text(text))  # mixed content is rare, but it is content
        for child in event.detail:
            tag = child.tag
            if not isinstance(tag, str):
                continue  # comments and processing instructions are not relayed
            tail = child.tail
            tail = tail if tail and not tail.isspace() else None
            typed = _TYPED.get(tag)
            first = tag not in seen
            seen.add(tag)
            if typed is not None and tail is None and first and typed(child, detail):
                continue
            rest.append(to_text(child))
            if tail is not None:
                rest.append(_text(tail))
        if rest:
            detail.xmlDetail = "".join(rest)
    return message


def _text(text: str) -> str:
    """``text`` as XML character data; a carriage return survives only as a reference."""
    return escape(text, quote=False).replace("\r", "&#13;")


def event_to_proto(event: CotEvent) -> bytes:
    """The serialized ``TakMessage`` for ``event`` (no stream header)."""
    payload: bytes = event_to_message(event).SerializeToString()
    return payload


def _checked(value: str, name: str) -> str | None:
    try:
        check_xml_text(value)  # XML clients get the same event
    except ValueError:
        raise CotError("malformed_proto", f"{name} holds characters XML cannot carry") from None
    return value or None


def _typed_attrib(message: Any, names: tuple[str, ...]) -> dict[str, str]:
    attrib: dict[str, str] = {}
    for name in names:
        value: str = getattr(message, name)
        if value:
            _checked(value, name)
            attrib[name] = value
    return attrib


def _build_detail(detail: Any) -> Element:
    xml_detail: str = detail.xmlDetail
    if xml_detail:
        if "<!DOCTYPE" in xml_detail or "<!ENTITY" in xml_detail:
            raise CotError("dtd_forbidden", "declaration inside xmlDetail")
        try:
            root = parse(b"<detail>" + xml_detail.encode("utf-8") + b"</detail>")
        except XMLSyntaxError as exc:
            raise CotError("malformed_proto", f"xmlDetail: {str(exc)[:160]}") from None
    else:
        root = new_element("detail")
    typed: list[tuple[str, dict[str, str]]] = []
    if detail.HasField("contact"):
        typed.append(("contact", _typed_attrib(detail.contact, ("endpoint", "callsign"))))
    if detail.HasField("group"):
        typed.append(("__group", _typed_attrib(detail.group, ("name", "role"))))
    if detail.HasField("precisionLocation"):
        typed.append(
            (
                "precisionlocation",
                _typed_attrib(detail.precisionLocation, ("geopointsrc", "altsrc")),
            )
        )
    if detail.HasField("status"):
        typed.append(("status", {"battery": str(detail.status.battery)}))
    if detail.HasField("takv"):
        typed.append(("takv", _typed_attrib(detail.takv, ("device", "platform", "os", "version"))))
    if detail.HasField("track"):
        typed.append(
            ("track", {"speed": repr(detail.track.speed), "course": repr(detail.track.course)})
        )
    for index, (tag, attrib) in enumerate(typed):
        element = sub_element(root, tag, attrib)
        root.insert(index, element)  # typed elements first, as ATAK writes them
    return root


def parse_proto(payload: bytes) -> CotEvent | None:
    """Parse a ``TakMessage``; ``None`` when it carries no event (takControl only)."""
    if not isinstance(payload, bytes):
        payload = bytes(payload)
    message = TakMessage()
    try:
        message.ParseFromString(payload)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise CotError("malformed_proto", str(exc)[:200]) from None
    if not message.HasField("cotEvent"):
        return None
    cot = message.cotEvent
    uid = check_uid(cot.uid)
    cot_type = check_type(cot.type)
    time = from_millis(cot.sendTime, "time")
    start = from_millis(cot.startTime, "start")
    stale = from_millis(cot.staleTime, "stale")
    lat, lon, hae, ce, le = check_point(cot.lat, cot.lon, cot.hae, cot.ce, cot.le)
    detail = _build_detail(cot.detail) if cot.HasField("detail") else None
    event = CotEvent.create(
        uid=uid,
        type=cot_type,
        how=_checked(cot.how, "how") or "",
        time=time,
        start=start,
        stale=stale,
        lat=lat,
        lon=lon,
        hae=hae,
        ce=ce,
        le=le,
        access=_checked(cot.access, "access"),
        caveat=_checked(cot.caveat, "caveat"),
        releasable_to=_checked(cot.releasableTo, "releasableTo"),
        qos=_checked(cot.qos, "qos"),
        opex=_checked(cot.opex, "opex"),
        detail=detail,
    )
    event._source_proto = payload
    return event
