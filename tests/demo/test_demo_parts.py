"""The demo's pieces without a server: data-dir safety, movement, CoT reports, the staff plan."""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime
from pathlib import Path

import pytest

from allied_c2.alliance.routing import route_for
from allied_c2.alliance.scenario import load_structure
from allied_c2.config import Config
from allied_c2.cot.xmlcodec import parse_xml
from allied_c2.demo.datadir import MARKER, DataDirError, prepare
from allied_c2.demo.geo import KNOT_MS, bearing_deg, distance_m
from allied_c2.demo.geo import Path as GeoPath
from allied_c2.demo.motion import (
    NOFORN,
    REL_BILATERAL,
    REL_TRILATERAL,
    UNCLASSIFIED,
    Domain,
    Pattern,
    Track,
    state_at,
)
from allied_c2.demo.places import CLARK, TUGUEGARAO_AIRPORT
from allied_c2.demo.principals import FEEDS, STAFF, check_users
from allied_c2.demo.routes import demo_tracks
from allied_c2.demo.runner import default_scenario
from allied_c2.demo.sa import report_at
from allied_c2.demo.staffwork import READINESS, REQUESTS, timeline
from allied_c2.security.decision import may_send
from allied_c2.security.markings import marking_from_cot
from allied_c2.security.policy import load_policy

NOW = datetime(2025, 11, 10, 3, 0, tzinfo=UTC)


# -- the data directory -------------------------------------------------------------


def test_prepare_refuses_a_directory_the_demo_did_not_make(tmp_path: Path) -> None:
    precious = tmp_path / "server-data"
    precious.mkdir()
    (precious / "allied-c2.db").write_text("not the demo's")
    with pytest.raises(DataDirError, match="not made by `allied-c2 demo`"):
        prepare(precious)
    assert (precious / "allied-c2.db").read_text() == "not the demo's"


def test_prepare_wipes_a_previous_demo_and_marks_a_new_one(tmp_path: Path) -> None:
    target = tmp_path / "demo"
    prepare(target)
    (target / "old.db").write_text("previous run")
    (target / "certs").mkdir()
    prepare(target)
    assert sorted(p.name for p in target.iterdir()) == [MARKER]


def test_prepare_refuses_while_a_demo_is_running_there(tmp_path: Path) -> None:
    import subprocess
    import sys

    target = prepare(tmp_path / "demo")
    # A live process whose command line names allied-c2, as a running demo's would.
    sleeper = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(30)", "allied-c2"],
    )
    try:
        (target / "endpoints.json").write_text(f'{{"pid": {sleeper.pid}}}')
        with pytest.raises(DataDirError, match="still running"):
            prepare(target)
    finally:
        sleeper.kill()
        sleeper.wait()
    prepare(target)  # a dead pid is a stale file, not a running demo
    assert not (target / "endpoints.json").exists()


def test_prepare_refuses_a_file_and_a_symlink(tmp_path: Path) -> None:
    afile = tmp_path / "file"
    afile.write_text("x")
    with pytest.raises(DataDirError, match="not a directory"):
        prepare(afile)
    link = tmp_path / "link"
    link.symlink_to(tmp_path)
    with pytest.raises(DataDirError, match="symbolic link"):
        prepare(link)


# -- movement -------------------------------------------------------------------------


def test_great_circle_distance_and_bearing_between_real_airfields() -> None:
    # Clark to Tuguegarao: 2.452 deg of latitude (272.6 km) and 1.171 deg of longitude at
    # 16.4 N (124.9 km), so about 300 km on a bearing of about 25 degrees.
    assert distance_m(CLARK, TUGUEGARAO_AIRPORT) == pytest.approx(299_900, rel=0.005)
    assert bearing_deg(CLARK, TUGUEGARAO_AIRPORT) == pytest.approx(24.6, abs=0.5)


def _ferry(pattern: Pattern = Pattern.SHUTTLE) -> Track:
    return Track(
        "T",
        "T",
        "a-f-A-M-F-C-M",
        "USA",
        UNCLASSIFIED,
        Domain.AIR,
        GeoPath((CLARK, TUGUEGARAO_AIRPORT)),
        speed_ms=300 * KNOT_MS,
        pattern=pattern,
        dwell_s=600,
        cruise_hae_m=6000,
    )


