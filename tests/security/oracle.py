"""The reference the security tests compare the server with.

Written from the rules in docs/security-model.md ("The release decision", "Who
an item is for") directly over the test's own reading of the shipped policy
file. It calls no decision, addressing or routing code of allied_c2: it only
reads the fields of a parsed ``Marking`` and of a ``Principal`` (plain data).

Three parts:

- :func:`reference_allows` / :func:`reference_may_send`: the release and send
  rules for one marking and one principal;
- :func:`reference_addressing` and :func:`may_see` / :func:`may_receive_live`:
  who an item is for (``<marti><dest>``, GeoChat rooms), and the audience rule
  that combines it with release;
- :class:`ReferenceServer`: a model of a server that follows those rules, with
  connections, bindings, the picture and the history, answering "what may this
  reader get at this exit now" for the exit-matrix test.

Where the rule leaves a point open the model answers with a band, ``must``
(what every reading of the rule delivers) and ``may`` (what some reading
allows); the exit-matrix test checks ``must <= observed <= may``. The bands are
listed in :class:`Expect`. How the model reads the rest:

- a connection binds uid, callsign and team from its first *accepted* SA
  (``a-…`` with ``<contact endpoint=…>``); a refused event binds nothing;
- only ``<dest>`` inside ``<marti>`` counts, and only non-empty attributes; a
  GeoChat is read from ``<__chat>`` (a receipt's ``<__chatreceipt>`` is not in
  the rule, so the exit matrix does not send one);
- the sender is the identified sending principal or the sending connection
  itself, whether or not that connection has bound a uid, and for the
  anonymous profile too;
- who may mark what follows the policy file: a scheme with ``issuers`` is
  national (JPN, PHL; NATO for NATO members), the US scheme has none and is
  open to every nation.
"""

from __future__ import annotations

import tomllib
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from typing import Any

from allied_c2.security.markings import Marking
from allied_c2.security.principals import Principal

RAW: dict[str, Any] = tomllib.loads(
    resources.files("allied_c2").joinpath("config/security-policy.toml").read_text("utf-8")
)
LATTICE: list[str] = RAW["lattice"]
LEVELS: dict[str, tuple[str, bool]] = {
    level["name"]: (system, level.get("controlled", False))
    for system, body in RAW["systems"].items()
    for level in body["levels"]
}
HOME: dict[str, str | None] = {s: body.get("nation") for s, body in RAW["systems"].items()}
ISSUERS: dict[str, list[str]] = {s: body.get("issuers", []) for s, body in RAW["systems"].items()}
TETRA: dict[str, set[str]] = {k: set(v) for k, v in RAW["tetragraphs"].items()}
PERMISSIVE = set(RAW["coi"]["permissive"]) - set(RAW["coi"]["restrictive"])
# Explicit SCHEME:SHORT clearance names and the level each means.
CLEARANCES: dict[str, str] = {
    f"{system}:{level.get('short', level['name'].removeprefix(system + ' '))}": level["name"]
    for system, body in RAW["systems"].items()
    for level in body["levels"]
}

Table = dict[str, int]  # level name -> rank in the lattice

# The shipped equivalence table and CUI setting (the server in the exit matrix runs them).
SHIPPED_TABLE: Table = {
    level["name"]: LATTICE.index(level["equivalent"])
    for body in RAW["systems"].values()
    for level in body["levels"]
}
SHIPPED_CUI_ANY: bool = RAW["cui_without_rel_to"] == "any-nation"


def expand(codes: Iterable[str]) -> set[str]:
    nations: set[str] = set()
    for code in codes:
        nations |= TETRA.get(code, {code})
    return nations


def clearance_level(p: Principal) -> str:
    """``SCHEME:SHORT``, or a bare name: in the principal's national scheme first, else US."""
    if p.clearance in CLEARANCES:
        return CLEARANCES[p.clearance]
    for system, nation in HOME.items():
        if nation is not None and nation == p.nation and f"{system}:{p.clearance}" in CLEARANCES:
            return CLEARANCES[f"{system}:{p.clearance}"]
    return CLEARANCES[f"US:{p.clearance}"]


