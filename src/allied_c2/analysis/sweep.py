"""Parameter sweeps: one structure under a grid of variants, many seeds, all cores.

A sensitivity study asks how the time to decision moves with the JFHQ commander's
grade, the authority delegated to the JFHQ and how the JFHQ is staffed. The first
two are scenario parameters (``jfhq_commander_grade``, ``delegation``: they change
the decision authorities and relationships); staffing is not in the scenario, it is
applied here to the staffed organisations' duty hours (:data:`STAFFING`): the
simulated offices have no capacity limit, so more staff means more hours manned.

Every cell runs the same ``seeds`` simulated periods (period *i* has the arrivals
of ``compare``'s run *i*: common random numbers), with the originator pools shared
by all cells, so cells differ only by the structure. Results depend only on the
cell and the seeds, never on how the work was spread over processes.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from allied_c2.alliance.model import DutyHours, OrgKind, Structure
from allied_c2.alliance.routing import Route
from allied_c2.analysis.compare import AnalysisError, percentile, pools_for
from allied_c2.analysis.engine import Memo
from allied_c2.analysis.simulation import make_arrivals, simulate
from allied_c2.analysis.workload import Workload

STAFFING_AXIS = "staffing"
# Staffing level -> the staffed organisations' duty hours (None: as in the scenario).
STAFFING: dict[str, DutyHours | None] = {
    "office": None,  # the scenario's own office hours (default 08-18 Monday-Friday)
    "extended": DutyHours(start_hour=6, end_hour=22, weekdays=(0, 1, 2, 3, 4, 5, 6)),  # 2 shifts
    "watch": DutyHours(always=True),  # a 24/7 operations watch
}


@dataclass(frozen=True, slots=True)
class Cell:
    """One point of the grid: a value per axis, in axis order."""

    values: tuple[tuple[str, str], ...]  # (axis, value); axes are parameters or staffing

    def get(self, axis: str) -> str:
        return dict(self.values)[axis]

    @property
    def label(self) -> str:
        return ", ".join(f"{a}={v}" for a, v in self.values)


@dataclass(frozen=True, slots=True)
class CellResult:
    cell: Cell
    requests: int
    p50_hours: float | None
    p90_hours: float | None
    mean_hours: float | None
    share_by_needed_by: float | None
    approved_share: float | None
    escalations_per_request: float | None
    p50_seed_min: float | None  # the spread of the per-seed medians: seed noise
    p50_seed_max: float | None


@dataclass(slots=True)
class Sweep:
    axes: dict[str, list[str]]
    results: list[CellResult]
    seeds: int
    seed: int
    kind: str | None
    requests: int
    elapsed_seconds: float
    jobs: int

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0


def grid(axes: Mapping[str, Sequence[str]]) -> list[Cell]:
    """Every combination of the axes' values, the last axis varying fastest."""
    cells = [Cell(())]
    for axis, values in axes.items():
        if not values:
            raise AnalysisError(f"axis {axis} has no values")
        cells = [Cell((*c.values, (axis, str(v)))) for c in cells for v in values]
    return cells


def staffed_default(structure: Structure) -> list[str]:
    """The organisations ``--staffing`` applies to unless named: the joint force HQs."""
    return sorted(
        o.id for o in structure.organisations.values() if o.kind is OrgKind.JOINT_FORCE_HQ
    )


def with_staffing(structure: Structure, level: str, staffed: Sequence[str]) -> Structure:
    """``structure`` with the staffed organisations' duty hours set for ``level``."""
    if level not in STAFFING:
        raise AnalysisError(f"unknown staffing {level!r} (levels: {', '.join(STAFFING)})")
    hours = STAFFING[level]
    if hours is None:
        return structure
    missing = [o for o in staffed if o not in structure.organisations]
    if missing:
        raise AnalysisError(f"staffed organisations not in {structure.name}: {missing}")
    orgs = dict(structure.organisations)
    for org_id in staffed:
        orgs[org_id] = replace(orgs[org_id], duty_hours=hours)
    return replace(structure, organisations=orgs)


