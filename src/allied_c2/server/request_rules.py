"""Who may do what to a decision request, beyond what the lifecycle itself enforces.

The lifecycle decides which organisation may take which action; these rules add
the person: the role each action needs and the organisation a principal acts
for. Documented in docs/decisions.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from allied_c2.alliance.lifecycle import Action, RequestMachine
from allied_c2.alliance.model import Location, Urgency
from allied_c2.alliance.requests import DecisionRequest, RequestError, parse_instant
from allied_c2.security.markings import Marking, rollup
from allied_c2.security.policy import SecurityPolicy

SUBMIT_ROLES = ("operator", "commander")
# Deciding needs a commander; moving a request along or commenting, a staff operator.
ACTION_ROLES: dict[Action, tuple[str, ...]] = {
    Action.APPROVE: ("commander",),
    Action.DENY: ("commander",),
    Action.CONCUR: ("commander",),
    Action.NONCONCUR: ("commander",),
    Action.ESCALATE: ("commander",),
    Action.FORWARD: ("operator", "commander"),
    Action.RETURN: ("operator", "commander"),
    Action.COMMENT: ("operator", "commander"),
    Action.WITHDRAW: ("operator", "commander"),
}


def build_request(
    rid: str, body: Mapping[str, Any], originator: str, banner: str, now: datetime
) -> DecisionRequest:
    lat, lon = body.get("lat"), body.get("lon")
    if (lat is None) != (lon is None):
        raise RequestError("give both lat and lon, or neither")
    needed = body.get("needed_by")
    try:
        urgency = Urgency(str(body.get("urgency") or Urgency.ROUTINE.value))
        location = Location(float(lat), float(lon)) if lat is not None and lon is not None else None
    except (TypeError, ValueError) as exc:
        raise RequestError(f"urgency or location: {exc}") from None
    return DecisionRequest(
        id=rid,
        kind=str(body.get("kind") or ""),
        originator=originator,
        subject=str(body.get("subject") or "").strip(),
        marking=banner,
        submitted_at=now,
        needed_by=parse_instant(needed, "needed_by") if needed else None,
        urgency=urgency,
        location=location,
    )


def raises_release(marking: Marking, floor: Marking, policy: SecurityPolicy) -> bool:
    """Whether marking a request ``marking`` would release it more widely than ``floor``."""
    return rollup([marking, floor], policy).banner() != marking.banner()


def parties(machine: RequestMachine) -> set[str]:
    parties = {machine.request.originator, *machine.route.path, *machine.route.offices}
    parties.update(machine.review.path)
    parties.update(o for leg in machine.legs for o in leg.path)
    return parties


def not_entitled(machine: RequestMachine, action: Action, org: str) -> str | None:
    """Why ``org`` may not take ``action`` on an open request (403), or None."""
    rid = machine.id
    if action is Action.WITHDRAW:
        if org != machine.request.originator:
            return f"only the originator {machine.request.originator} may withdraw {rid}"
        return None
    if action is Action.COMMENT:
        return None if org in parties(machine) else f"{org} is not on the route of {rid}"
    if org not in machine.holders:
        return f"{org} does not hold {rid} (held by {', '.join(machine.holders)})"
    return None
