from __future__ import annotations

import itertools
import threading
from pathlib import Path

from sqlalchemy import Engine, text

from allied_c2.security.audit import GENESIS
from allied_c2.store.audit import AuditLog, read_anchor


def filled(engine: Engine, anchor: Path | None, n: int = 5) -> AuditLog:
    log = AuditLog(engine, anchor)
    for i in range(n):
        log.append("cli:tester", "user.add", f"USER-{i}", {"nation": "JPN", "cois": ("A", "B")})
    return log


def test_append_and_verify(engine: Engine, tmp_path: Path) -> None:
    anchor = tmp_path / "audit.anchor"
    log = filled(engine, anchor)
    entries = list(log.entries())
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(entries))
    assert entries[2].detail == {"nation": "JPN", "cois": ["A", "B"]}
    assert entries[2].at.tzinfo is not None
    report = log.verify()
    assert report.ok, report.problems
    assert report.entries == 5
    assert read_anchor(anchor) is not None
    assert read_anchor(anchor).seq == 5  # type: ignore[union-attr]
    assert log.head() == entries[-1]
    assert [e.subject for e in log.tail(2)] == ["USER-3", "USER-4"]
    log.append("system", "release.denied", "uid-1", {})
    assert [e.seq for e in log.tail(10, action="release.denied")] == [6]
    assert [e.seq for e in log.entries(action="release.denied")] == [6]


def test_empty_log_verifies(engine: Engine, tmp_path: Path) -> None:
    report = AuditLog(engine, tmp_path / "audit.anchor").verify()
    assert report.ok and report.entries == 0


def test_edited_row_is_detected(engine: Engine, tmp_path: Path) -> None:
    log = filled(engine, tmp_path / "audit.anchor")
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET subject = 'SOMEONE-ELSE' WHERE seq = 2"))
    report = log.verify()
    assert not report.ok
    assert any("entry 2" in p and "edited" in p for p in report.problems)


def test_edited_detail_is_detected(engine: Engine, tmp_path: Path) -> None:
    log = filled(engine, tmp_path / "audit.anchor")
    with engine.begin() as conn:
        conn.execute(text("""UPDATE audit_log SET detail = '{"nation": "USA"}' WHERE seq = 4"""))
    assert not log.verify().ok


def test_deleted_row_is_detected(engine: Engine, tmp_path: Path) -> None:
    log = filled(engine, tmp_path / "audit.anchor")
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = 3"))
    report = log.verify()
    assert not report.ok
    assert any("entry 4" in p for p in report.problems)


def test_deleting_the_newest_rows_is_detected(engine: Engine, tmp_path: Path) -> None:
    log = filled(engine, tmp_path / "audit.anchor")
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq >= 4"))
    report = log.verify()
    assert not report.ok
    assert any("missing" in p for p in report.problems)


def test_anchor_catches_a_tail_deletion_that_also_fixed_the_counter(
    engine: Engine, tmp_path: Path
) -> None:
    log = filled(engine, tmp_path / "audit.anchor")
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = 5"))
        conn.execute(text("UPDATE counters SET value = 4 WHERE name = 'audit.seq'"))
    report = log.verify()
    assert not report.ok
    assert any("entry 5" in p and "audit.anchor" in p for p in report.problems)
    # Without the anchor, a careful deletion of the newest entry would pass:
    # that is exactly what the anchor is for.
    assert AuditLog(engine, None).verify().ok


def test_append_after_a_tail_deletion_keeps_the_gap_visible(engine: Engine, tmp_path: Path) -> None:
    log = filled(engine, None)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = 5"))
    entry = log.append("system", "user.add", "LATER", {})
    assert entry.seq == 6
    assert not log.verify().ok


def test_missing_or_damaged_anchor_fails(engine: Engine, tmp_path: Path) -> None:
    anchor = tmp_path / "audit.anchor"
    log = filled(engine, anchor, 2)
    anchor.unlink()
    assert not log.verify().ok
    anchor.write_text("garbage\n")
    assert not log.verify().ok


def test_anchor_never_moves_back(engine: Engine, tmp_path: Path) -> None:
    anchor = tmp_path / "audit.anchor"
    log = filled(engine, anchor, 3)
    head = log.head()
    assert head is not None
    anchor.write_text(f"99 {'0' * 64}\n")
    log.append("system", "x", "y", {})
    assert read_anchor(anchor).seq == 99  # type: ignore[union-attr]


def test_concurrent_appenders_never_fork_the_chain(engine: Engine, tmp_path: Path) -> None:
    anchor = tmp_path / "audit.anchor"
    errors: list[BaseException] = []

    def work(n: int) -> None:
        log = AuditLog(engine, anchor)
        try:
            for i in range(15):
                log.append(f"thread-{n}", "test.append", str(i), {"n": n})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    log = AuditLog(engine, anchor)
    report = log.verify()
    assert report.ok, report.problems
    assert report.entries == 60
    assert read_anchor(anchor).seq == 60  # type: ignore[union-attr]