def build_cells(
    load: Callable[[Mapping[str, str]], Structure],
    axes: Mapping[str, Sequence[str]],
    staffed: Sequence[str] | None = None,
) -> list[tuple[Cell, Structure]]:
    """The grid's structures; ``load(parameters)`` loads the scenario with those
    parameter values (loaded once per distinct parameter combination)."""
    loaded: dict[tuple[tuple[str, str], ...], Structure] = {}
    out: list[tuple[Cell, Structure]] = []
    for cell in grid(axes):
        params = tuple((a, v) for a, v in cell.values if a != STAFFING_AXIS)
        if params not in loaded:
            loaded[params] = load(dict(params))
        structure = loaded[params]
        level = dict(cell.values).get(STAFFING_AXIS, "office")
        orgs = list(staffed) if staffed is not None else staffed_default(structure)
        if STAFFING.get(level) is not None and not orgs:
            raise AnalysisError(
                f"{structure.name} has no joint force HQ to staff; name organisations to staff"
            )
        out.append((cell, with_staffing(structure, level, orgs)))
    return out


def shared_pools(structures: Sequence[Structure], workload: Workload) -> dict[str, list[str]]:
    """Originators per kind that every structure can route (compare()'s rule, over the
    whole grid); a kind some structure cannot route at all is left out."""
    # Staffing never changes who can be routed: one structure per parameter set will do.
    distinct: dict[tuple[object, ...], Structure] = {}
    for structure in structures:
        key = (*structure.authorities, None, *structure.relationships)
        distinct.setdefault(key, structure)
    by_name = {str(i): s for i, s in enumerate(distinct.values())}
    pools_by, _ = pools_for(by_name, workload)
    pools: dict[str, list[str]] = {}
    for load in workload.kinds:
        each = [set(p.get(load.kind, ())) for p in pools_by.values()]
        common = set.intersection(*each) if each else set()
        if common:
            pools[load.kind] = sorted(common)
    if not pools:
        raise AnalysisError("no request kind of the workload can be routed in every cell")
    return pools


# -- running ---------------------------------------------------------------------

# One simulated period of a cell: decision hours (sorted), decided by needed-by,
# approved, deadlines passed.
Period = tuple[list[float], int, int, int]

# What a worker process holds: the cells' structures, the pools, the workload, and
# the routes it has computed per cell (route() once per cell and originator).
_STATE: dict[str, Any] = {}


def _init(
    structures: list[Structure],
    pools: dict[str, list[str]],
    workload: Workload,
    kind: str | None,
    reuse: bool,
) -> None:
    _STATE.update(
        structures=structures, pools=pools, workload=workload, kind=kind, reuse=reuse, routes={}
    )


def _period(seed: int, cells: Sequence[int]) -> list[tuple[int, Period]]:
    """One simulated period through ``cells``: per cell the decision hours (sorted)
    and the counts decided by needed-by, approved and escalated.

    The cells share the period's arrivals and one memo of outcomes: a request that
    two cells route alike is simulated once (in the grid of the shipped JFHQ
    scenario about three requests in four), with the same result.
    """
    workload: Workload = _STATE["workload"]
    kind: str | None = _STATE["kind"]
    arrivals = make_arrivals(workload, random.Random(seed))
    if kind is not None:
        arrivals = [a for a in arrivals if a.kind == kind]
    memo: Memo | None = {} if _STATE["reuse"] else None
    out: list[tuple[int, Period]] = []
    for index in cells:
        routes: dict[tuple[str, str], Route] = _STATE["routes"].setdefault(index, {})
        structure: Structure = _STATE["structures"][index]
        result = simulate(structure, workload, arrivals, _STATE["pools"], routes=routes, memo=memo)
        decided = result.decided
        period = (
            sorted(d.hours for d in decided),
            sum(d.by_needed_by for d in decided),
            sum(d.outcome == "approved" for d in decided),
            sum(d.escalations for d in decided),
        )
        out.append((index, period))
    return out


def _star_period(task: tuple[int, list[int]]) -> list[tuple[int, Period]]:
    return _period(*task)


