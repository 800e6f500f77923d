"""Files and data packages as marked items (issue 12): who may upload, list, fetch, announce.

A package is an item like any CoT event: a **marking** (the uploader's
choice, refused above what the uploader may send, else the server default),
an **addressing** (``tool=public``: everyone the marking allows; ``private``,
the official server's default for ATAK's "send", its uploader and whoever an
accepted ``b-f-t-r`` announcement was addressed to) and an **origin** (the
uploader, with its IN groups). Every exit (``missionquery``, ``content``,
``search``, the announcement itself) asks ``Hub.audience`` with those three.

An announcement (``b-f-t-r`` with ``<fileshare sha256=…>``) of a stored
package is marked at least as the package: the hub rolls its marking up with
the package's before the send check, so it reaches nobody the package may not
reach, and a sender who may not send the package's marking cannot announce it.
Grants from announcements live in memory: after a restart a private package
reaches its uploader (and auditors) until it is announced again (fail closed).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime

from allied_c2.cot.addressing import PUBLIC, Addressing
from allied_c2.cot.event import CotEvent
from allied_c2.security.audience import Origin, Reader, is_identified
from allied_c2.security.decision import Decision, may_send
from allied_c2.security.markings import (
    Marking,
    MarkingError,
    marking_from_cot,
    marking_to_cot,
    parse_banner,
    rollup,
)
from allied_c2.security.principals import Principal
from allied_c2.server.filestore import HASH, FileStore
from allied_c2.server.hub import Hub
from allied_c2.server.peers import Refusal
from allied_c2.store.packages import PackageRecord, PackageStore

log = logging.getLogger("allied_c2.packages")

ANNOUNCE = "b-f-t-r"  # file transfer request (ATAK "send"); b-f-t-a acks route as addressed
PUBLIC_TOOL = "public"
PRIVATE_TOOL = "private"
TOOLS = (PUBLIC_TOOL, PRIVATE_TOOL)


@dataclass(frozen=True, slots=True)
class PackageItem:
    """A stored package with what the audience decision needs."""

    record: PackageRecord
    marking: Marking
    addressing: Addressing
    origin: Origin


class PackageService:
    def __init__(self, hub: Hub, store: PackageStore, files: FileStore) -> None:
        self.hub = hub
        self.store = store
        self.files = files
        self._grants: dict[str, Addressing] = {}  # hash -> destinations of its announcements
        self._markings: dict[str, Marking] = {}  # hash -> marking, for announcements
        hub.item_hooks[ANNOUNCE] = self

    # -- markings ------------------------------------------------------------

    def upload_marking(self, principal: Principal, banner: str | None) -> Marking:
        """The marking of a new upload; :class:`Refusal` if invalid or above the uploader."""
        hub = self.hub
        if banner is None or not banner.strip():
            marking = hub.default_marking
        else:
            try:
                marking = parse_banner(banner.strip(), hub.policy, strict=False)
            except MarkingError as exc:
                raise Refusal("bad_marking", str(exc)) from None
        marking = marking.with_originator(principal.nation)
        decision = may_send(marking, principal, hub.policy)
        if not decision.allowed:
            raise Refusal("send_not_permitted", decision.reason or "not permitted")
        return marking

    def marking_of(self, record: PackageRecord) -> Marking:
        marking = self._markings.get(record.hash)
        if marking is None:
            marking = marking_from_cot(
                record.access,
                record.caveat,
                record.releasable_to,
                self.hub.policy,
                default=self.hub.default_marking,
            ).with_originator(record.originator_nation)
            if len(self._markings) > 8192:
                self._markings.clear()
            self._markings[record.hash] = marking
        return marking

    # -- the audience ----------------------------------------------------------

    def item(self, record: PackageRecord) -> PackageItem:
        if record.tool == PUBLIC_TOOL:
            addressing = PUBLIC
        else:  # addressed to its uploader, and to whom announcements named
            own = Addressing(callsigns=frozenset((record.submitter,)))
            granted = self._grants.get(record.hash)
            addressing = own if granted is None else _merge(own, granted)
        groups = record.groups or self.hub.identities.channels_by_name(record.submitter).writes
        origin = Origin(record.submitter, record.creator_uid, frozenset(groups))
        return PackageItem(record, self.marking_of(record), addressing, origin)

    def decide(self, record: PackageRecord, reader: Reader) -> Decision:
        item = self.item(record)
        return self.hub.audience.decide(item.marking, reader, item.addressing, item.origin)

    def visible(self, reader: Reader) -> list[PackageItem]:
        """Every package ``reader`` may see (search, the web list)."""
        items = [self.item(record) for record in self.store.all()]
        audience = self.hub.audience
        return [i for i in items if audience.allows(i.marking, reader, i.addressing, i.origin)]

    def find(self, key: str, reader: Reader) -> PackageRecord | None:
        """The package by hash (or ATAK's uid) if ``reader`` may see it, else None."""
        record = self.store.get(key.lower()) if HASH.match(key.lower()) else None
        if record is None:
            record = self.store.by_uid(key)
        if record is None or not self.decide(record, reader).allowed:
            return None
        return record

    # -- records ---------------------------------------------------------------

    def new_record(
        self,
        *,
        digest: str,
        size: int,
        name: str,
        filename: str,
        mime_type: str,
        keywords: tuple[str, ...],
        tool: str,
        marking: Marking,
        principal: Principal,
        creator_uid: str | None,
        now: datetime,
    ) -> PackageRecord:
        access, caveat, rel = marking_to_cot(marking)
        uid = creator_uid
        writes = self.hub.identities.connection_channels(principal, uid).writes
        return PackageRecord(
            hash=digest,
            name=name,
            filename=filename,
            mime_type=mime_type,
            size=size,
            keywords=keywords,
            tool=tool,
            banner=marking.banner(),
            access=access,
            caveat=caveat,
            releasable_to=rel,
            originator_nation=marking.originator,
            groups=writes,
            creator_uid=creator_uid,
            submitter=principal.callsign,
            submitted_at=now,
        )

    def may_manage(self, record: PackageRecord, principal: Principal) -> bool:
        """The uploader (identified) or an admin may change its tool or delete it."""
        if principal.has_role("admin"):
            return True
        return is_identified(principal) and principal.callsign == record.submitter

    def delete(self, record: PackageRecord) -> None:
        self.store.delete(record.hash)
        self.files.delete(record.hash)
        self._grants.pop(record.hash, None)
        self._markings.pop(record.hash, None)

    def set_tool(self, record: PackageRecord, tool: str) -> PackageRecord:
        self.store.set_tool(record.hash, tool)
        return replace(record, tool=tool)

    # -- announcements (the hub's item hook for b-f-t-r) ---------------------------

    def raise_marking(self, event: CotEvent, marking: Marking) -> Marking:
        """An announcement of a stored package is marked at least as the package."""
        record = self._announced(event)
        if record is None:
            return marking
        package = self.marking_of(record)
        if package == marking:
            return marking
        return rollup((marking, package), self.hub.policy).with_originator(marking.originator)

    def accepted(
        self, event: CotEvent, addressing: Addressing, origin: Origin, principal: Principal
    ) -> None:
        """An accepted announcement lets its addressees fetch the package."""
        record = self._announced(event)
        if record is None or addressing.public:
            return
        current = self._grants.get(record.hash)
        self._grants[record.hash] = addressing if current is None else _merge(current, addressing)
        log.info(
            "package %s announced by %s to %s",
            record.hash[:12],
            principal.callsign,
            addressing.describe(),
        )

    def _announced(self, event: CotEvent) -> PackageRecord | None:
        detail = event.detail
        share = detail.find("fileshare") if detail is not None else None
        digest = (share.get("sha256") or "").lower() if share is not None else ""
        if not HASH.match(digest):
            return None
        return self.store.get(digest)


def _merge(a: Addressing, b: Addressing) -> Addressing:
    return Addressing(
        uids=a.uids | b.uids,
        callsigns=a.callsigns | b.callsigns,
        teams=a.teams | b.teams,
        groups=a.groups | b.groups,
        missions=a.missions | b.missions,
    )