def clearance_rank(p: Principal, table: Table) -> int:
    return table[clearance_level(p)]


def _restrictive(m: Marking) -> set[str]:
    return set(m.sci) | {f"SAR-{s}" for s in m.sap} | {c for c in m.cois if c not in PERMISSIVE}


def _need_to_know(m: Marking, p: Principal) -> bool:
    if not _restrictive(m) <= p.cois:
        return False
    permissive = {c for c in m.cois if c in PERMISSIVE}
    return not permissive or bool(permissive & p.cois)


def is_public_marking(m: Marking, table: Table) -> bool:
    """UNCLASSIFIED with no control and no COI: what the anonymous profile may get or send."""
    controlled = LEVELS[m.level][1]
    return table[m.level] == 0 and not controlled and not (m.dissem or m.cois or m.sci or m.sap)


def reference_allows(m: Marking, p: Principal, table: Table, cui_any: bool) -> bool:
    """The release rules, stated as plainly as possible."""
    item_rank = table[m.level]
    if clearance_rank(p, table) < item_rank:
        return False
    controlled = LEVELS[m.level][1]
    unrestricted = item_rank == 0 and not controlled and not m.dissem
    if p.nation is None:
        return unrestricted and not (m.cois or m.sci or m.sap)
    owner = m.originator or HOME[m.system]
    if p.nation != owner and not unrestricted:
        if "NOFORN" in m.dissem:
            return False
        if m.rel_to:
            if p.nation not in expand(m.rel_to):
                return False
        elif "RELIDO" in m.dissem or "DISPLAY ONLY" in m.dissem:
            return False
        elif item_rank == 0 and cui_any and m.dissem <= {"FOUO"}:
            pass
        elif not (m.system == "NATO" and p.nation in TETRA["NATO"]):
            return False
    return _need_to_know(m, p)


def reference_may_send(m: Marking, p: Principal, table: Table) -> bool:
    """docs/security-model.md: at or below its clearance and need to know, its own nation
    as originator (the server records it), a national scheme only if it is that nation's
    (the policy's ``issuers``, NATO levels: NATO members), its nation in any REL TO list;
    the anonymous profile only public items."""
    if p.nation is None:
        return is_public_marking(m, table)
    if clearance_rank(p, table) < table[m.level]:
        return False
    issuers = ISSUERS[m.system]
    if issuers and p.nation not in expand(issuers):
        return False
    if m.rel_to and p.nation not in expand(m.rel_to):
        return False
    return _need_to_know(m, p)


# ----------------------------------------------------------------- addressing

ALL_CHAT_ROOMS = "All Chat Rooms"
MAP_PREFIXES = ("a-", "b-m-p", "u-d-", "b-a-o-")
MAP_EXACT = frozenset({"u-rb-a", "b-r-f-h-c"})


def is_map_item(cot_type: str) -> bool:
    """The types the picture keeps (latest per uid): units, markers, drawings, alerts…"""
    return cot_type in MAP_EXACT or cot_type.startswith(MAP_PREFIXES)


def is_geochat(cot_type: str) -> bool:
    return cot_type == "b-t-f" or cot_type.startswith("b-t-f-")


@dataclass(frozen=True)
class Addressing:
    """Who an item is for; all empty means public."""

    uids: frozenset[str] = frozenset()
    callsigns: frozenset[str] = frozenset()
    teams: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    missions: frozenset[str] = frozenset()

    @property
    def public(self) -> bool:
        return not (self.uids or self.callsigns or self.teams or self.groups or self.missions)


PUBLIC = Addressing()


