"""Requests and readiness across the link: CoT events of one dedicated type (pure).

TAK federation v2 carries CoT events and contacts, nothing else, so what the
alliance services exchange travels as a CoT event of type ``t-x-a2c``
("allied-c2 alliance relay") addressed to the peer server (``<marti><dest
callsign="fed:NAME"/>``: a TAK Server relays it to no client, and allied-c2
routes it to its alliance services, never into the picture). The payload is a
JSON object in ``<__allied_c2 kind="…" v="1">`` in the detail; the event's
``access``/``caveat``/``releasableTo`` carry the request's or report's own
marking, so the outbound guard decides it like any item and the inbound send
check (valid marking, within the accreditation) applies. Kinds:

- ``request.state``: the home server's whole request (lifecycle machine and
  record fields) for a server holding an organisation on its route;
- ``request.action``: an action taken on a peer for one of its organisations;
- ``request.refused``: the home server's answer when such an action was refused;
- ``readiness.report``: one readiness report.

Each message has its own uid and time, so the link's duplicate detection drops
the copies that the resend window puts on the wire again after a drop.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from allied_c2.cot.event import CotEvent
from allied_c2.cot.xmltree import new_element, sub_element
from allied_c2.security.markings import Marking, marking_to_cot

RELAY_TYPE = "t-x-a2c"
ELEMENT = "__allied_c2"
VERSION = "1"
REQUEST_STATE = "request.state"
REQUEST_ACTION = "request.action"
REQUEST_REFUSED = "request.refused"
READINESS_REPORT = "readiness.report"
KINDS = frozenset({REQUEST_STATE, REQUEST_ACTION, REQUEST_REFUSED, READINESS_REPORT})
# A relay message is history once the peer has had a day to take it.
STALE_AFTER = timedelta(days=1)
MAX_PAYLOAD_CHARS = 4 * 1024 * 1024


class RelayError(ValueError):
    """A relay event that cannot be read."""


@dataclass(frozen=True, slots=True)
class Relayed:
    kind: str
    payload: dict[str, Any]


def is_relay(cot_type: str) -> bool:
    return cot_type == RELAY_TYPE


def relay_event(
    kind: str, payload: dict[str, Any], marking: Marking, to: str, now: datetime
) -> CotEvent:
    """The event that carries ``payload`` under ``marking`` to the peer principal ``to``."""
    if kind not in KINDS:
        raise ValueError(f"unknown relay kind {kind!r}")
    access, caveat, releasable = marking_to_cot(marking)
    detail = new_element("detail")
    element = sub_element(detail, ELEMENT, {"kind": kind, "v": VERSION})
    element.text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    marti = sub_element(detail, "marti", {})
    sub_element(marti, "dest", {"callsign": to})
    return CotEvent.create(
        uid=f"a2c-{uuid.uuid4()}",
        type=RELAY_TYPE,
        how="h-g-i-g-o",
        time=now,
        start=now,
        stale=now + STALE_AFTER,
        lat=0.0,
        lon=0.0,
        access=access,
        caveat=caveat,
        releasable_to=releasable,
        detail=detail,
    )


def relayed(event: CotEvent) -> Relayed:
    """The kind and payload of a relay event; raises :class:`RelayError`."""
    detail = event.detail
    element = detail.find(ELEMENT) if detail is not None else None
    if element is None:
        raise RelayError(f"a {RELAY_TYPE} event without <{ELEMENT}>")
    kind = element.get("kind", "")
    if kind not in KINDS or element.get("v") != VERSION:
        raise RelayError(f"unknown relay kind {kind!r} (version {element.get('v')!r})")
    text = element.text or ""
    if len(text) > MAX_PAYLOAD_CHARS:
        raise RelayError(f"relay payload of {len(text)} characters")
    try:
        payload = json.loads(text)
    except ValueError as exc:
        raise RelayError(f"relay payload is not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise RelayError("relay payload is not a JSON object")
    return Relayed(kind, payload)
