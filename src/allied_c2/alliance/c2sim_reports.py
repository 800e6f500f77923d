"""C2SIM reports in and out: position and observation reports as CoT, the picture as
position reports. Pure: bytes or events in, events or bytes out; the server does
the marking, the release decisions and the ingest.

In: every ``ReportBody`` (root ``Message``, ``MessageBody`` or the body itself) is
read; a ``PositionReportContent`` with a ``Location`` and an
``ObservationReportContent`` with a ``LocationObservation`` each give one
:class:`Sighting` of the subject (``SubjectEntity``, else the reporting entity;
the observed ``ActorReference``). A ``NameObservation`` names the subject and its
hostility, a ``SubjectTypeObservation`` gives its symbol, health status becomes
remarks. Everything else is listed as not mapped.

Out: one ``ReportBody`` whose ``PositionReportContent`` entries are the CoT atoms
(``a-…``) of a release-filtered picture, ``SubjectEntity`` the UUID of the CoT uid.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from lxml import etree  # type: ignore[import-untyped, unused-ignore]

from allied_c2.alliance.c2sim import SYSTEM_NAME, Writer, iso_seconds
from allied_c2.alliance.c2sim_xml import (
    DEFAULT_VERSION,
    ISO_SECONDS,
    C2SIMError,
    Reader,
    Unmapped,
    child,
    children,
    descendants,
    local,
    parse_xml,
    version,
)
from allied_c2.alliance.symbology import cot_type_from_sidc, with_affiliation
from allied_c2.cot.event import CotEvent
from allied_c2.cot.xmltree import Element, new_element, sub_element

STALE_AFTER = timedelta(minutes=10)  # units report rarely; an hour-old report is history
HOW = "m-p"  # CoT: machine-made, passed on from another system
UID_PREFIX = "c2sim-"
NIL_UUID = "00000000-0000-0000-0000-000000000000"  # ToReceiver: everyone
SYSTEM_UUID = str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:allied-c2:system:{SYSTEM_NAME}"))
# A self-reported position is an own force; an observation of an unknown actor is unknown.
DEFAULT_TYPES = {"position": "a-f-G", "observation": "a-u-G"}
# HostilityStatusCode -> CoT affiliation (assumed/involved codes to their nearest).
AFFILIATIONS = {
    "FR": "f",
    "AFR": "a",
    "NEUTRL": "n",
    "ANT": "n",
    "HO": "h",
    "AHO": "s",
    "SUSPCT": "s",
    "JOKER": "j",
    "FAKER": "k",
    "PENDNG": "p",
    "UNK": "u",
    "IV": "u",
    "AIV": "u",
}
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@dataclass(frozen=True, slots=True)
class Sighting:
    """Where one report puts one subject, and what else it says about it."""

    subject: str  # UUID, lower case
    kind: str  # "position" or "observation"
    lat: float
    lon: float
    time: datetime | None  # None: the report's time is not a calendar time
    report_id: str | None = None
    reporter: str | None = None
    name: str | None = None
    hostility: str | None = None
    sidc: str | None = None
    course: float | None = None
    speed: float | None = None
    remarks: tuple[str, ...] = ()


@dataclass
class ReportBatch:
    classification: str | None  # the header's SecurityClassificationCode, if any
    sightings: list[Sighting] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unmapped: list[Unmapped] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class KnownUnit:
    """What the server's command structure says about a reported UUID."""

    name: str
    sidc: str | None = None


def read_reports(data: bytes) -> ReportBatch:
    root = parse_xml(data)
    bodies = [root] if local(root) == "ReportBody" else list(descendants(root, "ReportBody"))
    if not bodies:
        raise C2SIMError("no ReportBody in the document (not a C2SIM report)")
    reader = Reader()
    header = child(root, "C2SIMHeader") if local(root) == "Message" else None
    batch = ReportBatch(reader.text(header, "SecurityClassificationCode"))
    reader.use(header)  # the envelope: addressing and message ids
    for body in bodies:
        reader.text(body, "FromSender")
        reader.text(body, "ToReceiver")
        report_id = reader.text(body, "ReportID")
        reporter = _lower(reader.text(body, "ReportingEntity"))
        for content in children(body, "ReportContent"):
            position = child(content, "PositionReportContent")
            observation = child(content, "ObservationReportContent")
            found = (
                _position(reader, position, report_id, reporter, batch.notes)
                if position is not None
                else _observation(reader, observation, report_id, reporter, batch.notes)
                if observation is not None
                else None
            )
            if found is not None:
                batch.sightings.append(found)
    batch.unmapped = reader.unmapped(bodies)
    return batch