def _tasks(cells: int, seeds: list[int], jobs: int) -> list[tuple[int, list[int]]]:
    # A period through every cell shares the most work; with fewer periods than
    # twice the processes, the cells are split so that every core has work.
    groups = max(1, min(cells, -(-2 * jobs // len(seeds))))
    size = -(-cells // groups)
    return [(s, list(range(i, min(i + size, cells)))) for s in seeds for i in range(0, cells, size)]


def run_sweep(
    cells: Sequence[tuple[Cell, Structure]],
    workload: Workload,
    *,
    seeds: int = 10,
    seed: int = 1,
    kind: str | None = None,
    jobs: int | None = None,
    progress: Callable[[int], None] | None = None,
    reuse: bool = True,
) -> Sweep:
    """Simulate ``seeds`` periods through every cell on ``jobs`` processes (default:
    every core; 1 runs in this process). ``progress`` gets the (cell, period) pairs
    just done. ``reuse=False`` simulates every request in every cell (the same
    numbers, slower: for tests)."""
    if not cells:
        raise AnalysisError("the grid has no cells")
    if seeds < 1:
        raise AnalysisError("seeds must be at least 1")
    if kind is not None and kind not in {k.kind for k in workload.kinds}:
        known = ", ".join(k.kind for k in workload.kinds)
        raise AnalysisError(f"the workload has no request kind {kind!r} (kinds: {known})")
    jobs = max(1, jobs or os.cpu_count() or 1)
    structures = [s for _, s in cells]
    pools = shared_pools(structures, workload)
    period_seeds = [seed * 1_000_003 + run for run in range(seeds)]  # compare()'s runs
    per_cell: dict[int, list[Period]] = {i: [] for i in range(len(cells))}
    started = time.perf_counter()
    tasks = _tasks(len(cells), period_seeds, jobs)
    args = (structures, pools, workload, kind, reuse)
    if jobs == 1:
        _init(*args)
        try:
            for task in tasks:
                done = _period(*task)
                for index, period in done:
                    per_cell[index].append(period)
                if progress is not None:
                    progress(len(done))
        finally:
            _STATE.clear()
    else:
        # spawn, not fork: the parent runs a progress-bar thread, and a forked child
        # of a threaded process may inherit a held lock.
        context = multiprocessing.get_context("spawn")
        with context.Pool(min(jobs, len(tasks)), initializer=_init, initargs=args) as pool:
            for done in pool.imap_unordered(_star_period, tasks):
                for index, period in done:
                    per_cell[index].append(period)
                if progress is not None:
                    progress(len(done))
    elapsed = time.perf_counter() - started
    results = [_stats(cell, per_cell[i]) for i, (cell, _) in enumerate(cells)]
    axes: dict[str, list[str]] = {}
    for cell, _ in cells:
        for axis, value in cell.values:
            if value not in axes.setdefault(axis, []):
                axes[axis].append(value)
    total = sum(r.requests for r in results)
    return Sweep(axes, results, seeds, seed, kind, total, elapsed, jobs)


def _stats(cell: Cell, periods: list[Period]) -> CellResult:
    hours = sorted(h for p in periods for h in p[0])
    n = len(hours)
    if n == 0:
        return CellResult(cell, 0, None, None, None, None, None, None, None, None)
    medians = [percentile(p[0], 50) for p in periods if p[0]]

    def r(x: float) -> float:
        return round(x, 3)

    return CellResult(
        cell=cell,
        requests=n,
        p50_hours=r(percentile(hours, 50)),
        p90_hours=r(percentile(hours, 90)),
        mean_hours=r(sum(hours) / n),
        share_by_needed_by=r(sum(p[1] for p in periods) / n),
        approved_share=r(sum(p[2] for p in periods) / n),
        escalations_per_request=r(sum(p[3] for p in periods) / n),
        p50_seed_min=r(min(medians)),
        p50_seed_max=r(max(medians)),
    )


def sweep_requests_per_second(
    cells: Sequence[tuple[Cell, Structure]], workload: Workload, *, seeds: int = 4
) -> float:
    """Throughput of a sweep on one core (for ``make bench``): simulated requests,
    counted in every cell, per CPU-second of :func:`run_sweep` with ``jobs=1``
    (pools, routing, reuse between cells and statistics included)."""
    started = time.process_time()
    sweep = run_sweep(cells, workload, seeds=seeds, seed=0, jobs=1)
    elapsed = time.process_time() - started
    return sweep.requests / elapsed if elapsed > 0 else 0.0
