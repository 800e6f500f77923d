"""GeoChat (``b-t-f``) as ATAK writes it, and read back for the web COP.

The shapes follow real traffic (shared corpus ``*b-t-f*.xml``): ``__chat`` with
``chatroom``, ``id``, ``senderCallsign`` and a ``chatgrp`` of the sender's and the
room's uids, ``link`` to the sender's uid, the text in ``remarks``, and for a
direct message ``<marti><dest callsign=…/></marti>`` as ATAK and WinTAK address it
through a TAK server. Who may read a message is decided by the addressing read
from the event (cot/addressing.py) and the audience rule, never here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from allied_c2.cot.addressing import ALL_CHAT_ROOMS
from allied_c2.cot.event import CotEvent
from allied_c2.cot.times import format_time
from allied_c2.cot.xmltree import new_element, sub_element

CHAT_TYPE = "b-t-f"
CHAT_HOW = "h-g-i-g-o"
CHAT_LIFE = timedelta(days=1)  # what ATAK gives a message
# ATAK's team colours: a chat room with one of these names is that team's room.
TEAMS = frozenset(
    {
        "White",
        "Yellow",
        "Orange",
        "Magenta",
        "Red",
        "Maroon",
        "Purple",
        "Dark Blue",
        "Blue",
        "Cyan",
        "Teal",
        "Green",
        "Dark Green",
        "Brown",
    }
)
_FAR = "9999999.0"


@dataclass(frozen=True, slots=True)
class ChatTarget:
    """Where a message goes: everyone, a team, or one contact (callsign and, if known, uid)."""

    room: str  # "All Chat Rooms", the team's name, or the contact's callsign
    room_id: str  # the same for rooms and teams; the contact's uid (or callsign) when direct
    direct: bool = False

    @classmethod
    def everyone(cls) -> ChatTarget:
        return cls(ALL_CHAT_ROOMS, ALL_CHAT_ROOMS)

    @classmethod
    def team(cls, name: str) -> ChatTarget:
        return cls(name, name)

    @classmethod
    def contact(cls, callsign: str, uid: str | None) -> ChatTarget:
        return cls(callsign, uid or callsign, direct=True)


def chat_event(
    sender_uid: str,
    sender_callsign: str,
    target: ChatTarget,
    text: str,
    now: datetime,
    *,
    message_id: str | None = None,
) -> CotEvent:
    """The ``b-t-f`` ATAK sends for ``text`` from ``sender`` to ``target``."""
    message_id = message_id or str(uuid.uuid4())
    detail = new_element("detail")
    chat_attrs = {
        "chatroom": target.room,
        "id": target.room_id,
        "senderCallsign": sender_callsign,
        "groupOwner": "false",
        "messageId": message_id,
    }
    if target.room != ALL_CHAT_ROOMS:
        chat_attrs["parent"] = "RootContactGroup" if target.direct else "TeamGroups"
    chat = sub_element(detail, "__chat", chat_attrs)
    sub_element(chat, "chatgrp", {"uid0": sender_uid, "uid1": target.room_id, "id": target.room_id})
    sub_element(detail, "link", {"uid": sender_uid, "type": "a-f-G-U-C", "relation": "p-p"})
    remarks = sub_element(
        detail,
        "remarks",
        {"source": f"BAO.F.ATAK.{sender_uid}", "to": target.room_id, "time": format_time(now)},
    )
    remarks.text = text
    if target.direct:
        marti = sub_element(detail, "marti", {})
        sub_element(marti, "dest", {"callsign": target.room})
    return CotEvent.create(
        uid=f"GeoChat.{sender_uid}.{target.room_id}.{message_id}",
        type=CHAT_TYPE,
        how=CHAT_HOW,
        time=now,
        start=now,
        stale=now + CHAT_LIFE,
        lat=0.0,
        lon=0.0,
        hae=float(_FAR),
        ce=float(_FAR),
        le=float(_FAR),
        detail=detail,
    )


def is_message(event: CotEvent) -> bool:
    """A GeoChat message (not a delivered/read receipt)."""
    return event.type == CHAT_TYPE and event.chat is not None


def chat_fields(event: CotEvent) -> dict[str, Any]:
    """A message as the web COP shows it, in the terms TAK clients show it."""
    chat = event.chat
    room = chat.chatroom if chat is not None and chat.chatroom else ALL_CHAT_ROOMS
    sender_uid = event.link_uids[0] if event.link_uids else None
    if chat is not None and chat.chatgrp_uids:
        sender_uid = sender_uid or chat.chatgrp_uids[0]
    if room == ALL_CHAT_ROOMS:
        kind = "all"
    elif room in TEAMS:
        kind = "team"
    else:
        kind = "direct"
    return {
        "uid": event.uid,
        "time": format_time(event.time),
        "room": room,
        "room_id": chat.id if chat is not None else None,
        "kind": kind,
        "sender": chat.sender_callsign if chat is not None else event.callsign,
        "sender_uid": sender_uid,
        "to": sorted({*event.dest_callsigns, *event.dest_uids}),
        "text": event.remarks or "",
    }