def reference_addressing(cot_type: str, detail: ET.Element | None) -> Addressing:
    """The addressees of an event, read with the standard library's ElementTree.

    ``<marti>`` with at least one ``<dest>`` carrying callsign=, uid=, group= or
    mission= (non-empty) is addressed to exactly those; otherwise a GeoChat whose
    ``<__chat chatroom=…>`` is present and not "All Chat Rooms" is addressed to
    the team and the callsign named by the room, the uid ``__chat id`` and every
    ``chatgrp`` uidN; everything else is public.
    """
    if detail is None:
        return PUBLIC
    found: dict[str, set[str]] = {"uid": set(), "callsign": set(), "group": set(), "mission": set()}
    for marti in detail.findall("marti"):
        for dest in marti.findall("dest"):
            for key, bucket in found.items():
                value = dest.get(key)
                if value:
                    bucket.add(value)
    if any(found.values()):
        return Addressing(
            uids=frozenset(found["uid"]),
            callsigns=frozenset(found["callsign"]),
            groups=frozenset(found["group"]),
            missions=frozenset(found["mission"]),
        )
    if not is_geochat(cot_type):
        return PUBLIC
    chat = detail.find("__chat")
    if chat is None:
        return PUBLIC
    room = chat.get("chatroom")
    if room is None or room == ALL_CHAT_ROOMS:
        return PUBLIC
    uids = {chat.get("id") or ""} - {""}
    for group in chat.findall("chatgrp"):
        uids |= {v for k, v in group.attrib.items() if k[:3] == "uid" and k[3:].isdigit() and v}
    return Addressing(uids=frozenset(uids), callsigns=frozenset({room}), teams=frozenset({room}))


# ------------------------------------------------------------------- audience


def is_identified(p: Principal) -> bool:
    return p.nation is not None


@dataclass(frozen=True)
class Names:
    """What a reader answers to: uids, callsigns and teams."""

    uids: frozenset[str] = frozenset()
    callsigns: frozenset[str] = frozenset()
    teams: frozenset[str] = frozenset()

    def __or__(self, other: Names) -> Names:
        return Names(
            self.uids | other.uids, self.callsigns | other.callsigns, self.teams | other.teams
        )


NO_NAMES = Names()


@dataclass(frozen=True)
class Origin:
    """Who sent an item: its principal and the connection it came on (None: none)."""

    principal: Principal
    connection: str | None = None
    # The uid the sending connection had bound when it sent (for the reconnect band).
    connection_uid: str | None = None


@dataclass(frozen=True)
class Reader:
    principal: Principal
    names: Names = NO_NAMES
    connection: str | None = None  # the connection it reads on; None on HTTP and web views
    connection_uid: str | None = None


def is_sender(reader: Reader, origin: Origin, *, by_uid: bool = False) -> bool:
    """Identified and the sending principal, or reading on the sending connection.

    ``by_uid`` also counts a connection that has bound the uid the sending
    connection had (a device reconnecting after a restart): the rule names the
    connection, an implementation may only know its uid.
    """
    if is_identified(reader.principal) and reader.principal == origin.principal:
        return True
    if reader.connection is not None and reader.connection == origin.connection:
        return True
    return (
        by_uid
        and reader.connection_uid is not None
        and (reader.connection_uid == origin.connection_uid)
    )


def is_addressee(names: Names, addressing: Addressing) -> bool:
    # Groups and missions: no reader has any yet (missions come later).
    return bool(
        names.uids & addressing.uids
        or names.callsigns & addressing.callsigns
        or names.teams & addressing.teams
    )


def is_auditor(p: Principal) -> bool:
    return "auditor" in p.roles  # the explicit role: admin does not imply it


def may_see(
    marking: Marking,
    addressing: Addressing,
    origin: Origin,
    reader: Reader,
    table: Table = SHIPPED_TABLE,
    cui_any: bool = SHIPPED_CUI_ANY,
    *,
    by_uid: bool = False,
) -> bool:
    """The audience rule for the picture, catch-up, history and web views."""
    if not reference_allows(marking, reader.principal, table, cui_any):
        return False
    return (
        addressing.public
        or is_sender(reader, origin, by_uid=by_uid)
        or is_addressee(reader.names, addressing)
        or is_auditor(reader.principal)
    )


def may_receive_live(
    marking: Marking,
    addressing: Addressing,
    origin: Origin,
    reader: Reader,
    table: Table = SHIPPED_TABLE,
    cui_any: bool = SHIPPED_CUI_ANY,
) -> bool:
    """Live CoT: never echoed to the sending connection; addressed only to addressees."""
    if reader.connection is not None and reader.connection == origin.connection:
        return False
    if not reference_allows(marking, reader.principal, table, cui_any):
        return False
    return addressing.public or is_addressee(reader.names, addressing)


