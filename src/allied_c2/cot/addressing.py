"""Who an event is addressed to, read from the event alone.

CoT addresses a message in two ways (shared reference cot-tak.md):

- ``<marti><dest callsign=… | uid=… | group=… | mission=…/></marti>``: ATAK and
  WinTAK name recipients by callsign, iTAK by uid; TAK Server also routes
  ``group`` and ``mission`` destinations. An empty ``<marti/>`` means broadcast.
- GeoChat (``b-t-f``) without ``<marti>``: ``__chat chatroom`` "All Chat Rooms"
  is everyone; a team colour is that team; anything else is a direct or group
  chat whose members are the ``__chat id`` and the ``chatgrp`` uids.

An addressed event is a need-to-know restriction on top of its marking: it may
reach its sender and its addressees (see ``security/audience.py``), never the
shared picture's wider audience. Reading the addressing is pure and cheap, and
a public event costs two attribute checks.
"""

from __future__ import annotations

from dataclasses import dataclass

from allied_c2.cot.event import CotEvent

ALL_CHAT_ROOMS = "All Chat Rooms"


@dataclass(frozen=True, slots=True)
class Addressing:
    """The destinations of an event; all empty means public (a broadcast)."""

    uids: frozenset[str] = frozenset()
    callsigns: frozenset[str] = frozenset()
    teams: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    missions: frozenset[str] = frozenset()

    @property
    def public(self) -> bool:
        return not (self.uids or self.callsigns or self.teams or self.groups or self.missions)

    def describe(self) -> str:
        """A short text for logs and the audit trail."""
        parts = [
            f"{name}={','.join(sorted(values))}"
            for name, values in (
                ("uid", self.uids),
                ("callsign", self.callsigns),
                ("team", self.teams),
                ("group", self.groups),
                ("mission", self.missions),
            )
            if values
        ]
        return " ".join(parts) or "public"


PUBLIC = Addressing()


def addressing_of(event: CotEvent) -> Addressing:
    """The addressing of ``event`` (:data:`PUBLIC` for a broadcast)."""
    if event.dest_callsigns or event.dest_uids or event.dest_groups or event.dest_missions:
        # TAK Server's rule: explicit destinations replace every other routing.
        return Addressing(
            uids=frozenset(event.dest_uids),
            callsigns=frozenset(event.dest_callsigns),
            groups=frozenset(event.dest_groups),
            missions=frozenset(event.dest_missions),
        )
    chat = event.chat
    if chat is None or not event.type.startswith("b-t-f"):
        return PUBLIC
    room = chat.chatroom
    if not room or room == ALL_CHAT_ROOMS:
        return PUBLIC
    # A room that is not All Chat Rooms is a team (its colour), a direct chat (the
    # recipient's callsign, its uid in __chat id) or a group chat (members in
    # chatgrp). The three cannot be told apart from the event, so the addressees
    # are their union: each is someone the sender meant.
    uids = set(chat.chatgrp_uids)
    if chat.id:
        uids.add(chat.id)
    return Addressing(uids=frozenset(uids), callsigns=frozenset((room,)), teams=frozenset((room,)))
