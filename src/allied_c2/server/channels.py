"""TAK channels on the relay: the groups an item is written to and the audiences that read them.

The rule is security/groups.py's (the official TAK Server's); this module
applies it to the relay's connections and stored rows, so the hub keeps one
line per use. Everything here runs only once groups are configured
(``Identities.grouped``): a server without groups keeps the hub's group-free
fast path.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol, TypeVar

from allied_c2.cot.addressing import Addressing
from allied_c2.security.audience import AUDITOR, NO_ORIGIN, Origin, is_identified
from allied_c2.security.groups import ALL_GROUPS, DEFAULT_GROUPS
from allied_c2.security.principals import Principal
from allied_c2.server.identities import Identities

# Server-made items go to every group (security/groups.py); the marking still decides.
SERVER_ORIGIN = Origin(groups=ALL_GROUPS)


class _Connection(Protocol):
    @property
    def uid(self) -> str | None: ...


C = TypeVar("C", bound=_Connection)  # a connection (server/peers.py Peer)


def written_origin(
    identities: Identities, principal: Principal, uid: str | None, addressing: Addressing
) -> Origin:
    """Who sent an item and the groups it is written to.

    An item carries its sender's IN groups (official TAK Server,
    ``SubmissionService``); ``<dest group=G>`` narrows it to G. A group the
    sender does not write to gives it no group at all: it then reaches its
    sender and auditors only (the official server refuses it as Forbidden).
    """
    writes = identities.connection_channels(principal, uid).writes
    if addressing.groups:
        writes = frozenset(addressing.groups & writes)
    if addressing.public and writes is DEFAULT_GROUPS:
        return NO_ORIGIN
    return Origin(principal.callsign if is_identified(principal) else None, uid, writes)


def stored_origin(
    identities: Identities,
    sender: str | None,
    identified: bool,
    addressing: Addressing,
    server_callsign: str,
) -> Origin:
    """The origin of a history row by the live rules (restore, history reads).

    History keeps the sending principal, not the groups it wrote to: a row is
    given its sender's IN groups as they are now (docs/security-model.md, Limits).
    """
    if sender == server_callsign and not identified:
        return SERVER_ORIGIN
    writes = identities.channels_by_name(sender if identified else None).writes
    if addressing.groups:
        writes = frozenset(addressing.groups & writes)
    if addressing.public and writes is DEFAULT_GROUPS:
        return NO_ORIGIN
    return Origin(sender if identified else None, None, writes)


def grouped_audiences(
    identities: Identities, by_principal: Mapping[Principal, Iterable[C]]
) -> tuple[list[tuple[Principal, list[C]]], list[frozenset[str] | None]]:
    """Audiences by (principal, groups read), and each audience's groups.

    With groups configured, two connections of one principal may have switched
    different groups on, so the principal alone no longer keys an audience. An
    auditor reads every group (``None``), as the audience decision lets it.
    """
    keyed: dict[tuple[Principal, frozenset[str] | None], list[C]] = {}
    for principal, connections in by_principal.items():
        auditor = AUDITOR in principal.roles
        for connection in connections:
            reads = (
                None if auditor else identities.connection_channels(principal, connection.uid).reads
            )
            keyed.setdefault((principal, reads), []).append(connection)
    return [(p, group) for (p, _), group in keyed.items()], [r for _, r in keyed]