# ---------------------------------------------------------------- the model


@dataclass(frozen=True)
class Expect:
    """What an exit may deliver: at least ``must``, at most ``may``.

    The two differ only where the rule is open:

    - names bound by a principal's connections that are gone (after a restart):
      ``must`` counts live connections only, ``may`` every connection it had;
    - a connection that re-binds, after a restart, the uid of the connection that
      sent an item: ``may`` counts it as the sender;
    - a web view told of a picture change whose item is already stale: ``may``.
    """

    must: frozenset[Any]
    may: frozenset[Any]

    @staticmethod
    def exactly(values: Iterable[Any]) -> Expect:
        values = frozenset(values)
        return Expect(values, values)


@dataclass
class RefItem:
    serial: int
    uid: str
    type: str
    time: datetime
    stale: datetime
    marking: Marking
    addressing: Addressing
    origin: Origin
    # The SA that binds: (uid, callsign, team) when it is a-… with <contact endpoint>.
    endpoint: bool = False
    callsign: str | None = None
    team: str | None = None


@dataclass
class RefConnection:
    name: str
    principal: Principal
    uid: str | None = None
    callsign: str | None = None
    team: str | None = None

    @property
    def names(self) -> Names:
        return Names(_one(self.uid), _one(self.callsign), _one(self.team))


def _one(value: str | None) -> frozenset[str]:
    return frozenset() if value is None else frozenset({value})


@dataclass
class SendOutcome:
    accepted: bool
    item: RefItem
    live: dict[str, tuple[bool, bool]] = field(default_factory=dict)  # conn -> (must, may)
    in_picture: bool = False  # the picture changed (web views are told)


