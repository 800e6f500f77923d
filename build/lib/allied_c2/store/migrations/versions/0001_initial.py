"""Initial schema: events, principals, certificates, tokens, audit log, counters.

Revision ID: 0001_initial
Revises:
Create Date: 2026-05-09
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("uid", sa.String(), nullable=False),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("how", sa.String(), nullable=False),
        sa.Column("time", _TS, nullable=False),
        sa.Column("start", _TS, nullable=False),
        sa.Column("stale", _TS, nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("hae", sa.Float(), nullable=False),
        sa.Column("access", sa.String(), nullable=True),
        sa.Column("caveat", sa.String(), nullable=True),
        sa.Column("releasable_to", sa.String(), nullable=True),
        sa.Column("banner", sa.String(), nullable=False),
        sa.Column("originator", sa.String(), nullable=True),
        sa.Column("sender", sa.String(), nullable=True),
        sa.Column("received_at", _TS, nullable=False),
        sa.Column("xml", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
    )
    op.create_index("ix_events_uid_time", "events", ["uid", "time"])
    op.create_index("ix_events_received_at", "events", ["received_at"])
    op.create_index("ix_events_stale", "events", ["stale"])

    op.create_table(
        "principals",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("callsign", sa.String(), nullable=False),
        sa.Column("nation", sa.String(3), nullable=True),
        sa.Column("clearance", sa.String(), nullable=False),
        sa.Column("cois", sa.Text(), nullable=False),
        sa.Column("roles", sa.Text(), nullable=False),
        sa.Column("organisation", sa.String(), nullable=True),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_principals"),
        sa.UniqueConstraint("callsign", name="uq_principals_callsign"),
    )
    op.create_index("ix_principals_revision", "principals", ["revision"])

    op.create_table(
        "certificates",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("principal_id", _ID, nullable=False),
        sa.Column("serial", sa.String(), nullable=False),
        sa.Column("not_after", _TS, nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_certificates"),
        sa.UniqueConstraint("fingerprint", name="uq_certificates_fingerprint"),
        sa.ForeignKeyConstraint(
            ["principal_id"], ["principals.id"], name="fk_certificates_principal_id_principals"
        ),
    )
    op.create_index("ix_certificates_principal_id", "certificates", ["principal_id"])

    op.create_table(
        "tokens",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("principal_id", _ID, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=True),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tokens"),
        sa.UniqueConstraint("hash", name="uq_tokens_hash"),
        sa.ForeignKeyConstraint(
            ["principal_id"], ["principals.id"], name="fk_tokens_principal_id_principals"
        ),
    )
    op.create_index("ix_tokens_principal_id", "tokens", ["principal_id"])

    op.create_table(
        "audit_log",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.String(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
        sa.UniqueConstraint("seq", name="uq_audit_log_seq"),
    )
    op.create_index("ix_audit_log_action", "audit_log", ["action"])

    counters = op.create_table(
        "counters",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_counters"),
    )
    op.bulk_insert(
        counters,
        [{"name": "principals.revision", "value": 0}, {"name": "audit.seq", "value": 0}],
    )


def downgrade() -> None:
    op.drop_table("counters")
    op.drop_table("audit_log")
    op.drop_table("tokens")
    op.drop_table("certificates")
    op.drop_table("principals")
    op.drop_table("events")
