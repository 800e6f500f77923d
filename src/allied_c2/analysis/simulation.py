"""A discrete-event simulation of staff work on decision requests.

:func:`run_machine` drives the real :func:`~allied_c2.alliance.routing.route` and
:class:`~allied_c2.alliance.lifecycle.RequestMachine` on a :class:`ManualClock`
from a heapq of events, so it inherits every rule (duty hours, deadlines,
escalation, coordination) rather than restating them; :mod:`.engine` gives the
same records many times faster and is what :func:`simulate` uses unless told
otherwise (tests/analysis/test_engine_equivalence.py). What it adds is the staff:
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
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from allied_c2.alliance.clock import ManualClock, to_micros
from allied_c2.alliance.dutyhours import add_duty_hours
from allied_c2.alliance.lifecycle import Action, RequestMachine, Track
from allied_c2.alliance.model import Structure, Urgency
from allied_c2.alliance.requests import DecisionRequest
from allied_c2.alliance.routing import Route, RoutingError, route_for
from allied_c2.alliance.routing_graph import CommandGraph
from allied_c2.analysis.engine import Memo, run_fast
from allied_c2.analysis.records import Arrival as Arrival
from allied_c2.analysis.records import Decided as Decided
from allied_c2.analysis.workload import KindLoad, Workload, poisson

_ACT, _DEADLINE, _ANSWER = 1, 2, 3
Engine = Literal["fast", "machine"]
_HOUR = timedelta(hours=1)


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
    graph = CommandGraph(structure)  # one index for every candidate's route
    for org_id in sorted(candidates):
        try:
            route_for_pool = route_for(structure, load.kind, org_id, graph)
        except RoutingError:
            continue
        if routes is not None:
            routes[(load.kind, org_id)] = route_for_pool
        if route_for_pool.decider != org_id:  # self-decided requests say nothing about C2
            pool.append(org_id)
    return pool


def simulate(
    structure: Structure,
    workload: Workload,
    arrivals: Sequence[Arrival],
    pools: Mapping[str, Sequence[str]],
    *,
    name: str | None = None,
    samples: Sequence[int] = (),
    routes: dict[tuple[str, str], Route] | None = None,
    engine: Engine = "fast",
    memo: Memo | None = None,
) -> RunResult:
    """Run every arrival through ``structure`` until all are decided.

    ``samples`` lists arrival indexes whose machines are kept for inspection;
    ``routes`` is a cache of route() results per (kind, originator) that callers
    running the same structure repeatedly may share. ``engine="fast"`` decides the
    requests with :mod:`allied_c2.analysis.engine` (proved equal to the machine by
    tests) and runs only the samples through :class:`RequestMachine`;
    ``engine="machine"`` runs every request through the machine. ``memo`` (fast
    engine) is shared by the calls that run these very arrivals through other
    structures: a request routed alike in two of them is simulated once.

    Offices have no capacity, so requests never interact: each runs alone, from its
    submission to its decision, on its own clock and event queue.
    """
    result = RunResult(name or structure.name)
    loads = {load.kind: load for load in workload.kinds}
    routes = {} if routes is None else routes
    keep = set(samples)
    todo: list[tuple[Arrival, str, Route]] = []
    graph: CommandGraph | None = None
    for arrival in arrivals:
        pool = pools.get(arrival.kind)
        if not pool:
            continue
        originator = pool[int(arrival.pick * len(pool))]
        key = (arrival.kind, originator)
        found = routes.get(key)
        if found is None:
            graph = graph or CommandGraph(structure)
            found = routes[key] = route_for(structure, arrival.kind, originator, graph)
        todo.append((arrival, originator, found))
    if engine == "fast":

        def exact(arrival: Arrival, originator: str, found: Route) -> tuple[int, Decided]:
            load = loads[arrival.kind]
            decided, machine = run_machine(workload, load, arrival, originator, found)
            assert machine.decided_at is not None
            return to_micros(machine.decided_at), decided

        result.decided = run_fast(workload, todo, exact, memo)
    for arrival, originator, found in todo:
        if engine == "machine" or arrival.index in keep:
            decided, machine = run_machine(
                workload, loads[arrival.kind], arrival, originator, found
            )
            if engine == "machine":
                result.decided.append(decided)
            if arrival.index in keep:
                result.samples[arrival.index] = machine
    return result


def run_machine(
    workload: Workload, load: KindLoad, arrival: Arrival, originator: str, route: Route
) -> tuple[Decided, RequestMachine]:
    """One request through :class:`RequestMachine`, from submission to decision."""
    at = arrival.at
    clock = ManualClock(at)
    request = DecisionRequest(
        id=f"SIM-{arrival.index}",
        kind=arrival.kind,
        originator=originator,
        subject=f"simulated {arrival.kind}",
        marking="UNCLASSIFIED",
        submitted_at=at,
        needed_by=at + timedelta(hours=load.needed_by_hours),
        urgency=Urgency.URGENT if arrival.urgent else Urgency.ROUTINE,
    )
    machine = RequestMachine.submit(request, route, clock)
    item = _Live(machine, load, random.Random(arrival.seed))
    heap: list[tuple[datetime, int, int, str, datetime]] = []
    seq = 0

    def schedule() -> None:
        nonlocal seq
        for track in machine.active_tracks():
            token = (track.holder, track.received_at)
            if token in item.scheduled:
                continue
            item.scheduled.add(token)
            if item.rng.random() < load.silent_share:
                continue
            then = _act_time(machine, track, item, workload)
            heapq.heappush(heap, (then, seq, _ACT, track.holder, track.received_at))
            seq += 1
        due = machine.next_deadline()
        if due is not None and due != item.deadline:
            item.deadline = due
            heapq.heappush(heap, (due, seq, _DEADLINE, "", due))
            seq += 1

    schedule()
    while not machine.state.terminal:
        at, _, event, holder, received = heapq.heappop(heap)
        clock.set(at)
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
                work = workload.processing_for(load, "concur").sample(item.rng) / 2
                then = _work_until(machine, track.holder, at, work, item, workload)
                heapq.heappush(heap, (then, seq, _ACT, holder, received))
                seq += 1
            elif _wants_answer(machine, track, item):
                machine.act(Action.COMMENT, track.holder, "request for clarification")
                work = workload.processing_for(load, "answer").sample(item.rng)
                then = _work_until(machine, machine.decider, at, work, item, workload)
                heapq.heappush(heap, (then, seq, _ANSWER, holder, received))
                seq += 1
            else:
                # Refused only when its deadline fell at this very instant and the
                # machine escalated it first; schedule() then serves the new holder.
                machine.act(*_decision(machine, track, item))
        if not machine.state.terminal:
            schedule()
    return _decided(arrival.index, machine), machine


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
        left = poisson(item.rng, item.load.coordination_rounds)
    item.questions[key] = left - 1
    return left > 0


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
