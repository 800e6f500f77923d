"""The simulator's fast path: the staff model and the request lifecycle on integers.

:func:`~allied_c2.analysis.simulation.run_machine` drives a real
:class:`~allied_c2.alliance.lifecycle.RequestMachine` per request; that is the
definition, and what the server runs. A sweep needs tens of thousands of requests a
second, which the machine cannot give: it builds an audit-trail step with ISO
strings for every transition, re-lists its tracks on every query and works on
datetimes. This module plays the same game on epoch microseconds with the same
route snapshots (:func:`~allied_c2.alliance.routing.route`) and the same duty-hours
tables (:meth:`~allied_c2.alliance.dutyhours.schedule_of`), keeps only the counts a
:class:`Decided` needs, and draws the same random numbers in the same order.

It restates the lifecycle rules the simulator exercises (review hop by hop,
deadlines in the holder's duty hours, escalation past a late reviewer or to a late
decider's superior, overdue re-arming at the top, coordination legs); each block
names the ``lifecycle.py`` or ``simulation.py`` code it mirrors, and
``tests/analysis/test_engine_equivalence.py`` proves that both paths give
identical records over many seeds, structures and stress workloads: a change to
the lifecycle must be made here too, and that test fails until it is. The one
case not restated (an action at the microsecond of a deadline) goes to the machine.
"""

from __future__ import annotations

import gc
import heapq
import math
from _random import Random as _MersenneTwister  # random.Random's C base: same stream
from collections.abc import Callable, Sequence
from datetime import timedelta

from allied_c2.alliance.clock import MICROSECOND, hours_to_micros, to_micros
from allied_c2.alliance.dutyhours import Schedule, schedule_of
from allied_c2.alliance.lifecycle import MIN_HOURS
from allied_c2.alliance.routing import Route
from allied_c2.analysis.records import Arrival, Decided
from allied_c2.analysis.workload import KindLoad, Workload

_ACT, _DEADLINE, _ANSWER = 1, 2, 3  # queued: actions and answers; deadlines are not
_HOUR = timedelta(hours=1)
_US_PER_HOUR = 3_600_000_000
_NEVER = 1 << 62  # later than any instant: an empty queue
_UNKNOWN = -1  # a deadline not computed yet


class _Plan:
    """A route compiled once: allowances in µs, each office's duty-hours schedule (an
    organisation without one counts wall-clock hours), superiors for escalation."""

    __slots__ = (
        "decision_us",
        "hops",
        "key",
        "legs",
        "nation",
        "review_us",
        "schedules",
        "superiors",
    )

    def __init__(self, route: Route) -> None:
        self.hops = list(route.hops)
        self.nation = route.offices[route.originator].nation
        self.review_us = hours_to_micros(max(route.review_hours, MIN_HOURS))
        self.decision_us = hours_to_micros(max(route.decision_hours, MIN_HOURS))
        self.legs = [
            (list(leg.path), hours_to_micros(max(leg.concur_hours, MIN_HOURS)))
            for leg in route.legs
        ]
        self.schedules: dict[str, Schedule] = {k: schedule_of(o) for k, o in route.offices.items()}
        self.superiors = dict(route.superiors)
        # Everything _run reads from the route: equal keys, equal outcomes (see Memo).
        self.key = _key_id(
            (
                tuple(self.hops),
                self.nation,
                self.review_us,
                self.decision_us,
                tuple((tuple(path), hours) for path, hours in self.legs),
                tuple(sorted((k, o.timezone, o.duty_hours) for k, o in route.offices.items())),
                tuple(sorted(self.superiors.items())),
            )
        )


_KEY_IDS: dict[tuple[object, ...], int] = {}
_NEXT_KEY = [0]


def _key_id(key: tuple[object, ...]) -> int:
    """A small int per distinct route key, so a memo lookup hashes an int, not the
    nested tuple (a tuple does not cache its hash). Ids are never reused, even after
    the table is cleared, so an id always means one key."""
    found = _KEY_IDS.get(key)
    if found is None:
        if len(_KEY_IDS) > 65_536:
            _KEY_IDS.clear()
        found = _KEY_IDS[key] = _NEXT_KEY[0]
        _NEXT_KEY[0] += 1
    return found


