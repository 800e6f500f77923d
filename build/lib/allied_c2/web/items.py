"""CoT items as JSON for the web API, with their markings."""

from __future__ import annotations

from typing import Any

from allied_c2.cot.event import CotEvent
from allied_c2.security.markings import Marking, rollup
from allied_c2.security.policy import SecurityPolicy


def marking_json(marking: Marking) -> dict[str, str]:
    return {"banner": marking.banner(), "portion": marking.portion()}


def item_json(event: CotEvent, marking: Marking) -> dict[str, Any]:
    item = event.to_dict()
    item["marking"] = marking_json(marking)
    return item


def banner_of(markings: list[Marking], policy: SecurityPolicy) -> str:
    """The roll-up banner of a view: what a page showing these items must be marked."""
    return rollup(markings, policy).banner()
