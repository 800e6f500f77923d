"""The fast path (analysis/engine.py) gives exactly the records RequestMachine gives.

``simulate(engine="fast")`` restates the lifecycle rules on integers; these tests run
the same arrivals through both paths, over many seeds, every shipped structure and
its parameter variants, and workloads built to stress the rules the default one
rarely reaches (silent staffs and escalation chains, urgent wall-clock deadlines,
long coordination, allowances shorter than the work), and compare every record.
"""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from allied_c2.alliance.model import Structure
from allied_c2.alliance.routing import Route
from allied_c2.analysis.compare import pools_for
from allied_c2.analysis.engine import run_fast
from allied_c2.analysis.records import Arrival, Decided
from allied_c2.analysis.simulation import make_arrivals, run_machine, simulate
from allied_c2.analysis.workload import Lognormal, Workload, load_workload

from ..alliance.structures import alliance_2024, alliance_jfhq
from .digests import shipped

VARIANTS: list[tuple[str, dict[str, object]]] = [
    ("alliance-2024", {}),
    ("alliance-jfhq", {}),
    ("alliance-jfhq", {"delegation": "none"}),
    ("alliance-jfhq", {"delegation": "full"}),
    ("alliance-jfhq", {"delegation": "partial", "jfhq_commander_grade": "O-10"}),
    ("trilateral-hadr", {}),
]


def _stress(name: str) -> Workload:
    base = replace(load_workload(), days=4)
    if name == "default":
        return base
    if name == "silent":  # every other staff never acts: escalations up the chains
        return replace(base, kinds=tuple(replace(k, silent_share=0.5) for k in base.kinds))
    if name == "urgent":  # wall-clock deadlines and work around the clock
        return replace(base, kinds=tuple(replace(k, urgent_share=1.0) for k in base.kinds))
    if name == "slow":  # work far longer than the allowances: overdue at the top
        slow = {r: Lognormal(d.median * 8, d.sigma) for r, d in base.processing.items()}
        kinds = tuple(replace(k, processing={}, coordination_rounds=4.0) for k in base.kinds)
        return replace(base, days=1.5, processing=slow, kinds=kinds)
    raise ValueError(name)


def _both(structure: Structure, workload: Workload, seed: int) -> tuple[list[Decided], int]:
    routes: dict[tuple[str, str], Route] = {}
    pools, _ = pools_for({"s": structure}, workload, {"s": routes})
    arrivals = make_arrivals(workload, random.Random(seed))
    fast = simulate(structure, workload, arrivals, pools["s"], routes=routes)
    slow = simulate(structure, workload, arrivals, pools["s"], routes=routes, engine="machine")
    key = lambda d: d.index  # noqa: E731 - the machine decides in another order
    assert sorted(fast.decided, key=key) == sorted(slow.decided, key=key)
    return fast.decided, len(arrivals)


@pytest.mark.parametrize("stress", ["default", "silent", "urgent", "slow"])
@pytest.mark.parametrize(("scenario", "overrides"), VARIANTS)
def test_fast_path_equals_the_machine(
    scenario: str, overrides: dict[str, object], stress: str
) -> None:
    structure = shipped(scenario, **overrides)
    workload = _stress(stress)
    decided = 0
    for seed in range(4):
        records, _ = _both(structure, workload, seed * 7919 + 1)
        decided += len(records)
    assert decided > 100  # the comparison compared something


def test_fast_path_equals_the_machine_over_many_seeds() -> None:
    workload = replace(load_workload(), days=1)
    for seed in range(60):
        for structure in (alliance_2024(), alliance_jfhq()):
            _both(structure, workload, 1000 + seed)


def test_every_record_field_is_exercised() -> None:
    """The stress workloads reach escalation, overdue, every outcome and urgency."""
    records: list[Decided] = []
    for stress in ("silent", "urgent", "slow"):
        records += _both(shipped("trilateral-hadr"), _stress(stress), 3)[0]
    assert {d.outcome for d in records} == {"approved", "denied", "returned"}
    assert {d.urgent for d in records} == {True, False}
    assert {d.by_needed_by for d in records} == {True, False}
    assert max(d.escalations for d in records) >= 3
    assert max(d.hops for d in records) >= 6


def test_a_deadline_at_the_instant_of_an_action_is_decided_by_the_machine() -> None:
    """Urgent requests with fixed times: each review ends exactly at its deadline
    (0.25 h transmission + 5.75 h work = the 6 h allowance), so the order of the two
    depends on the machine's queue and the fast path hands the request over."""
    base = load_workload()
    kind = replace(
        next(k for k in base.kinds if k.kind == "bilateral_exercise_change"),
        urgent_share=1.0,
        silent_share=0.0,
        processing={"review": Lognormal(5.75, 0.0)},
    )
    workload = replace(
        base, days=3, kinds=(kind,), transmission=Lognormal(0.25, 0.0), processing=base.processing
    )
    structure = shipped("alliance-jfhq")
    routes: dict[tuple[str, str], Route] = {}
    pools, _ = pools_for({"s": structure}, workload, {"s": routes})
    arrivals = make_arrivals(workload, random.Random(5))
    handed: list[int] = []

    def exact(arrival: Arrival, originator: str, found: Route) -> tuple[int, Decided]:
        handed.append(arrival.index)
        decided, machine = run_machine(workload, kind, arrival, originator, found)
        assert machine.decided_at is not None
        return int(machine.decided_at.timestamp() * 1_000_000), decided

    todo = []
    pool = pools["s"]["bilateral_exercise_change"]
    for arrival in arrivals:
        originator = pool[int(arrival.pick * len(pool))]
        todo.append((arrival, originator, routes[(arrival.kind, originator)]))
    fast = run_fast(workload, todo, exact)
    assert handed, "no request had a tie: the test no longer tests the hand-over"
    machine = [run_machine(workload, kind, a, o, r)[0] for a, o, r in todo]
    assert sorted(fast, key=lambda d: d.index) == machine


def test_outcomes_shared_between_structures_are_the_ones_each_would_get() -> None:
    """A memo shared by structures routing many requests alike (delegation variants
    and a staffing change) reuses outcomes without changing any record."""
    workload = replace(load_workload(), days=5)
    structures = [shipped("alliance-jfhq", delegation=d) for d in ("none", "partial", "full")]
    pools, _ = pools_for({str(i): s for i, s in enumerate(structures)}, workload)
    arrivals = make_arrivals(workload, random.Random(9))
    memo: dict = {}  # type: ignore[type-arg]
    for i, structure in enumerate(structures):
        shared = simulate(structure, workload, arrivals, pools[str(i)], memo=memo)
        alone = simulate(structure, workload, arrivals, pools[str(i)])
        assert shared.decided == alone.decided
    assert len(memo) < 3 * len(alone.decided)  # some outcomes were reused
