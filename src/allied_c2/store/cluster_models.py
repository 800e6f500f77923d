"""The cluster's tables (issue 13): the history cursor and the node registry.

Part of the one schema (``models.Base``); the Alembic migration ``0005_cluster``
creates exactly these. A single-process server never writes them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from allied_c2.store.models import Base
from allied_c2.store.types import UtcDateTime


class ClusterCursorRow(Base):
    """How far the history writer got in one JetStream stream (the last stored sequence).

    Moved in the same transaction as the events it covers, so a stream message is
    stored exactly once whichever node writes it and however often it restarts.
    """

    __tablename__ = "cluster_cursors"

    stream: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ClusterNodeRow(Base):
    """One node's heartbeat: who it is, how many clients it serves, how far behind it is."""

    __tablename__ = "cluster_nodes"

    node_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    boot: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    clients: Mapped[int] = mapped_column(Integer)
    lag: Mapped[int] = mapped_column(BigInteger)  # stream messages not yet applied
    detail: Mapped[str] = mapped_column(Text, default="{}")  # JSON: endpoints, roles held
