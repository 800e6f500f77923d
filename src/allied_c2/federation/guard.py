"""The outbound guard: may this item cross to this federate, and as what? (pure)

Every accepted item is offered to every link; it crosses only if all hold
(docs/federation.md, "The guard"):

1. **It is federated at all**: pings, TAK control, mission changes (``t-x-m*``)
   and file transfers (``b-f-t-r``) never are (TAK Server's own rules).
2. **No relay**: an item that arrived from a federate is not offered to other
   federates (TAK Server never relays federate to federate), unless an
   administrator allowed that pair (``relay_from``); it never goes back to the
   federate it came from.
3. **Not stale**: a stale item is history, not picture.
4. **The audience decision for the peer** (``Audience.decide``, the one every
   exit calls): release to the peer's principal (nation, accreditation, COIs),
   then addressing: an addressed item crosses only toward an addressee's
   server, i.e. when a destination uid or callsign is a contact known to have
   come from that federate.
5. **A rule may only narrow, except ``release_as``**: the first matching rule's
   drop/coarsen/callsign apply to what crosses; ``release_as`` makes a copy with
   that marking when the full version may not cross. Nothing else changes a
   marking.
6. **Attribution**: the receiving server attributes what it gets to this
   server's nation (TAK federation carries no originator), so an item whose
   audience depends on its originator (NOFORN, or a classified or controlled
   item without a REL TO list) crosses only if this server's nation is its
   originator. A REL TO item keeps its audience under that attribution (its
   list already holds the sender's nation, or the peer refuses it); a public
   one has no originator rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from allied_c2.cot.addressing import Addressing
from allied_c2.cot.event import CotEvent
from allied_c2.federation.rules import NO_RULES, RuleSet
from allied_c2.federation.sanitise import sanitised
from allied_c2.federation.wire import federated_type
from allied_c2.security.audience import (
    NOT_ADDRESSED,
    NOT_IN_GROUP,
    Audience,
    Origin,
    Reader,
    is_addressee,
    is_sender,
)
from allied_c2.security.decision import owner_nation, releasable_nations
from allied_c2.security.markings import Marking, marking_to_cot
from allied_c2.security.policy import SecurityPolicy
from allied_c2.security.principals import Principal

# Reasons, as counted per link and shown by GET /api/v1/federation. All but
# RELEASE and ATTRIBUTION are routing, not refusals: counted, not audited.
NOT_FEDERATED = "not_federated"
FROM_FEDERATE = "from_federate"
ECHO = "echo"
STALE = "stale"
NOT_ADDRESSED_HERE = "addressed"
NOT_IN_GROUP_HERE = "group"
RELEASE = "release"
ATTRIBUTION = "attribution"
AUDITED = frozenset({RELEASE, ATTRIBUTION})


@dataclass(frozen=True, slots=True)
class Offer:
    """An accepted item offered to the links (what the hub's outlet hands over)."""

    event: CotEvent
    marking: Marking
    addressing: Addressing
    origin: Origin
    sender: str  # the sending principal's name
    at: datetime  # when it was accepted (its history row's received_at)
    via: str | None = None  # the federate it came from; None: local


@dataclass(frozen=True, slots=True)
class PeerView:
    """What the guard knows of one federate."""

    name: str
    principal: Principal
    rules: RuleSet = NO_RULES
    relay_from: frozenset[str] = frozenset()
    contact_uids: frozenset[str] = frozenset()
    contact_callsigns: frozenset[str] = frozenset()
    reader: Reader = field(init=False, compare=False)

    def __post_init__(self) -> None:
        # Who the peer is for addressing: its own name and the contacts it sent us.
        callsigns = self.contact_callsigns | {self.principal.callsign}
        reader = Reader(self.principal, uids=self.contact_uids, callsigns=callsigns)
        object.__setattr__(self, "reader", reader)


@dataclass(frozen=True, slots=True)
class Cross:
    event: CotEvent  # what goes: the original or a sanitised copy, carrying ``marking``
    marking: Marking
    rule: str | None = None  # the rule that sanitised it


@dataclass(frozen=True, slots=True)
class Deny:
    reason: str  # one of the reason constants
    detail: str = ""

    @property
    def audited(self) -> bool:
        return self.reason in AUDITED


Verdict = Cross | Deny


@dataclass(slots=True)
class Guard:
    audience: Audience
    policy: SecurityPolicy
    server_name: str  # written into sanitised copies' marker
    home_nation: str | None = None  # the nation peers attribute this server's items to

    def decide(self, offer: Offer, peer: PeerView, now: datetime) -> Verdict:
        event = offer.event
        if not federated_type(event.type):
            return Deny(NOT_FEDERATED, event.type)
        if offer.via is not None:
            if offer.via == peer.name:
                return Deny(ECHO, "came from this federate")
            if offer.via not in peer.relay_from:
                return Deny(FROM_FEDERATE, f"came from federate {offer.via}")
        if event.stale <= now:
            return Deny(STALE, "stale")
        reader = peer.reader
        rule = peer.rules.first_match(event, offer.marking)
        marking = offer.marking
        addressing = offer.addressing
        if not addressing.public and not (
            is_addressee(addressing, reader) or is_sender(offer.origin, reader)
        ):
            # Meant for others: routing, not a refusal (the audience decision below
            # would say the same, after the release half).
            return Deny(NOT_ADDRESSED_HERE, addressing.describe())
        decision = self.audience.decide(marking, reader, addressing, offer.origin)
        if decision is NOT_ADDRESSED:
            return Deny(NOT_ADDRESSED_HERE, addressing.describe())
        if decision is NOT_IN_GROUP:
            # TAK groups: a federate reads the default group only (no group mapping yet).
            return Deny(NOT_IN_GROUP_HERE, "written to groups the federate does not read")
        if not decision.allowed and rule is not None and rule.release_as is not None:
            marking = rule.release_as.with_originator(offer.marking.originator)
            decision = self.audience.decide(marking, reader, addressing, offer.origin)
        if not decision.allowed:
            return Deny(RELEASE, decision.reason or "not releasable")
        problem = self.attribution_problem(marking)
        if problem is not None:
            return Deny(ATTRIBUTION, problem)
        if rule is not None:
            return Cross(sanitised(event, rule, marking, self.server_name), marking, rule.name)
        return Cross(event.with_marking(*marking_to_cot(marking)), marking)

    def attribution_problem(self, marking: Marking) -> str | None:
        """Why ``marking`` would change audience when the peer re-attributes it, or None."""
        if marking.rel_to or releasable_nations(marking, self.policy) is None:
            return None
        owner = owner_nation(marking, self.policy)
        if owner is not None and owner == self.home_nation:
            return None
        return (
            f"{marking.banner()} is releasable by its originator ({owner or 'none'}) alone, and "
            f"the peer attributes what this server sends to "
            f"{self.home_nation or 'this server (federation_nation not set)'}"
        )
