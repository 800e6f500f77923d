"""Compare command structures under one workload: the numbers behind ``analyze compare``."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from allied_c2.alliance.model import Structure
from allied_c2.alliance.routing import Route
from allied_c2.analysis.engine import Memo
from allied_c2.analysis.simulation import (
    Arrival,
    Decided,
    RunResult,
    make_arrivals,
    originator_pool,
    simulate,
)
from allied_c2.analysis.timeline import Timeline, timeline
from allied_c2.analysis.workload import Workload, load_workload, to_data

SUMMARY_VERSION = 1


class AnalysisError(ValueError):
    """The structures and workload cannot be compared; the message says why."""


@dataclass(frozen=True, slots=True)
class KindStats:
    count: int
    p50_hours: float | None
    p90_hours: float | None
    p99_hours: float | None
    mean_hours: float | None
    share_by_needed_by: float | None
    mean_hops: float | None
    approved_share: float | None
    escalations_per_request: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "p50_hours": self.p50_hours,
            "p90_hours": self.p90_hours,
            "p99_hours": self.p99_hours,
            "mean_hours": self.mean_hours,
            "share_by_needed_by": self.share_by_needed_by,
            "mean_hops": self.mean_hops,
            "approved_share": self.approved_share,
            "escalations_per_request": self.escalations_per_request,
        }


@dataclass(slots=True)
class StructureResult:
    name: str
    kinds: dict[str, KindStats]
    hours: dict[str, list[float]]  # time-to-decision samples per kind, for plots
    by_nation: dict[str, dict[str, KindStats]] = field(default_factory=dict)  # kind -> nation
    unroutable: dict[str, str] = field(default_factory=dict)  # kind -> why it was skipped
    sample: Timeline | None = None


@dataclass(slots=True)
class Comparison:
    structures: dict[str, StructureResult]
    workload: Workload
    runs: int
    seed: int
    requests: int  # simulated requests, all structures and runs
    elapsed_seconds: float
    sample_kind: str | None = None

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0

    def summary(self) -> dict[str, Any]:
        """summary.json: {structure: {kind: stats}} plus ``_metadata``; timing-free, so
        the same seed always gives the same document."""
        out: dict[str, Any] = {}
        for name, result in self.structures.items():
            out[name] = {}
            for kind, stats in result.kinds.items():
                out[name][kind] = stats.to_dict()
                out[name][kind]["by_originator_nation"] = {
                    nation: {
                        k: v
                        for k, v in s.to_dict().items()
                        if k in ("count", "p50_hours", "p90_hours", "share_by_needed_by")
                    }
                    for nation, s in sorted(result.by_nation.get(kind, {}).items())
                }
        out["_metadata"] = {
            "version": SUMMARY_VERSION,
            "seed": self.seed,
            "runs": self.runs,
            "requests": self.requests,
            "structures": list(self.structures),
            "unroutable": {n: r.unroutable for n, r in self.structures.items() if r.unroutable},
            "sample_kind": self.sample_kind,
            "samples": {
                n: r.sample.to_dict() for n, r in self.structures.items() if r.sample is not None
            },
            "workload": to_data(self.workload),
        }
        return out


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default method)."""
    if not sorted_values:
        raise ValueError("percentile of no values")
    pos = (len(sorted_values) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (pos - low)


def kind_stats(decided: Sequence[Decided]) -> KindStats:
    n = len(decided)
    if n == 0:
        return KindStats(0, None, None, None, None, None, None, None, None)
    hours = sorted(d.hours for d in decided)

    def r(x: float) -> float:
        return round(x, 3)

    return KindStats(
        count=n,
        p50_hours=r(percentile(hours, 50)),
        p90_hours=r(percentile(hours, 90)),
        p99_hours=r(percentile(hours, 99)),
        mean_hours=r(sum(hours) / n),
        share_by_needed_by=r(sum(d.by_needed_by for d in decided) / n),
        mean_hops=r(sum(d.hops for d in decided) / n),
        approved_share=r(sum(d.outcome == "approved" for d in decided) / n),
        escalations_per_request=r(sum(d.escalations for d in decided) / n),
    )


def pools_for(
    structures: Mapping[str, Structure],
    workload: Workload,
    routes: Mapping[str, dict[tuple[str, str], Route]] | None = None,
) -> tuple[dict[str, dict[str, list[str]]], dict[str, dict[str, str]]]:
    """Originator pools per structure and kind. Where the structures share originators
    the pool is their intersection, so every structure sees the same requests.
    ``routes`` (per structure) collects the routes found on the way."""
    pools: dict[str, dict[str, list[str]]] = {n: {} for n in structures}
    unroutable: dict[str, dict[str, str]] = {n: {} for n in structures}
    for load in workload.kinds:
        each = {
            n: originator_pool(s, load, routes[n] if routes else None)
            for n, s in structures.items()
        }
        common = set.intersection(*(set(p) for p in each.values())) if each else set()
        for name, pool in each.items():
            chosen = sorted(common) if common else pool
            if chosen:
                pools[name][load.kind] = chosen
            else:
                unroutable[name][load.kind] = (
                    f"no originator of {load.kind} can be routed in {name} "
                    "(check its decision authorities and the workload's originators)"
                )
    return pools, unroutable


def _sample_candidates(
    arrivals: Sequence[Arrival], structures: Mapping[str, Structure], workload: Workload
) -> tuple[list[int], str | None]:
    """Early routine arrivals of the first bilateral kind (else of any kind): the sample
    shown is the first of them approved in every structure."""

    def bilateral(kind: str) -> bool:
        for s in structures.values():
            declared = s.request_kinds.get(kind)
            if declared is not None and declared.bilateral:
                return True
            if any(a.consult_counterpart for a in s.authorities if a.request_kind == kind):
                return True
        return False

    kinds = [load.kind for load in workload.kinds]
    preferred = next((k for k in kinds if bilateral(k)), kinds[0] if kinds else None)
    of_kind = [a for a in arrivals if a.kind == preferred]
    found = [a.index for a in of_kind if not a.urgent] or [a.index for a in of_kind]
    return found[:_SAMPLE_CANDIDATES], preferred


_SAMPLE_CANDIDATES = 25


def _pick_sample(runs: Mapping[str, RunResult], candidates: Sequence[int]) -> int | None:
    """A typical request: approved everywhere, preferably without a missed deadline."""
    approved: list[int] = []
    for index in candidates:
        machines = [r.samples.get(index) for r in runs.values()]
        if all(m is not None and m.state.value == "approved" for m in machines):
            approved.append(index)
            if not any(s.actor == "system" for m in machines if m for s in m.trail[2:]):
                return index
    if approved:
        return approved[0]
    return candidates[0] if candidates else None


def compare(
    structures: Mapping[str, Structure],
    workload: Workload | None = None,
    runs: int = 10,
    seed: int = 1,
    progress: Callable[[int], None] | None = None,
) -> Comparison:
    """Simulate ``runs`` independent periods of ``workload`` through every structure.

    ``progress`` is called with the number of (structure, run) simulations just done.
    """
    if not structures:
        raise AnalysisError("give at least one structure to analyse")
    if runs < 1:
        raise AnalysisError("runs must be at least 1")
    workload = workload or load_workload()
    routes: dict[str, dict[tuple[str, str], Route]] = {n: {} for n in structures}
    pools, unroutable = pools_for(structures, workload, routes)
    decided: dict[str, list[Decided]] = {n: [] for n in structures}
    samples: dict[str, Timeline | None] = dict.fromkeys(structures)
    sample_kind: str | None = None
    started = time.perf_counter()
    total = 0
    for run in range(runs):
        arrivals = make_arrivals(workload, random.Random(seed * 1_000_003 + run))
        candidates: list[int] = []
        if run == 0:
            candidates, sample_kind = _sample_candidates(arrivals, structures, workload)
        first: dict[str, RunResult] = {}
        memo: Memo = {}  # a request routed alike in two structures is simulated once
        for name, structure in structures.items():
            result = simulate(
                structure,
                workload,
                arrivals,
                pools[name],
                name=name,
                samples=candidates,
                routes=routes[name],
                memo=memo,
            )
            decided[name].extend(result.decided)
            total += len(result.decided)
            if run == 0:
                first[name] = result
            if progress is not None:
                progress(1)
        if run == 0:
            chosen = _pick_sample(first, candidates)
            for name, result in first.items():
                if chosen is not None and chosen in result.samples:
                    samples[name] = timeline(result.samples[chosen])
    elapsed = time.perf_counter() - started
    results: dict[str, StructureResult] = {}
    for name in structures:
        by_kind: dict[str, list[Decided]] = {}
        for d in decided[name]:
            by_kind.setdefault(d.kind, []).append(d)
        by_nation: dict[str, dict[str, KindStats]] = {}
        for kind, items in by_kind.items():
            nations: dict[str, list[Decided]] = {}
            for d in items:
                nations.setdefault(d.nation, []).append(d)
            by_nation[kind] = {n: kind_stats(v) for n, v in nations.items()}
        results[name] = StructureResult(
            name=name,
            kinds={
                load.kind: kind_stats(by_kind.get(load.kind, []))
                for load in workload.kinds
                if load.kind in pools[name]
            },
            hours={k: sorted(d.hours for d in v) for k, v in by_kind.items()},
            by_nation=by_nation,
            unroutable=unroutable[name],
            sample=samples[name],
        )
    return Comparison(results, workload, runs, seed, total, elapsed, sample_kind)


def simulated_requests_per_second(
    structure: Structure,
    workload: Workload | None = None,
    *,
    requests: int = 20_000,
    seed: int = 0,
) -> float:
    """Throughput of the simulator on ``structure``: about ``requests`` requests through
    route() and RequestMachine, per CPU-second of this process (for ``make bench``)."""
    workload = workload or load_workload()
    per_day = sum(k.per_day for k in workload.kinds)
    if per_day <= 0:
        raise AnalysisError("the workload has no arrivals")
    workload = replace(workload, days=requests / per_day)
    routes: dict[tuple[str, str], Route] = {}
    pools, _ = pools_for({structure.name: structure}, workload, {structure.name: routes})
    arrivals = make_arrivals(workload, random.Random(seed))
    # CPU time, not wall time: the figure should not depend on what else the machine runs.
    # Routes are computed once per structure (while finding originators), as in compare().
    started = time.process_time()
    result = simulate(structure, workload, arrivals, pools[structure.name], routes=routes)
    elapsed = time.process_time() - started
    return len(result.decided) / elapsed if elapsed > 0 else 0.0
