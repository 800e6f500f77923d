"""Decision requests and readiness reports.

Revision ID: 0002_requests_readiness
Revises: 0001_initial
Create Date: 2026-05-10
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_requests_readiness"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "decision_requests",
        sa.Column("seq", _ID, primary_key=True, autoincrement=False),
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("originator", sa.String(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("banner", sa.String(), nullable=False),
        sa.Column("access", sa.String(), nullable=False),
        sa.Column("caveat", sa.String(), nullable=True),
        sa.Column("releasable_to", sa.String(), nullable=True),
        sa.Column("originator_nation", sa.String(3), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("holders", sa.Text(), nullable=False),
        sa.Column("needed_by", _TS, nullable=True),
        sa.Column("next_deadline", _TS, nullable=True),
        sa.Column("submitted_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("machine", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_decision_requests"),
        sa.UniqueConstraint("id", name="uq_decision_requests_id"),
    )
    op.create_index("ix_decision_requests_originator", "decision_requests", ["originator"])
    op.create_index("ix_decision_requests_state", "decision_requests", ["state"])

    op.create_table(
        "readiness_reports",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("unit", sa.String(), nullable=False),
        sa.Column("level", sa.BigInteger(), nullable=False),
        sa.Column("reported_at", _TS, nullable=False),
        sa.Column("banner", sa.String(), nullable=False),
        sa.Column("access", sa.String(), nullable=False),
        sa.Column("caveat", sa.String(), nullable=True),
        sa.Column("releasable_to", sa.String(), nullable=True),
        sa.Column("originator_nation", sa.String(3), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_readiness_reports"),
    )
    op.create_index(
        "ix_readiness_reports_unit_reported_at", "readiness_reports", ["unit", "reported_at"]
    )


def downgrade() -> None:
    op.drop_table("readiness_reports")
    op.drop_table("decision_requests")
