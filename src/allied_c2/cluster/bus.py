"""The cluster bus: what this node accepts goes to JetStream once; what others accepted comes in.

Out: the bus is one of the hub's outlets (``Hub.add_outlet``), the seam every
accepted event leaves by. Each event is published once, with a message id
(``Nats-Msg-Id``: this process run and a serial) so a retry after a lost ack is
stored once. An event counts as safe when JetStream acknowledged it: from then
on a kill -9 of this node loses nothing of it (docs/scaling.md). One that stays
unacknowledged for ``publish_timeout`` is sent again; after a few tries it is
written to history locally, so history still has it even if no other node does.

In: every node reads the whole stream with an ordered consumer and hands each
event another node accepted to ``Hub.ingest`` with the origin the accepting node
found. The hub then does what it does for any input: the picture, the
addressing, and the audience decision for each of this node's own clients. The
release decision so stays with the node that delivers. History is not written
here (``cluster/history.py`` writes the stream once), and events injected here
are not published again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import nats
from nats.js import api
from nats.js.errors import NotFoundError

from allied_c2.cluster.publisher import BusStats, Outgoing, Publisher
from allied_c2.cluster.scope import NodeScope
from allied_c2.cluster.seen import SeenWindow
from allied_c2.cluster.settings import ClusterJoinError, ClusterSettings
from allied_c2.cluster.wire import (
    WireError,
    decode,
    encode,
    events_subject,
    own_prefix,
    subject_for,
)
from allied_c2.cot.errors import CotError
from allied_c2.cot.xmlcodec import parse_xml
from allied_c2.security.markings import Marking, MarkingError, parse_banner
from allied_c2.server.channels import SERVER_ORIGIN
from allied_c2.server.hub import Hub
from allied_c2.server.peers import Accepted, HistorySink

log = logging.getLogger("allied_c2.cluster")

_DEDUPE_WINDOW = 120.0  # seconds JetStream remembers message ids (retries inside it are free)
# A repair replays from this long before the last live event: covers the NATS server's
# clock being behind this node's (NTP keeps hosts well inside it) and what was in flight.
REPAIR_MARGIN_S = 5.0


def utcnow() -> datetime:
    return datetime.now(UTC)


class ClusterBus:
    def __init__(
        self,
        settings: ClusterSettings,
        hub: Hub,
        *,
        fallback: HistorySink | None,
        max_event_bytes: int,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.hub = hub
        self.node_id = settings.node_id
        self.boot = secrets.token_hex(6)
        self._own = own_prefix(self.node_id, self.boot)
        self.stats = BusStats()
        self.stream_seq = 0  # the stream's newest sequence when last asked
        self._fallback = fallback
        self._max_event_bytes = max_event_bytes
        self._clock = clock
        self._nc: Any = None
        self._refused: Exception | None = None
        self._js: Any = None
        self._subs: list[Any] = []  # the live subscriptions, one per subject carried
        self._seen = SeenWindow()
        self._last_live = clock()  # when the newest live event arrived (repairs start there)
        self._replay_pending = 0
        self.publisher = Publisher(
            lambda: self._js,
            lambda: self.connected,
            self.stats,
            fallback,
            settings.publish_timeout,
        )
        self._serial = 0
        self._injecting = False
        self._started = False
        self._ready = asyncio.Event()  # set once the replay is done: live from then on
        self._tasks: list[asyncio.Task[None]] = []
        self._markings: dict[tuple[str, str | None], Marking] = {}
        # What this node carries (--cluster-serves): its subjects, and whom it serves.
        self.scope = NodeScope.parse(settings.serves, hub.policy)
        self.subjects = self.scope.subjects(settings.prefix, hub.policy)
        hub.add_outlet(self.outlet)

    # -- lifecycle ------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._nc is not None and bool(self._nc.is_connected)

    @property
    def lag(self) -> int:
        """Stream messages that reached this node and are not applied yet: waiting in
        the live subscriptions, or still to come in a replay."""
        waiting = 0
        for sub in self._subs:
            with contextlib.suppress(Exception):
                waiting += int(sub.pending_msgs)
        return waiting + self._replay_pending

    @property
    def unacked(self) -> int:
        return self.publisher.unacked

    async def connect(self, limit: float = 30.0) -> None:
        """Connect to NATS; refuses to start (ClusterJoinError) when NATS refuses this
        node's credentials or does not answer within ``limit`` seconds."""
        options = self.settings.connect_options()
        self._refused = None
        connecting = asyncio.create_task(
            nats.connect(
                **options,
                name=f"allied-c2 {self.node_id}",
                connect_timeout=5,
                max_reconnect_attempts=-1,  # a NATS restart must not end the membership
                # This node's own publishes are not sent back to it (it relayed them at
                # once): no echo saves reading every one of them again.
                no_echo=True,
                reconnect_time_wait=0.5,
                error_cb=self._error,
                disconnected_cb=self._disconnected,
                reconnected_cb=self._reconnected,
            )
        )
        deadline = time.monotonic() + limit
        while not connecting.done():
            refused = self._refused
            if refused is not None or time.monotonic() > deadline:
                connecting.cancel()
                with contextlib.suppress(BaseException):
                    await connecting
                servers = ", ".join(self.settings.servers)
                if refused is not None:
                    raise ClusterJoinError(f"NATS at {servers} refused this node: {refused}")
                raise ClusterJoinError(f"NATS at {servers} did not answer in {limit:.0f} s")
            await asyncio.wait({connecting}, timeout=0.1)
        self._nc = connecting.result()
        self._js = self._nc.jetstream(timeout=5.0)

    @property
    def jetstream(self) -> Any:
        return self._js

    @property
    def nats(self) -> Any:
        """The node's NATS connection (core NATS: the state announcements)."""
        return self._nc

    async def start(self) -> None:
        """Connect, make sure the stream exists, replay the recent stream, go live."""
        if self._nc is None:
            await self.connect()
        await self.ensure_stream()
        await self._subscribe()
        self._tasks = self.publisher.tasks()
        self._started = True
        log.info(
            "cluster node %s (run %s) joined stream %s (at sequence %d), live on %s",
            self.node_id,
            self.boot,
            self.settings.stream,
            self.stream_seq,
            ", ".join(self.subjects),
        )

    async def ensure_stream(self) -> None:
        name = self.settings.stream
        try:
            info = await self._js.stream_info(name)
        except NotFoundError:
            config = api.StreamConfig(
                name=name,
                subjects=[events_subject(self.settings.prefix)],
                retention=api.RetentionPolicy.LIMITS,
                storage=api.StorageType.FILE,
                discard=api.DiscardPolicy.OLD,
                max_age=self.settings.stream_max_age,
                duplicate_window=_DEDUPE_WINDOW,
            )
            try:
                info = await self._js.add_stream(config)
                log.info("created JetStream stream %s", name)
            except Exception:  # another node created it at the same moment
                info = await self._js.stream_info(name)
        self.stream_seq = int(info.state.last_seq)

    async def _subscribe(self) -> None:
        """Go live, then replay the stream from ``replay_seconds`` ago into the hub.

        Live events come on core NATS subscriptions to this node's subjects, straight
        from the publisher through the NATS server (the stream stores the same
        publish beside them): no consumer state, no flow control, and NATS delivers a
        publisher's messages to one connection in the order they were sent. The
        subscriptions come first so that nothing falls between the replay and live;
        the seen window drops what both bring.
        """
        for subject in self.subjects:
            self._subs.append(
                await self._nc.subscribe(
                    subject,
                    cb=self._on_live,
                    pending_msgs_limit=-1,  # bounded by bytes, below; NATS cuts a slow reader
                    pending_bytes_limit=256 << 20,
                )
            )
        since = self._clock() - timedelta(seconds=self.settings.replay_seconds)
        await self._replay(since)
        self._ready.set()

    async def _replay(self, since: datetime) -> None:
        """Apply what the stream holds from ``since`` on (a consumer by start time per
        live subject; copies of what was applied already are dropped)."""
        for subject in self.subjects:
            replay = await self._js.subscribe(
                subject,
                stream=self.settings.stream,
                ordered_consumer=True,
                config=api.ConsumerConfig(
                    deliver_policy=api.DeliverPolicy.BY_START_TIME, opt_start_time=since
                ),
                pending_msgs_limit=-1,
                pending_bytes_limit=256 << 20,
            )
            deadline = time.monotonic() + 30.0
            try:
                info = await replay.consumer_info()
                # num_pending counts only what the server has not pushed yet: by the
                # time this answer comes, all of it may be waiting here already. So
                # "nothing to replay" is nothing pending and nothing delivered, and
                # otherwise messages are read until one says none is left after it.
                delivered = int(getattr(info.delivered, "consumer_seq", 0) or 0)
                self._replay_pending = int(info.num_pending or 0) + delivered
                while self._replay_pending and time.monotonic() < deadline:
                    msg = await replay.next_msg(timeout=5.0)
                    self.stats.replayed += 1
                    self._apply(msg.data, f"stream {msg.metadata.sequence.stream}")
                    self._replay_pending = int(msg.metadata.num_pending)
            except TimeoutError:
                log.warning("cluster replay of %s stopped (no message in 5 s)", subject)
            finally:
                self._replay_pending = 0
                with contextlib.suppress(Exception):
                    await replay.unsubscribe()

    async def _repair(self) -> None:
        """After a NATS reconnect: replay from just before the last live event, which
        covers whatever the subscriptions missed while the connection was down."""
        since = self._last_live - timedelta(seconds=REPAIR_MARGIN_S)
        try:
            await self._replay(since)
            self.stats.repairs += 1
            log.info("cluster: replayed the stream from %s after the reconnect", since)
        except Exception as exc:  # NATS away again: the next reconnect repairs
            log.warning("cluster: replay after the reconnect failed: %s", exc)

    async def stop(self, grace: float = 5.0) -> None:
        """Publish what is queued (up to ``grace`` seconds), store the rest locally, leave."""
        deadline = time.monotonic() + grace
        while self.unacked and time.monotonic() < deadline and self.connected:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.publisher.close()
        stats = self.stats
        log.info(
            "cluster bus: %d published, %d acknowledged, %d sent again, %d stored here only, "
            "%d injected from other nodes",
            stats.published,
            stats.acked,
            stats.retried,
            stats.stored_locally,
            stats.injected,
        )
        if self._nc is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._nc.close(), timeout=2.0)

    # -- out: the hub's outlet --------------------------------------------------------

    def outlet(self, accepted: Accepted) -> None:
        if self._injecting:
            return  # another node's event: it is on the stream already
        self._serial += 1
        data = encode(
            self.node_id,
            self.boot,
            accepted.event,
            accepted.marking,
            accepted.origin,
            accepted.sender,
            accepted.at,
            serial=self._serial,
            server_made=accepted.origin == SERVER_ORIGIN,
        )
        subject = subject_for(self.settings.prefix, accepted.marking)
        out = Outgoing(f"{self.boot}-{self._serial}", subject, data, accepted)
        if not self._started:  # before the stream is there: this node's history only
            self.publisher.store_locally(out)
            return
        self.publisher.submit(out)

    # -- in: other nodes' events ----------------------------------------------------------

    async def _on_live(self, msg: Any) -> None:
        self.stats.received += 1
        self._apply(msg.data, "live")

    def _apply(self, data: bytes, where: str) -> None:
        """One stream message: this run's own are skipped unparsed, a copy of one
        applied already is dropped, another node's event goes to the hub."""
        if data.startswith(self._own):
            return  # this run's own event, already relayed here
        try:
            envelope = decode(data, history=False)
        except WireError as exc:
            self.stats.refused += 1
            log.warning("cluster message (%s) not usable: %s", where, exc)
            return
        if envelope.serial and not self._seen.first(
            (envelope.boot, envelope.serial), envelope.at.timestamp()
        ):
            self.stats.copies += 1
            return
        try:
            event = parse_xml(envelope.xml, max_bytes=self._max_event_bytes)
        except CotError as exc:
            self.stats.refused += 1
            log.warning("cluster message (%s) not usable: %s", where, exc)
            return
        now = self._clock()
        if where == "live":
            self._last_live = now
        self._injecting = True
        try:
            if envelope.server_made:
                # A marker the other node's server made (its requests): no client sent it,
                # so no send check; the marking it was given, decided here for each reader.
                marking = self._marking(envelope.banner, envelope.originator)
                if marking is None:
                    self.stats.refused += 1
                    return
                origin = envelope.sender if envelope.sender.callsign != "allied-c2" else None
                self.hub.publish(event, marking, now, origin)
            else:
                self.hub.ingest(
                    None,
                    envelope.sender,
                    event,
                    now,
                    via=f"cluster:{envelope.node}",
                    origin=envelope.origin,
                )
        finally:
            self._injecting = False
        self.stats.injected += 1
        if self._ready.is_set():
            self.stats.delivery_latency.observe(max(0.0, (now - envelope.at).total_seconds()))
        self.hub.wake()

    def _marking(self, banner: str, originator: str | None) -> Marking | None:
        key = (banner, originator)
        marking = self._markings.get(key)
        if marking is None:
            try:
                marking = parse_banner(banner, self.hub.policy, strict=False)
            except MarkingError as exc:
                log.warning("stream marking %r not usable: %s", banner, exc)
                return None
            marking = marking.with_originator(originator)
            if len(self._markings) >= 4096:
                self._markings.clear()
            self._markings[key] = marking
        return marking

    async def refresh_stream_seq(self) -> None:
        with contextlib.suppress(Exception):
            info = await self._js.stream_info(self.settings.stream)
            self.stream_seq = max(self.stream_seq, int(info.state.last_seq))

    # -- connection news --------------------------------------------------------------------

    async def _error(self, exc: Exception) -> None:
        log.warning("NATS: %s", exc)
        text = str(exc).lower()
        if self._nc is None and ("authorization" in text or "authentication" in text):
            self._refused = exc  # while joining: refuse to start rather than retry for ever

    async def _disconnected(self) -> None:
        log.warning("NATS connection lost; reconnecting (publishes are retried)")

    async def _reconnected(self) -> None:
        log.info("NATS connection back")
        if self._started:
            self._tasks.append(asyncio.create_task(self._repair(), name="cluster-repair"))