class ReferenceServer:
    """A server that follows the documented rules exactly, without sockets or storage."""

    def __init__(self, table: Table = SHIPPED_TABLE, cui_any: bool = SHIPPED_CUI_ANY) -> None:
        self.table = table
        self.cui_any = cui_any
        self.connections: dict[str, RefConnection] = {}  # live, by name
        self.gone: list[RefConnection] = []  # connections of an earlier run (before a restart)
        self.history: list[RefItem] = []  # every accepted item, in order
        self.picture: dict[str, RefItem] = {}  # latest map item per uid
        self._names: dict[tuple[Principal, str | None, bool], Names] = {}  # until bindings change

    # -- who a reader is -------------------------------------------------------

    def names_of(self, principal: Principal, connection: str | None, *, wide: bool) -> Names:
        key = (principal, connection, wide)
        names = self._names.get(key)
        if names is None:
            names = self._names[key] = self._names_of(principal, connection, wide=wide)
        return names

    def _names_of(self, principal: Principal, connection: str | None, *, wide: bool) -> Names:
        names = NO_NAMES
        own = self.connections.get(connection) if connection is not None else None
        if own is not None:
            names = own.names
        if is_identified(principal):
            names = names | Names(callsigns=frozenset({principal.callsign}))
            connections = list(self.connections.values())
            if wide:
                connections += self.gone
            for other in connections:
                if other.principal == principal:
                    names = names | other.names
        return names

    def reader(self, principal: Principal, connection: str | None, *, wide: bool) -> Reader:
        own = self.connections.get(connection) if connection is not None else None
        return Reader(
            principal,
            self.names_of(principal, connection, wide=wide),
            connection,
            own.uid if own is not None else None,
        )

    def sees(
        self, item: RefItem, principal: Principal, connection: str | None
    ) -> tuple[bool, bool]:
        """(must, may) for one item at a picture, catch-up, history or web-view exit."""
        strict = self.reader(principal, connection, wide=False)
        wide = self.reader(principal, connection, wide=True)
        must = may_see(item.marking, item.addressing, item.origin, strict, self.table, self.cui_any)
        may = may_see(
            item.marking,
            item.addressing,
            item.origin,
            wide,
            self.table,
            self.cui_any,
            by_uid=True,
        )
        return must, may

    def expect(
        self, items: Iterable[RefItem], principal: Principal, connection: str | None
    ) -> Expect:
        must: set[int] = set()
        may: set[int] = set()
        for item in items:
            m, w = self.sees(item, principal, connection)
            if m:
                must.add(item.serial)
            if w:
                may.add(item.serial)
        return Expect(frozenset(must), frozenset(may | must))

    # -- what happens -----------------------------------------------------------

    def connect(self, name: str, principal: Principal) -> RefConnection:
        connection = RefConnection(name, principal)
        self.connections[name] = connection
        self._names.clear()
        return connection

    def restart(self) -> None:
        """The process stops and starts: every connection is gone, history and picture stay."""
        self.gone += self.connections.values()
        self.connections = {}
        self._names.clear()

    def send(self, connection: str | None, principal: Principal, item: RefItem) -> SendOutcome:
        """``item.origin`` is filled in here; returns who gets it live and whether the picture
        changed."""
        if not reference_may_send(item.marking.with_originator(None), principal, self.table):
            return SendOutcome(False, item)
        sender = self.connections.get(connection) if connection is not None else None
        if sender is not None:
            self._bind(sender, item)
        item.origin = Origin(principal, connection, sender.uid if sender is not None else None)
        self.history.append(item)
        changed = False
        if is_map_item(item.type):
            current = self.picture.get(item.uid)
            if current is None or not current.time > item.time:
                self.picture[item.uid] = item
                changed = True
        outcome = SendOutcome(True, item, in_picture=changed)
        for name, peer in self.connections.items():
            if name == connection:
                continue
            strict = self.reader(peer.principal, name, wide=False)
            wide = self.reader(peer.principal, name, wide=True)
            args = (item.marking, item.addressing, item.origin)
            outcome.live[name] = (
                may_receive_live(*args, strict, self.table, self.cui_any),
                may_receive_live(*args, wide, self.table, self.cui_any),
            )
        return outcome

    def _bind(self, sender: RefConnection, item: RefItem) -> None:
        # The first SA (a-…) with <contact endpoint=…> binds its uid, callsign and team.
        # (The exit-matrix scenarios give each connection its own uid and callsign and
        # never change them, so "not taken over" and later changes do not arise.)
        if sender.uid is None and item.endpoint and item.type.startswith("a-"):
            self._names.clear()
            sender.uid = item.uid
            sender.callsign = item.callsign
            sender.team = item.team

    # -- the exits ----------------------------------------------------------------

    def current_picture(self, now: datetime) -> list[RefItem]:
        return [item for item in self.picture.values() if item.stale > now]

    def catch_up(self, connection: str, now: datetime) -> Expect:
        peer = self.connections[connection]
        return self.expect(self.current_picture(now), peer.principal, connection)

    def catch_up_item(self, uid: str, connection: str, now: datetime) -> tuple[bool, bool, int]:
        """(must, may, serial) for ``Hub.catch_up_item(uid, peer, now)``; serial -1: nothing."""
        item = self.picture.get(uid)
        if item is None or item.stale <= now:
            return False, False, -1
        peer = self.connections[connection]
        must, may = self.sees(item, peer.principal, connection)
        return must, may, item.serial

    def visible_picture(self, principal: Principal, now: datetime) -> Expect:
        """HTTP GET /api/v1/picture and a web view's snapshot."""
        return self.expect(self.current_picture(now), principal, None)

    def visible_history(self, principal: Principal) -> Expect:
        """HTTP GET /api/v1/events: every stored item the reader may see."""
        return self.expect(self.history, principal, None)

    def view_update(self, item: RefItem, principal: Principal, now: datetime) -> tuple[bool, bool]:
        """A web view told of a picture change (the item as it now stands in the picture)."""
        must, may = self.sees(item, principal, None)
        return must and item.stale > now, may

    def contacts_allowed(self, principal: Principal) -> frozenset[str]:
        """Marti clientEndPoints: the uids of live connections whose current picture item
        the reader may see (the most the contact list may show; it may show fewer)."""
        allowed: set[str] = set()
        for peer in self.connections.values():
            if peer.uid is None:
                continue
            item = self.picture.get(peer.uid)
            if item is not None and self.sees(item, principal, None)[1]:
                allowed.add(peer.uid)
        return frozenset(allowed)
