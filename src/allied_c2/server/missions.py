"""Data Sync missions (issue 12, the subset TAK clients use), as marked collections.

A mission has a marking (the creator's choice, refused above what the creator
may send) and the creator's IN groups; who may see it is decided like any
public item (``Hub.audience``). Its contents are CoT items (uids in the
picture) and files (package hashes); each keeps its own marking, and nothing
whose marking rolls up above the mission's may be added. A subscriber sees
only the contents it may see: lists, the change log, ``…/cot`` and the
``t-x-m-c`` notices are each decided per item. ``<marti><dest mission=…/>``
reaches the mission's subscribers (``Reader.missions``, from the subscriptions).

Notices follow the official server (tak-server-api.md §3): ``t-x-m-n`` and
``t-x-m-d`` to everyone who may see the mission, ``t-x-m-c`` to subscribers.
Subscribing returns a mission token (a JWT, HS256 with a key kept in the data
directory) as the official server does; access is decided by the caller's
principal, so the token identifies the subscription and is checked when shown.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from allied_c2.cot.addressing import PUBLIC, Addressing
from allied_c2.cot.notices import (
    MISSION_CREATED,
    MISSION_DELETED,
    MissionChange,
    mission_changed,
    mission_notice,
)
from allied_c2.security.audience import Origin, Reader, is_identified
from allied_c2.security.markings import Marking, marking_from_cot, marking_to_cot, rollup
from allied_c2.security.principals import Principal
from allied_c2.server.hub import Hub
from allied_c2.server.packages import PackageService
from allied_c2.server.picture import PictureEntry
from allied_c2.store.missions import HASH, UID, Change, MissionRecord, MissionStore

SUBSCRIBER = "MISSION_SUBSCRIBER"
TOKEN_ALGORITHM = "HS256"
# PyJWT is imported where a mission token is made or read, not at the top: it imports
# `cryptography` whatever the algorithm (HS256 needs none of it), together about 10 MB
# resident that a server without mission subscriptions never uses (docs/benchmarks.md
# "Where the memory is"). Once the first token is made or read it stays loaded.


@dataclass(frozen=True, slots=True)
class ContentItem:
    kind: str
    key: str
    marking: Marking
    origin: Origin
    creator_uid: str | None
    added_at: datetime
    entry: PictureEntry | None = None  # a CoT item, as the picture holds it


def token_key(path: Path) -> bytes:
    """The mission-token signing key, created (0600) on first use."""
    if not path.exists():
        path.write_bytes(secrets.token_bytes(32))
        path.chmod(0o600)
    return path.read_bytes()


class MissionService:
    def __init__(self, hub: Hub, store: MissionStore, packages: PackageService, key: bytes) -> None:
        self.hub = hub
        self.store = store
        self.packages = packages
        self._key = key
        self.reload_subscriptions()

    # -- who sees what ---------------------------------------------------------------

    def marking_of(self, mission: MissionRecord) -> Marking:
        return marking_from_cot(
            mission.access,
            mission.caveat,
            mission.releasable_to,
            self.hub.policy,
            default=self.hub.default_marking,
        ).with_originator(mission.originator_nation)

    def origin_of(self, mission: MissionRecord) -> Origin:
        return Origin(mission.created_by, mission.creator_uid, mission.groups)

    def sees(self, mission: MissionRecord, reader: Reader) -> bool:
        return self.hub.audience.allows(
            self.marking_of(mission), reader, PUBLIC, self.origin_of(mission)
        )

    def visible(self, reader: Reader) -> list[MissionRecord]:
        return [m for m in self.store.all() if self.sees(m, reader)]

    def contents(self, mission: MissionRecord, reader: Reader) -> list[ContentItem]:
        """The mission's items ``reader`` may see, each by its own marking."""
        shown = []
        for content in self.store.contents(mission):
            item = self._item(content.kind, content.key, content.creator_uid, content.added_at)
            if item is not None and self._allows(item, reader):
                shown.append(item)
        return shown

    def changes(
        self, mission: MissionRecord, reader: Reader, since: datetime | None
    ) -> list[Change]:
        """The change log, each entry shown only with its item visible to ``reader``."""
        out = []
        for change in self.store.changes(mission, since):
            kind, key = (
                (UID, change.content_uid) if change.content_uid else (HASH, change.content_hash)
            )
            item = self._item(kind, key or "", change.creator_uid, change.at)
            if item is not None and self._allows(item, reader):
                out.append(change)
        return out

    def _allows(self, item: ContentItem, reader: Reader) -> bool:
        addressing = item.entry.addressing if item.entry is not None else PUBLIC
        return self.hub.audience.allows(item.marking, reader, addressing, item.origin)

    def _item(self, kind: str, key: str, creator: str | None, at: datetime) -> ContentItem | None:
        if kind == UID:
            entry = self.hub.picture.get(key)
            if entry is None:
                return None  # gone from the picture: nothing to show (fail closed)
            return ContentItem(UID, key, entry.marking, entry.origin, creator, at, entry)
        record = self.packages.store.get(key)
        if record is None:
            return None
        package = self.packages.item(record)
        return ContentItem(HASH, key, package.marking, package.origin, creator, at)

    # -- changes ---------------------------------------------------------------------

    def create(
        self,
        principal: Principal,
        name: str,
        *,
        marking: Marking,
        creator_uid: str | None,
        description: str,
        tool: str,
        now: datetime,
    ) -> MissionRecord:
        access, caveat, rel = marking_to_cot(marking)
        writes = self.hub.identities.connection_channels(principal, creator_uid).writes
        mission = self.store.create(
            {
                "name": name,
                "description": description,
                "tool": tool,
                "banner": marking.banner(),
                "access": access,
                "caveat": caveat,
                "releasable_to": rel,
                "originator_nation": marking.originator,
                "groups": writes,
                "creator_uid": creator_uid,
                "created_by": principal.callsign,
                "created_at": now,
            }
        )
        notice = mission_notice(MISSION_CREATED, name, creator_uid or principal.callsign, now)
        self.hub.notify(notice, marking, PUBLIC, self.origin_of(mission))
        return mission

    def may_manage(self, mission: MissionRecord, principal: Principal) -> bool:
        if principal.has_role("admin"):
            return True
        return is_identified(principal) and principal.callsign == mission.created_by

    def delete(self, mission: MissionRecord, principal: Principal, now: datetime) -> None:
        self.store.delete(mission)
        notice = mission_notice(MISSION_DELETED, mission.name, principal.callsign, now)
        self.hub.notify(notice, self.marking_of(mission), PUBLIC, self.origin_of(mission))
        self.reload_subscriptions()

    def add(
        self,
        mission: MissionRecord,
        principal: Principal,
        *,
        uids: list[str],
        hashes: list[str],
        creator_uid: str | None,
        now: datetime,
    ) -> list[str]:
        """Add items the caller may see and the mission may hold; returns the refusals."""
        reader = self.hub.reader_for(principal)
        ceiling = self.marking_of(mission)
        refused: list[str] = []
        for kind, keys in ((UID, uids), (HASH, hashes)):
            for key in keys:
                item = self._item(kind, key, creator_uid, now)
                if item is None or not self._allows(item, reader):
                    refused.append(f"{kind} {key}: not found")
                    continue
                if rollup((ceiling, item.marking), self.hub.policy).banner() != ceiling.banner():
                    refused.append(
                        f"{kind} {key}: marked {item.marking.banner()}, above the mission's "
                        f"{ceiling.banner()}"
                    )
                    continue
                if self.store.add(mission, kind, key, creator_uid, now):
                    self._announce(mission, "ADD_CONTENT", item, creator_uid, now)
        return refused

    def remove(
        self, mission: MissionRecord, kind: str, key: str, creator_uid: str | None, now: datetime
    ) -> bool:
        item = self._item(kind, key, creator_uid, now)
        if not self.store.remove(mission, kind, key, creator_uid, now):
            return False
        if item is not None:
            self._announce(mission, "REMOVE_CONTENT", item, creator_uid, now)
        return True

    def _announce(
        self,
        mission: MissionRecord,
        kind: str,
        item: ContentItem,
        creator: str | None,
        now: datetime,
    ) -> None:
        """``t-x-m-c`` to the subscribers who may see the item (marked as the item)."""
        details = None
        if item.entry is not None:
            event = item.entry.event
            details = {"type": event.type, "callsign": event.callsign or event.uid}
            details |= {"lat": f"{event.lat}", "lon": f"{event.lon}"}
        change = MissionChange(
            kind,
            mission.name,
            creator or "",
            now,
            item.key if item.kind == UID else None,
            item.key if item.kind == HASH else None,
            details,
        )
        notice = mission_changed(mission.name, creator or "", [change], now)
        addressing = Addressing(missions=frozenset((mission.name,)))
        self.hub.notify(notice, item.marking, addressing, item.origin)

    # -- subscriptions -----------------------------------------------------------------

    def subscribe(
        self, mission: MissionRecord, principal: Principal, uid: str, now: datetime
    ) -> str:
        self.store.subscribe(mission, uid, principal.callsign, SUBSCRIBER, now)
        self.reload_subscriptions()
        claims = {
            "jti": str(uuid.uuid4()),
            "sub": uid,
            "mission": mission.name,
            "guid": mission.guid,
            "principal": principal.callsign,
            "iat": int(now.timestamp()),
        }
        import jwt  # first use: see TOKEN_ALGORITHM

        return jwt.encode(claims, self._key, algorithm=TOKEN_ALGORITHM)

    def unsubscribe(self, mission: MissionRecord, uid: str) -> bool:
        gone = self.store.unsubscribe(mission, uid)
        self.reload_subscriptions()
        return gone

    def token_claims(self, token: str) -> dict[str, object] | None:
        import jwt  # first use: see TOKEN_ALGORITHM

        try:
            claims: dict[str, object] = jwt.decode(token, self._key, algorithms=[TOKEN_ALGORITHM])
        except jwt.PyJWTError:
            return None
        return claims

    def reload_subscriptions(self) -> None:
        by_principal: dict[str, set[str]] = {}
        for subscription in self.store.subscriptions():
            by_principal.setdefault(subscription.principal, set()).add(subscription.mission)
        self.hub.identities.set_missions({p: frozenset(m) for p, m in by_principal.items()})
