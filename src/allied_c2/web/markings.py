"""``POST /api/v1/markings/rollup``: the server's roll-up of markings the page shows.

The web page has no marking parser: it sends the distinct markings on screen, as the
server sent them, and shows the banner, portion and colour class this route answers.
Nothing is released here, so any caller may ask; a marking that does not parse is
refused (422) and the page then shows ``MARKING UNKNOWN`` (fail closed).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from allied_c2.security.display import marking_json
from allied_c2.security.markings import Marking, MarkingError, parse_banner, rollup
from allied_c2.web.auth import CurrentPrincipal, runtime_of
from allied_c2.web.originate import allowed_markings

router = APIRouter(prefix="/api/v1")

# More distinct markings than any page shows at once; each entry is parsed once.
MAX_MARKINGS = 10_000
MAX_BANNER_CHARS = 2_000

Banner = Annotated[str, StringConstraints(max_length=MAX_BANNER_CHARS)]


class MarkingPart(BaseModel):
    """A marking object as the API sends it; only ``banner`` and ``originator`` are read."""

    model_config = ConfigDict(extra="ignore")

    banner: Banner
    originator: Annotated[str, StringConstraints(max_length=3)] | None = None


class RollupBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    markings: list[Banner | MarkingPart] = Field(max_length=MAX_MARKINGS)


@router.post("/markings/rollup")
def markings_rollup(
    body: RollupBody, request: Request, principal: CurrentPrincipal
) -> dict[str, str | None]:
    """The roll-up of ``markings`` (banners, or ``{"banner", "originator"}`` objects).

    Duplicates are read once. Answers ``{"banner", "portion", "class", "originator"}``;
    an empty list is the policy's lowest level (UNCLASSIFIED).
    """
    del principal  # identified like every call (a bad token is refused), but not needed
    policy = runtime_of(request).policy
    wanted = dict.fromkeys(
        (entry, None) if isinstance(entry, str) else (entry.banner, entry.originator)
        for entry in body.markings
    )
    parts: list[Marking] = []
    for banner, originator in wanted:
        if originator is not None and originator not in policy.countries:
            raise HTTPException(422, f"'{banner[:200]}': unknown originator '{originator}'")
        try:
            parsed = parse_banner(banner, policy, strict=False)
        except MarkingError as exc:
            raise HTTPException(422, f"'{banner[:200]}': {exc}") from None
        parts.append(parsed.with_originator(originator))
    return marking_json(rollup(parts, policy))


@router.get("/markings/allowed")
def markings_allowed(request: Request, principal: CurrentPrincipal) -> dict[str, object]:
    """The markings the caller may originate, lowest first: the page's marking picker.

    Computed by ``security/originate.py`` with the send rule itself (clearance, the
    schemes the caller's nation may issue in, the nation in every REL TO list), so the
    picker offers nothing the server would refuse. ``default`` is the lowest.
    """
    offered = [marking_json(m) for m in allowed_markings(runtime_of(request), principal)]
    return {"markings": offered, "default": offered[0] if offered else None}
