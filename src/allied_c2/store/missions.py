"""Data Sync missions in the database: the mission, its contents, subscribers, change log."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Engine, Table, delete, select
from sqlalchemy.exc import IntegrityError

from allied_c2.store.tak_models import (
    MissionChangeRow,
    MissionContentRow,
    MissionRow,
    MissionSubscriptionRow,
)

_M = cast(Table, MissionRow.__table__)
_C = cast(Table, MissionContentRow.__table__)
_S = cast(Table, MissionSubscriptionRow.__table__)
_L = cast(Table, MissionChangeRow.__table__)

UID = "uid"
HASH = "hash"


class MissionExists(Exception):
    pass


@dataclass(frozen=True, slots=True)
class MissionRecord:
    id: int
    name: str
    guid: str
    description: str
    tool: str
    banner: str
    access: str
    caveat: str | None
    releasable_to: str | None
    originator_nation: str | None
    groups: frozenset[str]
    creator_uid: str | None
    created_by: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Content:
    kind: str  # UID or HASH
    key: str
    creator_uid: str | None
    added_at: datetime


@dataclass(frozen=True, slots=True)
class Subscription:
    mission: str
    client_uid: str
    principal: str
    role: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Change:
    type: str
    mission: str
    content_uid: str | None
    content_hash: str | None
    creator_uid: str | None
    at: datetime


def _mission(row: Any) -> MissionRecord:
    return MissionRecord(
        id=int(row.id),
        name=row.name,
        guid=row.guid,
        description=row.description,
        tool=row.tool,
        banner=row.banner,
        access=row.access,
        caveat=row.caveat,
        releasable_to=row.releasable_to,
        originator_nation=row.originator_nation,
        groups=frozenset(json.loads(row.groups)),
        creator_uid=row.creator_uid,
        created_by=row.created_by,
        created_at=row.created_at,
    )


class MissionStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # -- missions ------------------------------------------------------------

    def create(self, values: dict[str, Any]) -> MissionRecord:
        row = {**values, "guid": str(uuid.uuid4())}
        row["groups"] = json.dumps(sorted(values["groups"]))
        try:
            with self._engine.begin() as conn:
                conn.execute(_M.insert().values(**row))
        except IntegrityError as exc:
            raise MissionExists(values["name"]) from exc
        found = self.get(values["name"])
        assert found is not None
        return found

    def get(self, name: str) -> MissionRecord | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(_M).where(_M.c.name == name)).first()
        return None if row is None else _mission(row)

    def all(self) -> list[MissionRecord]:
        with self._engine.connect() as conn:
            return [_mission(r) for r in conn.execute(select(_M).order_by(_M.c.name))]

    def delete(self, mission: MissionRecord) -> None:
        with self._engine.begin() as conn:
            for table in (_C, _S, _L):
                conn.execute(delete(table).where(table.c.mission_id == mission.id))
            conn.execute(delete(_M).where(_M.c.id == mission.id))

    # -- contents ------------------------------------------------------------

    def add(
        self, mission: MissionRecord, kind: str, key: str, creator: str | None, at: datetime
    ) -> bool:
        """Add one item and log the change; False when it was there already."""
        try:
            with self._engine.begin() as conn:
                conn.execute(
                    _C.insert().values(
                        mission_id=mission.id, kind=kind, key=key, creator_uid=creator, added_at=at
                    )
                )
                conn.execute(
                    _L.insert().values(**_change(mission, "ADD_CONTENT", kind, key, creator, at))
                )
        except IntegrityError:
            return False
        return True

    def remove(
        self, mission: MissionRecord, kind: str, key: str, creator: str | None, at: datetime
    ) -> bool:
        with self._engine.begin() as conn:
            gone = conn.execute(
                delete(_C).where(_C.c.mission_id == mission.id, _C.c.kind == kind, _C.c.key == key)
            ).rowcount
            if gone:
                conn.execute(
                    _L.insert().values(**_change(mission, "REMOVE_CONTENT", kind, key, creator, at))
                )
        return bool(gone)

    def contents(self, mission: MissionRecord) -> list[Content]:
        query = select(_C).where(_C.c.mission_id == mission.id).order_by(_C.c.id)
        with self._engine.connect() as conn:
            return [Content(r.kind, r.key, r.creator_uid, r.added_at) for r in conn.execute(query)]

    def changes(self, mission: MissionRecord, since: datetime | None = None) -> list[Change]:
        query = select(_L).where(_L.c.mission_id == mission.id)
        if since is not None:
            query = query.where(_L.c.at >= since)
        with self._engine.connect() as conn:
            return [
                Change(r.type, mission.name, r.content_uid, r.content_hash, r.creator_uid, r.at)
                for r in conn.execute(query.order_by(_L.c.id))
            ]

    # -- subscriptions -----------------------------------------------------------

    def subscribe(
        self, mission: MissionRecord, uid: str, principal: str, role: str, at: datetime
    ) -> None:
        with self._engine.begin() as conn:
            conn.execute(delete(_S).where(_S.c.mission_id == mission.id, _S.c.client_uid == uid))
            conn.execute(
                _S.insert().values(
                    mission_id=mission.id,
                    client_uid=uid,
                    principal=principal,
                    role=role,
                    created_at=at,
                )
            )

    def unsubscribe(self, mission: MissionRecord, uid: str) -> bool:
        with self._engine.begin() as conn:
            return bool(
                conn.execute(
                    delete(_S).where(_S.c.mission_id == mission.id, _S.c.client_uid == uid)
                ).rowcount
            )

    def subscriptions(self) -> list[Subscription]:
        query = select(_S, _M.c.name).join(_M, _M.c.id == _S.c.mission_id).order_by(_S.c.id)
        with self._engine.connect() as conn:
            return [
                Subscription(r.name, r.client_uid, r.principal, r.role, r.created_at)
                for r in conn.execute(query)
            ]


def _change(
    mission: MissionRecord, kind: str, content: str, key: str, creator: str | None, at: datetime
) -> dict[str, Any]:
    return {
        "mission_id": mission.id,
        "type": kind,
        "content_uid": key if content == UID else None,
        "content_hash": key if content == HASH else None,
        "creator_uid": creator,
        "at": at,
    }
