"""The audience decision: may this reader receive this item, through any exit?

Two rules decide it, and every exit (live stream, catch-up, restore, direct
delivery, WebSocket, every HTTP route and CLI that shows items) asks this
module, never the release decision alone (docs/security-model.md):

1. **Release**: the marking is releasable to the reader's principal
   (``may_release``: clearance, nationality, need to know).
2. **Addressing**: a public item goes to everyone rule 1 allows. An addressed
   item (``cot/addressing.py``) goes only to its sender, its addressees, and
   principals holding the explicit ``auditor`` role (``admin`` does not imply
   it: reading other people's mail is a separate duty). Addressing never widens
   rule 1: an addressee who may not see the marking does not get it.

Who a reader *is*, for addressing, is its :class:`Reader`: the principal plus
the uids, callsigns and teams it answers to (a TAK connection's bound uid and
callsign, its ``__group`` team; an identified principal's own callsign and what
its connections bound). The anonymous profile has no identity beyond the one
connection it reads on, so on the HTTP API it is nobody's addressee: fail closed.

3. **Groups** (TAK channels, groups.py): an item carries its sender's IN groups
   (``Origin.groups``) and reaches a reader only through a group the reader
   reads (``Reader.groups``, its OUT groups), as on the official TAK Server.
   Checked after release, so a group never widens what the marking allows;
   senders and auditors pass it as they pass addressing. Everyone is in
   ``__ANON__`` until groups are configured, so nothing changes without them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from allied_c2.cot.addressing import PUBLIC, Addressing
from allied_c2.security.decision import Decision, ReleaseCache
from allied_c2.security.groups import DEFAULT_GROUPS, shares_group
from allied_c2.security.markings import Marking
from allied_c2.security.principals import Principal

AUDITOR = "auditor"
NOT_ADDRESSED = Decision(False, "addressed to others")
NOT_IN_GROUP = Decision(False, "written to groups the reader does not read")
NO_IDS: frozenset[str] = frozenset()

ReleaseDecision = Callable[[Marking, Principal], Decision]


def is_identified(principal: Principal) -> bool:
    """A principal the directory knows (a certificate, token or federate), not anonymous.

    The anonymous profile is the only principal without a nation (config.py
    refuses to give it one), and many unrelated clients share it: it can never
    be matched as a sender or addressee by its name.
    """
    return principal.nation is not None


@dataclass(frozen=True, slots=True)
class Origin:
    """Who sent an item, for the sender's own right to see it."""

    principal: str | None = None  # the sending principal's name, when identified
    uid: str | None = None  # the uid the sending connection had bound, if any
    groups: frozenset[str] = DEFAULT_GROUPS  # the sender's IN groups it was written to
    # The sending connection (a serial the relay gives each connection): it is the
    # sender even before it bound a uid. Never reused, so a later connection is not.
    connection: int | None = None


NO_ORIGIN = Origin()


@dataclass(frozen=True, slots=True)
class Reader:
    """A principal and the identities it answers to for addressing."""

    principal: Principal
    uids: frozenset[str] = NO_IDS
    callsigns: frozenset[str] = NO_IDS
    teams: frozenset[str] = NO_IDS
    groups: frozenset[str] = DEFAULT_GROUPS  # the groups it reads (OUT)
    missions: frozenset[str] = NO_IDS
    connection: int | None = None  # the connection it reads on (None: HTTP, web views)

    @classmethod
    def of(cls, principal: Principal) -> Reader:
        """A reader with only the identity its principal carries (its own callsign)."""
        if is_identified(principal):
            return cls(principal, callsigns=frozenset((principal.callsign,)))
        return cls(principal)


def is_sender(origin: Origin, reader: Reader) -> bool:
    if origin.connection is not None and origin.connection == reader.connection:
        return True
    principal = reader.principal
    if origin.principal is not None and is_identified(principal):
        return origin.principal == principal.callsign or origin.uid in reader.uids
    return origin.uid is not None and origin.uid in reader.uids


def is_addressee(addressing: Addressing, reader: Reader) -> bool:
    return bool(
        (addressing.uids and not addressing.uids.isdisjoint(reader.uids))
        or (addressing.callsigns and not addressing.callsigns.isdisjoint(reader.callsigns))
        or (addressing.teams and not addressing.teams.isdisjoint(reader.teams))
        or (addressing.groups and not addressing.groups.isdisjoint(reader.groups))
        or (addressing.missions and not addressing.missions.isdisjoint(reader.missions))
    )


def may_receive(
    release: ReleaseDecision,
    marking: Marking,
    reader: Reader,
    addressing: Addressing = PUBLIC,
    origin: Origin = NO_ORIGIN,
) -> Decision:
    """The one audience decision: release first, then addressing."""
    decision = release(marking, reader.principal)
    if not decision.allowed:
        return decision
    if not shares_group(origin.groups, reader.groups) and not (
        AUDITOR in reader.principal.roles or is_sender(origin, reader)
    ):
        return NOT_IN_GROUP
    if addressing.public:
        return decision
    if (
        AUDITOR in reader.principal.roles
        or is_sender(origin, reader)
        or is_addressee(addressing, reader)
    ):
        return decision
    return NOT_ADDRESSED


class Audience:
    """The audience decision with the release cache behind it (one per server).

    ``public`` is the decision for items that are never addressed (broadcasts,
    requests, readiness, the command structure): the release decision itself,
    bound once so the relay's fan-out pays one dictionary lookup per
    (marking, principal) and no wrapper.
    """

    __slots__ = ("public", "releases")

    def __init__(self, releases: ReleaseCache) -> None:
        self.releases = releases
        self.public: ReleaseDecision = releases.decide

    def decide(
        self,
        marking: Marking,
        reader: Reader,
        addressing: Addressing = PUBLIC,
        origin: Origin = NO_ORIGIN,
    ) -> Decision:
        return may_receive(self.releases.decide, marking, reader, addressing, origin)

    def allows(
        self,
        marking: Marking,
        reader: Reader,
        addressing: Addressing = PUBLIC,
        origin: Origin = NO_ORIGIN,
    ) -> bool:
        return may_receive(self.releases.decide, marking, reader, addressing, origin).allowed
