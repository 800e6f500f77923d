"""The exit matrix: random traffic read back through every exit, against the reference.

Random principals connect (TLS principals of six nations, auditors, an admin,
the anonymous TCP profile) and send random events: every marking scheme, REL
TO lists, NOFORN, RELIDO, COIs and SCI, addressed with ``<marti><dest>`` or as
GeoChat to a team, a callsign or a uid, or public; map items, chat and other
traffic; some stale, some late, some updating another's uid. Each observation
at each exit is compared with ``tests/security/oracle.py``, written from the
documented rules, never with the server's own decision code:

- live CoT to every connected peer, and the catch-up a peer gets on connecting
  (and, at the end, ``catch_up_item`` for every uid, as a paced catch-up asks);
- the web COP's live view (a ``StreamListener`` on the hub, and the real
  ``/api/v1/stream`` WebSocket: snapshot and live items);
- HTTP ``/api/v1/picture``, ``/api/v1/events`` and Marti ``clientEndPoints``;
- all of the above again after a clean restart on the same data directory.

Sends: five in six are made to be permitted by construction (a marking at or
below the sender's clearance, in a scheme its nation may issue, its nation in
any REL TO list, only COIs it holds); the rest are any valid marking, and the
oracle's ``reference_may_send`` says whether the server must refuse it (a
refused event must then appear nowhere).

Set-up: one server (all listeners off, see tests/support/inprocess.py) serves
every case of a property; between cases the peers, web views and picture are
dropped, and names (uids, callsigns, teams) carry the case's number, so what
one case bound cannot address another's items. The restart cases share a
second server that each of them restarts. A stale report is always older than
the fresh ones (see ``Runner.time_of``).

``make test`` runs about two thousand cases; ``make test-deep``
(ALLIED_C2_DEEP=1) 100,000. Both print ``exit matrix: N cases, M observations``
(an observation: one item decided for one reader at one exit). A failing case
that hypothesis finds is shrunk and kept below as a plain test; the failure
message ends with the case, ready to paste.
"""

from __future__ import annotations

import logging
import os
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import MISSING, dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allied_c2.cot.event import CotEvent
from allied_c2.cot.xmlcodec import parse_xml
from allied_c2.security.markings import marking_to_cot, parse_banner
from allied_c2.security.principals import Principal
from allied_c2.web.stream import StreamListener
from tests.security.oracle import (
    ALL_CHAT_ROOMS,
    ISSUERS,
    LEVELS,
    SHIPPED_TABLE,
    Expect,
    Origin,
    ReferenceServer,
    RefItem,
    clearance_rank,
    expand,
    is_map_item,
    reference_addressing,
)
from tests.support.inprocess import FakePeer, InProcessServer, WebView

DEEP = os.environ.get("ALLIED_C2_DEEP", "") not in ("", "0")
# A deep run takes far longer than the suite's per-test timeout.
pytestmark = [pytest.mark.timeout(0)] if DEEP else []


def examples(normal: int, deep: int) -> int:
    return deep if DEEP else normal


# ------------------------------------------------------------------ the cast

ROSTER: dict[str, Principal] = {
    p.callsign: p
    for p in (
        Principal("EAGLE", "USA", "US:SECRET", frozenset({"ISR", "SI"}), frozenset({"operator"})),
        Principal(
            "HAWK",
            "USA",
            "US:TOP SECRET",
            frozenset({"SI", "TK", "SAR-BP", "SOF", "CYBER", "ISR", "MARITIME"}),
            frozenset({"auditor"}),
        ),
        Principal("FALCON", "USA", "US:CONFIDENTIAL", frozenset(), frozenset({"admin"})),
        Principal("SAKURA", "JPN", "JPN:GOKUHI", frozenset({"MARITIME"}), frozenset({"operator"})),
        Principal("FUJI", "JPN", "JPN:HI", frozenset(), frozenset({"viewer"})),
        Principal("AGILA", "PHL", "PHL:CONFIDENTIAL", frozenset({"ISR"}), frozenset({"operator"})),
        Principal("LION", "GBR", "NATO:SECRET", frozenset({"SOF"}), frozenset({"operator"})),
        Principal("KIWI", "NZL", "US:SECRET", frozenset({"ISR"}), frozenset({"viewer"})),
        Principal("TIGER", "KOR", "US:SECRET", frozenset({"CYBER"}), frozenset({"auditor"})),
    )
}
ANONYMOUS = "anonymous"  # the plain-TCP / no-token profile of the server
WHO = [*ROSTER, ANONYMOUS]
CONNECTIONS = ["c0", "c1", "c2", "c3"]
TEAMS = ["Cyan", "Red"]
MAP_TYPES = ["a-f-G-U-C", "a-h-G", "b-m-p-s-m", "u-d-f", "b-a-o-tbl", "u-rb-a", "b-r-f-h-c"]
CHAT_TYPES = ["b-t-f", "b-t-f-d", "b-t-f-r"]
OTHER_TYPES = ["b-f-t-r", "y-c-r"]
CODES = ["USA", "JPN", "PHL", "GBR", "FRA", "KOR", "AUS", "FVEY", "ACGU", "NATO"]
COIS = ["ISR", "MARITIME", "SOF", "CYBER", "ODDCOI"]
SCI = ["SI", "TK", "SAR-BP"]
SERIAL = "exit-matrix #"

# ---------------------------------------------------------------- a scenario

Dest = tuple[tuple[str, str], ...]  # one <dest>: its attributes


