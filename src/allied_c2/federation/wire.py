"""CoT events to and from TAK federation's ``FederatedEvent``, as TAK Server maps them.

The mapping is TAK Server's ProtoBufHelper (federation-v2.md §4). Sending: times
become ms since the epoch; ``access``/``caveat``/``releasableTo`` go to fields
27-29; ``<track>`` (with speed and course), ``<status>`` (battery, no readiness)
and ``<precisionlocation>`` (both attributes) leave the detail for their fields;
the rest of the detail, with its ``<detail>`` wrapper, is ``other``. Explicit
destinations also go to ``ptpUids``/``ptpCallsigns``/``missionNames`` (the
``<marti>`` element stays in ``other``). ``t-x-d-d`` goes as a contact DELETE;
``t-x-m*`` and ``b-f-t-r`` (files, ROL) are not sent. Receiving: ``other`` is
parsed as ``<detail>`` with the hardened parser, ``<track>`` is added, status
and precisionlocation when missing; without ``other`` there is no detail;
``missionNames`` become ``<marti><dest mission>``. Provenance and hops follow
TAK: each sender appends its server id and resets the hop count.
"""

from __future__ import annotations

import copy
import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from allied_c2.cot.drawing import delete_event, forced_deletes
from allied_c2.cot.errors import CotError
from allied_c2.cot.event import CotEvent
from allied_c2.cot.special import disconnect_notice
from allied_c2.cot.times import from_millis, to_millis
from allied_c2.cot.validation import check_point, check_type, check_uid, check_xml_text
from allied_c2.cot.xmltree import Element, XMLSyntaxError, new_element, parse, sub_element, to_text
from allied_c2.federation.proto import fig_pb2

CONTACT_CREATE = fig_pb2.ContactListEntry.CREATE
CONTACT_UPDATE = fig_pb2.ContactListEntry.UPDATE
CONTACT_DELETE = fig_pb2.ContactListEntry.DELETE
# TAK's default maxHops for a federate: unlimited (federation-v2.md §4, Loops).
UNLIMITED_HOPS = -1


def federated_type(cot_type: str) -> bool:
    """Whether an event of this type is sent to federates at all (TAK's rules)."""
    if cot_type.startswith("t-x-m") or cot_type == "b-f-t-r":
        return False  # mission changes and file transfers (ROL) are not federated here
    return cot_type == "t-x-d-d" or not cot_type.startswith(("t-x-c-", "t-x-takp", "t-b"))


def _split_detail(detail: Element, geo: fig_pb2.GeoEvent) -> str:
    """Move track, status and precisionlocation into their fields; the rest is ``other``."""
    rest = copy.deepcopy(detail)
    for child in list(rest):
        tag = child.tag
        if not isinstance(tag, str):
            continue
        attrib = child.attrib
        if tag == "track" and "speed" in attrib and "course" in attrib:
            try:
                geo.speed, geo.course = float(attrib["speed"]), float(attrib["course"])
            except ValueError:
                continue
            rest.remove(child)
        elif tag == "status" and "battery" in attrib and "readiness" not in attrib:
            battery = attrib["battery"]
            if battery.isascii() and battery.isdigit() and int(battery) < 1 << 31:
                geo.battery = int(battery)
                rest.remove(child)
        elif tag == "precisionlocation" and "geopointsrc" in attrib and "altsrc" in attrib:
            geo.ploc, geo.palt = attrib["geopointsrc"], attrib["altsrc"]
            rest.remove(child)
    return to_text(rest)


def geo_event(event: CotEvent) -> fig_pb2.GeoEvent:
    geo = fig_pb2.GeoEvent(
        sendTime=to_millis(event.time),
        startTime=to_millis(event.start),
        staleTime=to_millis(event.stale),
        lat=event.lat,
        lon=event.lon,
        hae=event.hae,
        ce=event.ce,
        le=event.le,
        uid=event.uid,
        type=event.type,
        coordSource=event.how,
        access=event.access or "",
        caveat=event.caveat or "",
        releaseableTo=event.releasable_to or "",
    )
    if event.detail is not None:
        geo.other = _split_detail(event.detail, geo)
    geo.ptpUids.extend(event.dest_uids)
    geo.ptpCallsigns.extend(event.dest_callsigns)
    geo.missionNames.extend(event.dest_missions)
    return geo


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a message has been: the servers it passed, and its hop count."""

    server_ids: tuple[str, ...] = ()
    current_hops: int = 0
    max_hops: int = UNLIMITED_HOPS


def federated_event(
    event: CotEvent, server_id: str, server_name: str, came_through: Provenance | None = None
) -> fig_pb2.FederatedEvent:
    """The message for ``event``; a contact's ``t-x-d-d`` becomes a contact DELETE.

    A ``t-x-d-d`` with ``__forcedelete`` (a drawing or marker deleted in ATAK) goes
    as the event it is, where TAK sends a contact DELETE: a contact entry has no
    marking, and the peer's picture removes an item only for a delete marked as
    the item (picture_exits.py). A TAK Server peer relays the event to its
    clients, which delete the item as ATAK's own delete makes them."""
    message = fig_pb2.FederatedEvent()
    if event.type == "t-x-d-d" and not forced_deletes(event):
        link = event.detail.find("link") if event.detail is not None else None
        uid = link.get("uid") if link is not None else None
        message.contact.operation = CONTACT_DELETE
        message.contact.uid = uid or event.uid
        # TAK writes the deleted item's CoT type here (link@type, federation-v2.md).
        kind = link.get("type") if link is not None else None
        message.contact.callsign = kind or (link.get("parent_callsign") if link else None) or ""
    else:
        message.event.CopyFrom(geo_event(event))
    earlier = came_through.server_ids if came_through is not None else ()
    for known in earlier:
        message.federateProvenance.add(federationServerId=known)
    message.federateProvenance.add(federationServerId=server_id, federationServerName=server_name)
    # TAK resets the hops on send: currentHops 1, maxHops the federate's (default unlimited).
    message.federateHops.currentHops = 1 if came_through is None else came_through.current_hops + 1
    message.federateHops.maxHops = UNLIMITED_HOPS if came_through is None else came_through.max_hops
    return message


