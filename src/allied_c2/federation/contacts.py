"""The contacts of federated servers, as far as local users may know of them.

A federate tells us about its contacts with ``ContactListEntry`` messages and
with the position reports of its users (SA with a contact endpoint). A contact
is as sensitive as the most restrictive item it sent (as local contacts are,
web/marti.py): one that sent nothing is shown to nobody (fail closed). The
guard also uses these names: an addressed item crosses only toward the server
its addressee's contact came from (guard.py). ``GET /api/v1/federation/contacts``
reads this table, and ``web/federation.py``'s ``federated_end_points`` gives it in
the Marti ``ClientEndpoint`` shape (for ``/Marti/api/clientEndPoints``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from allied_c2.security.audience import Reader
from allied_c2.security.markings import Marking, rollup
from allied_c2.server.hub import Hub


@dataclass(slots=True)
class RemoteContact:
    federate: str
    uid: str
    callsign: str
    seen_at: datetime
    markings: set[Marking] = field(default_factory=set)


class FederatedContacts:
    def __init__(self) -> None:
        self._contacts: dict[tuple[str, str], RemoteContact] = {}

    def __len__(self) -> int:
        return len(self._contacts)

    def seen(self, federate: str, uid: str, callsign: str, now: datetime) -> RemoteContact:
        contact = self._contacts.get((federate, uid))
        if contact is None:
            contact = self._contacts[(federate, uid)] = RemoteContact(federate, uid, callsign, now)
        contact.callsign = callsign or contact.callsign
        contact.seen_at = now
        return contact

    def sent(self, federate: str, uid: str, marking: Marking) -> None:
        """A federate's contact sent an item so marked (its SA, as accepted here)."""
        contact = self._contacts.get((federate, uid))
        if contact is not None:
            contact.markings.add(marking)

    def gone(self, federate: str, uid: str) -> RemoteContact | None:
        return self._contacts.pop((federate, uid), None)

    def forget(self, federate: str) -> None:
        for key in [k for k in self._contacts if k[0] == federate]:
            del self._contacts[key]

    def visible(self, hub: Hub, reader: Reader) -> list[RemoteContact]:
        shown = []
        for contact in self._contacts.values():
            if not contact.markings:
                continue
            if not hub.audience.allows(rollup(contact.markings, hub.policy), reader):
                continue
            entry = hub.picture.get(contact.uid)
            if entry is not None and not hub.sees(entry, reader):
                continue
            shown.append(contact)
        return sorted(shown, key=lambda c: (c.federate, c.callsign))