class Compact:
    """A repr with only the fields that differ from their defaults (shorter failing cases)."""

    def __repr__(self) -> str:
        parts = []
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if f.default is not MISSING and value == f.default:
                continue
            parts.append(f"{f.name}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


@dataclass(frozen=True, repr=False)
class Chat(Compact):
    """``<__chat chatroom=… id=…><chatgrp uid0=… uid1=…/></__chat>``."""

    room: str | None = None
    id: str | None = None
    members: tuple[str, ...] = ()


@dataclass(frozen=True, repr=False)
class Ev(Compact):
    """One event as a client writes it (names are per case: see :class:`Namer`)."""

    uid: str
    type: str = "a-f-G-U-C"
    marking: str | None = None  # a banner; None: unmarked (the default marking)
    split: bool = False  # access/caveat/releasableTo rather than the banner in access
    dests: tuple[Dest, ...] | None = None  # None: no <marti>; (): an empty <marti/>
    chat: Chat | None = None
    contact: str | None = None  # <contact callsign=…>
    endpoint: bool = False  # … endpoint="*:-1:stcp" (an SA that binds)
    team: str | None = None  # <__group name=…>
    dt: int = 0  # seconds from the case's base time
    stale: bool = False


@dataclass(frozen=True)
class Connect:
    conn: str
    who: str


@dataclass(frozen=True)
class Send:
    conn: str
    ev: Ev


@dataclass(frozen=True)
class View:
    """Open a web COP page (the WebSocket) for ``who``."""

    who: str


@dataclass(frozen=True)
class Restart:
    pass


Step = Connect | Send | View | Restart


@dataclass(frozen=True)
class Case:
    steps: tuple[Step, ...]
    readers: tuple[str, ...] = ()  # who reads the HTTP API at the end


def sa(conn: str, callsign: str, team: str | None = None, **kw: Any) -> Ev:
    """The position report a client sends first: it binds uid, callsign and team."""
    return Ev(uid=f"ANDROID-{conn}", contact=callsign, endpoint=True, team=team, **kw)


# ---------------------------------------------------------------- strategies


_PICK: dict[tuple[Any, ...], st.SearchStrategy[Any]] = {}
_SOME: dict[tuple[Any, ...], st.SearchStrategy[list[Any]]] = {}
_NUM: dict[tuple[int, int], st.SearchStrategy[int]] = {}


def pick(values: Iterable[Any]) -> st.SearchStrategy[Any]:
    """``sampled_from``, built once per value list (building strategies per draw is slow)."""
    key = tuple(values)
    if key not in _PICK:
        _PICK[key] = st.sampled_from(key)
    return _PICK[key]


def some(values: Iterable[Any], low: int, high: int) -> st.SearchStrategy[list[Any]]:
    """Distinct values, between ``low`` and ``high`` of them."""
    key = (tuple(values), low, high)
    if key not in _SOME:
        _SOME[key] = st.lists(pick(key[0]), unique=True, min_size=low, max_size=high)
    return _SOME[key]


def num(low: int, high: int) -> st.SearchStrategy[int]:
    if (low, high) not in _NUM:
        _NUM[low, high] = st.integers(low, high)
    return _NUM[low, high]


KINDS = ["none", "NOFORN", "REL", "REL+RELIDO", "REL+DISPLAY", "RELIDO", "DISPLAY"]


def _levels_for(sender: Principal | None) -> list[str]:
    """Every level, or those ``sender`` may mark: at most its clearance, a scheme its
    nation may issue."""
    if sender is None:
        return sorted(LEVELS)
    nation = sender.nation or ""
    top = clearance_rank(sender, SHIPPED_TABLE)
    return [
        name
        for name in sorted(LEVELS)
        if SHIPPED_TABLE[name] <= top
        and (not ISSUERS[LEVELS[name][0]] or nation in expand(ISSUERS[LEVELS[name][0]]))
    ]


@st.composite
def banners(draw: st.DrawFn, sender: Principal | None, fitted: bool) -> str | None:
    """A valid marking; ``fitted``: one ``sender`` may send (None sender: anonymous)."""
    if fitted and sender is None:
        banner: str | None = draw(pick([None, "UNCLASSIFIED"]))
        return banner
    if draw(num(0, 7)) == 0:
        return None
    level = draw(pick(_levels_for(sender if fitted else None)))
    classified = SHIPPED_TABLE[level] > 0
    controlled = LEVELS[level][1]
    kind = draw(pick([*KINDS, "EYES"] if classified else KINDS))

    def countries(include_sender: bool) -> list[str]:
        codes = draw(some(CODES, 2, 3))
        if include_sender and sender is not None and sender.nation not in expand(codes):
            codes.append(sender.nation or "")
        return codes

    controls: list[str] = []
    if kind == "NOFORN":
        controls.append("NOFORN")
    if kind.startswith("REL") and kind != "RELIDO":
        controls.append("REL TO " + ", ".join(countries(fitted)))
    if kind.endswith("RELIDO"):
        controls.append("RELIDO")
    if kind.endswith("DISPLAY"):
        controls.append("DISPLAY ONLY " + ", ".join(countries(False)))
    if kind == "EYES":
        controls.append("/".join(countries(fitted)) + " EYES ONLY")
    extras = ["PROPIN", "IMCON"] + (["ORCON"] if classified else [])
    extras += ["FOUO"] if not (classified or controlled) else []
    controls += draw(some(extras, 0, 1))
    held = sender.cois if fitted and sender is not None else None
    categories = [level]
    sci = [s for s in SCI if held is None or s in held]
    if classified and sci:
        categories += draw(some(sci, 0, 2))
    if controls:
        categories.append("/".join(controls))
    cois = [c for c in COIS if held is None or c in held]
    chosen = draw(some(cois, 0, 2)) if cois else []
    if chosen:
        categories.append("COI " + "/".join(chosen))
    return "//".join(categories)


BANNERS = {
    (who, fitted): banners(ROSTER.get(who), fitted) for who in WHO for fitted in (True, False)
}


def marking_for(draw: st.DrawFn, who: str) -> str | None:
    fitted = draw(num(0, 5)) != 5
    return draw(BANNERS[who, fitted])


CALLSIGNS = [*ROSTER, *(c.upper() for c in CONNECTIONS), "NOBODY"]
UIDS = [*(f"ANDROID-{c}" for c in CONNECTIONS), "ANDROID-x", "M1"]
ROOMS = [None, ALL_CHAT_ROOMS, *TEAMS, *CALLSIGNS]
POOLS = {"callsign": CALLSIGNS, "uid": UIDS, "group": ["Cyan", "g-1"], "mission": ["m-1"]}


@st.composite
def dests(draw: st.DrawFn) -> Dest:
    attrs: dict[str, str] = {}
    for kind in draw(some(POOLS, 0, 2)):
        attrs[kind] = draw(pick(POOLS[kind]))
    return tuple(attrs.items())


DESTS = st.lists(dests(), min_size=1, max_size=2).map(tuple)


@st.composite
def events(draw: st.DrawFn, conns: dict[str, str]) -> Send:
    """Any event from one of the connections (a non-map uid is made unique later)."""
    conn = draw(pick(CONNECTIONS))
    cot_type = draw(pick([*MAP_TYPES, *CHAT_TYPES, *OTHER_TYPES]))
    uid = draw(pick(["M1", "M2", *UIDS[:4]])) if is_map_item(cot_type) else "X"
    marking = marking_for(draw, conns[conn])
    form = draw(num(0, 3))
    marti: tuple[Dest, ...] | None = None
    chat: Chat | None = None
    if form == 1:
        marti = ()
    elif form >= 2:
        marti = draw(DESTS)
    if cot_type in CHAT_TYPES or draw(num(0, 7)) == 7:
        if cot_type in CHAT_TYPES and form >= 2 and draw(st.booleans()):
            marti = None  # most GeoChat carries no <marti>
        members = tuple(draw(some(UIDS, 0, 2)))
        chat = Chat(draw(pick(ROOMS)), draw(pick([None, *UIDS])), members)
    return Send(conn, Ev(uid, cot_type, marking, dests=marti, chat=chat, **timing(draw)))


def timing(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "dt": draw(num(-3, 3)) * 10,
        "stale": draw(num(0, 11)) == 11,
        "split": draw(st.booleans()),
    }


@st.composite
def own_reports(
    draw: st.DrawFn, conns: dict[str, str], own: dict[str, tuple[str, str | None]]
) -> Send:
    """A connection's own SA: the first one it sends (and is allowed) binds it."""
    conn = draw(pick(CONNECTIONS))
    callsign, team = own[conn]
    marking = marking_for(draw, conns[conn])
    extra: dict[str, Any] = timing(draw)
    if draw(num(0, 5)) == 5:
        extra["dests"] = draw(DESTS)
    return Send(conn, sa(conn, callsign, team, marking=marking, **extra))


@st.composite
def cases(draw: st.DrawFn, *, web: bool = False, restart: bool = False) -> Case:
    conns = {c: draw(pick(WHO)) for c in CONNECTIONS}
    own: dict[str, tuple[str, str | None]] = {}
    for conn, who in conns.items():
        callsign = who if who != ANONYMOUS and draw(st.booleans()) else conn.upper()
        own[conn] = (callsign, draw(pick([None, *TEAMS])))
    action = st.one_of(
        events(conns),
        own_reports(conns, own),
        pick(CONNECTIONS).map(lambda c: Connect(c, conns[c])),
        *([pick(WHO).map(View)] if web else []),
    )
    raw: list[Step] = draw(st.lists(action, min_size=1, max_size=10))
    if restart:
        raw.insert(draw(num(0, len(raw))), Restart())
    steps: list[Step] = []
    connected: set[str] = set()
    for index, step in enumerate(raw):
        if isinstance(step, Restart):
            connected = set()
        elif isinstance(step, Connect):
            if step.conn in connected:
                continue
            connected.add(step.conn)
        elif isinstance(step, Send):
            if step.conn not in connected:
                steps.append(Connect(step.conn, conns[step.conn]))
                connected.add(step.conn)
            if step.ev.uid == "X":
                step = Send(step.conn, replace(step.ev, uid=f"X{index}"))
        steps.append(step)
    readers = tuple(draw(some(WHO, 1, 3)))
    return Case(tuple(steps), readers if web else ())


# ----------------------------------------------------------------- the runner


class Namer:
    """Per-case names (the shared server keeps what earlier cases bound)."""

    KEEP = frozenset({*ROSTER, ALL_CHAT_ROOMS})

    def __init__(self, case: int) -> None:
        self.case = case

    def __call__(self, name: str) -> str:
        return name if name in self.KEEP else f"{name}.{self.case}"


def iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class Observation:
    exit: str
    reader: str
    expect: Expect
    got: list[Any]
    considered: int

    def problems(self) -> list[str]:
        out: list[str] = []
        repeated = sorted(str(v) for v, n in Counter(self.got).items() if n > 1)
        if repeated:
            out.append(f"delivered more than once: {', '.join(repeated)}")
        seen = set(self.got)
        if missing := self.expect.must - seen:
            out.append(f"missing {sorted(missing, key=str)}")
        if extra := seen - self.expect.may:
            out.append(f"must not get {sorted(extra, key=str)}")
        return out


class ExitMismatch(AssertionError):
    """An exit delivered what the reference forbids, or withheld what it requires."""


EXITS = [
    "live CoT",
    "catch-up on connect",
    "catch-up item",
    "web view (listener)",
    "web view (WebSocket)",
    "HTTP picture",
    "HTTP events",
    "Marti contacts",
]
# One exception class per exit and phase, so that hypothesis shrinks and reports
# each failing exit separately.
MISMATCH: dict[str, type[ExitMismatch]] = {
    f"{name}{phase}": type(
        "Mismatch_" + "".join(ch for ch in f"{name}{phase}".title() if ch.isalnum()),
        (ExitMismatch,),
        {},
    )
    for name in EXITS
    for phase in ("", " after restart")
}


@dataclass
class Tally:
    cases: int = 0
    observations: int = 0


TALLY = Tally()


@dataclass
class LivePeer:
    key: str  # the connection's name in this run (a reconnect after a restart is new)
    who: str
    peer: FakePeer
    must: set[int] = field(default_factory=set)
    may: set[int] = field(default_factory=set)
    considered: int = 0


@dataclass
class OpenView:
    who: str
    principal: Principal
    must: set[int] = field(default_factory=set)
    may: set[int] = field(default_factory=set)
    considered: int = 0
    listener: StreamListener | None = None
    socket: WebView | None = None
    after: int = 0  # messages before this index were the hello and the snapshot
    latest: dict[str, int] = field(default_factory=dict)  # uid -> newest serial told of


class Runner:
    """Plays a :class:`Case` on the server and the reference, then reads every exit."""

    def __init__(
        self, server: InProcessServer, case: Case, *, web: bool, clear_history: bool = False
    ) -> None:
        TALLY.cases += 1
        self.server = server
        self.case = case
        self.web = web
        # A server that restarts must start each case with an empty history (it is
        # restored from it); the shared one clears it every 64 cases.
        self.clear_history = clear_history
        self.number = TALLY.cases
        self.name = Namer(self.number)
        self.now = datetime.now(UTC)
        self.base = self.now - timedelta(minutes=10)
        self.model = ReferenceServer()
        self.generation = 0
        self.phase = ""
        self.connected: dict[str, LivePeer] = {}  # by case connection name
        self.everyone: list[LivePeer] = []
        self.listeners: list[OpenView] = []
        self.sockets: list[OpenView] = []
        self.serials: dict[int, str] = {}  # what each sent item was, for messages
        self.uids: set[str] = set()
        self.observations: list[Observation] = []

    # -- helpers ----------------------------------------------------------------

    def principal(self, who: str) -> Principal:
        return ROSTER.get(who) or self.server.runtime.directory.anonymous

    def token(self, who: str) -> str | None:
        return self.server.tokens.get(who)

    def can_read_http(self, who: str) -> bool:
        return who == ANONYMOUS or who in self.server.tokens

    def serial_of(self, remarks: object, what: str) -> int | str:
        """The serial of one of this case's items, else a description (never expected)."""
        if isinstance(remarks, str) and remarks.startswith(SERIAL):
            case, _, serial = remarks.removeprefix(SERIAL).partition(".")
            if int(case) == self.number:
                return int(serial)
            return f"<case {case} #{serial}>"
        return f"<{what}>"

    def is_earlier_case(self, item: dict[str, Any]) -> bool:
        """History rows of earlier cases (the shared server clears its history now and then)."""
        remarks = item.get("remarks")
        return (
            isinstance(remarks, str)
            and remarks.startswith(SERIAL)
            and not (remarks.removeprefix(SERIAL).startswith(f"{self.number}."))
        )

    def event_serial(self, event: CotEvent) -> int | str:
        return self.serial_of(event.remarks, f"{event.type} {event.uid}")

    def item_serial(self, item: dict[str, Any]) -> int | str:
        return self.serial_of(item.get("remarks"), f"{item.get('type')} {item.get('uid')}")

    def observe(
        self, exit: str, reader: str, expect: Expect, got: Iterable[Any], considered: int
    ) -> None:
        self.observations.append(
            Observation(exit + self.phase, reader, expect, list(got), considered)
        )
        TALLY.observations += considered

    # -- playing ----------------------------------------------------------------

    def run(self) -> None:
        try:
            self._attach_listeners()
            for step in self.case.steps:
                if isinstance(step, Connect):
                    self.connect(step)
                elif isinstance(step, Send):
                    self.send(step)
                elif isinstance(step, View):
                    self.open_view(step.who)
                else:
                    self.restart()
            self.read_everything()
        finally:
            self.cleanup()
        self.verdict()

    def _attach_listeners(self) -> None:
        self.listeners = []
        for who in WHO:
            principal = self.principal(who)
            view = OpenView(who, principal, listener=self.server.listen(principal))
            self.listeners.append(view)

    def connect(self, step: Connect) -> None:
        key = f"{step.conn}#{self.generation}"
        principal = self.principal(step.who)
        peer = self.server.connect(principal, key, self.now)
        self.model.connect(key, principal)
        live = LivePeer(key, step.who, peer)
        self.connected[step.conn] = live
        self.everyone.append(live)
        events = self.server.catch_up(peer, peer.catch_up_uids, self.now)
        expect = self.model.catch_up(key, self.now)
        considered = len(self.model.current_picture(self.now))
        self.observe(
            "catch-up on connect",
            f"{key} ({step.who})",
            expect,
            map(self.event_serial, events),
            considered,
        )

    def time_of(self, ev: Ev) -> datetime:
        # A stale report is older than every fresh one: otherwise whether an older fresh
        # report may replace a newer stale one would depend on when the stale one was
        # swept from the picture (or lost in a restart), which the rule does not fix.
        return self.base + timedelta(seconds=ev.dt - (100 if ev.stale else 0))

    def render(self, ev: Ev, serial: int) -> bytes:
        n = self.name
        at = self.time_of(ev)
        stale = self.now + (timedelta(minutes=-1) if ev.stale else timedelta(hours=1))
        attrs = {
            "version": "2.0",
            "uid": n(ev.uid),
            "type": ev.type,
            "how": "m-g",
            "time": iso(at),
            "start": iso(at),
            "stale": iso(stale),
        }
        if ev.marking is not None:
            if ev.split:
                marking = parse_banner(ev.marking, self.server.runtime.policy, strict=False)
                access, caveat, releasable = marking_to_cot(marking)
                attrs["access"] = access
                if caveat is not None:
                    attrs["caveat"] = caveat
                if releasable is not None:
                    attrs["releasableTo"] = releasable
            else:
                attrs["access"] = ev.marking
        parts: list[str] = []
        if ev.contact is not None:
            endpoint = ' endpoint="*:-1:stcp"' if ev.endpoint else ""
            parts.append(f"<contact callsign={quoteattr(n(ev.contact))}{endpoint}/>")
        if ev.team is not None:
            parts.append(f'<__group name={quoteattr(n(ev.team))} role="Team Member"/>')
        if ev.dests is not None:
            inner = "".join(
                "<dest" + "".join(f" {k}={quoteattr(n(v))}" for k, v in dest) + "/>"
                for dest in ev.dests
            )
            parts.append(f"<marti>{inner}</marti>")
        if ev.chat is not None:
            chat = ev.chat
            head = "<__chat"
            if chat.room is not None:
                head += f" chatroom={quoteattr(n(chat.room))}"
            if chat.id is not None:
                head += f" id={quoteattr(n(chat.id))}"
            members = "".join(f" uid{i}={quoteattr(n(u))}" for i, u in enumerate(chat.members))
            parts.append(f'{head} senderCallsign="x"><chatgrp id="g"{members}/></__chat>')
        parts.append(f"<remarks>{SERIAL}{self.number}.{serial}</remarks>")
        head = "<event" + "".join(f" {k}={quoteattr(v)}" for k, v in attrs.items()) + ">"
        point = '<point lat="35.5" lon="139.5" hae="0.0" ce="10.0" le="10.0"/>'
        return f"{head}{point}<detail>{''.join(parts)}</detail></event>".encode()

    def send(self, step: Send) -> None:
        live = self.connected[step.conn]
        serial = len(self.serials) + 1
        ev = step.ev
        data = self.render(ev, serial)
        principal = live.peer.principal
        policy = self.server.runtime.policy
        base = (
            parse_banner(ev.marking, policy, strict=False)
            if ev.marking is not None
            else self.server.hub.default_marking
        )
        item = RefItem(
            serial=serial,
            uid=self.name(ev.uid),
            type=ev.type,
            time=self.time_of(ev),
            stale=self.now + (timedelta(minutes=-1) if ev.stale else timedelta(hours=1)),
            marking=base.with_originator(principal.nation),
            addressing=reference_addressing(ev.type, ET.fromstring(data).find("detail")),
            origin=Origin(principal, live.key),  # the model adds the connection's uid
            endpoint=ev.endpoint,
            callsign=self.name(ev.contact) if ev.contact is not None else None,
            team=self.name(ev.team) if ev.team is not None else None,
        )
        self.serials[serial] = (
            f"#{serial} {ev.type} uid={item.uid} from {live.key} ({live.who}) "
            f"marked {base.banner()}"
            + ("" if item.addressing.public else f" to {_addressees(item)}")
        )
        outcome = self.model.send(live.key, principal, item)
        self.server.send(live.peer, principal, parse_xml(data))
        if not outcome.accepted:
            self.serials[serial] += " (refused)"
            return
        self.uids.add(item.uid)
        for other in self.connected.values():
            if other.key not in outcome.live:
                continue
            must, may = outcome.live[other.key]
            other.considered += 1
            if must:
                other.must.add(serial)
            if may or must:
                other.may.add(serial)
        if outcome.in_picture:
            for view in [*self.listeners, *self.sockets]:
                must, may = self.model.view_update(item, view.principal, self.now)
                view.considered += 1
                if (must or may) and view.socket is not None:
                    # The WebSocket sends a batch's newest report per uid: an earlier
                    # version it was told of may have been replaced before it went out.
                    view.must.discard(view.latest.get(item.uid, 0))
                    view.latest[item.uid] = serial
                if must:
                    view.must.add(serial)
                if may or must:
                    view.may.add(serial)

    def open_view(self, who: str) -> None:
        if not self.can_read_http(who):
            return
        principal = self.principal(who)
        views = len(self.server.runtime.live_views)
        socket = self.server.open_view(self.token(who))
        view = OpenView(who, principal, socket=socket)
        snapshot = socket.wait_for_snapshot()
        # Live from here on: the page's listener is on the hub once it is a live view.
        socket.pump(lambda: len(self.server.runtime.live_views) > views)
        got: list[Any] = (
            ["<no snapshot>"]
            if snapshot is None
            else [self.item_serial(item) for item in snapshot.get("items", [])]
        )
        if socket.closed is not None:
            got.append(f"<closed {socket.closed.get('code')}>")
        view.after = len(socket.messages)
        self.observe(
            "web view (WebSocket)",
            f"{who} snapshot",
            self.model.visible_picture(principal, self.now),
            got,
            len(self.model.current_picture(self.now)),
        )
        self.sockets.append(view)

    def restart(self) -> None:
        self.read_views()  # the web views close with the server (the HTTP API: see below)
        self.server = self.server.restart()
        self.model.restart()
        self.generation += 1
        self.connected = {}
        self.phase = " after restart"
        self._attach_listeners()
        if self.web:
            self.read_http()  # the picture and history as restored, before anyone connects

    # -- reading ----------------------------------------------------------------

    def read_everything(self) -> None:
        for live in self.everyone:
            self.observe(
                "live CoT",
                f"{live.key} ({live.who})",
                Expect(frozenset(live.must), frozenset(live.may)),
                map(self.event_serial, live.peer.received),
                live.considered,
            )
        for live in self.connected.values():
            must: set[int] = set()
            may: set[int] = set()
            got: list[Any] = []
            for uid in sorted(self.uids):
                m, w, serial = self.model.catch_up_item(uid, live.key, self.now)
                if m:
                    must.add(serial)
                if m or w:
                    may.add(serial)
                got += map(self.event_serial, self.server.catch_up(live.peer, [uid], self.now))
            self.observe(
                "catch-up item",
                f"{live.key} ({live.who})",
                Expect(frozenset(must), frozenset(may)),
                got,
                len(self.uids),
            )
        self.read_views()
        if self.web:
            self.read_http()

    def read_views(self) -> None:
        for view in self.listeners:
            assert view.listener is not None
            items = [
                self.item_serial(message["item"])
                for message in self.server.drain(view.listener)
                if message.get("kind") == "item"
            ]
            self.observe(
                "web view (listener)",
                view.who,
                Expect(frozenset(view.must), frozenset(view.may)),
                items,
                view.considered,
            )
            self.server.hub.remove_listener(view.listener)
        self.listeners = []
        if not self.sockets:
            return
        mark = {"kind": "exit-matrix-sync", "case": self.number}
        self.server.hub.notify_views(mark, self.server.hub.default_marking)
        for view in self.sockets:
            socket = view.socket
            assert socket is not None
            socket.pump(_has(socket, mark))
            got: list[Any] = []
            for message in socket.messages[view.after :]:
                if message.get("kind") == "item":
                    got.append(self.item_serial(message["item"]))
                elif message.get("kind") == "items":  # the socket batches picture changes
                    got += [self.item_serial(i) for i in message["items"]]
                elif message.get("kind") == "snapshot":
                    got += [self.item_serial(i) for i in message.get("items", [])]
            if mark not in socket.messages:
                got.append("<view stopped answering>")
            self.observe(
                "web view (WebSocket)",
                f"{view.who} live",
                Expect(frozenset(view.must), frozenset(view.may)),
                got,
                view.considered,
            )
            socket.close()
        self.sockets = []

    def read_http(self) -> None:
        readers = [who for who in self.case.readers if self.can_read_http(who)]
        paths = ["/api/v1/picture", "/api/v1/events?limit=10000", "/Marti/api/clientEndPoints"]
        bodies = iter(
            self.server.get_all_json([(path, self.token(who)) for who in readers for path in paths])
        )
        for who in readers:
            principal = self.principal(who)
            picture, events, contacts = next(bodies), next(bodies), next(bodies)
            self.observe(
                "HTTP picture",
                who,
                self.model.visible_picture(principal, self.now),
                [self.item_serial(item) for item in picture["items"]],
                len(self.model.current_picture(self.now)),
            )
            self.observe(
                "HTTP events",
                who,
                self.model.visible_history(principal),
                [
                    self.item_serial(item)
                    for item in events["events"]
                    if not self.is_earlier_case(item)
                ],
                len(self.model.history),
            )
            self.observe(
                "Marti contacts",
                who,
                Expect(frozenset(), self.model.contacts_allowed(principal)),
                [contact["uid"] for contact in contacts["data"]],
                len(self.model.connections),
            )

    def cleanup(self) -> None:
        for view in self.sockets:
            if view.socket is not None:
                view.socket.close()
        self.server.reset(
            [live.peer for live in self.connected.values()],
            [view.listener for view in self.listeners if view.listener is not None],
            clear_history=self.clear_history or self.number % 64 == 0,
        )

    def verdict(self) -> None:
        failing = [(o, o.problems()) for o in self.observations]
        failing = [(o, p) for o, p in failing if p]
        if not failing:
            return
        order = {name: i for i, name in enumerate(MISMATCH)}
        failing.sort(key=lambda op: order[op[0].exit])
        lines = [f"{o.exit} for {o.reader}: {'; '.join(p)}" for o, p in failing]
        lines.append("items:")
        lines += [f"  {text}" for text in self.serials.values()]
        # (hypothesis under this pytest prints the arguments empty: the case is here)
        lines.append(f"case: {self.case!r}")
        raise MISMATCH[failing[0][0].exit]("\n".join(lines))


def _has(socket: WebView, message: dict[str, Any]) -> Callable[[], bool]:
    return lambda: message in socket.messages


def _addressees(item: RefItem) -> str:
    a = item.addressing
    parts = [
        f"{kind} {', '.join(sorted(values))}"
        for kind, values in (
            ("uid", a.uids),
            ("callsign", a.callsigns),
            ("team", a.teams),
            ("group", a.groups),
            ("mission", a.missions),
        )
        if values
    ]
    return "; ".join(parts)


def play(server: InProcessServer, case: Case, *, web: bool = True) -> None:
    Runner(server, case, web=web).run()


def play_with_restart(holder: Restarting, case: Case) -> None:
    runner = Runner(holder.server, case, web=True, clear_history=True)
    try:
        runner.run()
    finally:
        holder.server = runner.server  # the one it restarted into


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module", autouse=True)
def _summary(request: pytest.FixtureRequest) -> Iterator[None]:
    # Thousands of refused sends and withheld deliveries are logged as warnings:
    # keep them out of the captured output (a failing case explains itself).
    logger = logging.getLogger("allied_c2")
    level = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(level)
    line = f"exit matrix: {TALLY.cases} cases, {TALLY.observations} observations"
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if capture is None or reporter is None:
        print(line)
        return
    with capture.global_and_fixture_disabled():  # shown whether the tests pass or not
        reporter.write_line("")
        reporter.write_line(line)


@dataclass
class Template:
    path: Path
    tokens: dict[str, str]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    path = tmp_path_factory.mktemp("exit-matrix") / "template"
    return Template(path, InProcessServer.template(path, ROSTER.values()))


@pytest.fixture(scope="module")
def server(
    template: Template, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[InProcessServer]:
    directory = tmp_path_factory.mktemp("exit-matrix-shared") / "data"
    shared = InProcessServer.copy_of(template.path, directory, template.tokens)
    yield shared
    shared.close()


@dataclass
class Restarting:
    """The server of the restart cases: each case restarts it, the next goes on from there."""

    server: InProcessServer


@pytest.fixture(scope="module")
def restarting(
    template: Template, tmp_path_factory: pytest.TempPathFactory, server: InProcessServer
) -> Iterator[Restarting]:
    directory = tmp_path_factory.mktemp("exit-matrix-restart") / "data"
    holder = Restarting(
        InProcessServer.copy_of(template.path, directory, template.tokens, server.loop)
    )
    yield holder
    holder.server.close()


SETTINGS: dict[str, Any] = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}


# ------------------------------------------------------------ the properties


@settings(max_examples=examples(1500, 90_000), **SETTINGS)
@given(cases())
def test_relay_exits_follow_the_reference(server: InProcessServer, case: Case) -> None:
    """Live CoT, catch-up (on connect and per item) and the hub's web-view listener."""
    play(server, case, web=False)


@settings(max_examples=examples(300, 8_000), **SETTINGS)
@given(cases(web=True))
def test_web_exits_follow_the_reference(server: InProcessServer, case: Case) -> None:
    """As above, plus the WebSocket (snapshot and live), HTTP picture, events and contacts."""
    play(server, case, web=True)


@settings(max_examples=examples(60, 2_000), **SETTINGS)
@given(cases(web=True, restart=True))
def test_exits_follow_the_reference_after_a_restart(restarting: Restarting, case: Case) -> None:
    """A clean stop and start on the same data directory in the middle of each case."""
    play_with_restart(restarting, case)


# ------------------------------------------------------------ kept failures


def test_the_auditor_role_can_be_given(template: Template) -> None:
    """The rule's explicit role: the store must accept it (the matrix reads as auditors)."""
    auditors = [p.callsign for p in ROSTER.values() if "auditor" in p.roles]
    assert all(callsign in template.tokens for callsign in auditors), (
        f"the principal store refused the role 'auditor' for {auditors}"
    )


# Each case below was found by the properties above (against the relay as it was
# before issue 9), shrunk, and kept here with the rule it pins.

READERS = ("EAGLE", "HAWK", "FALCON", "SAKURA", ANONYMOUS)


def test_an_addressed_marker_is_in_its_addressees_picture_only(server: InProcessServer) -> None:
    """Picture exits (catch-up, web views, HTTP) apply the addressing, not release alone;
    the auditor sees it, the admin does not (admin does not imply auditor)."""
    marker = Ev("M1", "b-m-p-s-m", dests=((("callsign", "SAKURA"),),))
    steps = (Connect("c0", "EAGLE"), Send("c0", marker), Connect("c1", "FALCON"))
    play(server, Case((*steps, Connect("c2", "SAKURA"), View("FALCON")), READERS))


def test_an_addressed_sa_is_not_broadcast_to_the_picture(server: InProcessServer) -> None:
    sa_to_self = sa("c0", "C0", dests=((("callsign", "EAGLE"),),))
    play(server, Case((Connect("c0", "EAGLE"), Send("c0", sa_to_self), Connect("c1", "FALCON"))))


def test_a_principals_callsign_addresses_every_connection_of_it(server: InProcessServer) -> None:
    """An identified principal answers to its own callsign on every connection, bound or not."""
    to_eagle = Ev("X1", "b-f-t-r", dests=((("callsign", "EAGLE"),),))
    steps = (Connect("c0", "EAGLE"), Connect("c1", "HAWK"), Send("c1", to_eagle))
    play(server, Case(steps, READERS))


def test_a_geochat_to_a_callsign_room_reaches_that_principal(server: InProcessServer) -> None:
    chat = Ev("X1", "b-t-f", chat=Chat(room="TIGER"))
    play(server, Case((Connect("c0", "TIGER"), Connect("c1", "EAGLE"), Send("c1", chat))))


def test_names_bound_on_one_connection_address_the_principals_others(
    server: InProcessServer,
) -> None:
    to_phone = Ev("X1", "b-f-t-r", dests=((("uid", "ANDROID-c0"),),))
    steps = (
        Connect("c0", "EAGLE"),
        Send("c0", sa("c0", "C0", "Cyan")),
        Connect("c1", "EAGLE"),
        Connect("c2", "SAKURA"),
        Send("c2", to_phone),
        Send("c2", Ev("X2", "b-t-f", chat=Chat(room="Cyan"))),
    )
    play(server, Case(steps, READERS))


def test_a_message_to_oneself_reaches_ones_other_connections(server: InProcessServer) -> None:
    steps = (
        Connect("c2", "TIGER"),
        Send("c2", sa("c2", "C2", "Red")),
        Connect("c3", "TIGER"),
        Send("c2", Ev("X1", "b-t-f-d", chat=Chat(room="C2", id="ANDROID-c2"))),
    )
    play(server, Case(steps))


def test_mission_and_group_addressing_reach_only_sender_and_auditors(
    server: InProcessServer,
) -> None:
    """No reader has missions or groups yet: such an item is never a broadcast."""
    steps = (
        Connect("c0", "EAGLE"),
        Connect("c1", "FALCON"),
        Send("c0", Ev("X1", "b-f-t-r", dests=((("mission", "m-1"),),))),
        Send("c0", Ev("M1", "b-m-p-s-m", dests=((("group", "g-1"),),))),
        Send("c0", Ev("M2", "u-d-f", dests=((("group", "Cyan"), ("mission", "m-1")),))),
    )
    play(server, Case(steps, READERS))


def test_team_chat_history_is_for_the_team(server: InProcessServer) -> None:
    steps = (
        Connect("c0", "EAGLE"),
        Send("c0", sa("c0", "EAGLE", "Cyan")),
        Connect("c1", "SAKURA"),
        Send("c1", sa("c1", "C1", "Red")),
        Send("c0", Ev("X1", "b-t-f", chat=Chat(room="Cyan"))),
        Send("c1", Ev("X2", "b-t-f", chat=Chat(room="Red", members=("ANDROID-c0",)))),
    )
    play(server, Case(steps, ("FALCON", "SAKURA", "EAGLE", ANONYMOUS)))


def test_empty_addressing_is_public(server: InProcessServer) -> None:
    """``<marti/>``, a ``<dest/>`` without names, All Chat Rooms, a room on a non-chat type."""
    steps = (
        Connect("c0", "EAGLE"),
        Connect("c1", ANONYMOUS),
        Send("c0", Ev("M1", "b-m-p-s-m", dests=())),
        Send("c0", Ev("M2", "b-m-p-s-m", dests=((),))),
        Send("c0", Ev("X1", "b-t-f", chat=Chat(room=ALL_CHAT_ROOMS))),
        Send("c0", Ev("X2", "b-t-f", chat=Chat())),
        Send("c0", Ev("M3", "a-h-G", chat=Chat(room="Cyan"))),
    )
    play(server, Case(steps, READERS))


def test_a_connection_gets_its_own_addressed_item_in_its_catch_up(
    server: InProcessServer,
) -> None:
    """The sending connection is the sender, bound or not, identified or not."""
    to_hawk = Ev("M1", "b-m-p-s-m", dests=((("callsign", "HAWK"),),))
    play(server, Case((Connect("c0", ANONYMOUS), Send("c0", to_hawk))))


def test_a_refused_send_appears_nowhere(server: InProcessServer) -> None:
    steps = (
        Connect("c0", ANONYMOUS),
        Connect("c1", "HAWK"),
        Send("c0", Ev("M1", marking="SECRET")),
        Send("c1", Ev("M2", marking="JPN GOKUHI")),
    )
    play(server, Case(steps, READERS))


def test_a_restart_restores_map_items_only(restarting: Restarting) -> None:
    steps = (
        Connect("c0", "EAGLE"),
        Send("c0", Ev("X1", "b-t-f")),
        Send("c0", Ev("X2", "b-f-t-r")),
        Restart(),
        Connect("c0", "EAGLE"),
        View("EAGLE"),
    )
    play_with_restart(restarting, Case(steps, ("EAGLE",)))


def test_a_restart_keeps_an_addressed_item_for_its_addressees(restarting: Restarting) -> None:
    marker = Ev("M1", "b-m-p-s-m", dests=((("callsign", "SAKURA"),),))
    steps = (
        Connect("c0", "EAGLE"),
        Send("c0", marker),
        Send("c0", Ev("X1", "b-t-f", chat=Chat(room="Cyan"))),
        Restart(),
        Connect("c1", "FALCON"),
        Connect("c2", "SAKURA"),
        Connect("c0", "EAGLE"),
        View("FALCON"),
    )
    play_with_restart(restarting, Case(steps, READERS))