def _time(reader: Reader, content: Element, notes: list[str]) -> datetime | None:
    text = reader.text(content, "TimeOfObservation", "DateTime", "IsoDateTime")
    reader.text(content, "TimeOfObservation", "DateTime", "Name")
    if text is None:
        return None
    try:
        return datetime.strptime(text, ISO_SECONDS).replace(tzinfo=UTC)
    except ValueError:
        notes.append(f"time '{text}' is not a calendar time: the time of receipt is used")
        return None


def _point(reader: Reader, location: Element | None) -> tuple[float, float] | None:
    where = child(location, "GeodeticCoordinate")
    lat, lon = reader.text(where, "Latitude"), reader.text(where, "Longitude")
    try:
        point = (float(lat or "nan"), float(lon or "nan"))
    except ValueError:
        return None
    if all(math.isfinite(v) for v in point) and abs(point[0]) <= 90 and abs(point[1]) <= 180:
        return point
    return None


def _number(reader: Reader, element: Element | None, name: str) -> float | None:
    value = reader.text(element, name)
    try:
        number = float(value) if value is not None else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) else None


def _position(
    reader: Reader,
    content: Element,
    report_id: str | None,
    reporter: str | None,
    notes: list[str],
) -> Sighting | None:
    subject = _lower(reader.text(content, "SubjectEntity")) or reporter
    point = _point(reader, child(content, "Location"))
    if subject is None or point is None:
        notes.append(f"position report {report_id}: no subject or no geodetic location")
        return None
    remarks = []
    for health in children(content, "EntityHealthStatus"):
        status = reader.text(health, "OperationalStatus", "OperationalStatusCode")
        strength = reader.text(health, "Strength", "StrengthPercentage")
        remarks += [f"operational status {status}"] if status else []
        remarks += [f"strength {strength}%"] if strength else []
    return Sighting(
        subject,
        "position",
        *point,
        time=_time(reader, content, notes),
        report_id=report_id,
        reporter=reporter,
        course=_number(reader, content, "HeadingAngle"),
        speed=_number(reader, content, "Speed"),
        remarks=tuple(remarks),
    )


def _observation(
    reader: Reader,
    content: Element,
    report_id: str | None,
    reporter: str | None,
    notes: list[str],
) -> Sighting | None:
    # "Multiple observations all refer to the same observed actor" (the schema).
    subject = point = name = hostility = sidc = speed = None
    remarks = []
    for observation in children(content, "Observation"):
        for kind in observation:
            if not isinstance(kind.tag, str):
                continue
            actor = _lower(reader.text(kind, "ActorReference"))
            if subject is not None and actor not in (None, subject):
                notes.append(f"observation report {report_id}: actors {subject} and {actor}")
            subject = subject or actor
            confidence = reader.text(kind, "ConfidenceLevel")
            remarks += [f"confidence {confidence}"] if confidence else []
            if local(kind) == "LocationObservation":
                point = _point(reader, child(kind, "Location"))
                speed = _number(reader, kind, "Speed")
            elif local(kind) == "NameObservation":
                name = reader.text(kind, "Name")
                hostility = reader.text(kind, "HostilityStatusCode")
            elif local(kind) == "SubjectTypeObservation":
                for entity_type in children(kind, "EntityType"):
                    sidc = sidc or reader.text(entity_type, "APP6-SIDC", "SIDCString")
    if subject is None or point is None:
        notes.append(f"observation report {report_id}: no observed actor or no location")
        return None
    return Sighting(
        subject,
        "observation",
        *point,
        time=_time(reader, content, notes),
        report_id=report_id,
        reporter=reporter,
        name=name,
        hostility=hostility,
        sidc=sidc,
        speed=speed,
        remarks=tuple(remarks),
    )


