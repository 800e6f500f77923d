"""Messages between the server's main loop and the gRPC loop (loop_thread.py).

:class:`Outbox`: one outbound stream's messages. The main loop takes items
from the link (the guard has decided them already, link.py), encodes each once
and puts them here; the gRPC loop writes them out in order. Bounded: past
``HIGH`` waiting messages the main loop stops taking, so what cannot be written
yet stays in the link's backlog, whose limit and drop policy are the documented
ones (backlog.py); it goes on below ``LOW``.

:class:`Inbox`: what the peers' streams read, handed to the main loop in
batches: one wake-up of the main loop per batch, not per message. Bounded the
same way: past ``HIGH`` waiting messages a stream stops reading (gRPC's flow
control then holds the peer back) until the main loop has caught up.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from allied_c2.federation.link import Link, State
from allied_c2.federation.loop_thread import Flag, LoopThread
from allied_c2.federation.proto import fig_pb2

if TYPE_CHECKING:
    from allied_c2.federation.service import Member

log = logging.getLogger("allied_c2.federation")

HIGH, LOW = 1024, 256  # messages waiting in a pipe
BATCH = 256  # items a pump takes from its link at a time


class Outbox:
    def __init__(self, thread: LoopThread, wake: Flag) -> None:
        self._messages: deque[fig_pb2.FederatedEvent] = deque()
        self._wake = wake  # the pump's: it looks at the link again
        self.ready = thread.flag()  # the writer's: messages or stopped
        self.stopped = thread.flag()
        self.room = Flag(thread.main)  # the pump's: below LOW again

    def __len__(self) -> int:
        return len(self._messages)

    def full(self) -> bool:
        return len(self._messages) >= HIGH

    def put(self, messages: Iterable[fig_pb2.FederatedEvent]) -> None:
        """On the main loop."""
        self._messages.extend(messages)
        self.ready.set()

    def stop(self) -> None:
        """From either loop: the stream ends; messages not yet written are dropped here
        (the link resends what it took lately when it goes down, link.py)."""
        self.stopped.set()
        self.ready.set()
        self.room.set()
        self._wake.set()

    async def messages(self) -> AsyncIterator[fig_pb2.FederatedEvent]:
        """On the gRPC loop: the stream's messages in order, until :meth:`stop`."""
        queue = self._messages
        while not self.stopped.is_set():
            if queue:
                yield queue.popleft()
                if len(queue) < LOW:
                    self.room.set()
                continue
            self.ready.clear()
            if not queue and not self.stopped.is_set():
                await self.ready.wait()


class Inbox:
    def __init__(
        self, thread: LoopThread, receive: Callable[[Member, fig_pb2.FederatedEvent], None]
    ) -> None:
        self._thread = thread
        self._receive = receive
        self._queue: deque[tuple[Member, fig_pb2.FederatedEvent]] = deque()
        self._scheduled = False
        self._room = thread.flag()

    async def put(self, member: Member, message: fig_pb2.FederatedEvent) -> None:
        """On the gRPC loop."""
        queue = self._queue
        queue.append((member, message))
        if not self._scheduled:
            self._scheduled = True
            self._thread.call_main(self._drain)
        if len(queue) > HIGH:
            self._room.clear()
            if len(queue) > HIGH:
                await self._room.wait()

    def _drain(self) -> None:
        """On the main loop: everything waiting, in arrival order."""
        self._scheduled = False  # before taking: a message put meanwhile schedules again
        queue, receive = self._queue, self._receive
        while queue:
            member, message = queue.popleft()
            try:
                receive(member, message)
            except Exception:  # one bad message must not stop the others
                log.exception("federate %s: inbound message failed", member.name)
        self._room.set()


async def feed(
    link: Link, outbox: Outbox, wake: Flag, server_name: str, now: Callable[[], datetime]
) -> None:
    """On the main loop: what the link lets cross, encoded once, into ``outbox``, until
    the stream ends or the link goes down (one pump per outbound stream)."""
    while not outbox.stopped.is_set() and link.state is State.UP:
        if outbox.full():
            outbox.room.clear()
            if outbox.full() and not outbox.stopped.is_set():
                await outbox.room.wait()
            continue
        items = link.take(BATCH, now())
        if not items:
            wake.clear()
            if not link.backlog and not outbox.stopped.is_set():
                await wake.wait()
            continue
        outbox.put([link.message(item, server_name) for item in items])
