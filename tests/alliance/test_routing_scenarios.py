"""Routing and lifecycle against the shipped scenario files."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from allied_c2.alliance.clock import ManualClock
from allied_c2.alliance.dutyhours import is_open, next_opening
from allied_c2.alliance.lifecycle import Accepted, Action, RequestMachine, State
from allied_c2.alliance.model import Structure
from allied_c2.alliance.requests import DecisionRequest
from allied_c2.alliance.routing import route
from allied_c2.alliance.scenario import load_structure

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
T0 = datetime(2025, 11, 3, 0, 0, tzinfo=UTC)  # Monday 09:00 Tokyo, Sunday 14:00 Hawaii
ORIGINATOR = "15bde"  # a GSDF brigade on Okinawa, in every shipped structure


def _load(name: str, **overrides: object) -> Structure:
    path = SCENARIOS / f"{name}.yaml"
    if not path.exists():
        pytest.skip(f"{path} not shipped yet")
    return load_structure(path, overrides or None)


def _request() -> DecisionRequest:
    return DecisionRequest(
        id="JPN-1",
        kind="bilateral_exercise_change",
        originator=ORIGINATOR,
        subject="Move the bilateral live-fire serial by one day",
        marking="UNCLASSIFIED",
        submitted_at=T0,
    )


def _walk_to_coordination(m: RequestMachine, clock: ManualClock) -> None:
    while m.state is State.IN_REVIEW:
        clock.advance(hours=1)
        holder = m.holders[0]
        action = Action.APPROVE if holder == m.decider else Action.FORWARD
        assert isinstance(m.act(action, holder), Accepted)


def test_2024_japanese_bilateral_request_goes_to_indopacom_and_waits_for_hawaii() -> None:
    s = _load("alliance-2024")
    r = route(s, _request())
    assert r.decider == "js"
    assert [leg.concurring for leg in r.legs] == ["indopacom"]
    assert r.offices["indopacom"].timezone == "Pacific/Honolulu"
    clock = ManualClock(T0)
    m = RequestMachine.submit(_request(), r, clock)
    _walk_to_coordination(m, clock)
    assert m.holders == ("indopacom",)
    hawaii = r.offices["indopacom"]
    assert not is_open(hawaii, clock.now())  # Sunday in Hawaii
    opens = next_opening(hawaii, clock.now())
    assert opens == datetime(2025, 11, 3, 18, tzinfo=UTC)  # Monday 08:00 HST
    # The deadline clock only starts when Hawaii opens.
    hours = r.legs[0].concur_hours
    assert m.deadlines()["indopacom"] > opens + timedelta(hours=hours)


def test_jfhq_with_delegation_pairs_jjoc_and_the_jfhq_in_tokyo() -> None:
    for delegation in ("partial", "full"):
        s = _load("alliance-jfhq", delegation=delegation)
        r = route(s, _request())
        assert r.decider == "jjoc"
        assert [leg.path for leg in r.legs] == [("usfj",)]
        assert {r.offices[o].timezone for o in (*r.hops, "usfj")} == {"Asia/Tokyo"}
        clock = ManualClock(T0)
        m = RequestMachine.submit(_request(), r, clock)
        _walk_to_coordination(m, clock)
        assert m.holders == ("usfj",) and is_open(r.offices["usfj"], clock.now())
        clock.advance(hours=2)
        assert isinstance(m.act(Action.CONCUR, "usfj"), Accepted)
        assert m.state is State.APPROVED and m.decided_at is not None
        assert m.decided_at - T0 < timedelta(hours=8)


def test_jfhq_without_delegation_still_asks_hawaii() -> None:
    s = _load("alliance-jfhq", delegation="none")
    r = route(s, _request())
    assert [leg.path for leg in r.legs] == [("usfj", "indopacom")]


def test_trilateral_bilateral_kinds_consult_every_counterpart() -> None:
    s = _load("trilateral-hadr")
    r = route(s, _request())
    assert r.decider == "jjoc"
    assert set(r.counterparts) == {"usfj", "afp"}
    assert r.offices["afp"].timezone == "Asia/Manila"
