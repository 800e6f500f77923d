"""The server's audit sink: appends off the event loop, bounded, rate-limited, fail-closed.

The relay and the alliance services call the queue like a function and return at
once; one thread appends to the hash chain in arrival order. Three bounds keep a
hostile client from turning the audit log against the server:

- refusals (``*.refused``, ``*_refused``, ``*.denied``) are admitted per principal
  and peer address by a token bucket; what it holds back is counted, and the
  count rides on that key's next entry (``suppressed_before``);
- the queue holds at most ``max_pending`` entries; beyond that an entry is
  dropped, counted and logged (an unbounded queue would be unbounded memory);
- a failed append is counted, logged as CRITICAL and retried (the entry is not
  lost while the server runs); until it succeeds :attr:`accepting` is False, and
  with ``audit_fail_closed`` the HTTP API refuses the actions it would audit
  (web/guards.py) instead of acting unaudited.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping
from typing import Protocol

from allied_c2.security.limits import RateLimiter

log = logging.getLogger("allied_c2.audit")

_Item = tuple[str, str, str, dict[str, object]]
# Accepting stops a little before the queue is full, so the actions the gate still
# lets through while it fills have room to be audited.
_HIGH_WATER = 0.9


class AuditAppender(Protocol):
    def append(
        self, actor: str, action: str, subject: str, detail: Mapping[str, object] | None = None
    ) -> object: ...


def is_refusal(action: str) -> bool:
    """A refusal or denial: the entries an unauthenticated client can cause at will."""
    return action.endswith(("refused", "denied"))


def peer_host(detail: Mapping[str, object]) -> str:
    """The peer's address without its port, so reconnecting does not buy a new bucket."""
    peer = str(detail.get("peer") or "-")
    host, sep, port = peer.rpartition(":")
    return host if sep and port.isdigit() else peer


class AuditQueue:
    def __init__(
        self,
        audit: AuditAppender,
        *,
        max_pending: int = 10_000,
        refusals_per_minute: int = 60,
        retry_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.audit = audit
        self.retry_interval = retry_interval
        self._queue: queue.Queue[_Item | None] = queue.Queue(max(1, max_pending))
        self._limiter = (
            RateLimiter(refusals_per_minute / 60.0, refusals_per_minute, clock=clock)
            if refusals_per_minute > 0
            else None
        )
        self._lock = threading.Lock()  # the limiter: callers may be loop or worker threads
        self._stop = threading.Event()
        self.written = 0
        self.failed = 0  # append attempts that raised
        self.dropped = 0  # entries never written: queue full, or still failing at shutdown
        self.suppressed = 0  # refusals held back by the rate limit
        self.failing = False
        self._thread = threading.Thread(target=self._run, name="audit", daemon=True)
        self._thread.start()

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    @property
    def accepting(self) -> bool:
        """Whether an action that must be audited may go ahead now."""
        return not self.failing and self._queue.qsize() < self._queue.maxsize * _HIGH_WATER

    def __call__(self, actor: str, action: str, subject: str, detail: dict[str, object]) -> None:
        if self._limiter is not None and is_refusal(action):
            key = (actor, peer_host(detail))
            with self._lock:
                if not self._limiter.allow(key):
                    self.suppressed += 1
                    return
                earlier = self._limiter.pop_suppressed(key)
            if earlier:
                detail = {**detail, "suppressed_before": earlier}
        try:
            self._queue.put_nowait((actor, action, subject, detail))
        except queue.Full:
            self.dropped += 1
            log.error(
                "audit queue full (%d pending): %s %s not recorded",
                self._queue.maxsize,
                action,
                subject,
            )

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            self._write(item)

    def _write(self, item: _Item) -> None:
        while True:
            try:
                self.audit.append(*item)
            except Exception as exc:
                self.failed += 1
                if not self.failing:
                    log.critical(
                        "AUDIT LOG WRITE FAILED (%s %s): %s; retrying every %.1f s, "
                        "audited actions are refused until it works",
                        item[1],
                        item[2],
                        exc,
                        self.retry_interval,
                        exc_info=True,
                    )
                self.failing = True
                if self._stop.wait(self.retry_interval):
                    self.dropped += 1  # shutting down: one attempt each, then give up
                    log.critical("audit entry lost at shutdown: %s %s", item[1], item[2])
                    return
                continue
            if self.failing:
                log.warning("audit log writable again after %d failed attempts", self.failed)
            self.failing = False
            self.written += 1
            return

    def close(self, timeout: float | None = 30.0) -> None:
        """Write what is queued (one attempt each from now on: no retries), stop the thread."""
        self._stop.set()
        self._queue.put(None)  # blocks only while the queue is full, which the thread drains
        self._thread.join(timeout)
