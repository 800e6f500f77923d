"""Scale-out (issue 13): the cluster's history cursor and node registry; request versions.

``decision_requests.version`` makes every save a compare-and-set (a stale write
is refused, never silently lost); on PostgreSQL request numbers come from the
sequence ``decision_request_seq`` so two nodes never hand out the same one.

Revision ID: 0005_cluster
Revises: 0004_tak
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_cluster"
down_revision: str | None = "0004_tak"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "cluster_cursors",
        sa.Column("stream", sa.String(64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("stream", name="pk_cluster_cursors"),
    )
    op.create_table(
        "cluster_nodes",
        sa.Column("node_id", sa.String(64), nullable=False),
        sa.Column("boot", sa.String(32), nullable=False),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("seen_at", _TS, nullable=False),
        sa.Column("clients", sa.Integer(), nullable=False),
        sa.Column("lag", sa.BigInteger(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("node_id", name="pk_cluster_nodes"),
    )
    op.add_column(
        "decision_requests",
        sa.Column("version", sa.BigInteger(), nullable=False, server_default="1"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE decision_request_seq")
        op.execute(
            "SELECT setval('decision_request_seq', "
            "COALESCE((SELECT max(seq) FROM decision_requests), 0) + 1, false)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SEQUENCE decision_request_seq")
    with op.batch_alter_table("decision_requests") as batch:
        batch.drop_column("version")
    op.drop_table("cluster_nodes")
    op.drop_table("cluster_cursors")
