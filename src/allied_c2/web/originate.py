"""What the web COP sends into the picture: one path, the same as a TAK client's.

Chat, markers, drawings and deletes made on the page are CoT events ingested
through ``Hub.ingest(None, principal, event, now, via="web")``: the send check,
the marking validation, history, the picture, addressing and the audit trail all
apply as they do to an event from ATAK. This module picks the marking the caller
asked for (the picker's list, ``GET /api/v1/markings/allowed``, is computed by
``security/originate.py``), says why a send would be refused (the hub audits the
refusal itself), and wakes the I/O side so TAK clients get the event at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from fastapi import HTTPException

from allied_c2.cot.event import CotEvent
from allied_c2.security.audience import is_identified
from allied_c2.security.decision import may_send
from allied_c2.security.markings import Marking, MarkingError, marking_to_cot, parse_banner
from allied_c2.security.originate import originable
from allied_c2.security.principals import Principal

if TYPE_CHECKING:
    from allied_c2.app import Runtime

VIA = "web"
# The nations a REL TO list may name when no structure is loaded (the project's alliance).
DEFAULT_PARTNERS = ("JPN", "PHL", "USA")
WEB_UID_PREFIX = "web."


def partners(runtime: Runtime) -> list[str]:
    """The alliance's nations: those of the loaded structure's organisations."""
    structure = getattr(runtime, "structure", None)
    if structure is None:
        return list(DEFAULT_PARTNERS)
    nations = {org.nation for org in structure.organisations.values()}
    return sorted(n for n in nations if n in runtime.policy.countries) or list(DEFAULT_PARTNERS)


def allowed_markings(runtime: Runtime, principal: Principal) -> list[Marking]:
    return originable(principal, runtime.policy, partners(runtime))


def web_uid(principal: Principal) -> str:
    """The uid a principal's web session signs its chat with (replies come back to it)."""
    return f"{WEB_UID_PREFIX}{principal.callsign}"


def chosen_marking(runtime: Runtime, principal: Principal, banner: object) -> Marking:
    """The marking the caller chose (default: the lowest it may originate), or 422/403."""
    if banner is None or banner == "":
        offered = allowed_markings(runtime, principal)
        if not offered:
            raise HTTPException(403, f"{principal.callsign} may not originate any marking")
        return offered[0]
    if not isinstance(banner, str) or len(banner) > 2000:
        raise HTTPException(422, "marking: a banner string")
    try:
        marking = parse_banner(banner, runtime.policy, strict=False)
    except MarkingError as exc:
        raise HTTPException(422, f"marking: {exc}") from None
    marking = marking.with_originator(principal.nation)
    decision = may_send(marking, principal, runtime.policy)
    if not decision.allowed:
        # Refused here to say why; the hub refuses it too and audits the attempt.
        raise HTTPException(403, f"marking {marking.banner()}: {decision.reason}")
    return marking


def require_identified(principal: Principal, what: str) -> None:
    if not is_identified(principal):
        raise HTTPException(403, f"sign in to {what}")


def send(runtime: Runtime, principal: Principal, event: CotEvent, now: datetime) -> CotEvent:
    """Ingest ``event`` as ``principal`` (its marking already set); 403 when refused."""
    hub = runtime.hub
    accepted = hub.ingest(None, principal, event, now, via=VIA)
    hub.flush()
    hub.wake()
    if not accepted:
        raise HTTPException(403, "refused by the server's send check (see the audit log)")
    return event


def marked(event: CotEvent, marking: Marking) -> CotEvent:
    return event.with_marking(*marking_to_cot(marking))
