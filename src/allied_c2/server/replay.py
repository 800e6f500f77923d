"""The picture as it stood at a past moment, for replay and after-action review.

Rebuilt from history rows (``EventReader.picture_at``: for each uid its newest
event at that moment, if still fresh then) and shown through the one audience
decision (``history_views.visible_rows``), so a replay shows a reader exactly
what the live picture could have shown it then. Deletes are applied as the hub
applies them live: a ``t-x-d-d`` with ``__forcedelete`` removes an older item
of the same marking (server/hub.py ``_delete``).
"""

from __future__ import annotations

from collections.abc import Iterable

from allied_c2.cot.drawing import forced_deletes
from allied_c2.cot.event import CotEvent
from allied_c2.cot.special import keeps_in_picture
from allied_c2.security.audience import Reader
from allied_c2.security.markings import Marking
from allied_c2.server.history_views import R, visible_rows
from allied_c2.server.hub import Hub


def picture_at(
    hub: Hub, rows: Iterable[R], reader: Reader, max_bytes: int
) -> list[tuple[CotEvent, Marking]]:
    """The visible picture from ``picture_at`` rows, oldest report first."""
    items: dict[str, tuple[CotEvent, Marking]] = {}
    for _, event, marking in visible_rows(hub, rows, reader, max_bytes):
        if keeps_in_picture(event):
            items[event.uid] = (event, marking)
            continue
        for uid in forced_deletes(event):
            item = items.get(uid)
            if item is None or item[0].time > event.time:
                continue
            if item[1].banner() == marking.banner():
                del items[uid]
    return sorted(items.values(), key=lambda item: item[0].time)
