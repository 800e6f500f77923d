"""The relay's live exits: the turn's broadcasts and directed delivery to addressees.

A public item is broadcast: joined with the turn's other broadcasts and written once
per audience at the end of the turn (fanout.py), where the audience is the release
decision (and the groups the item was written to, once groups are configured). An
addressed item goes to the connections it names, the connections of the principals
it names, and the readers of a ``dest group`` or subscribers of a ``dest mission``;
each candidate is decided by the same audience (release, then addressing) when
delivered. Addressing a recipient never bypasses the marking: a denial is counted,
logged and audited.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping

from allied_c2.cot.addressing import Addressing
from allied_c2.cot.event import CotEvent
from allied_c2.cot.special import keeps_in_picture
from allied_c2.security.audience import NOT_ADDRESSED, Audience, Origin, Reader, is_identified
from allied_c2.security.groups import DEFAULT_GROUPS
from allied_c2.security.markings import Marking
from allied_c2.security.principals import Principal
from allied_c2.server.channels import grouped_audiences
from allied_c2.server.fanout import Broadcast, Fanout
from allied_c2.server.identities import Identities
from allied_c2.server.names import Names
from allied_c2.server.peers import AuditSink, Peer
from allied_c2.server.stats import RelayStats

log = logging.getLogger("allied_c2.relay")


class Delivery:
    def __init__(
        self,
        peers: Mapping[Principal, set[Peer]],
        audience: Audience,
        identities: Identities,
        names: Names,
        stats: RelayStats,
        reader_of: Callable[[Peer], Reader],
        audit: AuditSink | None,
    ) -> None:
        self._peers = peers  # the hub's connections by principal (changes live there)
        self.audience = audience
        self.identities = identities
        self.names = names
        self.stats = stats
        self.fanout = Fanout()
        self._reader_of = reader_of
        self._audit = audit

    def _all(self) -> Iterator[Peer]:
        for group in self._peers.values():
            yield from group

    def route(
        self,
        sender: Peer | None,
        principal: Principal,
        event: CotEvent,
        marking: Marking,
        addressing: Addressing,
        origin: Origin,
    ) -> None:
        if addressing.public:
            self.broadcast(event, marking, exclude=sender, groups=origin.groups)
            return
        targets = self.names.addressees(addressing, self._all())
        targets = self._principals_addressed(addressing, targets)
        if addressing.groups or addressing.missions:
            targets = self._members(addressing, targets)
        self._deliver_directed(sender, principal, event, marking, addressing, origin, targets)

    def broadcast(
        self,
        event: CotEvent,
        marking: Marking,
        exclude: Peer | None,
        groups: frozenset[str] = DEFAULT_GROUPS,
    ) -> None:
        # Written at the end of the turn, once per audience: see fanout.py. Only
        # public items are broadcast, so the audience is the release decision
        # (and, once groups are configured, the groups the item was written to).
        key = event.uid if keeps_in_picture(event) else None
        self.fanout.add(Broadcast(event, marking, key, exclude, groups))

    def flush(self) -> None:
        """Deliver this turn's broadcasts (called once per event-loop turn)."""
        if not len(self.fanout):
            return
        if self.identities.grouped:
            audiences, reads = grouped_audiences(self.identities, self._peers)
            delivered, withheld = self.fanout.flush(audiences, self.audience.public, reads)
        else:
            delivered, withheld = self.fanout.flush(list(self._peers.items()), self.audience.public)
        self.stats.deliveries += delivered
        self.stats.release_denied += withheld

    def _principals_addressed(self, addressing: Addressing, found: list[Peer]) -> list[Peer]:
        """``found`` plus every connection of an identified principal the item is for."""
        names = self.identities.claimants(addressing)
        if not names:
            return found
        seen = {id(peer) for peer in found}
        out = list(found)
        for principal, group in self._peers.items():
            if principal.callsign in names and is_identified(principal):
                out.extend(peer for peer in group if id(peer) not in seen)
        return out

    def _members(self, addressing: Addressing, found: list[Peer]) -> list[Peer]:
        """``found`` plus the connections that read a ``dest group`` or subscribe to a
        ``dest mission`` (each still decided by the audience when delivered)."""
        seen = {id(peer) for peer in found}
        out = list(found)
        for peer in self._all():
            if id(peer) in seen:
                continue
            reader = self._reader_of(peer)
            if (addressing.groups and not addressing.groups.isdisjoint(reader.groups)) or (
                addressing.missions and not addressing.missions.isdisjoint(reader.missions)
            ):
                out.append(peer)
        return out

    def _deliver_directed(
        self,
        sender: Peer | None,
        principal: Principal,
        event: CotEvent,
        marking: Marking,
        addressing: Addressing,
        origin: Origin,
        targets: Iterable[Peer],
    ) -> None:
        for peer in targets:
            if peer is sender:
                continue
            decision = self.audience.decide(marking, self._reader_of(peer), addressing, origin)
            if decision.allowed:
                peer.send(None, event)
                self.stats.deliveries += 1
                continue
            if decision is NOT_ADDRESSED:
                continue  # a candidate that turned out not to be meant: no release denial
            # Addressing a recipient directly never bypasses the marking; it is audited.
            self.stats.release_denied += 1
            log.warning(
                "release denied: %s -> %s uid=%s: %s",
                principal.callsign,
                peer.principal.callsign,
                event.uid,
                decision.reason,
            )
            if self._audit is not None:
                self._audit(
                    principal.callsign,
                    "release.denied",
                    event.uid,
                    {
                        "recipient": peer.principal.callsign,
                        "reason": decision.reason or "",
                        "type": event.type,
                        "marking": marking.banner(),
                    },
                )
