"""Data package and file records (the bytes live in server/filestore.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Engine, Table, delete, select, update
from sqlalchemy.exc import IntegrityError

from allied_c2.store.tak_models import PackageRow

_K = cast(Table, PackageRow.__table__)


class PackageExists(Exception):
    pass


@dataclass(frozen=True, slots=True)
class PackageRecord:
    hash: str
    name: str
    filename: str
    mime_type: str
    size: int
    keywords: tuple[str, ...]
    tool: str
    banner: str
    access: str
    caveat: str | None
    releasable_to: str | None
    originator_nation: str | None
    groups: frozenset[str]
    creator_uid: str | None
    submitter: str
    submitted_at: datetime


def _record(row: Any) -> PackageRecord:
    return PackageRecord(
        hash=row.hash,
        name=row.name,
        filename=row.filename,
        mime_type=row.mime_type,
        size=int(row.size),
        keywords=tuple(json.loads(row.keywords)),
        tool=row.tool,
        banner=row.banner,
        access=row.access,
        caveat=row.caveat,
        releasable_to=row.releasable_to,
        originator_nation=row.originator_nation,
        groups=frozenset(json.loads(row.groups)),
        creator_uid=row.creator_uid,
        submitter=row.submitter,
        submitted_at=row.submitted_at,
    )


class PackageStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add(self, record: PackageRecord) -> None:
        values = {
            "hash": record.hash,
            "name": record.name,
            "filename": record.filename,
            "mime_type": record.mime_type,
            "size": record.size,
            "keywords": json.dumps(list(record.keywords)),
            "tool": record.tool,
            "banner": record.banner,
            "access": record.access,
            "caveat": record.caveat,
            "releasable_to": record.releasable_to,
            "originator_nation": record.originator_nation,
            "groups": json.dumps(sorted(record.groups)),
            "creator_uid": record.creator_uid,
            "submitter": record.submitter,
            "submitted_at": record.submitted_at,
        }
        try:
            with self._engine.begin() as conn:
                conn.execute(_K.insert().values(**values))
        except IntegrityError as exc:
            raise PackageExists(record.hash) from exc

    def get(self, digest: str) -> PackageRecord | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(_K).where(_K.c.hash == digest)).first()
        return None if row is None else _record(row)

    def by_uid(self, uid: str) -> PackageRecord | None:
        """ATAK's ``content?uid=``: the official server's UID is the hash, or the name."""
        found = self.get(uid)
        if found is not None:
            return found
        with self._engine.connect() as conn:
            row = conn.execute(select(_K).where(_K.c.name == uid).order_by(_K.c.id.desc())).first()
        return None if row is None else _record(row)

    def all(self) -> list[PackageRecord]:
        with self._engine.connect() as conn:
            return [_record(r) for r in conn.execute(select(_K).order_by(_K.c.id))]

    def set_tool(self, digest: str, tool: str) -> bool:
        with self._engine.begin() as conn:
            return bool(
                conn.execute(update(_K).where(_K.c.hash == digest).values(tool=tool)).rowcount
            )

    def delete(self, digest: str) -> bool:
        with self._engine.begin() as conn:
            return bool(conn.execute(delete(_K).where(_K.c.hash == digest)).rowcount)
