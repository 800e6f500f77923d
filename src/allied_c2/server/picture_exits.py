"""Where the picture leaves the hub: catch-up, the web views, HTTP reads and restore.

Every read of the picture decides through the hub's one audience (release, then
addressing); this module is those exits, apart from the relay's live fan-out
(hub.py) so that each reads as one decision. A public item needs no identities
unless groups are configured; an addressed one is decided against the reader's
names (security/audience.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from allied_c2.cot.addressing import Addressing, addressing_of
from allied_c2.cot.event import CotEvent
from allied_c2.cot.special import keeps_in_picture
from allied_c2.security.audience import NO_ORIGIN, Audience, Origin, Reader
from allied_c2.security.markings import Marking
from allied_c2.security.principals import Principal
from allied_c2.server.channels import stored_origin
from allied_c2.server.identities import Identities
from allied_c2.server.peers import Peer, PictureListener, Restored
from allied_c2.server.picture import Picture, PictureEntry


class PictureExits:
    def __init__(
        self,
        picture: Picture,
        audience: Audience,
        identities: Identities,
        listeners: set[PictureListener],
        reader_of: Callable[[Peer], Reader],
        server_callsign: str,
    ) -> None:
        self.picture = picture
        self.audience = audience
        self.identities = identities
        self.listeners = listeners  # the hub's set: views come and go there
        self._reader_of = reader_of
        self._server = server_callsign

    def reader_for(self, principal: Principal) -> Reader:
        """Who a principal is on the HTTP API and the web views (no connection of its own)."""
        return self.identities.reader(principal)

    def sees(self, entry: PictureEntry, reader: Reader | Principal) -> bool:
        """The audience decision for a picture entry (a public one needs no identities)."""
        if entry.addressing.public and not self.identities.grouped:
            principal = reader if isinstance(reader, Principal) else reader.principal
            return self.audience.public(entry.marking, principal).allowed
        if isinstance(reader, Principal):
            reader = self.reader_for(reader)
        return self.audience.allows(entry.marking, reader, entry.addressing, entry.origin)

    def catch_up_item(self, uid: str, peer: Peer, now: datetime) -> CotEvent | None:
        """The current version of a picture item for a catch-up, if still live and visible.

        Catch-up is paced by the client's transport, so an item is looked up
        when it is due: a newer report sent live in the meantime is never
        overtaken by an older one, and a client that reads slowly during its
        catch-up is not mistaken for a slow consumer. The audience is decided
        then too, with the names the connection has bound by that time.
        """
        entry = self.picture.get(uid)
        if entry is None or entry.event.stale <= now:
            return None
        if entry.addressing.public and not self.identities.grouped:
            if not self.audience.public(entry.marking, peer.principal).allowed:
                return None
        elif not self.audience.allows(
            entry.marking, self._reader_of(peer), entry.addressing, entry.origin
        ):
            return None
        return entry.event

    def visible(self, reader: Reader | Principal, now: datetime) -> list[PictureEntry]:
        """The picture as ``reader`` may see it (release and addressing)."""
        if isinstance(reader, Principal):
            reader = self.reader_for(reader)
        return [e for e in self.picture.current(now) if self.sees(e, reader)]

    def notify_views(self, message: dict[str, object], marking: Marking) -> None:
        """Send a JSON message (request or readiness news) to the live views allowed to see it."""
        public = self.audience.public
        for listener in list(self.listeners):
            if public(marking, listener.principal).allowed:
                listener.message(message)

    def changed(self, uid: str) -> None:
        """Tell the live views that may see it that ``uid`` has a new version."""
        if not self.listeners:
            return
        entry = self.picture.get(uid)
        if entry is None:
            return
        for listener in list(self.listeners):
            if self.sees(entry, listener.principal):
                listener.item(entry)

    def delete(self, uids: Iterable[str], marking: Marking, principal: Principal) -> None:
        """Apply a TAK delete (``t-x-d-d`` with ``__forcedelete``) to the picture.

        The delete is relayed like any event; the server's picture drops the item
        only when the delete is marked exactly as the item (so it reaches the same
        readers, and its sender passed the send check at that marking: only those
        who may originate at a marking edit what carries it) and the sender may
        see the item. An unmarked delete from ATAK so removes only items at the
        default marking.
        """
        reader = self.reader_for(principal)
        for uid in uids:
            entry = self.picture.get(uid)
            if entry is None or entry.marking.banner() != marking.banner():
                continue
            if not self.sees(entry, reader):
                continue
            self.picture.remove(uid)
            for listener in list(self.listeners):
                if self.sees(entry, listener.principal):
                    listener.removed(uid, "deleted")

    def sweep(self, now: datetime) -> int:
        """Drop stale items from the picture and tell the live views."""
        gone = self.picture.expire(now)
        for entry in gone:
            for listener in list(self.listeners):
                if self.sees(entry, listener.principal):
                    listener.removed(entry.event.uid, "stale")
        return len(gone)

    def restore(self, rows: Iterable[Restored]) -> int:
        """Rebuild the picture from history after a restart, by the live rules.

        Only what live input would have put in the picture comes back (map
        items, not chat or control traffic), each with the addressing read
        from the event and its sender as origin, so a restart never widens an
        item's audience. Identified senders' SA rows also bring back the names
        they answer to, for addressed reads of the history.
        """
        count = 0
        for row in rows:
            event = row.event
            if not keeps_in_picture(event):
                continue
            identified = row.originator is not None and row.sender is not None
            if identified and event.type.startswith("a-") and event.endpoint:
                claimant = Principal(callsign=row.sender or "", nation=row.originator)
                self.identities.claim(claimant, event.uid, event.callsign, event.group_name)
            addressing = addressing_of(event)
            origin = self.stored_origin(row.sender, identified, addressing)
            if self.picture.update(event, row.marking, row.sender, addressing, origin):
                count += 1
        return count

    def stored_origin(self, sender: str | None, identified: bool, addressing: Addressing) -> Origin:
        """The origin of a history row, by the live rules (restore, history reads)."""
        if not self.identities.grouped:
            if addressing.public:
                return NO_ORIGIN
            return Origin(sender if identified else None, None)
        return stored_origin(self.identities, sender, identified, addressing, self._server)
