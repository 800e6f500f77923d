"""Which live connection answers to each uid and callsign (for addressed delivery).

A TAK client names itself in its SA: the first one with a contact endpoint
binds its uid and callsign to the connection. A name bound to another live
connection is not taken over by someone else, so direct messages to it keep
reaching their owner; the same client reconnecting takes it over (see
``bind``). What each principal has bound is remembered in ``Identities``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from allied_c2.cot.addressing import Addressing
from allied_c2.cot.event import CotEvent
from allied_c2.security.audience import is_identified
from allied_c2.server.identities import Identities
from allied_c2.server.peers import Peer

log = logging.getLogger("allied_c2.relay")


def _host(peer: Peer) -> str:
    """The source address of a connection ("host:port", IPv6 hosts included)."""
    return peer.peer_name.rpartition(":")[0]


class Names:
    __slots__ = ("_by_callsign", "_by_uid", "identities")

    def __init__(self, identities: Identities) -> None:
        self.identities = identities
        self._by_uid: dict[str, Peer] = {}
        self._by_callsign: dict[str, Peer] = {}

    def owner_of_uid(self, uid: str) -> Peer | None:
        return self._by_uid.get(uid)

    def release(self, peer: Peer) -> bool:
        """Forget ``peer``'s names; True if it still owned its uid (it leaves the picture)."""
        owned = peer.uid is not None and self._by_uid.get(peer.uid) is peer
        if owned:
            del self._by_uid[peer.uid]  # type: ignore[arg-type]
        if peer.callsign is not None and self._by_callsign.get(peer.callsign) is peer:
            del self._by_callsign[peer.callsign]
        return owned

    def bind(self, sender: Peer, event: CotEvent) -> None:
        # The first SA with a contact endpoint binds uid and callsign to the
        # connection. A uid or callsign bound to another live connection is not
        # taken over by someone else: direct messages to it must keep reaching its
        # owner. The same client reconnecting (a phone between networks, its old
        # socket still half-open) does take it over: the newest connection wins
        # and the stale one is closed, so no zombie session keeps its messages.
        if sender.uid is None and event.endpoint and event.type.startswith("a-"):
            owner = self._by_uid.get(event.uid)
            if owner is not None and owner is not sender and not self._supersede(owner, sender):
                log.warning(
                    "%s claims uid %s, bound to %s: not rebound",
                    sender.peer_name,
                    event.uid,
                    owner.peer_name,
                )
                return
            sender.uid = event.uid
            self._by_uid[event.uid] = sender
            self.identities.claim(sender.principal, event.uid, None, None)
        if sender.uid == event.uid:
            callsign = event.callsign
            if callsign and callsign != sender.callsign:
                owner = self._by_callsign.get(callsign)
                if owner is not None and owner is not sender and not self._supersede(owner, sender):
                    return
                if sender.callsign is not None and self._by_callsign.get(sender.callsign) is sender:
                    del self._by_callsign[sender.callsign]
                sender.callsign = callsign
                self._by_callsign[callsign] = sender
                self.identities.claim(sender.principal, None, callsign, None)
            if event.group_name and event.group_name != sender.group_name:
                sender.group_name = event.group_name
                self.identities.claim(sender.principal, None, None, event.group_name)

    def _supersede(self, owner: Peer, newcomer: Peer) -> bool:
        """Let ``newcomer`` take ``owner``'s names if it is the same client reconnecting.

        The same client is the same identified principal, or, for the anonymous
        profile (shared by every plain-TCP client), the same source address.
        """
        if is_identified(owner.principal):
            same = owner.principal.callsign == newcomer.principal.callsign and is_identified(
                newcomer.principal
            )
        else:
            same = not is_identified(newcomer.principal) and _host(owner) == _host(newcomer)
        if not same:
            return False
        self.release(owner)
        owner.close("superseded", f"the same client reconnected from {newcomer.peer_name}")
        return True

    def addressees(self, addressing: Addressing, peers: Iterable[Peer]) -> list[Peer]:
        """The live connections an addressed event is meant for.

        By uid, callsign and team; the readers of a ``dest group`` and the
        subscribers of a ``dest mission`` are added by ``Hub._members``.
        """
        found: dict[int, Peer] = {}
        for uid in addressing.uids:
            peer = self._by_uid.get(uid)
            if peer is not None:
                found[id(peer)] = peer
        for callsign in addressing.callsigns:
            peer = self._by_callsign.get(callsign)
            if peer is not None:
                found[id(peer)] = peer
        if addressing.teams:
            for peer in peers:
                if peer.group_name in addressing.teams:
                    found[id(peer)] = peer
        return list(found.values())
