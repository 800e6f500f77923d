"""Readiness reports in the database: append-only, one row per report posted."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Engine, Table, select

from allied_c2.store.models import ReadinessReportRow

_R = cast(Table, ReadinessReportRow.__table__)


@dataclass(frozen=True, slots=True)
class ReadinessRecord:
    id: int  # 0 until stored
    unit: str
    level: int
    reported_at: datetime
    banner: str
    access: str
    caveat: str | None
    releasable_to: str | None
    originator_nation: str | None
    created_at: datetime
    created_by: str
    report: dict[str, Any]  # ReadinessReport.to_dict()


def _record(row: Any) -> ReadinessRecord:
    return ReadinessRecord(
        id=int(row.id),
        unit=row.unit,
        level=int(row.level),
        reported_at=row.reported_at,
        banner=row.banner,
        access=row.access,
        caveat=row.caveat,
        releasable_to=row.releasable_to,
        originator_nation=row.originator_nation,
        created_at=row.created_at,
        created_by=row.created_by,
        report=json.loads(row.report),
    )


class ReadinessStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add(self, record: ReadinessRecord) -> ReadinessRecord:
        """Store a report; returns it with its database id."""
        with self._engine.begin() as conn:
            result = conn.execute(
                _R.insert().values(
                    unit=record.unit,
                    level=record.level,
                    reported_at=record.reported_at,
                    banner=record.banner,
                    access=record.access,
                    caveat=record.caveat,
                    releasable_to=record.releasable_to,
                    originator_nation=record.originator_nation,
                    created_at=record.created_at,
                    created_by=record.created_by,
                    report=json.dumps(record.report, sort_keys=True),
                )
            )
            key = result.inserted_primary_key
            assert key is not None
        return replace(record, id=int(key[0]))

    def get(self, record_id: int) -> ReadinessRecord | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(_R).where(_R.c.id == record_id)).first()
        return _record(row) if row is not None else None

    def all(self) -> list[ReadinessRecord]:
        """Every report, oldest first (a few per unit per month: small enough to hold)."""
        with self._engine.connect() as conn:
            rows = conn.execute(select(_R).order_by(_R.c.reported_at, _R.c.id)).all()
        return [_record(row) for row in rows]
