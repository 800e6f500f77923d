from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from allied_c2.alliance.clock import ManualClock
from allied_c2.alliance.dutyhours import local_time, next_opening
from allied_c2.alliance.lifecycle import Accepted, Action, Refused, RequestMachine, State
from allied_c2.alliance.model import Structure, Urgency
from allied_c2.alliance.requests import DecisionRequest
from allied_c2.alliance.routing import route

from .structures import alliance_2024, alliance_jfhq

T0 = datetime(2025, 11, 3, 0, 0, tzinfo=UTC)  # Monday 09:00 Tokyo, Sunday 14:00 Hawaii


def _submit(
    structure: Structure, urgency: Urgency = Urgency.ROUTINE, originator: str = "1-abn-bde"
) -> tuple[RequestMachine, ManualClock]:
    req = DecisionRequest(
        id="R-7",
        kind="bilateral_exercise_change",
        originator=originator,
        subject="Shift the amphibious phase of the exercise by one day",
        marking="UNCLASSIFIED//FOUO",
        submitted_at=T0,
        needed_by=T0 + timedelta(days=3),
        urgency=urgency,
    )
    clock = ManualClock(T0)
    return RequestMachine.submit(req, route(structure, req), clock), clock


def _ok(outcome: Accepted | Refused) -> Accepted:
    assert isinstance(outcome, Accepted), outcome
    return outcome


def _state(m: RequestMachine) -> State:
    return m.state  # read through a call so the type checker does not pin it


def _to_coordination(m: RequestMachine, clock: ManualClock) -> None:
    clock.advance(hours=1)
    _ok(m.act(Action.FORWARD, "gcc"))
    clock.advance(hours=1)
    _ok(m.act(Action.APPROVE, m.decider))
    assert m.state is State.COORDINATION


def test_2024_bilateral_request_waits_for_hawaii_duty_hours() -> None:
    m, clock = _submit(alliance_2024())
    assert m.state is State.IN_REVIEW and m.holders == ("gcc",)
    _to_coordination(m, clock)
    assert m.holders == ("indopacom",)
    hawaii = m.route.offices["indopacom"]
    opens = next_opening(hawaii, clock.now())
    assert opens == datetime(2025, 11, 3, 18, tzinfo=UTC)  # Mon 08:00 HST = Tue 03:00 JST
    assert local_time(m.route.offices["js"], opens).strftime("%a %H:%M") == "Tue 03:00"
    # 24 duty hours from Hawaii's opening, not from the Sunday afternoon it arrived.
    assert m.deadlines()["indopacom"] == datetime(2025, 11, 5, 22, tzinfo=UTC)
    assert m.next_deadline() == datetime(2025, 11, 5, 22, tzinfo=UTC)
    clock.set(opens + timedelta(hours=3))
    steps = _ok(m.act(Action.CONCUR, "indopacom", "no objection")).steps
    assert _state(m) is State.APPROVED and steps[-1].to_state is State.APPROVED
    assert m.decided_at is not None and m.decided_at - T0 > timedelta(hours=20)


def test_jfhq_with_delegation_is_decided_in_tokyo_the_same_morning() -> None:
    m, clock = _submit(alliance_jfhq(delegation=True))
    _to_coordination(m, clock)
    assert m.decider == "jjoc" and m.holders == ("usfj-jfhq",)
    # Concurrence deadline counts from now: Tokyo is open.
    assert m.deadlines()["usfj-jfhq"] == T0 + timedelta(hours=2 + 24 + 14 * 2)
    clock.advance(hours=2)
    _ok(m.act(Action.CONCUR, "usfj-jfhq"))
    assert m.state is State.APPROVED
    assert m.decided_at == T0 + timedelta(hours=4)


def test_jfhq_without_delegation_forwards_to_indopacom() -> None:
    m, clock = _submit(alliance_jfhq(delegation=False))
    _to_coordination(m, clock)
    refused = m.act(Action.CONCUR, "usfj-jfhq")
    assert isinstance(refused, Refused) and "forwards to indopacom" in refused.reason
    _ok(m.act(Action.FORWARD, "usfj-jfhq"))
    assert m.holders == ("indopacom",)
    assert m.deadlines()["indopacom"] > datetime(2025, 11, 5, 18, tzinfo=UTC)


