"""Who may do what to a decision request, beyond what the lifecycle itself enforces.

The lifecycle decides which organisation may take which action; these rules add
the person: the role each action needs and the organisation a principal acts
for. Readiness reports follow the same rules for who may report and how a
report is marked. Documented in docs/decisions.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from allied_c2.alliance.lifecycle import Action, RequestMachine
from allied_c2.alliance.model import Location, Structure, Urgency
from allied_c2.alliance.requests import DecisionRequest, RequestError, parse_instant
from allied_c2.security.decision import may_send
from allied_c2.security.markings import Marking, MarkingError, parse_banner, rollup
from allied_c2.security.policy import SecurityPolicy
from allied_c2.security.principals import Principal
from allied_c2.server.structure import StructureReleases


class DecisionError(Exception):
    """A refused call: ``status`` is the HTTP status, ``reason`` one line for the caller."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


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


NO_STRUCTURE = "no command structure is loaded (serve --scenario FILE)"


def loaded_structure(
    structure: Structure | None, releases: StructureReleases | None
) -> tuple[Structure, StructureReleases]:
    """The server's structure and its release rules; refuse (409) when none is loaded."""
    if structure is None or releases is None:
        raise DecisionError(409, NO_STRUCTURE)
    return structure, releases


def require_acting_for(principal: Principal, org: str, structure: Structure) -> None:
    """Refuse (403) unless ``principal`` may submit or report for ``org``.

    An admin may act for any organisation; anyone else only for ``org`` itself or
    an organisation in its chain of command.
    """
    if principal.has_role("admin"):
        return
    if principal.organisation is None or principal.organisation not in structure.chain_of_command(
        org
    ):
        raise DecisionError(
            403,
            f"{principal.callsign} ({principal.organisation or 'no organisation'}) is not "
            f"{org} or in its chain of command",
        )


def sender_marking(banner: str, principal: Principal, policy: SecurityPolicy) -> Marking:
    """The marking a caller gave, with its nation as originator, if it may send at it."""
    try:
        marking = parse_banner(banner, policy, strict=False)
    except MarkingError as exc:
        raise DecisionError(422, f"marking: {exc}") from None
    marking = marking.with_originator(principal.nation)
    decision = may_send(marking, principal, policy)
    if not decision.allowed:
        raise DecisionError(403, f"marking {marking.banner()}: {decision.reason}")
    return marking


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
