"""The benchmark report: the saturation ratio is judged on the median of several pairs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench import report, run
from bench.report import ALLIED, RAW


async def test_saturation_pairs_keep_the_median_pair(tmp_path: Path) -> None:
    bench = run.Bench(tmp_path, run.SMOKE, pinned=False)
    # (raw relay, allied-c2) deliveries/s per pair: ratios 0.6, 0.8, 0.7.
    figures: Iterator[float] = iter([100.0, 60.0, 200.0, 160.0, 100.0, 70.0])

    async def step(scenario: str, name: str, *_: Any) -> None:
        result = {"receiver_deliveries_per_s": next(figures)}
        bench.results["scenarios"].setdefault(scenario, {})[name] = result

    bench.step = step  # type: ignore[method-assign, assignment]
    servers: list[tuple[str, Any]] = [(RAW, None), (ALLIED, None)]
    await run.saturation_pairs(bench, servers, 3)

    assert [pair["ratio"] for pair in bench.results["saturation_pairs"]] == [0.6, 0.8, 0.7]
    assert report.saturation_ratio(bench.results) == 0.7
    row = next(r for r in report.evaluate(bench.results) if r["key"] == "saturation_ratio")
    assert row["what"].endswith("(median of 3 pairs)")
    assert row["pass"] is True
    assert report.pairs_line(bench.results) == (
        "saturation pairs, allied-c2 / raw relay in run order: 0.6, 0.8, 0.7"
    )
    assert (tmp_path / "results.json").exists()


def test_a_pair_without_figures_has_no_ratio() -> None:
    assert report.pair_ratio({RAW: {"error": "did not start"}, ALLIED: {}}) is None
    assert report.pair_ratio({RAW: {"receiver_deliveries_per_s": 0}, ALLIED: {}}) is None