def test_urgent_requests_ignore_duty_hours() -> None:
    m, clock = _submit(alliance_2024(), urgency=Urgency.URGENT)
    _to_coordination(m, clock)
    assert m.deadlines()["indopacom"] == clock.now() + timedelta(hours=24)


def test_late_reviewer_is_bypassed_and_late_decider_loses_it_to_its_superior() -> None:
    m, clock = _submit(alliance_2024())
    gcc_deadline = m.next_deadline()
    assert gcc_deadline == T0 + timedelta(hours=4)  # the kind's default 4 duty hours
    assert m.tick(gcc_deadline - timedelta(seconds=1)) == []
    steps = m.tick(gcc_deadline)
    assert [(s.actor, s.action, s.detail["from"], s.detail["to"]) for s in steps] == [
        ("system", "escalate", "gcc", "js")
    ]
    assert "did not act within 4 duty hours" in steps[0].reason
    # js has 24 duty hours; a tick long after escalates it to the minister, stamped at js's
    # deadline, and the minister's own deadline is counted from then.
    js_deadline = m.next_deadline()
    assert js_deadline is not None
    steps = m.tick(js_deadline + timedelta(hours=1))
    assert [s.detail["to"] for s in steps] == ["mod"]
    assert steps[0].at == js_deadline
    assert m.decider == "mod" and m.holders == ("mod",)
    clock.set(js_deadline + timedelta(hours=1))
    late = m.act(Action.APPROVE, "js")
    assert isinstance(late, Refused) and "does not hold" in late.reason
    _ok(m.act(Action.APPROVE, "mod"))
    assert m.state is State.COORDINATION


def test_act_after_a_missed_deadline_escalates_first() -> None:
    m, clock = _submit(alliance_2024())
    clock.set(T0 + timedelta(hours=5))
    refused = m.act(Action.FORWARD, "gcc")
    assert isinstance(refused, Refused)
    assert m.holders == ("js",)
    assert m.trail[-1].action == "escalate"


def test_top_of_chain_is_marked_overdue() -> None:
    m, clock = _submit(alliance_2024(), originator="pm")
    # The nation-wide rule makes js decide, so the prime minister's request goes down to it.
    assert m.route.hops == ("mod", "js")
    clock.advance(hours=1)
    _ok(m.act(Action.FORWARD, "mod"))
    seen = []
    deadline = T0
    for _ in range(3):
        due = m.next_deadline()
        assert due is not None
        deadline = due
        (step,) = m.tick(deadline)
        seen.append((step.action, step.detail.get("to"), m.holders))
    assert seen == [
        ("escalate", "mod", ("mod",)),
        ("escalate", "pm", ("pm",)),
        ("overdue", None, ("pm",)),
    ]
    rearmed = m.next_deadline()
    assert rearmed is not None and rearmed > deadline
    refused = m.act(Action.ESCALATE, "pm", "no one above")
    assert isinstance(refused, Refused) and "no superior" in refused.reason


def test_denied_request_stays_denied() -> None:
    m, clock = _submit(alliance_2024())
    clock.advance(hours=1)
    _ok(m.act(Action.FORWARD, "gcc"))
    assert isinstance(m.act(Action.DENY, "js"), Refused)  # a reason is mandatory
    _ok(m.act(Action.DENY, "js", "range unavailable"))
    assert m.state is State.DENIED and m.next_deadline() is None and m.holders == ()
    for action, actor in [
        (Action.APPROVE, "js"),
        (Action.CONCUR, "indopacom"),
        (Action.WITHDRAW, "1-abn-bde"),
        (Action.COMMENT, "js"),
    ]:
        out = m.act(action, actor, "try again")
        assert isinstance(out, Refused) and "is denied" in out.reason and "final" in out.reason
    assert m.tick(T0 + timedelta(days=30)) == []
    assert m.state is State.DENIED


