"""The audit trail's integrity: a hash chain over append-only entries.

Each entry's hash covers its own content and the previous entry's hash, so an
edited, inserted or deleted row breaks every hash after it. Storage lives in
``store/``; this module is pure so the rule can be checked anywhere.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    at: datetime
    actor: str  # callsign, "cli:<user>", "system"
    action: str  # e.g. "user.add", "release.denied", "send.refused", "request.approve"
    subject: str  # what the action was about (callsign, uid, request id)
    detail: Mapping[str, object] = field(default_factory=dict)
    prev_hash: str = GENESIS
    hash: str = ""


def entry_digest(
    prev_hash: str,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    detail: Mapping[str, object],
) -> str:
    """SHA-256 over a canonical JSON rendering of the entry and its predecessor's hash."""
    body = json.dumps(
        {
            "prev": prev_hash,
            "seq": seq,
            "at": at.isoformat(),
            "actor": actor,
            "action": action,
            "subject": subject,
            "detail": detail,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def seal(
    prev: AuditEntry | None,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    detail: Mapping[str, object],
) -> AuditEntry:
    """The next entry after ``prev`` (None for the first), with its hash computed."""
    seq = 1 if prev is None else prev.seq + 1
    prev_hash = GENESIS if prev is None else prev.hash
    digest = entry_digest(prev_hash, seq, at, actor, action, subject, detail)
    return AuditEntry(seq, at, actor, action, subject, dict(detail), prev_hash, digest)


@dataclass(frozen=True, slots=True)
class ChainReport:
    ok: bool
    entries: int
    problems: tuple[str, ...] = ()


def verify_chain(entries: Iterable[AuditEntry]) -> ChainReport:
    """Check sequence numbers, links and hashes; report every break found."""
    problems: list[str] = []
    expected_prev = GENESIS
    expected_seq = 1
    count = 0
    for entry in entries:
        count += 1
        if entry.seq != expected_seq:
            problems.append(
                f"entry {entry.seq}: expected sequence {expected_seq} (entry missing or inserted)"
            )
        if entry.prev_hash != expected_prev:
            problems.append(f"entry {entry.seq}: link to previous entry broken")
        digest = entry_digest(
            entry.prev_hash,
            entry.seq,
            entry.at,
            entry.actor,
            entry.action,
            entry.subject,
            entry.detail,
        )
        if digest != entry.hash:
            problems.append(f"entry {entry.seq}: content does not match its hash (edited)")
        expected_prev = entry.hash
        expected_seq = entry.seq + 1
    return ChainReport(ok=not problems, entries=count, problems=tuple(problems))
