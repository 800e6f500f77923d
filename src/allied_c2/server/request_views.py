"""What a decision request looks like outside the server: API JSON and a CoT marker.

Both carry only what the request itself holds (its route included), so the
request's marking is the marking of everything shown; the caller filters by it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from allied_c2.alliance.lifecycle import RequestMachine, Step
from allied_c2.alliance.model import Structure
from allied_c2.cot.event import CotEvent
from allied_c2.cot.special import new_detail, server_event
from allied_c2.cot.xmltree import sub_element
from allied_c2.security.display import marking_json
from allied_c2.security.markings import Marking, marking_to_cot
from allied_c2.store.requests import RequestRecord

MARKER_TYPE = "b-m-p-s-m"  # a spot-map marker: every TAK client draws it
MARKER_PREFIX = "request-"
# An open request's marker outlives any realistic gap between its changes (each
# change re-sends it); a decided one stays an hour so the decision is seen.
OPEN_MARKER_LIFETIME = timedelta(days=7)
DECIDED_MARKER_LIFETIME = timedelta(hours=1)
_COLOURS = {  # ARGB as TAK writes it (signed 32-bit)
    "approved": "-16711936",  # green
    "denied": "-65536",  # red
    "returned": "-256",  # yellow
    "withdrawn": "-7829368",  # grey
}
_OPEN_COLOUR = "-16776961"  # blue


def marker_uid(request_id: str) -> str:
    return MARKER_PREFIX + request_id


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _name(machine: RequestMachine, structure: Structure | None, org_id: str | None) -> str | None:
    if org_id is None:
        return None
    office = machine.route.offices.get(org_id)
    if office is not None:
        return office.name
    if structure is not None and org_id in structure.organisations:
        return structure.organisations[org_id].name
    return None


def kind_title(machine: RequestMachine, structure: Structure | None) -> str:
    kind = machine.request.kind
    if structure is not None and kind in structure.request_kinds:
        return structure.request_kinds[kind].title
    return kind.replace("_", " ")


def step_json(step: Step) -> dict[str, Any]:
    return {
        "seq": step.seq,
        "at": step.at.isoformat(),
        "actor": step.actor,
        "action": step.action,
        "from": step.from_state.value if step.from_state else None,
        "to": step.to_state.value,
        "holders": list(step.holders),
        "reason": step.reason,
        "detail": dict(step.detail),
    }


def request_json(
    machine: RequestMachine,
    marking: Marking | None,
    record: RequestRecord,
    structure: Structure | None,
    allowed_actions: list[str] | None,
) -> dict[str, Any]:
    """The API's Request object (docs/api.md); ``allowed_actions`` None leaves it out."""
    request = machine.request
    holders = list(machine.holders)
    holder = holders[0] if holders else None
    out: dict[str, Any] = {
        "id": request.id,
        "kind": request.kind,
        "kind_title": kind_title(machine, structure),
        "originator": request.originator,
        "originator_name": _name(machine, structure, request.originator),
        "subject": request.subject,
        "urgency": request.urgency.value,
        "marking": marking_json(marking) if marking else None,
        "state": machine.state.value,
        "holder": holder,
        "holder_name": _name(machine, structure, holder),
        "holders": holders,
        "submitted_at": request.submitted_at.isoformat(),
        "needed_by": _iso(request.needed_by),
        "deadline": _iso(machine.next_deadline()),
        "deadlines": {org: at.isoformat() for org, at in machine.deadlines().items()},
        "decided_at": _iso(machine.decided_at),
        "location": (
            {"lat": request.location.lat, "lon": request.location.lon} if request.location else None
        ),
        "route": {
            "decider": machine.decider,
            "counterparts": list(machine.route.counterparts),
            "hops": list(machine.review.path),
            "legs": [list(leg.path) for leg in machine.route.legs],
        },
        "history": [step_json(step) for step in machine.trail],
        "created_by": record.created_by,
        "updated_at": record.updated_at.isoformat(),
    }
    if allowed_actions is not None:
        out["allowed_actions"] = allowed_actions
    return out


def marker_event(
    machine: RequestMachine, marking: Marking, structure: Structure | None, now: datetime
) -> CotEvent | None:
    """The request as a TAK map marker at its location, else its originator's.

    None when neither is known (a request restored without its structure).
    """
    request = machine.request
    location = request.location
    if location is None and structure is not None:
        origin = structure.organisations.get(request.originator)
        location = origin.location if origin is not None else None
    if location is None:
        return None
    state = machine.state.value
    holders = ", ".join(machine.holders) or "-"
    title = kind_title(machine, structure)
    detail = new_detail()
    sub_element(detail, "contact", {"callsign": f"{request.id} {title}"})
    sub_element(detail, "color", {"argb": _COLOURS.get(state, _OPEN_COLOUR)})
    remarks = sub_element(detail, "remarks", {})
    needed = f"; needed by {request.needed_by.isoformat()}" if request.needed_by else ""
    remarks.text = (
        f"[{marking.portion()}] {title} ({request.kind}) from {request.originator}: "
        f"{state}, held by {holders}{needed}. {request.subject}"
    )
    access, caveat, releasable = marking_to_cot(marking)
    lifetime = DECIDED_MARKER_LIFETIME if machine.state.terminal else OPEN_MARKER_LIFETIME
    return server_event(
        uid=marker_uid(request.id),
        type=MARKER_TYPE,
        now=now,
        stale_after=lifetime,
        detail=detail,
        lat=location.lat,
        lon=location.lon,
        access=access,
        caveat=caveat,
        releasable_to=releasable,
    )
