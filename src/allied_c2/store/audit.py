"""The append-only, hash-chained audit log in the database.

Appends are serialised across threads and processes by the row lock on the
``audit.seq`` counter (PostgreSQL) or the database write lock (SQLite), so two
writers can never fork the chain. Two checks beyond the chain itself catch
deletion of the newest entries, which a chain alone cannot see: the counter
remembers the last sequence number handed out, and an anchor file outside the
database (``DATA_DIR/audit.anchor``) remembers the newest ``seq`` and hash.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, select, update

from allied_c2.security.audit import (
    AuditEntry,
    ChainReport,
    entry_digest,
    seal,
    verify_chain,
)
from allied_c2.security.limits import bounded, truncate
from allied_c2.store.models import AUDIT_SEQ, AuditRow, Counter

_A = cast(Table, AuditRow.__table__)
_COUNTERS = cast(Table, Counter.__table__)
_PAGE = 1000
ANCHOR_NAME = "audit.anchor"


def anchor_path_for(data_dir: Path) -> Path:
    return data_dir / ANCHOR_NAME


@dataclass(frozen=True, slots=True)
class Anchor:
    seq: int
    hash: str


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(
        seq=int(row.seq),
        at=datetime.fromisoformat(row.at),
        actor=row.actor,
        action=row.action,
        subject=row.subject,
        detail=json.loads(row.detail),
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def _canonical(detail: Mapping[str, object]) -> dict[str, object]:
    # Hash what will be read back: JSON turns tuples into lists, dates into text.
    # Strings arrive from clients (uids, types, reasons): each is cut to
    # MAX_FIELD_BYTES and marked, so one hostile event cannot bloat every row.
    result = bounded(json.loads(json.dumps(dict(detail), default=str)))
    assert isinstance(result, dict)
    return result


class AuditLog:
    def __init__(
        self,
        engine: Engine,
        anchor_path: Path | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._engine = engine
        self._anchor_path = anchor_path
        self._clock = clock or (lambda: datetime.now(UTC))

    def append(
        self, actor: str, action: str, subject: str, detail: Mapping[str, object] | None = None
    ) -> AuditEntry:
        """Seal and store the next entry, then move the anchor forward."""
        content = _canonical(detail or {})
        actor, action, subject = truncate(actor), truncate(action), truncate(subject)
        with self._engine.begin() as conn:
            # The counter update comes first: it takes the lock before the head is read.
            seq = int(
                conn.execute(
                    update(_COUNTERS)
                    .where(_COUNTERS.c.name == AUDIT_SEQ)
                    .values(value=_COUNTERS.c.value + 1)
                    .returning(_COUNTERS.c.value)
                ).scalar_one()
            )
            prev = self._head(conn)
            at = self._clock()
            entry = seal(prev, at, actor, action, subject, content)
            if entry.seq != seq:
                # Entries were deleted behind our back: keep the gap visible to verify().
                prev_hash = entry.prev_hash
                digest = entry_digest(prev_hash, seq, at, actor, action, subject, content)
                entry = AuditEntry(seq, at, actor, action, subject, content, prev_hash, digest)
            conn.execute(
                _A.insert().values(
                    seq=entry.seq,
                    at=entry.at.isoformat(),
                    actor=entry.actor,
                    action=entry.action,
                    subject=entry.subject,
                    detail=json.dumps(content, sort_keys=True, ensure_ascii=False),
                    prev_hash=entry.prev_hash,
                    hash=entry.hash,
                )
            )
        if self._anchor_path is not None:
            _advance_anchor(self._anchor_path, Anchor(entry.seq, entry.hash))
        return entry

    def head(self) -> AuditEntry | None:
        with self._engine.connect() as conn:
            return self._head(conn)

    def entries(self, *, action: str | None = None) -> Iterator[AuditEntry]:
        """All entries in sequence order, read a page at a time."""
        last = -1
        while True:
            query = select(_A).where(_A.c.seq > last).order_by(_A.c.seq).limit(_PAGE)
            if action is not None:
                query = query.where(_A.c.action == action)
            with self._engine.connect() as conn:
                rows = conn.execute(query).all()
            for row in rows:
                yield _entry(row)
            if len(rows) < _PAGE:
                return
            last = int(rows[-1].seq)

    def tail(self, limit: int = 50, *, action: str | None = None) -> list[AuditEntry]:
        """The newest ``limit`` entries (optionally of one action), oldest first."""
        query = select(_A).order_by(_A.c.seq.desc()).limit(limit)
        if action is not None:
            query = query.where(_A.c.action == action)
        with self._engine.connect() as conn:
            entries = [_entry(row) for row in conn.execute(query)]
        entries.reverse()
        return entries

    def verify(self) -> ChainReport:
        """Check the chain, the sequence counter and the anchor file; list every problem."""
        anchor = read_anchor(self._anchor_path) if self._anchor_path is not None else None
        seen: dict[str, AuditEntry] = {}

        def watched() -> Iterator[AuditEntry]:
            for entry in self.entries():
                seen["last"] = entry
                if anchor is not None and entry.seq == anchor.seq:
                    seen["anchored"] = entry
                yield entry

        report = verify_chain(watched())
        problems = list(report.problems)
        last = seen.get("last")
        last_seq = last.seq if last is not None else 0
        with self._engine.connect() as conn:
            issued = int(
                conn.execute(
                    select(_COUNTERS.c.value).where(_COUNTERS.c.name == AUDIT_SEQ)
                ).scalar_one()
            )
        if issued > last_seq:
            problems.append(
                f"entries {last_seq + 1}..{issued} were written but are missing (deleted)"
            )
        if anchor is not None:
            anchored = seen.get("anchored")
            if anchored is None:
                problems.append(
                    f"entry {anchor.seq} recorded in {self._anchor_path} is missing "
                    f"(log ends at {last_seq}: newest entries deleted)"
                )
            elif anchored.hash != anchor.hash:
                problems.append(f"entry {anchor.seq} does not match {self._anchor_path} (replaced)")
        elif self._anchor_path is not None and last is not None:
            problems.append(
                f"anchor {self._anchor_path} is missing: cannot check the newest entries"
            )
        return ChainReport(ok=not problems, entries=report.entries, problems=tuple(problems))

    @staticmethod
    def _head(conn: Connection) -> AuditEntry | None:
        row = conn.execute(select(_A).order_by(_A.c.seq.desc()).limit(1)).first()
        return None if row is None else _entry(row)


def read_anchor(path: Path) -> Anchor | None:
    try:
        text = path.read_text(encoding="ascii").split()
    except FileNotFoundError:
        return None
    if len(text) != 2 or not text[0].isdigit():
        # A damaged anchor must fail verification, not pass it.
        return Anchor(seq=-1, hash="unreadable")
    return Anchor(int(text[0]), text[1])


def _advance_anchor(path: Path, anchor: Anchor) -> None:
    """Write the anchor unless it already records a later entry (writers race after
    their commits; the anchor is a lower bound on the head and never moves back)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = path.with_name(path.name + ".lock")
    with open(lock_path, "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        current = read_anchor(path)
        if current is not None and current.seq >= anchor.seq:
            return
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(f"{anchor.seq} {anchor.hash}\n", encoding="ascii")
        os.replace(tmp, path)
