"""Pure test material: events, offers and a guard over the shipped policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lxml import etree

from allied_c2.cot.addressing import addressing_of
from allied_c2.cot.event import CotEvent
from allied_c2.federation.guard import Guard, Offer, PeerView
from allied_c2.federation.identity import federate_principal
from allied_c2.federation.rules import RuleSet
from allied_c2.security.audience import NO_ORIGIN, Audience, Origin
from allied_c2.security.decision import ReleaseCache
from allied_c2.security.markings import Marking, marking_from_cot, marking_to_cot
from allied_c2.security.policy import DEFAULT_POLICY

NOW = datetime(2026, 5, 12, 9, 0, tzinfo=UTC)


def event(
    uid: str = "u-1",
    cot_type: str = "a-f-G",
    detail: str = '<detail><contact callsign="ALPHA"/><remarks>exact</remarks></detail>',
    *,
    lat: float = 35.681236,
    lon: float = 139.767125,
    stale: timedelta = timedelta(minutes=5),
    marking: Marking | None = None,
) -> CotEvent:
    access, caveat, rel = marking_to_cot(marking) if marking is not None else (None, None, None)
    return CotEvent.create(
        uid=uid,
        type=cot_type,
        how="m-g",
        time=NOW,
        start=NOW,
        stale=NOW + stale,
        lat=lat,
        lon=lon,
        hae=10.0,
        ce=5.0,
        le=9999999.0,
        access=access,
        caveat=caveat,
        releasable_to=rel,
        detail=etree.fromstring(detail) if detail else None,
    )


def marking(
    access: str, caveat: str | None = None, rel: str | None = None, origin: str = "USA"
) -> Marking:
    return marking_from_cot(access, caveat, rel, DEFAULT_POLICY).with_originator(origin)


def offer(ev: CotEvent, mark: Marking, sender: str = "us-ops", via: str | None = None) -> Offer:
    addressing = addressing_of(ev)
    origin = NO_ORIGIN if addressing.public else Origin(sender, None)
    return Offer(ev, mark, addressing, origin, sender, NOW, via)


def guard(home: str | None = "USA") -> Guard:
    return Guard(Audience(ReleaseCache(DEFAULT_POLICY)), DEFAULT_POLICY, "usa.example", home)


def peer(
    name: str = "JPN-SRV",
    nation: str = "JPN",
    clearance: str = "SECRET",
    *,
    rules: RuleSet | None = None,
    relay_from: frozenset[str] = frozenset(),
    uids: frozenset[str] = frozenset(),
    callsigns: frozenset[str] = frozenset(),
    cois: frozenset[str] = frozenset(),
) -> PeerView:
    return PeerView(
        name,
        federate_principal(name, nation, clearance, cois),
        rules or RuleSet(),
        relay_from,
        uids,
        callsigns,
    )
