"""Decision requests in the database: one row per request, rewritten on every change.

The row holds the lifecycle machine's whole state as JSON (the source of truth)
and copies of the fields that lists and the release decision need, so a
restarted server rebuilds every machine exactly and re-arms its deadlines.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Engine, Table, func, select, update

from allied_c2.store.models import DecisionRequestRow

_R = cast(Table, DecisionRequestRow.__table__)
ID_PREFIX = "REQ-"


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
    )


class RequestStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def next_seq(self) -> int:
        """The next free sequence number (the server is the only writer of this table)."""
        with self._engine.connect() as conn:
            current = conn.execute(select(func.max(_R.c.seq))).scalar()
        return int(current or 0) + 1

    def insert(self, record: RequestRecord) -> None:
        with self._engine.begin() as conn:
            conn.execute(_R.insert().values(**record.values()))

    def save(self, record: RequestRecord) -> None:
        """Rewrite a request's mutable columns after a transition."""
        values = record.values()
        mutable = {
            k: values[k] for k in ("state", "holders", "next_deadline", "updated_at", "machine")
        }
        with self._engine.begin() as conn:
            result = conn.execute(update(_R).where(_R.c.id == record.id).values(**mutable))
            if result.rowcount != 1:
                raise KeyError(f"request {record.id} is not in the database")

    def get(self, request_id: str) -> RequestRecord | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(_R).where(_R.c.id == request_id)).first()
        return _record(row) if row is not None else None

    def all(self) -> Iterator[RequestRecord]:
        """Every request, oldest first."""
        with self._engine.connect() as conn:
            rows = conn.execute(select(_R).order_by(_R.c.seq)).all()
        for row in rows:
            yield _record(row)
