"""History reads by event time: an index on ``events (time, id)``.

``GET /api/v1/events``, the replay and ``history`` read "the newest N events in a time
window" (``ORDER BY time DESC, id DESC LIMIT N``). Without this index SQLite and
PostgreSQL sort every row of the window first; in the hour's soak (docs/reliability.md)
that made 96 of 1,482 polls time out once the table held a few million rows. With it
the read walks the index backwards and stops after N rows.

Revision ID: 0006_events_time
Revises: 0005_cluster
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006_events_time"
down_revision: str | None = "0005_cluster"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_events_time_id", "events", ["time", "id"])


def downgrade() -> None:
    op.drop_index("ix_events_time_id", table_name="events")
