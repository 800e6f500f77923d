"""After a restart: catch the links up from history (I/O edge).

Two things survive a restart in the store. What the federates sent us: the
(uid, time, type) of their recent rows seed each link's duplicate detection, so
what a peer sends again after the drop is dropped. And each link's outbound
cursor (the arrival time of the newest item written to it, saved every second):
the rows that arrived after it, less the resend window (what a killed peer may
have lost, link.py), that are not stale, are offered to the link again in
arrival order, through the guard as it stands now. At most
``federation_backlog_max`` rows are read (the newest).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from allied_c2.cot.addressing import addressing_of
from allied_c2.federation.guard import Offer
from allied_c2.federation.identity import federate_of
from allied_c2.security.audience import NO_ORIGIN, Origin
from allied_c2.server.history_views import restored

if TYPE_CHECKING:
    from allied_c2.federation.service import FederationService

log = logging.getLogger("allied_c2.federation")
# Duplicates: what the federates sent in the resend window plus this margin.
SEED_MARGIN = timedelta(minutes=5)


async def seed_and_replay(service: FederationService) -> int:
    now, store, members = service.now(), service.store, service.members
    senders = {m.principal.callsign: m for m in members.values()}
    horizon = now - service.resend_window - SEED_MARGIN
    for sender, uid, time, cot_type in await asyncio.to_thread(
        store.recent_keys, horizon, list(senders)
    ):
        senders[sender].link.remember((uid, int(time.timestamp() * 1000), cot_type))
    cursors = {n: c for n, c in (await asyncio.to_thread(store.cursors)).items() if n in members}
    if not cursors:
        return 0
    due = {name: cursor - service.resend_window for name, cursor in cursors.items()}
    for name, cursor in cursors.items():
        members[name].link.cursor = cursor
    limit = service.config.federation_backlog_max
    rows = await asyncio.to_thread(store.replay_rows, min(due.values()), now, limit)
    replayed = 0
    for row in rows:
        item = restored(row, service.hub, service.config.max_event_bytes)
        if item is None:
            continue
        addressing = addressing_of(item.event)
        identified = row.originator is not None and row.sender is not None
        origin = (
            NO_ORIGIN if addressing.public else Origin(row.sender if identified else None, None)
        )
        via = federate_of(row.sender or "")
        offer = Offer(
            item.event,
            item.marking,
            addressing,
            origin,
            row.sender or "",
            row.received_at,
            via if via in members else None,
        )
        for name, since in due.items():
            if row.received_at > since and members[name].link.offer(offer, now) is None:
                replayed += 1
    log.info("federation: %d item(s) offered again from history after the restart", replayed)
    return replayed
