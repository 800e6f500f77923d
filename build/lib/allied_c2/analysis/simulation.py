"""A discrete-event simulation of staff work on decision requests.

It drives the real :func:`~allied_c2.alliance.routing.route` and
:class:`~allied_c2.alliance.lifecycle.RequestMachine` on a :class:`ManualClock`
from a heapq of events, so it inherits every rule (duty hours, deadlines,
escalation, coordination) rather than restating them. What it adds is the staff:
when a holder receives a request, the message takes a lognormal transmission
time to arrive, then the holder works a lognormal number of hours (duty hours,
unless the request is urgent: staff then work around the clock) and acts; a
share of holders never act, and the machine's deadlines escalate past them.
A counterpart asks the deciding staff a Poisson number of questions before it
concurs (``comment`` actions both ways); each answer is worked in the decider's
duty hours, which is where distant time zones cost whole days.
Offices have no capacity limit: requests do not queue behind each other.

Each arrival carries its own random seed, so the same request meets the same
luck in every structure compared (common random numbers).
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from allied_c2.alliance.clock import ManualClock
from allied_c2.alliance.dutyhours import add_duty_hours
from allied_c2.alliance.lifecycle import Action, RequestMachine, Track
from allied_c2.alliance.model import Structure, Urgency
from allied_c2.alliance.requests import DecisionRequest
from allied_c2.alliance.routing import Route, RoutingError, route
from allied_c2.analysis.workload import KindLoad, Workload

_SUBMIT, _ACT, _DEADLINE, _ANSWER = 0, 1, 2, 3
_HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Arrival:
    index: int
    at: datetime
    kind: str
    pick: float  # in [0, 1): chooses the originator from the kind's pool
    urgent: bool
    seed: int  # the request's own random stream


@dataclass(frozen=True, slots=True)
class Decided:
    index: int
    kind: str
    originator: str
    nation: str  # the originator's
    urgent: bool
    hours: float  # submission to decision
    by_needed_by: bool
    outcome: str  # approved / denied / returned
    hops: int  # handovers: every time an organisation received the request
    escalations: int  # deadlines that passed (escalations and overdue marks)


@dataclass(slots=True)
class RunResult:
    structure: str
    decided: list[Decided] = field(default_factory=list)
    samples: dict[int, RequestMachine] = field(default_factory=dict)


@dataclass(slots=True)
class _Live:
    machine: RequestMachine
    load: KindLoad
    rng: random.Random
    scheduled: set[tuple[str, datetime]] = field(default_factory=set)
    deadline: datetime | None = None
    questions: dict[tuple[str, datetime], int] = field(default_factory=dict)


def make_arrivals(workload: Workload, rng: random.Random) -> list[Arrival]:
    """Poisson arrivals per kind over the workload's window, merged in time order."""
    raw: list[tuple[datetime, str, float, bool, int]] = []
    horizon = workload.days * 24.0
    for load in workload.kinds:
        if load.per_day <= 0:
            continue
        rate = load.per_day / 24.0
        t = rng.expovariate(rate)
        while t < horizon:
            raw.append(
                (
                    workload.start + timedelta(hours=t),
                    load.kind,
                    rng.random(),
                    rng.random() < load.urgent_share,
                    rng.getrandbits(62),
                )
            )
            t += rng.expovariate(rate)
    raw.sort(key=lambda a: (a[0], a[1]))
    return [Arrival(i, *a) for i, a in enumerate(raw)]


