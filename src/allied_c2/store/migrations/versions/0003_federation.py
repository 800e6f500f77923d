"""Federates and their outbound cursors (issue 11).

Revision ID: 0003_federation
Revises: 0002_requests_readiness
Create Date: 2026-05-12
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_federation"
down_revision: str | None = "0002_requests_readiness"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "federates",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("nation", sa.String(3), nullable=False),
        sa.Column("clearance", sa.String(), nullable=False),
        sa.Column("cois", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("peer_cert", sa.Text(), nullable=False),
        sa.Column("peer_ca", sa.Text(), nullable=False),
        sa.Column("connect", sa.String(), nullable=True),
        sa.Column("rules", sa.Text(), nullable=True),
        sa.Column("rules_name", sa.String(), nullable=True),
        sa.Column("relay_from", sa.Text(), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_federates"),
        sa.UniqueConstraint("name", name="uq_federates_name"),
        sa.UniqueConstraint("fingerprint", name="uq_federates_fingerprint"),
    )
    op.create_index("ix_federates_revision", "federates", ["revision"])
    op.create_table(
        "federation_cursors",
        sa.Column("federate", sa.String(64), nullable=False),
        sa.Column("sent_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("federate", name="pk_federation_cursors"),
    )
    counters = sa.table("counters", sa.column("name", sa.String), sa.column("value", sa.BigInteger))
    op.bulk_insert(counters, [{"name": "federates.revision", "value": 0}])


def downgrade() -> None:
    op.execute("DELETE FROM counters WHERE name = 'federates.revision'")
    op.drop_table("federation_cursors")
    op.drop_index("ix_federates_revision", table_name="federates")
    op.drop_table("federates")
