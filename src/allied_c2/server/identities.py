"""Who each connection and principal answers to, for addressed delivery.

A TAK client names itself in its first SA: the event's uid, ``<contact
callsign>`` and ``<__group name>`` (its team). The relay binds uid and callsign
to the connection (a name already bound to another live connection is not
taken over) and remembers, per identified principal, every uid, callsign and
team its connections bound, so the principal's web session or an HTTP read of
the history is recognised as the addressee of a direct message to its phone.
The anonymous profile is shared by unrelated clients and so is never
remembered: each anonymous connection answers only for itself.

It also knows each principal's server-side groups (TAK channels,
security/groups.py), loaded from the store by the directory, and the groups
each connection switched on (``PUT /Marti/api/groups/active?clientUid=``):
a reader's ``groups`` are the groups it reads, a writer's the groups it writes.
Until any group is configured every reader and writer is in ``__ANON__`` and
``grouped`` is False, so the relay keeps its group-free fast path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from allied_c2.cot.addressing import Addressing
from allied_c2.security.audience import NO_IDS, Reader, is_identified
from allied_c2.security.groups import ANON_GROUP, DEFAULT_CHANNELS, Channels
from allied_c2.security.principals import Principal

# A principal that binds ever more uids (a script, a hostile client) would grow
# the table without end; beyond this the oldest claims are forgotten, which can
# only narrow what it is shown (fail closed).
MAX_CLAIMS = 64


@dataclass(slots=True)
class Claims:
    uids: list[str] = field(default_factory=list)
    callsigns: list[str] = field(default_factory=list)
    teams: list[str] = field(default_factory=list)

    def add(self, values: list[str], value: str | None) -> bool:
        if not value or value in values:
            return False
        values.append(value)
        if len(values) > MAX_CLAIMS:
            del values[0]
        return True


class Identities:
    """The claims of identified principals; rebuilt from history after a restart."""

    __slots__ = ("_active", "_channels", "_claims", "_missions", "_readers", "grouped")

    def __init__(self) -> None:
        self._claims: dict[str, Claims] = {}
        self._readers: dict[Principal, Reader] = {}
        self._channels: dict[str, Channels] = {}  # identified principals with groups
        self._active: dict[str, Channels] = {}  # client uid -> the groups it switched on
        self.grouped = False  # any group configured or selected
        self._missions: dict[str, frozenset[str]] = {}  # principal -> missions subscribed

    # -- missions --------------------------------------------------------------

    def set_missions(self, missions: Mapping[str, frozenset[str]]) -> None:
        """The Data Sync missions each identified principal's clients subscribed to."""
        fresh = {name: m for name, m in missions.items() if m}
        if fresh != self._missions:
            self._missions = fresh
            self._readers.clear()

    def missions(self, principal: Principal) -> frozenset[str]:
        if not self._missions or not is_identified(principal):
            return NO_IDS
        return self._missions.get(principal.callsign, NO_IDS)

    # -- groups ----------------------------------------------------------------

    def set_channels(self, channels: Mapping[str, Channels]) -> set[str]:
        """Replace every principal's groups; returns the callsigns whose groups changed."""
        fresh = {name: c for name, c in channels.items() if not c.is_default}
        changed = {
            name
            for name in self._channels.keys() | fresh.keys()
            if self._channels.get(name) != fresh.get(name)
        }
        self._channels = fresh
        self.grouped = bool(fresh or self._active)
        if changed:
            self._readers.clear()
        return changed

    def channels(self, principal: Principal) -> Channels:
        """The groups of a principal (the anonymous profile: ``__ANON__`` both ways)."""
        if not self._channels or not is_identified(principal):
            return DEFAULT_CHANNELS
        return self._channels.get(principal.callsign, DEFAULT_CHANNELS)

    def channels_by_name(self, callsign: str | None) -> Channels:
        """The groups of a stored sender (history rows carry the principal's name)."""
        if callsign is None or not self._channels:
            return DEFAULT_CHANNELS
        return self._channels.get(callsign, DEFAULT_CHANNELS)

    def connection_channels(self, principal: Principal, uid: str | None) -> Channels:
        """A connection's groups: its principal's, narrowed to those it switched on."""
        base = self.channels(principal)
        if uid is None or not self._active:
            return base
        return base.narrowed(self._active.get(uid))

    def set_active(self, uid: str, active: Channels) -> None:
        """The groups the client ``uid`` switched on (ATAK's channel toggles)."""
        if len(self._active) > 4096 and uid not in self._active:
            self._active.clear()  # bounded; a forgotten selection falls back to all groups
        self._active[uid] = active
        self.grouped = True
        self._readers.clear()

    def active(self, uid: str | None) -> Channels | None:
        return None if uid is None else self._active.get(uid)

    def group_names(self) -> list[str]:
        """Every group some principal is in, ``__ANON__`` included (for bit positions)."""
        names = {ANON_GROUP}
        for channels in self._channels.values():
            names |= channels.writes | channels.reads
        return sorted(names)

    def claim(
        self, principal: Principal, uid: str | None, callsign: str | None, team: str | None
    ) -> None:
        if not is_identified(principal):
            return
        claims = self._claims.setdefault(principal.callsign, Claims())
        changed = claims.add(claims.uids, uid)
        changed = claims.add(claims.callsigns, callsign) or changed
        changed = claims.add(claims.teams, team) or changed
        if changed:
            self._readers = {
                p: r for p, r in self._readers.items() if p.callsign != principal.callsign
            }

    def claimants(self, addressing: Addressing) -> set[str]:
        """Names of the principals an addressed item may be for, by their own names.

        A principal answers to its own directory callsign and to everything its
        connections bound, so a direct message to its phone also reaches its other
        connections (each still decided by the audience when delivered).
        """
        names = set(addressing.callsigns)
        for name, claims in self._claims.items():
            if (
                (addressing.uids and not addressing.uids.isdisjoint(claims.uids))
                or (addressing.callsigns and not addressing.callsigns.isdisjoint(claims.callsigns))
                or (addressing.teams and not addressing.teams.isdisjoint(claims.teams))
            ):
                names.add(name)
        return names

    def reader(self, principal: Principal) -> Reader:
        """The principal with its own callsign and everything its connections bound."""
        reader = self._readers.get(principal)
        if reader is None:
            reader = Reader.of(principal)
            claims = self._claims.get(principal.callsign) if is_identified(principal) else None
            if claims is not None:
                reader = Reader(
                    principal,
                    uids=frozenset(claims.uids),
                    callsigns=reader.callsigns | frozenset(claims.callsigns),
                    teams=frozenset(claims.teams),
                )
            channels = self.channels(principal)
            missions = self.missions(principal)
            if channels is not DEFAULT_CHANNELS or missions:
                reader = Reader(
                    principal,
                    uids=reader.uids,
                    callsigns=reader.callsigns,
                    teams=reader.teams,
                    groups=channels.reads,
                    missions=missions,
                )
            if len(self._readers) > 4096:
                self._readers.clear()
            self._readers[principal] = reader
        return reader

    def reader_of_connection(
        self, principal: Principal, uid: str | None, callsign: str | None, team: str | None
    ) -> Reader:
        """A connection's reader: its own bound names plus its principal's."""
        base = self.reader(principal)
        groups = base.groups
        if self._active and uid is not None and uid in self._active:
            groups = self.connection_channels(principal, uid).reads
        if (
            (uid is None or uid in base.uids)
            and (callsign is None or callsign in base.callsigns)
            and (team is None or team in base.teams)
            and groups is base.groups
        ):
            return base
        return Reader(
            principal,
            uids=base.uids | {uid} if uid else base.uids,
            callsigns=base.callsigns | {callsign} if callsign else base.callsigns,
            teams=base.teams | {team} if team else base.teams,
            groups=groups,
            missions=base.missions,
        )
