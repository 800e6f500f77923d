"""Requests and readiness across the cluster: PostgreSQL is the truth, NATS carries the news.

Every change a node stores (a submission, an action, an escalation, a report)
is announced on core NATS (``PREFIX.state.request`` / ``PREFIX.state.readiness``:
the id and the version, never the content); every other node reads that row
from PostgreSQL and shows it to its web views, so each sees each change within
a second. A missed announcement (NATS away) is caught by a re-read every
``RESYNC`` seconds. Saves are compare-and-set on the row's version
(store/requests.py), so two nodes acting at once cannot both win.

Deadlines and escalations run on one node only: the holder of the ``deadlines``
lease (a PostgreSQL advisory lock). When it dies its session ends and another
node takes the lease within ``LEASE_POLL`` seconds, reads every request as
stored and applies what fell due meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from allied_c2.cluster.bus import ClusterBus
from allied_c2.cluster.lease import Lease
from allied_c2.cluster.settings import ClusterSettings
from allied_c2.server.decisions import DecisionService, Tracked
from allied_c2.server.readiness import Entry, ReadinessService

log = logging.getLogger("allied_c2.cluster")

LEASE_POLL = 2.0  # seconds between tries for the deadline lease (failover ≤ 10 s)
RESYNC = 10.0  # seconds between re-reads that catch missed announcements


class StateSync:
    def __init__(
        self,
        settings: ClusterSettings,
        bus: ClusterBus,
        engine: Engine,
        decisions: DecisionService,
        readiness: ReadinessService | None,
    ) -> None:
        self.settings = settings
        self.bus = bus
        self.decisions = decisions
        self.readiness = readiness
        self.deadlines = Lease(engine, f"allied-c2:{settings.stream}:deadlines")
        self.subject = f"{settings.prefix}.state"
        self.refreshed = 0  # changes taken over from other nodes
        self._tasks: list[asyncio.Task[None]] = []
        self._sub: Any = None
        self._synced = datetime.now(UTC)
        decisions.runs_deadlines = lambda: self.deadlines.held
        decisions.observers.append(self._request_changed)
        if readiness is not None:
            readiness.observers.append(self._report_posted)

    @property
    def deadline_owner(self) -> bool:
        return self.deadlines.held

    async def start(self) -> None:
        self._sub = await self.bus.nats.subscribe(f"{self.subject}.>", cb=self._on_news)
        self._tasks = [
            asyncio.create_task(self._hold_deadlines(), name="cluster-deadlines"),
            asyncio.create_task(self._resync(), name="cluster-resync"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
        await asyncio.to_thread(self.deadlines.release)

    # -- news out ---------------------------------------------------------------------

    def _announce(self, kind: str, body: dict[str, Any]) -> None:
        payload = json.dumps({"boot": self.bus.boot, **body}).encode()
        with contextlib.suppress(RuntimeError):  # no loop (tests driving the service alone)
            asyncio.get_running_loop().create_task(self._publish(f"{self.subject}.{kind}", payload))

    async def _publish(self, subject: str, payload: bytes) -> None:
        try:
            await self.bus.nats.publish(subject, payload)
        except Exception as exc:  # the re-read catches it up on the other nodes
            log.warning("announcing %s failed: %s", subject, exc)

    def _request_changed(self, tracked: Tracked, steps: list[Any]) -> None:
        self._announce("request", {"id": tracked.record.id, "version": tracked.record.version})

    def _report_posted(self, entry: Entry) -> None:
        self._announce("readiness", {"id": entry.record.id})

    # -- news in ------------------------------------------------------------------------

    async def _on_news(self, msg: Any) -> None:
        try:
            news = json.loads(msg.data)
            if news.get("boot") == self.bus.boot:
                return
            kind = msg.subject.rsplit(".", 1)[-1]
            if kind == "request":
                await self._refresh_request(str(news["id"]), int(news.get("version", 0)))
            elif kind == "readiness" and self.readiness is not None:
                await self._refresh_report(int(news["id"]))
        except Exception:
            log.exception("cluster news %r not applied", msg.subject)

    async def _refresh_request(self, rid: str, version: int) -> None:
        current = self.decisions.requests.get(rid)
        if current is not None and current.record.version >= version:
            return
        record = await asyncio.to_thread(self.decisions.store.get, rid)
        if record is not None and self.decisions.refreshed(record):
            self.refreshed += 1

    async def _refresh_report(self, report_id: int) -> None:
        assert self.readiness is not None
        record = await asyncio.to_thread(self.readiness.store.get, report_id)
        if record is not None and self.readiness.refreshed(record) is not None:
            self.refreshed += 1

    async def _resync(self) -> None:
        while True:
            await asyncio.sleep(RESYNC)
            since = self._synced - timedelta(seconds=RESYNC)
            self._synced = datetime.now(UTC)
            try:
                records = await asyncio.to_thread(self.decisions.store.changed_since, since)
                for record in records:
                    if self.decisions.refreshed(record):
                        self.refreshed += 1
                if self.readiness is not None:
                    for report in await asyncio.to_thread(self.readiness.store.all):
                        if self.readiness.refreshed(report) is not None:
                            self.refreshed += 1
            except Exception as exc:
                log.warning("cluster re-read failed: %s", exc)

    # -- the deadline lease ----------------------------------------------------------------

    async def _hold_deadlines(self) -> None:
        while True:
            held = self.deadlines.held
            try:
                now_held = await asyncio.to_thread(self.deadlines.try_acquire)
            except Exception as exc:
                log.warning("deadline lease: %s", exc)
                now_held = False
            if now_held and not held:
                steps = self.decisions.take_deadlines()
                log.info("this node runs deadlines now (%d steps were due)", steps)
            elif held and not now_held:
                log.warning("deadline lease lost: another node runs deadlines")
            await asyncio.sleep(LEASE_POLL)
