"""Issue 4's what-if simulator: simulated requests per second on each shipped scenario.

Calls ``allied_c2.analysis.compare.simulated_requests_per_second`` when it is there;
the row is skipped with the reason when it is not (the analysis package is optional
for the relay benchmarks). It runs in a child process pinned to the load generator's
core so it neither competes with nor inherits state from the relay measurements.
Each scenario is measured ``REPEATS`` times and the best kept (the figure is CPU time
per request; on a shared machine other processes can only make it worse), with
every repeat recorded.

Issue 10 sets the target: at least 50,000 requests/s on one core, for sweeps.
"""

from __future__ import annotations

import asyncio
import importlib
import json
from typing import Any

from bench.child import measure_in_child
from bench.target import ROOT

SCENARIOS = ("alliance-2024.yaml", "alliance-jfhq.yaml", "trilateral-hadr.yaml")
REQUESTS = 20_000
REPEATS = 3
SWEEP_SEEDS = 4
TARGET_PER_S = 50_000  # issue 10


def _measure(requests: int) -> dict[str, Any]:
    try:
        compare = importlib.import_module("allied_c2.analysis.compare")
        scenario = importlib.import_module("allied_c2.alliance.scenario")
        rate_fn = compare.simulated_requests_per_second
        load_structure = scenario.load_structure
    except (ImportError, AttributeError) as exc:
        return {"skipped": f"allied_c2.analysis has no simulated_requests_per_second: {exc}"}
    rows: dict[str, Any] = {}
    for name in SCENARIOS:
        path = ROOT / "scenarios" / name
        if not path.exists():
            rows[name] = {"skipped": f"{path} not found"}
            continue
        try:
            structure = load_structure(path)
            rates = [round(float(rate_fn(structure, requests=requests))) for _ in range(REPEATS)]
            rows[name] = {"requests": requests, "requests_per_s": max(rates), "repeats": rates}
        except Exception as exc:  # a broken scenario skips its row, not the benchmark
            rows[name] = {"skipped": f"{exc.__class__.__name__}: {exc}"}
    rates = [r["requests_per_s"] for r in rows.values() if "requests_per_s" in r]
    build = getattr(importlib.import_module("allied_c2.analysis"), "ENGINE_BUILD", "source")
    return {
        "engine": build,
        "scenarios": rows,
        "min_requests_per_s": min(rates) if rates else None,
        "sweep": _measure_sweep(),
    }


def _measure_sweep() -> dict[str, Any]:
    """``analyze sweep``'s default grid on alliance-jfhq (2 grades x 3 delegations x 3
    staffings), SWEEP_SEEDS periods, on one core: what a sensitivity study gets, since
    cells that route a request alike share its simulation."""
    try:
        sweep = importlib.import_module("allied_c2.analysis.sweep")
        scenario = importlib.import_module("allied_c2.alliance.scenario")
        workload = importlib.import_module("allied_c2.analysis.workload").load_workload()
        path = ROOT / "scenarios" / "alliance-jfhq.yaml"
        axes = {
            "jfhq_commander_grade": ["O-9", "O-10"],
            "delegation": ["none", "partial", "full"],
            "staffing": ["office", "extended", "watch"],
        }
        cells = sweep.build_cells(lambda v: scenario.load_structure(path, dict(v)), axes)
        rates = [
            round(sweep.sweep_requests_per_second(cells, workload, seeds=SWEEP_SEEDS))
            for _ in range(REPEATS)
        ]
    except Exception as exc:  # an older tree without sweeps skips the row
        return {"skipped": f"{exc.__class__.__name__}: {exc}"}
    return {
        "cells": len(cells),
        "seeds": SWEEP_SEEDS,
        "requests_per_s": max(rates),
        "repeats": rates,
    }


async def _child(requests: int, timeout_s: float, env: dict[str, str]) -> dict[str, Any]:
    code = f"import json, bench.simrate as s; print(json.dumps(s._measure({requests})))"
    return await measure_in_child(code, "simulation", timeout_s, env)


async def measure(requests: int = REQUESTS, timeout_s: float = 300.0) -> dict[str, Any]:
    """The shipped build (mypyc where `make setup` could compile), then the source in the
    same run: the ratio is what the compilation buys (analysis/engine_build.py)."""
    result = await _child(requests, timeout_s, {})
    if result.get("engine", "").startswith("compiled"):
        source = await _child(requests, timeout_s, {"ALLIED_C2_ENGINE": "source"})
        result["source_engine"] = {
            k: source.get(k) for k in ("engine", "min_requests_per_s", "scenarios", "skipped")
        }
        if source.get("min_requests_per_s") and result.get("min_requests_per_s"):
            result["compiled_over_source"] = round(
                result["min_requests_per_s"] / source["min_requests_per_s"], 2
            )
    return result


if __name__ == "__main__":
    print(json.dumps(asyncio.run(measure()), indent=2))
