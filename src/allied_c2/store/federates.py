"""Federated peer servers, their outbound cursors and the history rows a link replays.

An administrator registers a federate (``allied-c2 federate add``) with the
fingerprint of its certificate; the running server polls :meth:`revision` and
reloads when it moves, so an update or a removal reaches live links within a
poll. A removed federate stays as a revoked row (its audit trail names it);
adding the same name again re-enrols it with the new certificate.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, delete, select, update
from sqlalchemy.exc import IntegrityError

from allied_c2.store.events import _EVENTS, EventRecordRow, _from_row
from allied_c2.store.models import (
    FEDERATES_REVISION,
    Counter,
    FederateRow,
    FederationCursorRow,
)
from allied_c2.store.principal_records import fingerprint_key

_F = cast(Table, FederateRow.__table__)
_CUR = cast(Table, FederationCursorRow.__table__)
_COUNTERS = cast(Table, Counter.__table__)


class FederateError(ValueError):
    """A federate operation cannot be done; the message says why."""


@dataclass(frozen=True, slots=True)
class FederateRecord:
    """A registered federate as stored (``fingerprint``: lower-case hex, no colons)."""

    name: str
    nation: str
    clearance: str
    fingerprint: str
    peer_cert: str
    peer_ca: str
    cois: frozenset[str] = frozenset()
    connect: str | None = None
    rules: str | None = None
    rules_name: str | None = None
    relay_from: frozenset[str] = field(default_factory=frozenset)
    revoked: bool = False
    revision: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def evolve(self, **changes: Any) -> FederateRecord:
        return replace(self, **changes)


def _record(row: Any) -> FederateRecord:
    return FederateRecord(
        name=row.name,
        nation=row.nation,
        clearance=row.clearance,
        fingerprint=row.fingerprint,
        peer_cert=row.peer_cert,
        peer_ca=row.peer_ca,
        cois=frozenset(json.loads(row.cois)),
        connect=row.connect,
        rules=row.rules,
        rules_name=row.rules_name,
        relay_from=frozenset(json.loads(row.relay_from)),
        revoked=bool(row.revoked),
        revision=int(row.revision),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _values(record: FederateRecord) -> dict[str, Any]:
    return {
        "nation": record.nation,
        "clearance": record.clearance,
        "fingerprint": fingerprint_key(record.fingerprint),
        "peer_cert": record.peer_cert,
        "peer_ca": record.peer_ca,
        "cois": json.dumps(sorted(record.cois)),
        "connect": record.connect,
        "rules": record.rules,
        "rules_name": record.rules_name,
        "relay_from": json.dumps(sorted(record.relay_from)),
    }


class FederateStore:
    def __init__(self, engine: Engine, clock: Callable[[], datetime] | None = None) -> None:
        self._engine = engine
        self._clock = clock or (lambda: datetime.now(UTC))

    # -- federates ---------------------------------------------------------

    def add(self, record: FederateRecord) -> FederateRecord:
        """Register a federate; a removed one of the same name is re-enrolled."""
        now = self._clock()
        try:
            with self._engine.begin() as conn:
                revision = _bump(conn)
                existing = conn.execute(
                    select(_F.c.id, _F.c.revoked).where(_F.c.name == record.name)
                ).first()
                if existing is not None and not existing.revoked:
                    raise FederateError(f"federate {record.name!r} already exists")
                # A removed federate's certificate may be registered again under a new name.
                conn.execute(
                    delete(_F).where(
                        _F.c.fingerprint == fingerprint_key(record.fingerprint),
                        _F.c.revoked.is_(True),
                        _F.c.name != record.name,
                    )
                )
                values = {**_values(record), "revoked": False, "updated_at": now}
                values["revision"] = revision
                if existing is None:
                    conn.execute(_F.insert().values(name=record.name, created_at=now, **values))
                else:
                    conn.execute(update(_F).where(_F.c.id == existing.id).values(**values))
                    conn.execute(delete(_CUR).where(_CUR.c.federate == record.name))
        except IntegrityError as exc:
            raise FederateError(
                f"federate {record.name!r} or its certificate is already registered"
            ) from exc
        return self._require(record.name)

    def update(self, record: FederateRecord) -> FederateRecord:
        """Change an active federate (matched by name)."""
        try:
            with self._engine.begin() as conn:
                revision = _bump(conn)
                changed = conn.execute(
                    update(_F)
                    .where(_F.c.name == record.name, _F.c.revoked.is_(False))
                    .values(**_values(record), updated_at=self._clock(), revision=revision)
                ).rowcount
                if not changed:
                    raise FederateError(f"no federate {record.name!r}")
        except IntegrityError as exc:
            raise FederateError("that certificate is registered for another federate") from exc
        return self._require(record.name)

    def remove(self, name: str) -> bool:
        """Revoke the federate: its certificate is refused from now on. False if unknown."""
        with self._engine.begin() as conn:
            revision = _bump(conn)
            changed = conn.execute(
                update(_F)
                .where(_F.c.name == name, _F.c.revoked.is_(False))
                .values(revoked=True, updated_at=self._clock(), revision=revision)
            ).rowcount
        return bool(changed)

    def get(self, name: str) -> FederateRecord | None:
        """The active federate of that name."""
        with self._engine.connect() as conn:
            row = conn.execute(select(_F).where(_F.c.name == name, _F.c.revoked.is_(False))).first()
        return None if row is None else _record(row)

    def list(self, *, include_removed: bool = False) -> builtins.list[FederateRecord]:
        query = select(_F).order_by(_F.c.name)
        if not include_removed:
            query = query.where(_F.c.revoked.is_(False))
        with self._engine.connect() as conn:
            return [_record(row) for row in conn.execute(query)]

    def by_fingerprint(self, fingerprint: str) -> FederateRecord | None:
        """The federate a certificate stands for, revoked or not (the caller refuses those)."""
        with self._engine.connect() as conn:
            row = conn.execute(
                select(_F).where(_F.c.fingerprint == fingerprint_key(fingerprint))
            ).first()
        return None if row is None else _record(row)

    def revision(self) -> int:
        with self._engine.connect() as conn:
            value = conn.execute(
                select(_COUNTERS.c.value).where(_COUNTERS.c.name == FEDERATES_REVISION)
            ).scalar_one()
        return int(value)

    def _require(self, name: str) -> FederateRecord:
        record = self.get(name)
        if record is None:
            raise FederateError(f"no federate {name!r}")
        return record

    # -- cursors -----------------------------------------------------------

    def cursors(self) -> dict[str, datetime]:
        with self._engine.connect() as conn:
            return {r.federate: r.sent_at for r in conn.execute(select(_CUR))}

    def save_cursors(self, cursors: dict[str, datetime]) -> None:
        """Record how far each link's outbound stream got (one transaction)."""
        if not cursors:
            return
        now = self._clock()
        with self._engine.begin() as conn:
            known = {r.federate for r in conn.execute(select(_CUR.c.federate))}
            for name, sent_at in cursors.items():
                if name in known:
                    conn.execute(
                        update(_CUR)
                        .where(_CUR.c.federate == name)
                        .values(sent_at=sent_at, updated_at=now)
                    )
                else:
                    conn.execute(
                        _CUR.insert().values(federate=name, sent_at=sent_at, updated_at=now)
                    )

    # -- history a link replays ------------------------------------------------

    def replay_rows(
        self, since: datetime, not_stale_at: datetime, limit: int
    ) -> builtins.list[EventRecordRow]:
        """History rows received after ``since`` and still fresh, in arrival order.

        When more match than ``limit``, the newest ``limit`` (the link's backlog
        bound would drop the oldest anyway).
        """
        table = _EVENTS
        query = (
            select(table)
            .where(table.c.received_at > since, table.c.stale > not_stale_at)
            .order_by(table.c.id.desc())
            .limit(max(1, limit))
        )
        with self._engine.connect() as conn:
            rows = [_from_row(row) for row in conn.execute(query)]
        rows.reverse()
        return rows

    def recent_keys(
        self, since: datetime, senders: Iterable[str]
    ) -> builtins.list[tuple[str, str, datetime, str]]:
        """(sender, uid, time, type) of rows from these senders received after ``since``:
        what a restarted server already holds from its federates (duplicate detection)."""
        names = list(senders)
        if not names:
            return []
        table = _EVENTS
        query = select(table.c.sender, table.c.uid, table.c.time, table.c.type).where(
            table.c.received_at > since, table.c.sender.in_(names)
        )
        with self._engine.connect() as conn:
            return [(r.sender, r.uid, r.time, r.type) for r in conn.execute(query)]


def _bump(conn: Connection) -> int:
    value = conn.execute(
        update(_COUNTERS)
        .where(_COUNTERS.c.name == FEDERATES_REVISION)
        .values(value=_COUNTERS.c.value + 1)
        .returning(_COUNTERS.c.value)
    ).scalar_one()
    return int(value)
