"""The TAK ecosystem (issue 12): groups, files, missions, enrollment, video feeds.

Revision ID: 0004_tak
Revises: 0003_federation
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_tak"
down_revision: str | None = "0003_federation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def _marking() -> list[sa.Column[object]]:
    return [
        sa.Column("banner", sa.String(), nullable=False),
        sa.Column("access", sa.String(), nullable=False),
        sa.Column("caveat", sa.String(), nullable=True),
        sa.Column("releasable_to", sa.String(), nullable=True),
        sa.Column("originator_nation", sa.String(3), nullable=True),
        sa.Column("groups", sa.Text(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "principal_groups",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("principal_id", _ID, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("direction", sa.String(4), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_principal_groups"),
        sa.ForeignKeyConstraint(
            ["principal_id"], ["principals.id"], name="fk_principal_groups_principal_id_principals"
        ),
        sa.UniqueConstraint("principal_id", "name", name="uq_principal_groups_principal_id_name"),
    )
    op.create_index("ix_principal_groups_principal_id", "principal_groups", ["principal_id"])
    op.create_table(
        "packages",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("filename", sa.String(), nullable=False),
        sa.Column("mime_type", sa.String(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("keywords", sa.Text(), nullable=False),
        sa.Column("tool", sa.String(32), nullable=False),
        *_marking(),
        sa.Column("creator_uid", sa.String(), nullable=True),
        sa.Column("submitter", sa.String(), nullable=False),
        sa.Column("submitted_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_packages"),
        sa.UniqueConstraint("hash", name="uq_packages_hash"),
    )
    op.create_table(
        "missions",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("guid", sa.String(36), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("tool", sa.String(32), nullable=False),
        *_marking(),
        sa.Column("creator_uid", sa.String(), nullable=True),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_missions"),
        sa.UniqueConstraint("name", name="uq_missions_name"),
        sa.UniqueConstraint("guid", name="uq_missions_guid"),
    )
    op.create_table(
        "mission_contents",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("mission_id", _ID, nullable=False),
        sa.Column("kind", sa.String(4), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("creator_uid", sa.String(), nullable=True),
        sa.Column("added_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_mission_contents"),
        sa.ForeignKeyConstraint(
            ["mission_id"], ["missions.id"], name="fk_mission_contents_mission_id_missions"
        ),
        sa.UniqueConstraint(
            "mission_id", "kind", "key", name="uq_mission_contents_mission_id_kind_key"
        ),
    )
    op.create_index("ix_mission_contents_mission_id", "mission_contents", ["mission_id"])
    op.create_table(
        "mission_subscriptions",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("mission_id", _ID, nullable=False),
        sa.Column("client_uid", sa.String(), nullable=False),
        sa.Column("principal", sa.String(), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_mission_subscriptions"),
        sa.ForeignKeyConstraint(
            ["mission_id"], ["missions.id"], name="fk_mission_subscriptions_mission_id_missions"
        ),
        sa.UniqueConstraint(
            "mission_id", "client_uid", name="uq_mission_subscriptions_mission_id_client_uid"
        ),
    )
    op.create_index("ix_mission_subscriptions_mission_id", "mission_subscriptions", ["mission_id"])
    op.create_table(
        "mission_changes",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("mission_id", _ID, nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("content_uid", sa.String(), nullable=True),
        sa.Column("content_hash", sa.String(64), nullable=True),
        sa.Column("creator_uid", sa.String(), nullable=True),
        sa.Column("at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_mission_changes"),
        sa.ForeignKeyConstraint(
            ["mission_id"], ["missions.id"], name="fk_mission_changes_mission_id_missions"
        ),
    )
    op.create_index("ix_mission_changes_mission_id", "mission_changes", ["mission_id"])
    op.create_table(
        "enrollment_credentials",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("principal_id", _ID, nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("secret_hash", sa.String(), nullable=False),
        sa.Column("expires_at", _TS, nullable=True),
        sa.Column("used_at", _TS, nullable=True),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_enrollment_credentials"),
        sa.ForeignKeyConstraint(
            ["principal_id"],
            ["principals.id"],
            name="fk_enrollment_credentials_principal_id_principals",
        ),
    )
    op.create_index(
        "ix_enrollment_credentials_principal_id", "enrollment_credentials", ["principal_id"]
    )
    op.create_index(
        "ix_enrollment_credentials_secret_hash", "enrollment_credentials", ["secret_hash"]
    )
    op.create_table(
        "video_feeds",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("uid", sa.String(128), nullable=False),
        sa.Column("alias", sa.String(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        *_marking(),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_video_feeds"),
        sa.UniqueConstraint("uid", name="uq_video_feeds_uid"),
    )


def downgrade() -> None:
    for table in (
        "video_feeds",
        "enrollment_credentials",
        "mission_changes",
        "mission_subscriptions",
        "mission_contents",
        "missions",
        "packages",
        "principal_groups",
    ):
        op.drop_table(table)
