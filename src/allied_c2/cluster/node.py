"""One cluster node: the bus, the history writer and the heartbeat, started and stopped together.

Built by app.py when ``serve --cluster`` is given; nothing else in the server
knows whether it runs alone or as one of many.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from allied_c2.cluster.bus import ClusterBus
from allied_c2.cluster.history import HistoryWriter
from allied_c2.cluster.settings import ClusterSettings
from allied_c2.cluster.state import StateSync
from allied_c2.server.decisions import DecisionService
from allied_c2.server.hub import Hub
from allied_c2.server.peers import HistorySink
from allied_c2.server.readiness import ReadinessService
from allied_c2.store.cluster import ClusterStore

log = logging.getLogger("allied_c2.cluster")

HEARTBEAT = 2.0  # seconds between a node's heartbeats
NODE_TIMEOUT = 10.0  # a node not seen for this long is shown as gone


class ClusterNode:
    def __init__(
        self,
        settings: ClusterSettings,
        hub: Hub,
        engine: Engine,
        *,
        fallback: HistorySink | None,
        max_event_bytes: int,
        flush_interval: float = 0.25,
        clients: Callable[[], int] = lambda: 0,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.bus = ClusterBus(settings, hub, fallback=fallback, max_event_bytes=max_event_bytes)
        self.store = ClusterStore(engine)
        self.history: HistoryWriter | None = None
        self.state: StateSync | None = None
        self.started_at = datetime.now(UTC)
        self.endpoints: dict[str, str] = {}
        self.roles: Callable[[], list[str]] = self._roles
        self._clients = clients
        self._flush_interval = flush_interval
        self._task: asyncio.Task[None] | None = None

    @property
    def node_id(self) -> str:
        return self.settings.node_id

    def share_alliance(
        self, decisions: DecisionService | None, readiness: ReadinessService | None
    ) -> None:
        """Requests and readiness held in PostgreSQL for every node (cluster/state.py)."""
        if decisions is not None:
            self.state = StateSync(self.settings, self.bus, self.engine, decisions, readiness)

    async def start(self) -> None:
        """Join: replay the recent stream into the picture, then write history and beat."""
        await self.bus.start()
        if self.bus.scope.whole:
            self.history = HistoryWriter(
                self.settings, self.engine, self.bus.jetstream, flush_interval=self._flush_interval
            )
            self.history.start()
        else:  # history needs the whole stream: a node carrying part of it never writes it
            log.info(
                "node %s carries %s: history is left to the others",
                self.node_id,
                self.bus.scope.describe(),
            )
        if self.state is not None:
            await self.state.start()
        await self._beat()
        self._task = asyncio.create_task(self._heartbeat(), name="cluster-heartbeat")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.state is not None:
            await self.state.stop()  # another node takes the deadline lease
        if self.history is not None:
            await self.history.stop()  # the next owner continues from the stored cursor
        await self.bus.stop()
        with contextlib.suppress(Exception):
            await asyncio.to_thread(self.store.forget, self.node_id, self.bus.boot)

    def _roles(self) -> list[str]:
        roles = []
        if self.history is not None and self.history.owner:
            roles.append("history")
        if self.state is not None and self.state.deadline_owner:
            roles.append("deadlines")
        return roles

    def status(self) -> dict[str, Any]:
        """This node as ``GET /api/v1/cluster`` and ``cluster status`` show it."""
        stats = self.bus.stats
        return {
            "node": self.node_id,
            "boot": self.bus.boot,
            "connected": self.bus.connected,
            "clients": self._clients(),
            "lag": self.bus.lag,
            "stream_seq": self.bus.stream_seq,
            "carries": self.bus.scope.describe(),
            "unacked": self.bus.unacked,
            "roles": self.roles(),
            "published": stats.published,
            "acked": stats.acked,
            "stored_locally": stats.stored_locally,
            "injected": stats.injected,
            "received": stats.received,
            "replayed": stats.replayed,
            "copies": stats.copies,
            "repairs": stats.repairs,
        }

    async def _beat(self) -> None:
        await self.bus.refresh_stream_seq()
        status = self.status()
        detail = {
            "roles": status["roles"],
            "endpoints": self.endpoints,
            "connected": status["connected"],
            "unacked": status["unacked"],
        }
        await asyncio.to_thread(
            self.store.heartbeat,
            self.node_id,
            self.bus.boot,
            self.started_at,
            status["clients"],
            status["lag"],
            detail,
        )

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT)
            try:
                await self._beat()
            except Exception as exc:  # the database away: the next beat tries again
                log.warning("cluster heartbeat failed: %s", exc)