def test_nonconcurrence_denies_a_bilateral_request() -> None:
    m, clock = _submit(alliance_jfhq())
    _to_coordination(m, clock)
    _ok(m.act(Action.NONCONCUR, "usfj-jfhq", "conflicts with a US exercise"))
    assert m.state is State.DENIED


def test_only_the_holder_may_act() -> None:
    m, clock = _submit(alliance_2024())
    cases = [
        (Action.FORWARD, "js", "does not hold request R-7 (held by gcc)"),
        (Action.APPROVE, "gcc", "only the decider js may approve"),
        (Action.CONCUR, "gcc", "in review, not in coordination"),
        (Action.WITHDRAW, "gcc", "only the originator 1-abn-bde may withdraw"),
        (Action.COMMENT, "c7f", "c7f is not on the route"),
        ("launch", "gcc", "unknown action"),
    ]
    for action, actor, reason in cases:
        out = m.act(action, actor, "because")
        assert isinstance(out, Refused) and reason in out.reason, (action, out)
    _to_coordination(m, clock)
    out = m.act(Action.APPROVE, "js")
    assert isinstance(out, Refused) and "(held by indopacom)" in out.reason
    out = m.act(Action.APPROVE, "indopacom")
    assert isinstance(out, Refused) and "in coordination, awaiting indopacom" in out.reason
    out = m.act(Action.FORWARD, "indopacom")
    assert isinstance(out, Refused) and "concur or nonconcur" in out.reason
    assert len(m.trail) == 4  # refusals leave no trace in the request's trail


def test_audit_trail_has_every_step_and_survives_json() -> None:
    m, clock = _submit(alliance_2024())
    clock.advance(hours=1)
    _ok(m.act(Action.COMMENT, "1-abn-bde", "range booking attached"))
    _ok(m.act(Action.FORWARD, "gcc", "supported"))
    clock.advance(hours=1)
    _ok(m.act(Action.APPROVE, "js"))
    restored = RequestMachine.from_dict(json.loads(json.dumps(m.to_dict())), clock)
    assert restored.to_dict() == m.to_dict()
    clock.set(datetime(2025, 11, 4, 0, tzinfo=UTC))
    _ok(restored.act(Action.CONCUR, "indopacom", "concur"))
    trail = [
        (s.seq, s.actor, s.action, s.from_state, s.to_state, s.holders) for s in restored.trail
    ]
    assert trail == [
        (1, "1-abn-bde", "submit", None, State.SUBMITTED, ()),
        (2, "system", "route", State.SUBMITTED, State.IN_REVIEW, ("gcc",)),
        (3, "1-abn-bde", "comment", State.IN_REVIEW, State.IN_REVIEW, ("gcc",)),
        (4, "gcc", "forward", State.IN_REVIEW, State.IN_REVIEW, ("js",)),
        (5, "js", "approve", State.IN_REVIEW, State.COORDINATION, ("indopacom",)),
        (6, "indopacom", "concur", State.COORDINATION, State.APPROVED, ()),
    ]
    assert [s.at for s in restored.trail] == sorted(s.at for s in restored.trail)
    assert restored.trail[2].reason == "range booking attached"
    assert restored.trail[1].detail["decider"] == "js"


def test_withdraw_and_return() -> None:
    m, _clock = _submit(alliance_2024())
    _ok(m.act(Action.WITHDRAW, "1-abn-bde", "exercise cancelled"))
    assert m.state is State.WITHDRAWN
    m2, _clock2 = _submit(alliance_jfhq())
    _ok(m2.act(Action.RETURN, "gcc", "attach the range plan"))
    assert m2.state is State.RETURNED


def test_route_for_another_request_is_rejected() -> None:
    m, _ = _submit(alliance_2024())
    other = replace(m.request, originator="escort-flot-1")
    try:
        RequestMachine.submit(other, m.route, ManualClock(T0))
    except ValueError as exc:
        assert "another originator" in str(exc)
    else:
        raise AssertionError("a mismatched route was accepted")
