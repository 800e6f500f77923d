"""The audit hash chain detects edited, deleted, inserted and reordered entries."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from allied_c2.security.audit import GENESIS, AuditEntry, seal, verify_chain

START = datetime(2025, 3, 24, 9, 0, tzinfo=UTC)


def chain(length: int = 5) -> list[AuditEntry]:
    entries: list[AuditEntry] = []
    previous: AuditEntry | None = None
    for index in range(length):
        previous = seal(
            previous,
            START + timedelta(minutes=index),
            "cli:ops",
            "user.add" if index % 2 == 0 else "release.denied",
            f"callsign-{index}",
            {"nation": "JPN", "marking": "SECRET//REL TO USA, JPN", "n": index},
        )
        entries.append(previous)
    return entries


def test_an_untouched_chain_verifies() -> None:
    entries = chain()
    report = verify_chain(entries)
    assert report.ok and report.entries == 5 and report.problems == ()
    assert entries[0].prev_hash == GENESIS and entries[0].seq == 1
    assert all(b.prev_hash == a.hash for a, b in pairwise(entries))
    assert verify_chain([]).ok


def test_an_edited_entry_is_detected() -> None:
    entries = chain()
    entries[2] = replace(entries[2], detail={**entries[2].detail, "nation": "USA"})
    report = verify_chain(entries)
    assert not report.ok
    assert report.problems == ("entry 3: content does not match its hash (edited)",)


def test_an_edited_entry_with_recomputed_hash_breaks_the_next_link() -> None:
    entries = chain()
    forged = seal(entries[1], entries[2].at, "system", "user.revoke", "callsign-2", {})
    entries[2] = forged
    report = verify_chain(entries)
    assert report.problems == ("entry 4: link to previous entry broken",)


def test_a_deleted_entry_is_detected() -> None:
    entries = chain()
    del entries[2]
    report = verify_chain(entries)
    assert not report.ok
    assert "entry 4: expected sequence 3 (entry missing or inserted)" in report.problems
    assert "entry 4: link to previous entry broken" in report.problems


def test_deleting_the_last_entry_leaves_a_valid_prefix() -> None:
    # A truncated tail is invisible to the chain alone: the store must keep
    # the latest hash elsewhere to catch it. Documented in docs/security-model.md.
    assert verify_chain(chain()[:-1]).ok


def test_an_inserted_entry_is_detected() -> None:
    entries = chain()
    inserted = seal(entries[1], START + timedelta(seconds=90), "viper", "send.refused", "x", {})
    entries.insert(2, inserted)
    report = verify_chain(entries)
    assert not report.ok
    assert "entry 3: expected sequence 4 (entry missing or inserted)" in report.problems


def test_reordered_entries_are_detected() -> None:
    entries = chain()
    entries[1], entries[2] = entries[2], entries[1]
    assert not verify_chain(entries).ok


def test_a_changed_timestamp_or_actor_is_detected() -> None:
    for change in ({"at": START + timedelta(days=1)}, {"actor": "cli:root"}, {"action": "x"}):
        entries = chain()
        entries[0] = replace(entries[0], **change)
        assert verify_chain(entries).problems == (
            "entry 1: content does not match its hash (edited)",
        )
