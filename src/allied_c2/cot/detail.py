"""What the server needs from an event's ``<detail>``, read in one pass.

The element itself stays with the event for re-serialisation; these are the
fields routing, the picture and the web API look at.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from allied_c2.cot.xmltree import Element


@dataclass(frozen=True, slots=True)
class ChatInfo:
    """GeoChat's ``<__chat>`` and its ``<chatgrp>`` (the uids of the room's members)."""

    chatroom: str | None = None
    id: str | None = None
    sender_callsign: str | None = None
    parent: str | None = None
    message_id: str | None = None
    chatgrp_uids: tuple[str, ...] = ()
    chatgrp_id: str | None = None


@dataclass(slots=True)
class DetailInfo:
    callsign: str | None = None
    endpoint: str | None = None
    group_name: str | None = None
    group_role: str | None = None
    dest_callsigns: tuple[str, ...] = ()
    dest_uids: tuple[str, ...] = ()
    dest_missions: tuple[str, ...] = ()
    dest_groups: tuple[str, ...] = ()
    chat: ChatInfo | None = None
    link_uids: tuple[str, ...] = ()
    course: float | None = None
    speed: float | None = None
    remarks: str | None = None


def _finite(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _chat(element: Element) -> ChatInfo:
    uids: list[tuple[int, str]] = []
    chatgrp_id: str | None = None
    for child in element:
        if child.tag != "chatgrp":
            continue
        chatgrp_id = child.get("id")
        for key, value in child.attrib.items():
            if key.startswith("uid") and key[3:].isdigit():
                uids.append((int(key[3:]), value))
        break
    uids.sort()
    return ChatInfo(
        chatroom=element.get("chatroom"),
        id=element.get("id"),
        sender_callsign=element.get("senderCallsign"),
        parent=element.get("parent"),
        message_id=element.get("messageId"),
        chatgrp_uids=tuple(uid for _, uid in uids),
        chatgrp_id=chatgrp_id,
    )


def read_detail(detail: Element | None) -> DetailInfo:
    info = DetailInfo()
    if detail is None:
        return info
    # Most events are positions with contact, group and track: test for those
    # first, and make no lists unless addressing or links are present.
    dests: list[Element] | None = None
    links: list[str] | None = None
    for child in detail:
        tag = child.tag
        if tag == "contact":
            info.callsign = child.get("callsign")
            info.endpoint = child.get("endpoint")
        elif tag == "__group":
            info.group_name = child.get("name")
            info.group_role = child.get("role")
        elif tag == "track":
            info.course = _finite(child.get("course"))
            info.speed = _finite(child.get("speed"))
        elif tag == "marti":
            dests = dests or []
            dests.extend(d for d in child if d.tag == "dest")
        elif tag == "dest":
            dests = dests or []
            dests.append(child)
        elif tag == "__chat" or tag == "__chatreceipt":
            # A receipt (b-t-f-d, b-t-f-r) names the same room and members as its
            # message, so it is addressed like the message it answers.
            info.chat = _chat(child)
        elif tag == "link":
            uid = child.get("uid")
            if uid:
                links = links or []
                links.append(uid)
        elif tag == "remarks":
            info.remarks = child.text or ""
    if dests:
        _read_dests(dests, info)
    if links:
        info.link_uids = tuple(links)
    return info


def _read_dests(dests: list[Element], info: DetailInfo) -> None:
    dest_callsigns: list[str] = []
    dest_uids: list[str] = []
    dest_missions: list[str] = []
    dest_groups: list[str] = []
    for dest in dests:
        for key, bucket in (
            ("callsign", dest_callsigns),
            ("uid", dest_uids),
            ("mission", dest_missions),
            ("group", dest_groups),
        ):
            value = dest.get(key)
            if value:
                bucket.append(value)
    info.dest_callsigns = tuple(dest_callsigns)
    info.dest_uids = tuple(dest_uids)
    info.dest_missions = tuple(dest_missions)
    info.dest_groups = tuple(dest_groups)
