"""The simulator's exact results for fixed seeds, pinned before it was optimised.

The digests were captured from the unoptimised simulator (commit c95c9bf) and cover
every request's full audit trail, so an optimisation that changes any routing,
deadline, escalation, random draw or event order fails here. If a deliberate model
change alters them, recapture them and say so in the change.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from allied_c2.analysis.workload import load_workload

from .digests import bench_workload, compare_digest, run_digest, shipped

BENCH_SEED, WEEK_SEED = 0, 11  # the bench's 5,000-request period; a one-week period

PINNED: list[tuple[str, dict[str, object], int, int, str]] = [
    (
        "alliance-2024",
        {},
        BENCH_SEED,
        4869,
        "fbf5f8b33633196c9390846454e8d4fa9a6e12a4742fbd5d9f3d600c8c48e3c8",
    ),
    (
        "alliance-2024",
        {},
        WEEK_SEED,
        175,
        "c9f0df6e73d7205b5f6acfff32e280e0ba61a20d83feb132c0c582ee8c36ed25",
    ),
    (
        "alliance-jfhq",
        {},
        BENCH_SEED,
        4869,
        "06e163f4a9ce5480d64a7b953ab0da69cb4b4c34b5332f112c1ef26bab581484",
    ),
    (
        "alliance-jfhq",
        {},
        WEEK_SEED,
        175,
        "3f3199cd337f2e2ba2666bc0b87d539d37b2482e60e1ebed59f726672bec6831",
    ),
    (
        "alliance-jfhq",
        {"delegation": "none"},
        BENCH_SEED,
        4869,
        "71503730fab0d6c923ad55ee75f2c5f0c89b8c1d6351a16846b694716c2ad29e",
    ),
    (
        "alliance-jfhq",
        {"delegation": "none"},
        WEEK_SEED,
        175,
        "bd8e76746027ce4911e7e045b1b20aecfd1040061966b1cd1798d21684cac802",
    ),
    (
        "alliance-jfhq",
        {"delegation": "full"},
        BENCH_SEED,
        4869,
        "6ef81fa8038e08add768936704be7b1e64404d8dd170764444af372fcb5721f4",
    ),
    (
        "alliance-jfhq",
        {"delegation": "full"},
        WEEK_SEED,
        175,
        "d5be5abd9dda1b4194dfcac7127f4b2039ba0d5378b993df2d901b19cb347e43",
    ),
    (
        "alliance-jfhq",
        {"jfhq_commander_grade": "O-10"},
        BENCH_SEED,
        4869,
        "9437ee6f50b9f1ba3cbd4aa9c3f3a34c69633c9d1439b381aefe335a613c665d",
    ),
    (
        "alliance-jfhq",
        {"jfhq_commander_grade": "O-10"},
        WEEK_SEED,
        175,
        "39f397b88eb4107b0a31d325d79fcda5d7a501240bb8baa5eb1ce3e9df1cf441",
    ),
    (
        "trilateral-hadr",
        {},
        BENCH_SEED,
        4869,
        "107b325cde2236c5322718e3a7469f5108f26889c75402425dfd24f9919e20a6",
    ),
    (
        "trilateral-hadr",
        {},
        WEEK_SEED,
        175,
        "774f0c51c702050ddb410b9b2fdecb292079e7ab9b43ec253e0968321ac187d3",
    ),
]
COMPARE_SUMMARY = "c40344f27eb01472bafae8fc0e9d170f7eb4d88ad258cf33302d979d09f88c9a"


@pytest.mark.parametrize(("scenario", "overrides", "seed", "count", "digest"), PINNED)
def test_fixed_seed_gives_the_pinned_trails(
    scenario: str, overrides: dict[str, object], seed: int, count: int, digest: str
) -> None:
    workload = bench_workload(5000) if seed == BENCH_SEED else replace(load_workload(), days=7)
    assert run_digest(shipped(scenario, **overrides), workload, seed) == (count, digest)


def test_compare_summary_is_pinned() -> None:
    assert compare_digest(runs=2, seed=1) == COMPARE_SUMMARY
