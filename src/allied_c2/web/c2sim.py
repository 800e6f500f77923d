"""C2SIM reports over HTTP: position and observation reports into the picture, and the
picture out as position reports, release-filtered like every other exit.

In: each located report becomes a CoT event ingested through the hub as the
caller, so the send check, the marking validation, history, the CoT stream and
the web views treat it like an event from a TAK client. The event's marking is
the message's ``SecurityClassificationCode`` (C2SIM has no releasability; the
caller may give a fuller ``marking`` that is at least that level); a message
without one gets the server's default marking. A reported UUID that is an
organisation of the loaded structure takes its name and symbol only when the
caller may see that record and the record's marking adds nothing to the event's:
enrichment never carries a record to readers it is not releasable to.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response

from allied_c2.alliance.c2sim import LEVELS, level_code, org_uuid
from allied_c2.alliance.c2sim_reports import (
    KnownUnit,
    ReportBatch,
    position_reports,
    read_reports,
    sighting_event,
)
from allied_c2.alliance.c2sim_xml import DEFAULT_VERSION, VERSIONS, C2SIMError
from allied_c2.security.audience import is_identified
from allied_c2.security.markings import Marking, MarkingError, marking_to_cot, parse_banner, rollup
from allied_c2.security.principals import Principal
from allied_c2.web.auth import CurrentPrincipal, runtime_of
from allied_c2.web.items import banner_of
from allied_c2.web.structure import BANNER_HEADER

if TYPE_CHECKING:
    from allied_c2.app import Runtime

router = APIRouter(prefix="/api/v1")
# The OpenAPI document says these answer XML (schemathesis checks the content type).
XML_RESPONSE: dict[int | str, dict[str, Any]] = {200: {"content": {"application/xml": {}}}}
VersionQuery = Query(DEFAULT_VERSION, description=f"C2SIM schema: {', '.join(VERSIONS)}")


def _event_marking(batch: ReportBatch, given: str | None, runtime: Runtime) -> Marking | None:
    """The marking every event of the message gets; None leaves the server's default."""
    policy = runtime.policy
    code = batch.classification
    if code is not None and code not in LEVELS:  # guessing could mark the events too low
        raise HTTPException(422, f"unknown SecurityClassificationCode '{code}'")
    level = parse_banner(LEVELS[code], policy) if code is not None else None
    if given is None:
        return level
    try:
        marking = parse_banner(given, policy, strict=False)
    except MarkingError as exc:
        raise HTTPException(422, f"marking: {exc}") from None
    if level is not None and rollup([marking, level], policy).rank > marking.rank:
        raise HTTPException(
            422, f"marking '{given}' is below the message's classification {batch.classification}"
        )
    return marking


def _known_units(runtime: Runtime, principal: Principal, marking: Marking) -> dict[str, KnownUnit]:
    releases = getattr(runtime, "structure_releases", None)
    if releases is None:
        return {}
    decide = runtime.hub.audience.public
    banner = marking.banner()
    units = {}
    for oid in releases.visible_ids(principal, decide):
        record = releases.markings.get(oid)
        if record is None or rollup([marking, record], runtime.policy).banner() != banner:
            continue  # naming the unit would carry its record further than it may go
        org = releases.structure.organisations[oid]
        units[org_uuid(oid)] = KnownUnit(org.name, org.sidc)
    return units


@router.post("/c2sim")
async def post_reports(
    request: Request, principal: CurrentPrincipal, marking: str | None = None
) -> dict[str, Any]:
    """Ingest a C2SIM report message (body: the XML) into the picture as the caller."""
    # Async on purpose: the hub and its picture belong to the event loop.
    if not is_identified(principal):
        raise HTTPException(403, "an anonymous caller may not post C2SIM reports")
    runtime = runtime_of(request)
    try:
        batch = read_reports(await request.body())
    except C2SIMError as exc:
        raise HTTPException(422, str(exc)) from None
    applied = _event_marking(batch, marking, runtime)
    cot_marking = marking_to_cot(applied) if applied is not None else None
    units = _known_units(runtime, principal, applied or runtime.hub.default_marking)
    hub = runtime.hub
    now = datetime.now(UTC)
    accepted: list[str] = []
    refused: list[str] = []
    for sighting in batch.sightings:
        event = sighting_event(
            sighting, now, known=units.get(sighting.subject), marking=cot_marking
        )
        # The send check, marking, history and picture, as for a TAK client's event.
        (accepted if hub.ingest(None, principal, event, now) else refused).append(event.uid)
    hub.flush()
    hub.wake()
    if refused and not accepted:
        raise HTTPException(403, f"every report was refused (see the audit log): {refused}")
    return {
        "accepted": accepted,
        "refused": refused,
        "marking": (applied or hub.default_marking).banner(),
        "notes": batch.notes,
        "not_mapped": [str(u) for u in batch.unmapped],
    }


@router.get("/c2sim/reports", responses=XML_RESPONSE)
async def get_reports(
    request: Request,
    principal: CurrentPrincipal,
    version: str = VersionQuery,
    header: bool = True,
) -> Response:
    """The caller's releasable picture as one C2SIM position report message."""
    if version not in VERSIONS:
        raise HTTPException(422, f"version: one of {', '.join(VERSIONS)}")
    runtime = runtime_of(request)
    now = datetime.now(UTC)
    entries = [
        e for e in runtime.hub.releasable_picture(principal, now) if e.event.type.startswith("a-")
    ]
    markings = [e.marking for e in entries]
    banner = banner_of(markings, runtime.policy)
    document = position_reports(
        [e.event for e in entries],
        level_code(markings, runtime.policy),
        c2sim_version=version,
        header=header,
    )
    if document is None:
        return Response(status_code=204, headers={BANNER_HEADER: banner})
    return Response(document, media_type="application/xml", headers={BANNER_HEADER: banner})
