"""The cluster's state in PostgreSQL: the history cursor (exactly-once) and node heartbeats."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Engine, Table, delete, insert, select, update

from allied_c2.store.cluster_models import ClusterCursorRow, ClusterNodeRow
from allied_c2.store.eventrows import BatchInsert, EventRecord

_CURSORS = cast(Table, ClusterCursorRow.__table__)
_NODES = cast(Table, ClusterNodeRow.__table__)


class CursorMoved(Exception):
    """Another writer stored this part of the stream first: stop and start over."""


@dataclass(frozen=True, slots=True)
class NodeStatus:
    node_id: str
    boot: str
    started_at: datetime
    seen_at: datetime
    clients: int
    lag: int
    detail: dict[str, Any]

    def alive(self, now: datetime, timeout: float) -> bool:
        return now - self.seen_at <= timedelta(seconds=timeout)

    def as_json(self, now: datetime, timeout: float) -> dict[str, Any]:
        return {
            "node": self.node_id,
            "boot": self.boot,
            "started_at": self.started_at.isoformat(),
            "seen_at": self.seen_at.isoformat(),
            "alive": self.alive(now, timeout),
            "clients": self.clients,
            "lag": self.lag,
            **self.detail,
        }


class ClusterStore:
    def __init__(self, engine: Engine, clock: Callable[[], datetime] | None = None) -> None:
        self._engine = engine
        self._insert = BatchInsert(engine.dialect)
        self._clock = clock or (lambda: datetime.now(UTC))

    # -- the history cursor -----------------------------------------------------------

    def cursor(self, stream: str) -> int:
        """The last stream sequence stored in history (0 before the first)."""
        with self._engine.begin() as conn:
            seq = conn.execute(
                select(_CURSORS.c.seq).where(_CURSORS.c.stream == stream)
            ).scalar_one_or_none()
            if seq is None:
                row = {"stream": stream, "seq": 0, "updated_at": self._clock()}
                conn.execute(insert(_CURSORS).values(**row))
                return 0
            return int(seq)

    def store_history(
        self, stream: str, expected: int, last: int, records: list[EventRecord]
    ) -> None:
        """Insert ``records`` and move the cursor from ``expected`` to ``last``, atomically.

        Raises :class:`CursorMoved` (and stores nothing) when the cursor is no longer
        at ``expected``: another node wrote this part of the stream.
        """
        with self._engine.begin() as conn:
            moved = conn.execute(
                update(_CURSORS)
                .where(_CURSORS.c.stream == stream, _CURSORS.c.seq == expected)
                .values(seq=last, updated_at=self._clock())
            ).rowcount
            if moved != 1:
                raise CursorMoved(f"{stream} cursor is no longer at {expected}")
            if records:
                self._insert.execute(conn, records)

    # -- node heartbeats ----------------------------------------------------------------

    def heartbeat(
        self,
        node_id: str,
        boot: str,
        started_at: datetime,
        clients: int,
        lag: int,
        detail: dict[str, Any],
    ) -> None:
        values = {
            "boot": boot,
            "started_at": started_at,
            "seen_at": self._clock(),
            "clients": clients,
            "lag": lag,
            "detail": json.dumps(detail, sort_keys=True),
        }
        with self._engine.begin() as conn:
            done = conn.execute(
                update(_NODES).where(_NODES.c.node_id == node_id).values(**values)
            ).rowcount
            if not done:
                conn.execute(insert(_NODES).values(node_id=node_id, **values))

    def forget(self, node_id: str, boot: str) -> None:
        """A clean stop takes the node off the list (a dead one just stops being seen)."""
        with self._engine.begin() as conn:
            conn.execute(delete(_NODES).where(_NODES.c.node_id == node_id, _NODES.c.boot == boot))

    def nodes(self) -> list[NodeStatus]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(_NODES).order_by(_NODES.c.node_id)).all()
        return [
            NodeStatus(
                row.node_id,
                row.boot,
                row.started_at,
                row.seen_at,
                int(row.clients),
                int(row.lag),
                json.loads(row.detail or "{}"),
            )
            for row in rows
        ]
