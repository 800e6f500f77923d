"""Digests of everything a simulation produces, so a test can pin it exactly.

The simulator is optimised for speed; these digests are taken over every request's
full audit trail (each step's time, actor, action, states, holders, reason and
detail) and its :class:`Decided` record, so any change in routing, deadlines,
escalation, random draws or event order changes the digest.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import astuple, replace
from pathlib import Path

from allied_c2.alliance.model import Structure
from allied_c2.alliance.routing import Route
from allied_c2.alliance.scenario import load_structure
from allied_c2.analysis.compare import compare, pools_for
from allied_c2.analysis.simulation import make_arrivals, simulate
from allied_c2.analysis.workload import Workload, load_workload

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def shipped(name: str, **overrides: object) -> Structure:
    return load_structure(SCENARIOS / f"{name}.yaml", overrides or None)


def run_digest(structure: Structure, workload: Workload, seed: int) -> tuple[int, str]:
    """(requests decided, sha256 of every trail and outcome) for one simulated period."""
    routes: dict[tuple[str, str], Route] = {}
    pools, _ = pools_for({structure.name: structure}, workload, {structure.name: routes})
    arrivals = make_arrivals(workload, random.Random(seed))
    result = simulate(
        structure,
        workload,
        arrivals,
        pools[structure.name],
        samples=[a.index for a in arrivals],  # keep every machine, to digest its trail
        routes=routes,
    )
    h = hashlib.sha256()
    for decided in sorted(result.decided, key=lambda d: d.index):
        h.update(repr(astuple(decided)).encode())
        machine = result.samples[decided.index]
        trail = [step.to_dict() for step in machine.trail]
        h.update(json.dumps(trail, sort_keys=True).encode())
    return len(result.decided), h.hexdigest()


def compare_digest(runs: int = 2, seed: int = 1) -> str:
    """sha256 of ``analyze compare``'s summary.json for the shipped before/after pair."""
    structures = {
        "alliance-2024": shipped("alliance-2024"),
        "alliance-jfhq": shipped("alliance-jfhq"),
    }
    summary = compare(structures, load_workload(), runs=runs, seed=seed).summary()
    return hashlib.sha256(json.dumps(summary, sort_keys=True).encode()).hexdigest()


def bench_workload(requests: int) -> Workload:
    """The workload ``simulated_requests_per_second`` runs: the default, stretched."""
    workload = load_workload()
    return replace(workload, days=requests / sum(k.per_day for k in workload.kinds))