def originator_pool(
    structure: Structure, load: KindLoad, routes: dict[tuple[str, str], Route] | None = None
) -> list[str]:
    """Organisations that may originate ``load.kind`` and that the structure can route;
    the routes found are added to ``routes`` for :func:`simulate` to reuse."""
    spec = load.originators
    if spec.ids:
        candidates = [i for i in spec.ids if i in structure.organisations]
    else:
        candidates = [
            o.id
            for o in structure.organisations.values()
            if (not spec.nations or o.nation in spec.nations)
            and (not spec.org_kinds or o.kind.value in spec.org_kinds)
        ]
    pool: list[str] = []
    for org_id in sorted(candidates):
        try:
            route_for_pool = _probe(structure, load.kind, org_id)
        except RoutingError:
            continue
        if routes is not None:
            routes[(load.kind, org_id)] = route_for_pool
        if route_for_pool.decider != org_id:  # self-decided requests say nothing about C2
            pool.append(org_id)
    return pool


def _probe(structure: Structure, kind: str, originator: str) -> Route:
    probe = DecisionRequest("probe", kind, originator, "probe", "UNCLASSIFIED", _EPOCH)
    return route(structure, probe)


_EPOCH = datetime.fromisoformat("2025-01-01T00:00:00+00:00")


def simulate(
    structure: Structure,
    workload: Workload,
    arrivals: Sequence[Arrival],
    pools: Mapping[str, Sequence[str]],
    *,
    name: str | None = None,
    samples: Sequence[int] = (),
    routes: dict[tuple[str, str], Route] | None = None,
) -> RunResult:
    """Run every arrival through ``structure`` until all are decided.

    ``samples`` lists arrival indexes whose machines are kept for inspection;
    ``routes`` is a cache of route() results per (kind, originator) that callers
    running the same structure repeatedly may share.
    """
    result = RunResult(name or structure.name)
    loads = {load.kind: load for load in workload.kinds}
    routes = {} if routes is None else routes
    keep = set(samples)
    clock = ManualClock(workload.start)
    heap: list[tuple[datetime, int, int, int, str, datetime | None]] = []
    live: dict[int, _Live] = {}
    seq = 0
    for arrival in arrivals:
        if pools.get(arrival.kind):
            heap.append((arrival.at, seq, _SUBMIT, arrival.index, "", None))
            seq += 1
    heapq.heapify(heap)
    by_index = {a.index: a for a in arrivals}

    def schedule(item: _Live, index: int) -> None:
        nonlocal seq
        m = item.machine
        for track in m.active_tracks():
            token = (track.holder, track.received_at)
            if token in item.scheduled:
                continue
            item.scheduled.add(token)
            if item.rng.random() < item.load.silent_share:
                continue
            at = _act_time(m, track, item, workload)
            heapq.heappush(heap, (at, seq, _ACT, index, track.holder, track.received_at))
            seq += 1
        due = m.next_deadline()
        if due is not None and due != item.deadline:
            item.deadline = due
            heapq.heappush(heap, (due, seq, _DEADLINE, index, "", None))
            seq += 1

    while heap:
        at, _, event, index, holder, received = heapq.heappop(heap)
        clock.set(at)
        if event == _SUBMIT:
            arrival = by_index[index]
            load = loads[arrival.kind]
            pool = pools[arrival.kind]
            originator = pool[int(arrival.pick * len(pool))]
            request = DecisionRequest(
                id=f"SIM-{index}",
                kind=arrival.kind,
                originator=originator,
                subject=f"simulated {arrival.kind}",
                marking="UNCLASSIFIED",
                submitted_at=at,
                needed_by=at + timedelta(hours=load.needed_by_hours),
                urgency=Urgency.URGENT if arrival.urgent else Urgency.ROUTINE,
            )
            key = (arrival.kind, originator)
            if key not in routes:
                routes[key] = route(structure, request)
            machine = RequestMachine.submit(request, routes[key], clock)
            item = _Live(machine, load, random.Random(arrival.seed))
            live[index] = item
            if index in keep:
                result.samples[index] = machine
        else:
            found = live.get(index)
            if found is None:
                continue  # a stale deadline or action of a request already decided
            item, machine = found, found.machine
            if event == _DEADLINE:
                due = machine.next_deadline()
                if due is None or due > at:
                    continue  # superseded: the holder acted or the deadline moved
                machine.tick(at)
            else:
                track = next((t for t in machine.active_tracks() if t.holder == holder), None)
                if track is None or track.received_at != received:
                    continue  # escalated away before this holder acted
                if event == _ANSWER:
                    machine.act(Action.COMMENT, machine.decider, "clarification provided")
                    work = workload.processing_for(item.load, "concur").sample(item.rng) / 2
                    then = _work_until(machine, track.holder, at, work, item, workload)
                    heapq.heappush(heap, (then, seq, _ACT, index, holder, received))
                    seq += 1
                elif _wants_answer(machine, track, item):
                    machine.act(Action.COMMENT, track.holder, "request for clarification")
                    work = workload.processing_for(item.load, "answer").sample(item.rng)
                    then = _work_until(machine, machine.decider, at, work, item, workload)
                    heapq.heappush(heap, (then, seq, _ANSWER, index, holder, received))
                    seq += 1
                else:
                    # Refused only when its deadline fell at this very instant and the
                    # machine escalated it first; schedule() then serves the new holder.
                    machine.act(*_decision(machine, track, item))
        if machine.state.terminal:
            if index in live:
                result.decided.append(_decided(index, machine))
                del live[index]
        else:
            schedule(live[index], index)
    return result


