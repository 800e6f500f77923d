"""The federation bench row measures the real guard: half of its mix may cross to JPN."""

from __future__ import annotations

from bench import federation, report


def test_guard_bench_counts_what_the_guard_lets_cross() -> None:
    for coarsen in (False, True):
        row = federation._guard(4096, coarsen)
        # Public and REL TO USA, JPN cross; REL TO USA, PHL and NOFORN do not.
        assert row["crossed"] == 2048 and row["items_per_s"] > 0


def test_the_federation_row_is_judged() -> None:
    results = {
        "scenarios": {
            "federation": {
                report.ALLIED: {
                    "guard": {
                        "no_rules": {"items_per_s": 150_000},
                        "coarsen_1km": {"items_per_s": 20_000},
                    },
                    "end_to_end": {"latency_ms": {"p99": 4.0}},
                }
            }
        }
    }
    rows = {r["key"]: r["pass"] for r in report.evaluate(results)}
    assert rows["federation_guard_items_per_s"] is True
    assert rows["federation_guard_coarsen_items_per_s"] is False
    assert rows["federation_p99_ms"] is True