def test_shuttle_goes_out_dwells_and_comes_back() -> None:
    track = _ferry()
    leg = track.path.length_m / track.speed_ms
    start = state_at(track, 0)
    assert (start.point.lat, start.point.lon, start.hae) == pytest.approx((15.186, 120.56, 0))
    middle = state_at(track, leg / 2)
    assert middle.hae == pytest.approx(6000, rel=0.01)  # cruising mid-route
    assert 15 < middle.course < 30 and middle.speed_ms == pytest.approx(track.speed_ms)
    there = state_at(track, leg + 300)
    assert there.speed_ms == 0 and there.point.lat == pytest.approx(17.638)
    back = state_at(track, leg + 600 + leg / 2)
    assert 195 < back.course < 210  # homebound, reversed
    assert state_at(track, track.cycle_s).point == start.point


def test_orbit_is_continuous_and_closes() -> None:
    track = next(t for t in demo_tracks() if t.uid == "DEMO-USA-ISR-61")
    assert track.pattern is Pattern.ORBIT
    first = state_at(track, 0)
    again = state_at(track, track.cycle_s)
    assert again.point.lat == pytest.approx(first.point.lat)
    step = track.speed_ms * 10
    for t in range(0, int(track.cycle_s), 97):
        a, b = state_at(track, t), state_at(track, t + 10)
        assert distance_m(a.point, b.point) <= step * 1.01
        assert a.hae == track.cruise_hae_m


def test_phase_starts_tracks_part_way() -> None:
    track = _ferry()
    shifted = dataclasses.replace(track, phase=0.25)
    assert state_at(shifted, 0).point == state_at(track, track.cycle_s * 0.25).point


# -- the catalogue and its markings ---------------------------------------------------


def test_catalogue_mixes_markings_and_nations() -> None:
    tracks = demo_tracks()
    assert len({t.uid for t in tracks}) == len(tracks)
    marks = [t.mark for t in tracks]
    assert marks.count(UNCLASSIFIED) > len(tracks) / 2
    assert REL_TRILATERAL in marks and REL_BILATERAL in marks
    assert {t.nation for t in tracks if t.mark == NOFORN} == {"USA"}
    assert {t.nation for t in tracks} == {"USA", "JPN", "PHL"}
    for t in tracks:
        assert t.cot_type.startswith(("a-f-", "a-n-")), t.uid
        assert -90 <= t.path.waypoints[0].lat <= 90


def test_every_feed_may_send_what_it_reports() -> None:
    policy = load_policy(None)
    feeds = {f.nation: f.principal() for f in FEEDS}
    for track in demo_tracks():
        mark = track.mark
        marking = marking_from_cot(mark.access, mark.caveat, mark.releasable_to, policy)
        decision = may_send(marking.with_originator(track.nation), feeds[track.nation], policy)
        assert decision.allowed, (track.uid, decision.reason)


def test_report_is_marked_cot_that_parses_back() -> None:
    track = next(t for t in demo_tracks() if t.uid == "DEMO-USA-P8-72")
    event = parse_xml(report_at(track, 1234.0, NOW).xml_wire)
    assert (event.access, event.caveat, event.releasable_to) == ("SECRET", "REL TO", "USA JPN")
    assert event.callsign == "TRIDENT 72" and event.type == "a-f-A-M-F-P"
    assert event.stale > NOW and event.time == NOW
    assert event.course is not None and 0 <= event.course < 360
    assert event.speed == pytest.approx(track.speed_ms, rel=0.01)
    assert math.isfinite(event.lat) and event.hae > 0


# -- people and the staff plan against the shipped scenario ----------------------------


def test_demo_people_fit_the_scenario_and_routes_reach_them() -> None:
    structure = load_structure(default_scenario())
    check_users(STAFF + FEEDS, structure, Config())
    orgs = {u.organisation for u in STAFF}
    for plan in REQUESTS:
        filer = next(u for u in STAFF if u.callsign == plan.by)
        assert filer.organisation in structure.chain_of_command(plan.originator)
        route = route_for(structure, plan.kind, plan.originator)
        holders = {route.decider, *(leg.concurring for leg in route.legs)}
        for action in plan.actions:
            actor = next(u for u in STAFF if u.callsign == action.by)
            assert actor.organisation in holders | set(route.hops), (plan.subject, action)
            if action.action in ("approve", "concur", "nonconcur", "deny"):
                assert "commander" in actor.roles
    assert {"usfj", "jjoc", "afp"} <= orgs


def test_timeline_orders_filing_before_acting() -> None:
    steps = timeline()
    assert [s.at_s for s in steps] == sorted(s.at_s for s in steps)
    filed_at = {s.request: s.at_s for s in steps if s.what == "file"}
    for step in steps:
        if step.what == "act":
            assert step.at_s > filed_at[step.request]
    reports = [s for s in steps if s.what == "report"]
    assert len(reports) == len(READINESS) >= 12
    assert sum(1 for r in READINESS if r.age.days > 30) >= 2