def _act_time(m: RequestMachine, track: Track, item: _Live, workload: Workload) -> datetime:
    work = workload.processing_for(item.load, _role(track, m)).sample(item.rng)
    return _work_until(m, track.holder, track.received_at, work, item, workload)


def _work_until(
    m: RequestMachine, org: str, sent: datetime, work: float, item: _Live, workload: Workload
) -> datetime:
    """When ``org`` finishes ``work`` hours on a message sent to it at ``sent``."""
    arrive = sent + _HOUR * workload.transmission.sample(item.rng)
    office = m.route.offices.get(org)
    if m.request.urgent or office is None:
        return arrive + _HOUR * work
    return add_duty_hours(office, arrive, work)


def _wants_answer(m: RequestMachine, track: Track, item: _Live) -> bool:
    """Whether a concurring counterpart asks the decider one more question first."""
    if _role(track, m) != "concur":
        return False
    key = (track.holder, track.received_at)
    left = item.questions.get(key)
    if left is None:
        left = _poisson(item.rng, item.load.coordination_rounds)
    item.questions[key] = left - 1
    return left > 0


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _role(track: Track, m: RequestMachine) -> str:
    if not track.at_final:
        return "review"
    return "decide" if track is m.review else "concur"


def _decision(m: RequestMachine, track: Track, item: _Live) -> tuple[Action, str, str]:
    role = _role(track, m)
    u = item.rng.random()
    if role == "review":
        return Action.FORWARD, track.holder, ""
    if role == "concur":
        if u < item.load.concur:
            return Action.CONCUR, track.holder, ""
        return Action.NONCONCUR, track.holder, "simulated nonconcurrence"
    if u < item.load.approve:
        return Action.APPROVE, track.holder, ""
    if u < item.load.approve + item.load.deny:
        return Action.DENY, track.holder, "simulated denial"
    return Action.RETURN, track.holder, "simulated return for rework"


def _decided(index: int, m: RequestMachine) -> Decided:
    assert m.decided_at is not None
    hops = escalations = 0
    for step in m.trail:
        if step.action == "route" or "to" in step.detail:
            hops += 1
        elif step.action == "approve" and step.holders:
            hops += len(step.holders)
        if step.actor == "system" and step.action in ("escalate", "overdue"):
            escalations += 1
    needed = m.request.needed_by
    return Decided(
        index=index,
        kind=m.request.kind,
        originator=m.request.originator,
        nation=m.route.offices[m.request.originator].nation,
        urgent=m.request.urgent,
        hours=(m.decided_at - m.request.submitted_at).total_seconds() / 3600,
        by_needed_by=needed is None or m.decided_at <= needed,
        outcome=m.state.value,
        hops=hops,
        escalations=escalations,
    )