def contact_entry(
    uid: str, callsign: str, operation: int = CONTACT_CREATE
) -> fig_pb2.FederatedEvent:
    message = fig_pb2.FederatedEvent()
    message.contact.operation = operation  # type: ignore[assignment]
    message.contact.uid = uid
    message.contact.callsign = callsign
    return message


def provenance_of(message: fig_pb2.FederatedEvent) -> Provenance:
    hops = message.federateHops
    return Provenance(
        tuple(p.federationServerId for p in message.federateProvenance if p.federationServerId),
        int(hops.currentHops),
        int(hops.maxHops) if message.HasField("federateHops") else UNLIMITED_HOPS,
    )


def _detail_of(geo: fig_pb2.GeoEvent) -> Element | None:
    other = geo.other
    detail: Element | None = None
    if other:
        if "<!DOCTYPE" in other or "<!ENTITY" in other:
            raise CotError("dtd_forbidden", "declaration inside GeoEvent.other")
        try:
            detail = parse(other.encode("utf-8"))
        except XMLSyntaxError as exc:
            raise CotError("malformed_proto", f"GeoEvent.other: {str(exc)[:160]}") from None
        if detail.tag != "detail":
            raise CotError("malformed_proto", "GeoEvent.other is not a <detail> element")
        # TAK always adds <track>, and status and precisionlocation when missing.
        if detail.find("track") is None:
            sub_element(detail, "track", {"speed": repr(geo.speed), "course": repr(geo.course)})
        if detail.find("status") is None and geo.battery:
            sub_element(detail, "status", {"battery": str(geo.battery)})
        if detail.find("precisionlocation") is None and (geo.ploc or geo.palt):
            attrib = {"geopointsrc": _text(geo.ploc, "ploc"), "altsrc": _text(geo.palt, "palt")}
            sub_element(detail, "precisionlocation", {k: v for k, v in attrib.items() if v})
    if geo.missionNames:
        if detail is None:
            detail = new_element("detail")
        marti = detail.find("marti")
        if marti is None:
            marti = sub_element(detail, "marti", {})
        known = {d.get("mission") for d in marti.findall("dest")}
        for mission in geo.missionNames:
            _text(mission, "missionNames")
            if mission not in known:
                sub_element(marti, "dest", {"mission": mission})
    return detail


def _text(value: str, name: str) -> str | None:
    """A string field that goes into XML attributes as it is (found by fuzzing: a NUL in
    ``coordSource`` made an event no client could be sent)."""
    try:
        check_xml_text(value)
    except ValueError as exc:
        raise CotError("malformed", f"{name}: {exc}") from None
    return value or None


def cot_event(geo: fig_pb2.GeoEvent) -> CotEvent:
    """The CoT event a ``GeoEvent`` carries; raises :class:`CotError` when it is unusable."""
    lat, lon, hae, ce, le = check_point(geo.lat, geo.lon, geo.hae, geo.ce, geo.le)
    return CotEvent.create(
        uid=check_uid(geo.uid),
        type=check_type(geo.type),
        how=_text(geo.coordSource, "coordSource") or "h-g-i-g-o",
        time=from_millis(geo.sendTime, "time"),
        start=from_millis(geo.startTime, "start"),
        stale=from_millis(geo.staleTime, "stale"),
        lat=lat,
        lon=lon,
        hae=hae,
        ce=ce,
        le=le,
        access=_text(geo.access, "access"),
        caveat=_text(geo.caveat, "caveat"),
        releasable_to=_text(geo.releaseableTo, "releaseableTo"),
        detail=_detail_of(geo),
    )


_COT_TYPE = re.compile(r"[a-z](-[A-Za-z0-9_.]+)+")


def deleted_contact(
    message: fig_pb2.FederatedEvent, now: datetime, uid: str | None = None
) -> CotEvent:
    """A contact DELETE as a ``t-x-d-d`` (``uid``: the local name of the deleted item).

    TAK puts the deleted item's CoT type in ``callsign`` (link@type): a contact's
    (``a-…``) becomes the disconnect notice TAK clients know; anything else
    (a drawing, a marker) the ``__forcedelete`` ATAK itself sends, so the item
    also leaves the peer's picture and maps. A peer that writes a callsign
    there instead (not a CoT type) is read as a contact's disconnect."""
    entry = message.contact
    target = check_uid(uid or entry.uid)
    kind = entry.callsign
    if not _COT_TYPE.fullmatch(kind):
        return disconnect_notice(target, kind or None, now)
    if kind.startswith("a-"):
        return disconnect_notice(target, None, now, link_type=kind)
    return delete_event(target, kind, now, notice_uid=str(uuid.uuid4()))


__all__ = [
    "CONTACT_CREATE",
    "CONTACT_DELETE",
    "CONTACT_UPDATE",
    "Provenance",
    "contact_entry",
    "cot_event",
    "deleted_contact",
    "federated_event",
    "federated_type",
    "geo_event",
    "provenance_of",
]
