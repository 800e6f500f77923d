"""Judging a soak run and drawing it: RSS, p99 latency and deliveries/s over time.

Baselines are taken after the warm-up (``--warmup``, 5 minutes for the hour): RSS
then is what the run's memory is compared with, not the start-up allocation.

- no loss: sequence holes not filled by the end, minus what the server reports it
  coalesced for slow readers (its documented policy), must be 0; no duplicates;
- p99 stable: the median per-interval p99 of the last quarter is within ``p99_ratio``
  of the first quarter after the warm-up (or both under ``p99_floor_ms``);
- RSS growth: the median RSS of the last ``tail`` samples over the median of the first
  ``tail`` samples after the warm-up, at most ``rss_growth``;
- no fd growth: the fewest fds of the last samples minus the fewest of the first
  samples after the warm-up, at most ``fd_growth``;
- the WebSocket viewers and the API poller saw no error; deliveries/s reached 99 % of
  the offered rate in the median interval.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Bounds:
    rss_growth: float
    p99_ratio: float
    p99_floor_ms: float
    fd_growth: int
    tail: int  # samples at each end for the RSS and fd baselines


BOUNDS = {
    "hour": Bounds(rss_growth=0.05, p99_ratio=1.5, p99_floor_ms=5.0, fd_growth=2, tail=6),
    # The two-minute run in `make test`: same checks, looser (a shared machine, a short run).
    "short": Bounds(rss_growth=0.15, p99_ratio=3.0, p99_floor_ms=20.0, fd_growth=5, tail=3),
}


def _after_warmup(result: dict[str, Any]) -> list[dict[str, Any]]:
    warmup = float(result.get("warmup_s", 0.0))
    return [s for s in result.get("samples", []) if s["t_s"] >= warmup]


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _check(what: str, measured: Any, passed: bool) -> dict[str, Any]:
    return {"what": what, "measured": measured, "pass": bool(passed)}


def judge(result: dict[str, Any], bounds: Bounds) -> list[dict[str, Any]]:
    samples = _after_warmup(result)
    checks = [
        _check("events lost (holes − coalesced)", result["lost"], result["lost"] == 0),
        _check("duplicates", result["duplicates"], result["duplicates"] == 0),
        _check(
            "clients the server disconnected",
            result["disconnected_by_server"],
            result["disconnected_by_server"] == 0,
        ),
        _check(
            "WebSocket and API errors",
            result["ws_errors"] + result["api_errors"],
            result["ws_errors"] + result["api_errors"] == 0 and result["ws_messages"] > 0,
        ),
    ]
    if len(samples) < 2 * bounds.tail:
        checks.append(_check("enough samples after the warm-up", len(samples), False))
        return checks
    head, tail = samples[: bounds.tail], samples[-bounds.tail :]
    rss0 = _median([s["rss_mb"] for s in head]) or 0.0
    rss1 = _median([s["rss_mb"] for s in tail]) or 0.0
    growth = (rss1 - rss0) / rss0 if rss0 else float("inf")
    checks.append(
        _check(
            f"RSS growth after the warm-up (≤ {bounds.rss_growth:.0%})",
            {"from_mb": rss0, "to_mb": rss1, "growth": round(growth, 4)},
            growth <= bounds.rss_growth,
        )
    )
    fd0 = min(s["fds"] for s in head)
    fd1 = min(s["fds"] for s in tail)
    checks.append(
        _check(
            f"fd growth (≤ {bounds.fd_growth})",
            {"from": fd0, "to": fd1},
            fd1 - fd0 <= bounds.fd_growth,
        )
    )
    quarter = max(1, len(samples) // 4)
    first = _median([s["p99_ms"] for s in samples[:quarter] if s["p99_ms"] is not None])
    last = _median([s["p99_ms"] for s in samples[-quarter:] if s["p99_ms"] is not None])
    stable = (
        first is not None
        and last is not None
        and (last <= bounds.p99_ratio * first or max(first, last) <= bounds.p99_floor_ms)
    )
    checks.append(
        _check(
            f"p99 stable (last quarter ≤ {bounds.p99_ratio}× first, or both ≤ "
            f"{bounds.p99_floor_ms} ms)",
            {
                "first_quarter_ms": first,
                "last_quarter_ms": last,
                "max_interval_ms": max((s["p99_ms"] or 0.0) for s in samples),
            },
            stable,
        )
    )
    rate = _median([s["deliveries_per_s"] for s in samples]) or 0.0
    offered = float(result["offered_deliveries_per_s"])
    checks.append(
        _check(
            "median deliveries/s ≥ 99 % of offered",
            {"median": rate, "offered": offered},
            rate >= 0.99 * offered,
        )
    )
    return checks


def plot(result: dict[str, Any], path: Path) -> None:
    """Three panels over minutes: RSS (with fds), p99 latency, deliveries/s."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    samples = result.get("samples", [])
    minutes = [s["t_s"] / 60 for s in samples]
    fig, (rss, p99, rate) = plt.subplots(3, 1, figsize=(9, 8), sharex=True)
    rss.plot(minutes, [s["rss_mb"] for s in samples], color="tab:blue")
    rss.set_ylabel("server RSS (MB)")
    fds = rss.twinx()
    fds.plot(minutes, [s["fds"] for s in samples], color="tab:gray", linewidth=0.8)
    fds.set_ylabel("open fds", color="tab:gray")
    p99.plot(minutes, [s["p99_ms"] for s in samples], color="tab:red")
    p99.set_ylabel("latency p99 (ms)")
    p99.set_yscale("log")
    rate.plot(minutes, [s["deliveries_per_s"] for s in samples], color="tab:green")
    rate.axhline(result["offered_deliveries_per_s"], color="black", linewidth=0.6, ls="--")
    rate.set_ylabel("deliveries/s")
    rate.set_xlabel("minutes")
    warmup = float(result.get("warmup_s", 0.0)) / 60
    for axis in (rss, p99, rate):
        axis.axvline(warmup, color="black", linewidth=0.6, ls=":")
        axis.grid(alpha=0.3)
    verdict = "pass" if all(c["pass"] for c in result.get("checks", [])) else "FAIL"
    fig.suptitle(
        f"allied-c2 soak: {result['senders']} senders × {result['rate_per_sender']:g}/s → "
        f"{result['receivers']} receivers over TLS, {result['reconnects']} reconnects, "
        f"{result['duration_s'] / 60:.0f} min ({verdict})"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