class _Track:
    """lifecycle.Track on integers; ``review`` marks the review chain (vs a leg)."""

    __slots__ = (
        "concurred",
        "deadline",
        "final_us",
        "index",
        "lower",
        "path",
        "received",
        "review",
    )

    def __init__(self, path: list[str], final_us: int, at: int, review: bool) -> None:
        self.path = path
        self.index = 0
        self.final_us = final_us
        self.received = at
        self.deadline = _UNKNOWN  # computed when first needed (see _run)
        self.lower = at  # a lower bound of the deadline
        self.concurred = False
        self.review = review


_PLANS: dict[int, tuple[Route, _Plan]] = {}
_MAX_PLANS = 1 << 15  # a sweep's workers hold every cell's routes: 18 cells are ~6,000


def _plan(route: Route) -> _Plan:
    # Keyed by identity (routes are cached per structure by their callers); the route
    # is kept in the value so its id cannot be reused while the entry lives.
    hit = _PLANS.get(id(route))
    if hit is not None and hit[0] is route:
        return hit[1]
    if len(_PLANS) >= _MAX_PLANS:
        _PLANS.clear()
    plan = _Plan(route)
    _PLANS[id(route)] = (route, plan)
    return plan


def _times_hour(x: float) -> int:
    """``timedelta(hours=1) * x`` in µs: exact rational product, rounded half to even."""
    n, d = x.as_integer_ratio()
    q, r = divmod(_US_PER_HOUR * n, d)
    return q + 1 if 2 * r > d or (2 * r == d and q & 1) else q


Fallback = Callable[[Arrival, str, Route], tuple[int, Decided]]
# Outcomes by (arrival index, originator, route key), for one set of arrivals and one workload: a
# request's outcome depends only on its arrival, the workload and what its route
# says, so structures that route it alike (cells of a sweep, compared variants) need
# to simulate it only once.
Memo = dict[tuple[int, str, int], tuple[int, Decided]]


def run_fast(
    workload: Workload,
    todo: Sequence[tuple[Arrival, str, Route]],
    fallback: Fallback,
    memo: Memo | None = None,
) -> list[Decided]:
    """Decide every (arrival, originator, route); records in order of decision.

    ``fallback`` decides a request the exact way (through the machine) in the one
    case this path does not reproduce: an action falling due at the very microsecond
    of a deadline, where the order of the two depends on the machine's event queue.
    ``memo``, shared by calls with the same arrivals and workload, reuses outcomes.
    """
    loads = {load.kind: _KindParams(workload, load) for load in workload.kinds}
    trans = (workload.transmission.median, workload.transmission.sigma)
    out: list[tuple[int, int, Decided]] = []
    generator = _MersenneTwister()  # re-seeded per request: cheaper than a new one
    # A request's objects die with it, by reference counting (no cycles); the
    # collector would only keep scanning them, about 3 % of the time.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for arrival, originator, found in todo:
            plan = _plan(found)
            key = (arrival.index, originator, plan.key)
            done = memo.get(key) if memo is not None else None
            if done is None:
                generator.seed(arrival.seed)
                done = _run(arrival, originator, plan, loads[arrival.kind], trans, generator)
                if done is None:
                    done = fallback(arrival, originator, found)
                if memo is not None:
                    memo[key] = done
            out.append((done[0], arrival.index, done[1]))
    finally:
        if collecting:
            gc.enable()
    out.sort(key=lambda x: (x[0], x[1]))
    return [d for _, _, d in out]


class _KindParams:
    """A kind's numbers, looked up once per run instead of once per event."""

    __slots__ = (
        "answer",
        "approve",
        "approve_or_deny",
        "concur",
        "concur_p",
        "decide",
        "needed_us",
        "review",
        "rounds",
        "silent",
    )

    def __init__(self, workload: Workload, load: KindLoad) -> None:
        def role(name: str) -> tuple[float, float]:
            d = workload.processing_for(load, name)
            return d.median, d.sigma

        self.review, self.decide = role("review"), role("decide")
        self.concur, self.answer = role("concur"), role("answer")
        self.silent = load.silent_share
        self.rounds = load.coordination_rounds
        self.concur_p = load.concur
        self.approve = load.approve
        self.approve_or_deny = load.approve + load.deny  # the same sum simulation.py takes
        self.needed_us = timedelta(hours=load.needed_by_hours) // MICROSECOND


