"""Issue 9 D: a hostile client cannot flood, bloat or silently disable the audit chain."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import pytest

from allied_c2.logs import TruncatingFilter
from allied_c2.security.limits import RateLimiter, printable, truncate
from allied_c2.store.audit import AuditLog
from allied_c2.store.auditqueue import AuditQueue, is_refusal, peer_host
from allied_c2.store.db import create_engine_for, migrate


class Recorder:
    """An audit log that records appends and can be made to fail or to block."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, str, str, dict[str, object]]] = []
        self.fail = False
        self.gate = threading.Event()
        self.gate.set()

    def append(
        self, actor: str, action: str, subject: str, detail: Mapping[str, object] | None = None
    ) -> None:
        self.gate.wait()
        if self.fail:
            raise OSError("disk full")
        self.entries.append((actor, action, subject, dict(detail or {})))


def wait_for(predicate: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


def test_truncate_marks_what_it_cut() -> None:
    assert truncate("short", 10) == "short"
    cut = truncate("x" * 5000, 1024)
    assert cut == "x" * 1024 + "…[truncated 3976 bytes]"
    # never inside a UTF-8 character: 極 is three bytes
    assert truncate("極" * 10, 4) == "極…[truncated 27 bytes]"
    assert printable("a\r\nFAKE LOG LINE\x1b[2J") == "a\\x0d\\x0aFAKE LOG LINE\\x1b[2J"


def test_rate_limiter_refills_and_counts_what_it_held_back() -> None:
    now = [0.0]
    limiter = RateLimiter(1.0, 3, max_keys=2, clock=lambda: now[0])
    assert [limiter.allow("a") for _ in range(5)] == [True, True, True, False, False]
    assert limiter.pop_suppressed("a") == 2 and limiter.pop_suppressed("a") == 0
    assert limiter.allow("b")  # another key has its own bucket
    now[0] = 1.0
    assert limiter.allow("a") and not limiter.allow("a")
    limiter.allow("c")
    assert len(limiter) == 2  # bounded: the least recently used key was forgotten


def test_refusal_actions_and_peer_hosts() -> None:
    assert is_refusal("send.refused") and is_refusal("release.denied")
    assert is_refusal("request.submit_refused") and not is_refusal("token.create")
    assert peer_host({"peer": "10.1.2.3:50000"}) == "10.1.2.3"
    assert peer_host({"peer": "udp"}) == "udp" and peer_host({}) == "-"


def test_refusals_are_rate_limited_per_principal_and_address() -> None:
    log = Recorder()
    queue = AuditQueue(log, refusals_per_minute=10)
    try:
        for port in range(100):  # reconnecting from new ports buys no new bucket
            queue("anonymous", "send.refused", "x", {"peer": f"10.0.0.9:{40000 + port}"})
        for _ in range(5):
            queue("anonymous", "send.refused", "x", {"peer": "10.0.0.10:1"})
            queue("cli:root", "token.create", "A1", {"token_id": 1})  # never limited
        wait_for(lambda: queue.pending == 0 and len(log.entries) == 20)
    finally:
        queue.close()
    refused = [e for e in log.entries if e[1] == "send.refused"]
    assert len(refused) == 15  # 10 from .9, 5 from .10
    assert queue.suppressed == 90
    assert sum(e[1] == "token.create" for e in log.entries) == 5


def test_the_queue_is_bounded_and_counts_what_it_dropped() -> None:
    log = Recorder()
    log.gate.clear()  # the writer is stuck: the queue fills
    queue = AuditQueue(log, max_pending=5, refusals_per_minute=0)
    try:
        for i in range(20):
            queue("cli:root", "user.update", f"U{i}", {})
        assert queue.dropped >= 14
        assert not queue.accepting  # full: audited actions must wait
    finally:
        log.gate.set()
        queue.close()
    assert len(log.entries) + queue.dropped == 20


def test_a_failing_write_is_counted_retried_and_closes_the_gate(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = Recorder()
    log.fail = True
    queue = AuditQueue(log, retry_interval=0.02)
    try:
        with caplog.at_level(logging.CRITICAL, logger="allied_c2.audit"):
            queue("alice", "request.approve", "REQ-0001", {})
            wait_for(lambda: queue.failed >= 2)
        assert queue.failing and not queue.accepting
        assert "AUDIT LOG WRITE FAILED" in caplog.text
        log.fail = False  # the disk has room again: the same entry is written, in order
        wait_for(lambda: not queue.failing)
        assert queue.accepting
        assert [e[2] for e in log.entries] == ["REQ-0001"]
    finally:
        queue.close()


def test_audit_fields_are_truncated_and_marked(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'a.db'}")
    migrate(engine)
    audit = AuditLog(engine, tmp_path / "audit.anchor")
    audit.append("x" * 4000, "send.refused", "u" * 100_000, {"detail": "d" * 50_000, "n": 3})
    (entry,) = list(audit.entries())
    assert entry.subject.endswith("…[truncated 98976 bytes]")
    assert len(entry.actor) < 1100 and entry.detail["n"] == 3
    assert str(entry.detail["detail"]).endswith("…[truncated 48976 bytes]")
    assert audit.verify().ok


def test_log_arguments_are_truncated_and_escaped() -> None:
    record = logging.LogRecord(
        "allied_c2.relay", logging.WARNING, __file__, 1, "refused %s: %s", ("u\n" * 2000, 7), None
    )
    assert TruncatingFilter().filter(record)
    message = record.getMessage()
    assert "\n" not in message and "[truncated" in message and message.endswith(": 7")