def _lower(value: str | None) -> str | None:
    return value.lower() if value else None


def sighting_event(
    sighting: Sighting,
    now: datetime,
    *,
    known: KnownUnit | None = None,
    marking: tuple[str, str | None, str | None] | None = None,
) -> CotEvent:
    """The CoT event of a sighting, marked ``(access, caveat, releasableTo)`` if given."""
    cot_type = (
        cot_type_from_sidc(sighting.sidc)
        or cot_type_from_sidc(known.sidc if known else None)
        or DEFAULT_TYPES[sighting.kind]
    )
    if sighting.hostility in AFFILIATIONS:
        cot_type = with_affiliation(cot_type, AFFILIATIONS[sighting.hostility])
    start = sighting.time if sighting.time is not None and sighting.time <= now else now
    detail = new_element("detail")
    callsign = sighting.name or (known.name if known else None) or sighting.subject
    sub_element(detail, "contact", {"callsign": callsign})
    if sighting.course is not None or sighting.speed is not None:
        attrs = {"course": f"{sighting.course or 0.0:.1f}", "speed": f"{sighting.speed or 0.0:.2f}"}
        sub_element(detail, "track", attrs)
    by = (
        f" by {sighting.reporter}"
        if sighting.reporter and sighting.reporter != sighting.subject
        else ""
    )
    notes = [
        f"C2SIM {sighting.kind} report {sighting.report_id or ''}{by}".strip(),
        *sighting.remarks,
    ]
    sub_element(detail, "remarks", {}).text = "; ".join(notes)
    access, caveat, releasable = marking or (None, None, None)
    return CotEvent.create(
        uid=UID_PREFIX + sighting.subject,
        type=cot_type,
        how=HOW,
        time=start,
        start=start,
        stale=now + STALE_AFTER,
        lat=sighting.lat,
        lon=sighting.lon,
        access=access,
        caveat=caveat,
        releasable_to=releasable,
        detail=detail,
    )


def subject_uuid(uid: str) -> str:
    """The C2SIM UUID of a CoT uid: the one it came with, else UUID-5 of the uid."""
    bare = uid.removeprefix(UID_PREFIX).lower()
    if _UUID.match(bare):
        return bare
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:allied-c2:cot:{uid}"))


def position_reports(
    events: Sequence[CotEvent],
    level: str,
    *,
    c2sim_version: str = DEFAULT_VERSION,
    header: bool = True,
) -> bytes | None:
    """The CoT atoms among ``events`` as one C2SIM position report; None if there is none."""
    atoms = [e for e in events if e.type.startswith("a-")]
    if not atoms:
        return None  # a ReportBody needs at least one ReportContent
    w = Writer(version(c2sim_version))
    if header:
        root = w.el(None, "Message")
        w.header(root, str(uuid.uuid4()), str(uuid.uuid4()), level)
        domain = w.el(w.el(root, "MessageBody"), "DomainMessageBody")
    else:
        root = w.el(None, "MessageBody")
        domain = w.el(root, "DomainMessageBody")
    body = w.el(domain, "ReportBody")
    w.el(body, "FromSender", SYSTEM_UUID)
    w.el(body, "ToReceiver", NIL_UUID)
    for event in atoms:
        content = w.el(w.el(body, "ReportContent"), "PositionReportContent")
        w.el(
            w.el(w.el(content, "TimeOfObservation"), "DateTime"),
            "IsoDateTime",
            iso_seconds(event.time),
        )
        if w.v.report_motion and event.course is not None:
            w.el(content, "HeadingAngle", repr(event.course))
        w.location(content, event.lat, event.lon)
        if w.v.report_motion and event.speed is not None:
            w.el(content, "Speed", repr(event.speed))
        w.el(content, "SubjectEntity", subject_uuid(event.uid))
    w.el(body, "ReportID", str(uuid.uuid4()))
    w.el(body, "ReportingEntity", SYSTEM_UUID)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