_FORWARD, _APPROVE, _DENY, _RETURN, _CONCUR, _NONCONCUR = range(6)
_OUTCOME = {_APPROVE: "approved", _CONCUR: "approved", _DENY: "denied"}
_OUTCOME |= {_NONCONCUR: "denied", _RETURN: "returned"}
_TWOPI = 2.0 * math.pi


def _run(
    arrival: Arrival,
    originator: str,
    plan: _Plan,
    kp: _KindParams,
    trans: tuple[float, float],
    generator: _MersenneTwister,
) -> tuple[int, Decided] | None:
    """One request from submission to decision, as ``simulation.run_machine`` runs it
    (the comments name the code each block restates); None on a deadline tie.

    The machine's deadlines are not queued as events: the next one is the earliest of
    the active tracks', and it fires when it comes before the next action. In the
    machine's queue a deadline and an action at the same microsecond are ordered by
    when each was queued; that case returns None for the caller to run it exactly.
    Since nothing else can fall due within an instant, the machine's ``act`` finds
    nothing to escalate first, so no action needs a tick.
    """
    random = generator.random  # seeded with arrival.seed: random.Random(seed)'s stream
    exp, log, sqrt, cos, sin = math.exp, math.log, math.sqrt, math.cos, math.sin
    urgent = arrival.urgent
    schedules = _NO_OFFICES if urgent else plan.schedules  # urgent: wall-clock hours
    superiors, review_us = plan.superiors, plan.review_us
    t_median, t_sigma = trans
    submitted = to_micros(arrival.at)
    heap: list[tuple[int, int, int, str, int]] = []
    push, pop = heapq.heappush, heapq.heappop
    seq = 0
    hops, escalations = 1, 0  # the machine's "route" step is the first hand-over
    scheduled: set[tuple[str, int]] = set()
    questions: dict[tuple[str, int], int] = {}
    spare: float | None = None  # random.gauss's cached second deviate

    def normal() -> float:  # random.Random.gauss(0.0, 1.0), inlined
        nonlocal spare
        z = spare
        if z is not None:
            spare = None
            return z
        x2pi = random() * _TWOPI
        g2rad = sqrt(-2.0 * log(1.0 - random()))
        spare = sin(x2pi) * g2rad
        return cos(x2pi) * g2rad

    def receive(track: _Track, at: int) -> None:  # the holder changed or was re-armed
        track.received = at
        track.deadline = _UNKNOWN
        # RequestMachine._deadline counts the allowance in duty hours from receipt: it
        # ends no sooner than in wall-clock hours, a bound that often saves computing it.
        final = track.index == len(track.path) - 1
        track.lower = at + (track.final_us if final else review_us)

    def deadline(track: _Track) -> int:  # RequestMachine._deadline
        path, index = track.path, track.index
        hours = track.final_us if index == len(path) - 1 else review_us
        schedule = schedules.get(path[index])
        start = track.received
        end = start + hours if schedule is None else schedule.add_micros(start, hours)
        track.deadline = end
        return end

    def work_until(org: str, sent: int, work: float) -> int:  # simulation._work_until
        x = t_median * exp(t_sigma * normal())
        product = x * 3_600_000_000.0
        whole = round(product)
        if not (product < 4e12 and abs(product - whole) < 0.499):
            whole = _times_hour(x)  # near a tie: the exact rational product
        arrive = sent + whole
        product = work * 3_600_000_000.0
        whole = round(product)
        schedule = schedules.get(org)
        if product < 4e12 and abs(product - whole) < 0.499:  # both roundings agree
            return arrive + whole if schedule is None else schedule.add_micros(arrive, whole)
        if schedule is None:
            return arrive + _times_hour(work)
        return schedule.add_micros(arrive, hours_to_micros(work))

    review = _Track(list(plan.hops), plan.decision_us, submitted, True)
    receive(review, submitted)
    tracks = [review]  # RequestMachine.active_tracks(), kept up to date
    while True:
        # simulation.run_machine's schedule(): after submission and every processed event
        for track in tracks:
            holder = track.path[track.index]
            token = (holder, track.received)
            if token in scheduled:
                continue
            scheduled.add(token)
            if random() < kp.silent:
                continue
            if track.index != len(track.path) - 1:
                median, sigma = kp.review
            else:
                median, sigma = kp.decide if track.review else kp.concur
            then = work_until(holder, track.received, median * exp(sigma * normal()))
            push(heap, (then, seq, _ACT, holder, track.received))
            seq += 1
        while True:  # the next event that changes anything
            top = heap[0][0] if heap else _NEVER
            due = _NEVER
            for track in tracks:
                end = track.deadline
                if end < 0:
                    if track.lower > top:
                        continue  # cannot fall due before the next action
                    end = deadline(track)
                if end < due:
                    due = end
            if due <= top:
                if due == top:
                    return None  # a deadline and an action at the same instant
                event = _DEADLINE
                break
            at, _, event, holder, received = pop(heap)
            for track in tracks:
                if track.path[track.index] == holder:
                    break
            else:
                continue  # escalated away before this holder acted
            if track.received == received:
                break
        if event == _DEADLINE:
            # RequestMachine.tick(due) and _escalate: every track due by then, earliest
            # first (the first listed on a tie), a moved one possibly due again
            while True:
                first: _Track | None = None
                at = due
                for track in tracks:
                    end = track.deadline
                    if end < 0:
                        if track.lower > due:
                            continue
                        end = deadline(track)
                    if end <= due and (first is None or end < at):
                        first, at = track, end
                if first is None:
                    break
                escalations += 1
                path = first.path
                if first.index == len(path) - 1:
                    superior = superiors.get(path[first.index])
                    if superior is None:  # top of the chain: re-armed, marked overdue
                        receive(first, at)
                        continue
                    path.append(superior)  # a late decider or concurrer loses it upwards
                first.index += 1  # RequestMachine._move (a late reviewer is bypassed)
                receive(first, at)
                hops += 1
            continue
        final = track.index == len(track.path) - 1
        if event == _ANSWER:  # the decider answered (a comment); the counterpart works on
            work = kp.concur[0] * exp(kp.concur[1] * normal()) / 2
            push(heap, (work_until(holder, at, work), seq, _ACT, holder, received))
            seq += 1
            continue
        if final and not track.review:  # simulation._wants_answer
            key = (holder, received)
            left = questions.get(key)
            if left is None:
                left = _poisson(random, exp, kp.rounds)
            questions[key] = left - 1
            if left > 0:  # a question (a comment) to the deciding staff
                work = kp.answer[0] * exp(kp.answer[1] * normal())
                then = work_until(review.path[-1], at, work)
                push(heap, (then, seq, _ANSWER, holder, received))
                seq += 1
                continue
        # simulation._decision, then RequestMachine.act: the holder acts on its role
        u = random()
        if not final:  # forward (RequestMachine._move)
            track.index += 1
            receive(track, at)
            hops += 1
            continue
        if not track.review:
            if u >= kp.concur_p:
                action = _NONCONCUR
            else:
                tracks.remove(track)  # concurred
                if tracks:
                    continue
                action = _CONCUR
        elif u < kp.approve:
            if plan.legs:  # approval opens coordination, every leg at once
                tracks = [_Track(list(path), concur_us, at, False) for path, concur_us in plan.legs]
                for leg in tracks:
                    receive(leg, at)
                hops += len(tracks)
                continue
            action = _APPROVE
        else:
            action = _DENY if u < kp.approve_or_deny else _RETURN
        return at, Decided(
            arrival.index,
            arrival.kind,
            originator,
            plan.nation,
            urgent,
            (at - submitted) / 1_000_000 / 3600,
            at <= submitted + kp.needed_us,
            _OUTCOME[action],
            hops,
            escalations,
        )


_NO_OFFICES: dict[str, Schedule] = {}


def _poisson(random: Callable[[], float], exp: Callable[[float], float], mean: float) -> int:
    """workload.poisson on the bound methods (the same draws)."""
    if mean <= 0:
        return 0
    limit, k, p = exp(-mean), 0, random()
    while p > limit:
        k += 1
        p *= random()
    return k
