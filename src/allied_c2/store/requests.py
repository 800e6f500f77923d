"""Decision requests in the database: one row per request, rewritten on every change.

The row holds the lifecycle machine's whole state as JSON (the source of truth)
and copies of the fields that lists and the release decision need, so a
restarted server rebuilds every machine exactly and re-arms its deadlines.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Engine, Table, func, select, text, update

from allied_c2.store.models import DecisionRequestRow

_R = cast(Table, DecisionRequestRow.__table__)
ID_PREFIX = "REQ-"


class StaleWrite(Exception):
    """The request changed in the database since it was read (another node acted)."""

    def __init__(self, request_id: str, version: int) -> None:
        super().__init__(f"request {request_id} is no longer at version {version}")
        self.request_id = request_id
        self.version = version


def request_id(seq: int) -> str:
    return f"{ID_PREFIX}{seq:04d}"


@dataclass(frozen=True, slots=True)
class RequestRecord:
    seq: int
    id: str
    kind: str
    originator: str
    subject: str
    banner: str
    access: str
    caveat: str | None
    releasable_to: str | None
    originator_nation: str | None
    state: str
    holders: tuple[str, ...]
    needed_by: datetime | None
    next_deadline: datetime | None
    submitted_at: datetime
    updated_at: datetime
    created_by: str
    machine: dict[str, Any]
    version: int = 1  # the stored row's version this record was read at (or written as)

    def values(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "id": self.id,
            "kind": self.kind,
            "originator": self.originator,
            "subject": self.subject,
            "banner": self.banner,
            "access": self.access,
            "caveat": self.caveat,
            "releasable_to": self.releasable_to,
            "originator_nation": self.originator_nation,
            "state": self.state,
            "holders": json.dumps(list(self.holders)),
            "needed_by": self.needed_by,
            "next_deadline": self.next_deadline,
            "submitted_at": self.submitted_at,
            "updated_at": self.updated_at,
            "created_by": self.created_by,
            "machine": json.dumps(self.machine, sort_keys=True),
            "version": self.version,
        }


def _record(row: Any) -> RequestRecord:
    return RequestRecord(
        seq=int(row.seq),
        id=row.id,
        kind=row.kind,
        originator=row.originator,
        subject=row.subject,
        banner=row.banner,
        access=row.access,
        caveat=row.caveat,
        releasable_to=row.releasable_to,
        originator_nation=row.originator_nation,
        state=row.state,
        holders=tuple(json.loads(row.holders)),
        needed_by=row.needed_by,
        next_deadline=row.next_deadline,
        submitted_at=row.submitted_at,
        updated_at=row.updated_at,
        created_by=row.created_by,
        machine=json.loads(row.machine),
        version=int(row.version),
    )


class RequestStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def next_seq(self) -> int:
        """The next request number: from a sequence on PostgreSQL (several nodes may
        submit at once), the next after the highest on SQLite (one process only)."""
        with self._engine.begin() as conn:
            if self._engine.dialect.name == "postgresql":
                return int(
                    conn.execute(text("SELECT nextval('decision_request_seq')")).scalar_one()
                )
            current = conn.execute(select(func.max(_R.c.seq))).scalar()
        return int(current or 0) + 1

    def insert(self, record: RequestRecord) -> None:
        with self._engine.begin() as conn:
            conn.execute(_R.insert().values(**record.values()))

    def save(self, record: RequestRecord, *, expected: int | None = None) -> RequestRecord:
        """Rewrite a request's mutable columns after a transition; returns it as stored.

        With ``expected`` the write is a compare-and-set: it succeeds only while the row
        is still at that version and raises :class:`StaleWrite` otherwise (another node
        changed the request since it was read), so no change is ever silently lost.
        """
        values = record.values()
        mutable = {
            k: values[k] for k in ("state", "holders", "next_deadline", "updated_at", "machine")
        }
        query = update(_R).where(_R.c.id == record.id)
        if expected is not None:
            query = query.where(_R.c.version == expected)
        query = query.values(**mutable, version=_R.c.version + 1).returning(_R.c.version)
        with self._engine.begin() as conn:
            version = conn.execute(query).scalar_one_or_none()
            if version is None:
                exists = conn.execute(select(_R.c.seq).where(_R.c.id == record.id)).first()
                if exists is not None and expected is not None:
                    raise StaleWrite(record.id, expected)
                raise KeyError(f"request {record.id} is not in the database")
        return replace(record, version=int(version))

    def get(self, request_id: str) -> RequestRecord | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(_R).where(_R.c.id == request_id)).first()
        return _record(row) if row is not None else None

    def changed_since(self, since: datetime) -> list[RequestRecord]:
        """The requests stored at or after ``since`` (a node catching up on missed news)."""
        with self._engine.connect() as conn:
            rows = conn.execute(select(_R).where(_R.c.updated_at >= since).order_by(_R.c.seq)).all()
        return [_record(row) for row in rows]

    def all(self) -> Iterator[RequestRecord]:
        """Every request, oldest first."""
        with self._engine.connect() as conn:
            rows = conn.execute(select(_R).order_by(_R.c.seq)).all()
        for row in rows:
            yield _record(row)
