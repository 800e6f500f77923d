from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from allied_c2.alliance.model import DecisionAuthority, Urgency
from allied_c2.alliance.requests import DecisionRequest, RequestError
from allied_c2.alliance.routing import Route, RoutingError, find_authority, route, route_for

from .structures import alliance_2024, alliance_jfhq

T0 = datetime(2025, 11, 3, 0, 0, tzinfo=UTC)  # Monday 09:00 in Tokyo


def _request(
    kind: str = "bilateral_exercise_change", originator: str = "1-abn-bde"
) -> DecisionRequest:
    return DecisionRequest(
        id="R-1",
        kind=kind,
        originator=originator,
        subject="Move the live-fire window of the exercise by 24 hours",
        marking="UNCLASSIFIED",
        submitted_at=T0,
    )


def test_japanese_bilateral_request_2024_is_decided_by_joint_staff_with_indopacom_concurring() -> (
    None
):
    r = route(alliance_2024(), _request())
    assert r.hops == ("gcc", "js")
    assert r.decider == "js"
    assert r.reviewers == ("gcc",)
    assert r.counterparts == ("indopacom",)
    assert r.legs[0].concurring == "indopacom"
    assert r.offices["indopacom"].timezone == "Pacific/Honolulu"
    assert r.path == ("1-abn-bde", "gcc", "js")


def test_jfhq_with_delegation_pairs_jjoc_and_jfhq_in_tokyo() -> None:
    r = route(alliance_jfhq(delegation=True), _request())
    assert r.decider == "jjoc"
    assert [leg.path for leg in r.legs] == [("usfj-jfhq",)]
    assert {r.offices[o].timezone for o in ("jjoc", "usfj-jfhq")} == {"Asia/Tokyo"}


def test_jfhq_without_delegation_forwards_concurrence_to_hawaii() -> None:
    r = route(alliance_jfhq(delegation=False), _request())
    assert [leg.path for leg in r.legs] == [("usfj-jfhq", "indopacom")]
    assert r.legs[0].concurring == "indopacom"


def test_us_decider_without_own_counterpart_uses_its_subordinate_counterpart() -> None:
    r = route_for(alliance_jfhq(delegation=False), "bilateral_exercise_change", "ctf70")
    assert r.decider == "indopacom"
    assert r.hops == ("c7f", "pacflt", "indopacom")
    assert r.counterparts == ("jjoc",)


def test_most_specific_rule_wins() -> None:
    s = alliance_2024()
    assert find_authority(s, "logistics_support", "1-abn-bde").decider == "gcc"
    assert find_authority(s, "logistics_support", "escort-flot-1").decider == "js"
    r = route_for(s, "logistics_support", "1-abn-bde")
    assert r.hops == ("gcc",) and not r.bilateral


def test_ties_go_to_the_rule_listed_first() -> None:
    s = alliance_2024()
    s.authorities.insert(0, DecisionAuthority("isr_support", "JPN", "mod", forces=("js",)))
    s.authorities.insert(1, DecisionAuthority("isr_support", "JPN", "pm", forces=("js",)))
    assert find_authority(s, "isr_support", "1-abn-bde").decider == "mod"


def test_decider_outside_the_chain_is_reached_through_the_common_superior() -> None:
    s = alliance_jfhq()
    # The delegate is reached without the commander who delegated the authority...
    r = route_for(s, "bilateral_exercise_change", "ctf70")
    assert r.decider == "usfj-jfhq" and r.authority.delegated_from == "indopacom"
    assert r.hops == ("c7f", "pacflt", "usfj-jfhq")
    assert not r.direct
    # ...but through the common superior when nothing was delegated.
    s.authorities = [
        replace(a, delegated_from=None) if a.decider == "usfj-jfhq" else a for a in s.authorities
    ]
    r = route_for(s, "bilateral_exercise_change", "ctf70")
    assert r.hops == ("c7f", "pacflt", "indopacom", "usfj-jfhq")


def test_originator_that_is_the_decider_has_one_hop() -> None:
    r = route_for(alliance_2024(), "logistics_support", "gcc")
    assert r.hops == ("gcc",)
    assert r.path == ("gcc",)


def test_no_rule_for_the_kind() -> None:
    with pytest.raises(RoutingError, match="no decision authority for request kind 'airlift'"):
        route(alliance_2024(), _request(kind="airlift"))


def test_no_rule_for_the_nation() -> None:
    s = alliance_2024()
    s.authorities = [a for a in s.authorities if a.nation != "USA"]
    with pytest.raises(RoutingError, match="no isr_support authority for nation USA"):
        route_for(s, "isr_support", "ctf70")


def test_rule_that_covers_other_forces_only() -> None:
    s = alliance_2024()
    s.authorities = [a for a in s.authorities if a.forces]
    with pytest.raises(RoutingError, match=r"no logistics_support authority covers 2-air-wing"):
        route_for(s, "logistics_support", "2-air-wing")


def test_unknown_originator_and_missing_counterpart() -> None:
    s = alliance_2024()
    with pytest.raises(RoutingError, match="unknown originating organisation 'nobody'"):
        route_for(s, "isr_support", "nobody")
    s.relationships = [r for r in s.relationships if r.relation.value != "COUNTERPART"]
    with pytest.raises(RoutingError, match="bilateral but neither its decider js"):
        route_for(s, "bilateral_exercise_change", "1-abn-bde")


def test_route_round_trips_through_a_dict() -> None:
    r = route(alliance_2024(), _request())
    assert Route.from_dict(r.to_dict()) == r


def test_request_validation_and_round_trip() -> None:
    req = replace(_request(), urgency=Urgency.URGENT)
    assert DecisionRequest.from_dict(req.to_dict()) == req
    with pytest.raises(RequestError, match="needed_by is before submitted_at"):
        replace(req, needed_by=datetime(2025, 1, 1, tzinfo=UTC))
    with pytest.raises(RequestError, match="timezone-aware"):
        replace(req, submitted_at=datetime(2025, 1, 1))
    with pytest.raises(RequestError, match="missing field 'kind'"):
        DecisionRequest.from_dict({"id": "x"})
    with pytest.raises(RequestError, match="not an ISO 8601"):
        DecisionRequest.from_dict({**req.to_dict(), "submitted_at": "yesterday"})
