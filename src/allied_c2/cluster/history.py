"""History in a cluster: the stream written to PostgreSQL once per event, by one node at a time.

Whichever node holds the ``history`` lease (cluster/lease.py) reads the stream
from the stored cursor with an ordered consumer and commits batches: the events
and the cursor's move in one transaction, the cursor moved only from the value
this writer read (so two writers can never both store a batch). A node that
dies loses the lease with its database session; the next one continues from
the cursor. History is so written once per event, never once per node, and a
restart writes nothing again. Batches are committed every ``flush_interval``
seconds off the event loop (a thread), as the single-process writer does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from nats.js import api
from sqlalchemy import Engine

from allied_c2.cluster.lease import Lease
from allied_c2.cluster.settings import ClusterSettings
from allied_c2.cluster.wire import WireError, decode, events_subject
from allied_c2.store.cluster import ClusterStore, CursorMoved
from allied_c2.store.eventrows import EventRecord

log = logging.getLogger("allied_c2.cluster")

_RETRY = 2.0  # seconds between tries for the lease (failover well inside 10 s)


def record_of(data: bytes) -> EventRecord:
    """The history row of one stream message (no XML parsing: the head has the fields)."""
    envelope = decode(data)
    uid, type_, how, at, start, stale, lat, lon, hae, access, caveat, rel = envelope.fields
    return EventRecord(
        uid,
        type_,
        how,
        at,
        start,
        stale,
        lat,
        lon,
        hae,
        access,
        caveat,
        rel,
        envelope.banner,
        envelope.originator,
        envelope.sender.callsign,
        envelope.at,
        envelope.xml,
    )


class HistoryWriter:
    def __init__(
        self,
        settings: ClusterSettings,
        engine: Engine,
        jetstream: Any,
        *,
        flush_interval: float = 0.25,
        max_batch: int = 2000,
    ) -> None:
        self.settings = settings
        self.store = ClusterStore(engine)
        self.lease = Lease(engine, f"allied-c2:{settings.stream}:history")
        self._js = jetstream
        self._flush_interval = flush_interval
        self._max_batch = max_batch
        self._task: asyncio.Task[None] | None = None
        self.written = 0
        self.batches = 0
        self.skipped = 0  # messages that were not ours (bad head): never stored
        self.cursor = 0

    @property
    def owner(self) -> bool:
        return self.lease.held

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="cluster-history")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await asyncio.to_thread(self.lease.release)

    async def _run(self) -> None:
        while True:
            try:
                if await asyncio.to_thread(self.lease.try_acquire):
                    await self._write_while_owner()
            except asyncio.CancelledError:
                raise
            except CursorMoved as exc:
                log.warning("history writer stepping back: %s", exc)
                await asyncio.to_thread(self.lease.release)
            except Exception:
                log.exception("cluster history writer failed; trying again")
                await asyncio.to_thread(self.lease.release)
            await asyncio.sleep(_RETRY)

    async def _write_while_owner(self) -> None:
        stream = self.settings.stream
        self.cursor = await asyncio.to_thread(self.store.cursor, stream)
        log.info("writing the stream's history from sequence %d", self.cursor + 1)
        config = api.ConsumerConfig(
            deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=self.cursor + 1
        )
        sub = await self._js.subscribe(
            events_subject(self.settings.prefix),
            stream=self.settings.stream,
            ordered_consumer=True,
            idle_heartbeat=2.0,
            config=config,
            pending_msgs_limit=-1,
            pending_bytes_limit=256 << 20,
        )
        try:
            last_check = time.monotonic()
            while True:
                raw, last = await self._collect(sub)
                if last > self.cursor:
                    written = await asyncio.to_thread(self._store, raw, self.cursor, last)
                    self.cursor = last
                    self.written += written
                    self.batches += 1
                if time.monotonic() - last_check > _RETRY:
                    last_check = time.monotonic()
                    if not await asyncio.to_thread(self.lease.check):
                        return
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    def _store(self, raw: list[tuple[int, bytes]], expected: int, last: int) -> int:
        """Off the event loop: the messages as rows, stored with the cursor's move."""
        records: list[EventRecord] = []
        for seq, data in raw:
            try:
                records.append(record_of(data))
            except WireError as exc:
                self.skipped += 1
                log.warning("stream message %d not stored: %s", seq, exc)
        self.store.store_history(self.settings.stream, expected, last, records)
        return len(records)

    async def _collect(self, sub: Any) -> tuple[list[tuple[int, bytes]], int]:
        """Up to ``max_batch`` messages, or what came in one flush interval."""
        batch: list[tuple[int, bytes]] = []
        last = self.cursor
        deadline = time.monotonic() + self._flush_interval
        while len(batch) < self._max_batch:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                msg = await sub.next_msg(timeout=left)
            except TimeoutError:  # nats-py's TimeoutError is one too
                break
            seq = int(msg.metadata.sequence.stream)
            if seq <= last:
                continue  # an ordered consumer that was reset resends what it had
            last = seq
            batch.append((seq, msg.data))
        return batch, last
