from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from allied_c2.alliance.readiness import (
    MetAssessment,
    MetRating,
    ReadinessError,
    ReadinessReport,
    StalenessPolicy,
    rollup,
    rollup_by_nation,
)

from .structures import alliance_2024

NOW = datetime(2025, 11, 10, tzinfo=UTC)
MARK = "SECRET//REL TO USA, JPN"


def _report(
    unit: str, p: int = 1, s: int = 1, r: int = 1, t: int = 1, **kw: object
) -> ReadinessReport:
    base = ReadinessReport(unit, p, s, r, t, NOW - timedelta(days=1), MARK)
    return replace(base, **kw)  # type: ignore[arg-type]


def test_computed_level_is_the_worst_area() -> None:
    assert _report("x", 1, 3, 2, 1).computed_level == 3
    assert _report("x", 1, 1, 1, 1).computed_level == 1
    assert _report("x", 2, 1, 1, 1, resource_action=True, assessed_level=5).computed_level == 5


def test_commander_assessment_needs_a_reason_when_it_differs() -> None:
    with pytest.raises(ReadinessError, match="differs from computed C-3: the commander must give"):
        _report("x", 1, 3, 1, 1, assessed_level=2)
    ok = _report("x", 1, 3, 1, 1, assessed_level=2, reason="spares arrive in 48h")
    assert (ok.computed_level, ok.level) == (3, 2)
    same = _report("x", 1, 3, 1, 1, assessed_level=3)
    assert same.level == 3


def test_every_problem_is_reported() -> None:
    with pytest.raises(ReadinessError) as info:
        ReadinessReport("", 0, 5, 1, 1, NOW, "", mets=(MetAssessment("a", MetRating.YES),) * 2)
    problems = info.value.problems
    assert "unit must not be empty" in problems
    assert "P (personnel) must be 1-4, got 0" in problems
    assert "S (equipment and supplies on hand) must be 1-4, got 5" in problems
    assert "marking must not be empty (readiness data is classified)" in problems
    assert "mission-essential task 'a' is assessed 2 times" in problems
    with pytest.raises(ReadinessError, match="C-5 is only for a unit under a service-directed"):
        _report("x", assessed_level=5, reason="x")
    with pytest.raises(ReadinessError, match="under a service-directed resource action is C-5"):
        _report("x", resource_action=True, assessed_level=3, reason="x")
    assert _report("x", resource_action=True).level == 5


def test_dict_round_trip_and_parse_errors() -> None:
    r = _report("x", 2, 1, 1, 3, mets=(MetAssessment("Defend airfield", MetRating.QUALIFIED),))
    data = r.to_dict()
    assert data["computed_level"] == 3 and data["mets"] == [
        {"task": "Defend airfield", "rating": "Q"}
    ]
    assert ReadinessReport.from_dict(data) == r
    with pytest.raises(ReadinessError) as info:
        ReadinessReport.from_dict({"unit": "x"})
    assert "missing field 'P'" in info.value.problems
    with pytest.raises(ReadinessError, match="needs a task and a rating Y/Q/N"):
        ReadinessReport.from_dict({**data, "mets": [{"task": "a", "rating": "maybe"}]})


def test_staleness_by_age_and_after_a_flagged_change() -> None:
    r = _report("x")
    assert not r.is_stale(NOW)
    assert r.is_stale(NOW + timedelta(days=30))
    assert r.is_stale(NOW, StalenessPolicy(period=timedelta(hours=12)))
    changed = NOW - timedelta(hours=2)
    assert not r.is_stale(NOW, change_flagged_at=changed)  # within the 24 h to report
    assert r.is_stale(NOW + timedelta(hours=23), change_flagged_at=changed)
    assert not r.is_stale(NOW, change_flagged_at=r.reported_at - timedelta(hours=30))


def test_rollup_of_a_command_subtree() -> None:
    s = alliance_2024()
    reports = [
        _report("1-abn-bde", 1, 2, 1, 1, reported_at=NOW - timedelta(days=40)),  # superseded
        _report("1-abn-bde", 1, 2, 1, 1),
        _report("escort-flot-1", 3, 1, 2, 1, mets=(MetAssessment("ASW", MetRating.NO),)),
        _report("gcc", 1, 1, 1, 2, reported_at=NOW - timedelta(days=31)),  # stale component
        _report("ctf70", 4, 4, 4, 4),  # not in the subtree
        _report("2-air-wing", 1, 1, 1, 1, reported_at=NOW + timedelta(days=1)),  # future
    ]
    up = rollup(s, reports, "js", NOW)
    assert up.expected == ("1-abn-bde", "2-air-wing", "escort-flot-1", "gcc")
    assert up.reported == ("1-abn-bde", "escort-flot-1", "gcc")
    assert up.missing == ("2-air-wing",)
    assert up.stale == ("gcc",)
    assert up.levels == {1: 0, 2: 2, 3: 1, 4: 0, 5: 0}
    assert up.worst_level == 3 and up.worst_units == ("escort-flot-1",)
    assert up.share_c1_c2 == round(2 / 3, 4)
    assert up.areas["P"].worst == 3 and up.areas["P"].mean == round(5 / 3, 2)
    assert up.areas["T"].worst == 2
    assert up.mets == {"Y": 0, "Q": 0, "N": 1}
    assert up.markings == (MARK,)
    assert up.to_dict()["levels"]["C-2"] == 2


def test_rollup_by_nation_and_empty_scopes() -> None:
    s = alliance_2024()
    reports = [_report("ctf70", 2, 1, 1, 1, assessed_level=1, reason="surge crew"), _report("gcc")]
    later = NOW + timedelta(days=2)
    by_nation = rollup_by_nation(s, reports, later, changes={"gcc": NOW - timedelta(hours=2)})
    assert by_nation["USA"].reported == ("ctf70",)
    assert by_nation["USA"].worst_level == 1 and by_nation["USA"].assessed_differs == 1
    assert by_nation["JPN"].stale == ("gcc",)
    empty = rollup(s, [], "c7f", NOW)
    assert empty.worst_level is None and empty.share_c1_c2 is None and empty.missing == ("ctf70",)
    with pytest.raises(KeyError, match="unknown organisation"):
        rollup(s, [], "nowhere", NOW)
