"""CoT items as JSON for the web API, with their markings."""

from __future__ import annotations

from typing import Any

from allied_c2.cot.drawing import shape_of
from allied_c2.cot.event import CotEvent
from allied_c2.security.display import marking_json
from allied_c2.security.markings import Marking, rollup
from allied_c2.security.policy import SecurityPolicy

__all__ = ["banner_of", "item_json", "marking_json"]


def item_json(event: CotEvent, marking: Marking) -> dict[str, Any]:
    item = event.to_dict()
    item["marking"] = marking_json(marking)
    if event.type.startswith(("u-d-", "u-r")):
        # Drawings (and ATAK's range-and-bearing tools) carry their geometry (link
        # points, circle rings, a bearing line's ends) for the page to draw.
        item["shape"] = shape_of(event)
    return item


def banner_of(markings: list[Marking], policy: SecurityPolicy) -> str:
    """The roll-up banner of a view: what a page showing these items must be marked."""
    return rollup(markings, policy).banner()
