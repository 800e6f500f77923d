"""Targets from issue 2 (and issue 4's simulator row), judged against results.json."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table

ALLIED = "allied-c2"
RAW = "raw relay"
RAW_PER_EVENT = "raw relay, per event"
TAKY = "taky"
TARGETS_ORDER = (ALLIED, RAW, RAW_PER_EVENT, TAKY)


def _get(results: dict[str, Any], *path: str) -> Any:
    node: Any = results
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


@dataclass(frozen=True)
class Target:
    key: str
    what: str
    target: str
    scenario: str
    figure: Callable[[dict[str, Any]], float | int | None]  # from one target's run
    check: Callable[[float, dict[str, Any]], bool] | None  # (figure, run); None: not judged

    def run(self, results: dict[str, Any], name: str) -> dict[str, Any] | None:
        run = _get(results, "scenarios", self.scenario, name)
        if not isinstance(run, dict) or "error" in run or "skipped" in run:
            return None
        return run

    def measured(self, results: dict[str, Any], name: str) -> float | int | None:
        run = self.run(results, name)
        return None if run is None else self.figure(run)


def _medium_rate(run: dict[str, Any]) -> float:
    return float(run["receiver_deliveries_per_s"])


def _p99(run: dict[str, Any]) -> float | None:
    latency = run.get("latency_ms") or {}
    return latency.get("p99")


TARGETS = (
    Target(
        "medium_deliveries_per_s",
        "medium: deliveries/s at receivers",
        "25,000",
        "medium",
        _medium_rate,
        lambda v, r: v >= 0.99 * float(r["offered_deliveries_per_s"]),
    ),
    Target(
        "medium_lost",
        "medium: events lost (coalesced apart)",
        "0",
        "medium",
        lambda r: r.get("lost"),
        lambda v, r: v == 0,
    ),
    Target(
        "medium_p99_ms", "medium: latency p99 (ms)", "≤ 5", "medium", _p99, lambda v, r: v <= 5.0
    ),
    Target(
        "medium_rss_mb",
        "medium: server RSS peak (MB)",
        "≤ 60",
        "medium",
        lambda r: r.get("server_rss_peak_mb"),
        lambda v, r: v <= 60.0,
    ),
    Target(
        "saturation_deliveries_per_s",
        "saturation: deliveries/s at receivers",
        "",
        "saturation",
        lambda r: r.get("receiver_deliveries_per_s"),
        None,
    ),
    Target(
        "idle_kb_per_connection",
        "idle: RSS per connection (KB)",
        "≤ 30",
        "idle",
        lambda r: r.get("rss_per_connection_kb"),
        lambda v, r: v <= 30.0,
    ),
)


def saturation_ratio(results: dict[str, Any], reference: str = RAW) -> float | None:
    ours = _get(results, "scenarios", "saturation", ALLIED, "receiver_deliveries_per_s")
    raw = _get(results, "scenarios", "saturation", reference, "receiver_deliveries_per_s")
    return _ratio(ours, raw)


def pair_ratio(pair: dict[str, Any], reference: str = RAW) -> float | None:
    """allied-c2 / reference for one back-to-back saturation pair (see run.py)."""
    ours = (pair.get(ALLIED) or {}).get("receiver_deliveries_per_s")
    raw = (pair.get(reference) or {}).get("receiver_deliveries_per_s")
    return _ratio(ours, raw)


def _ratio(ours: Any, raw: Any) -> float | None:
    if not isinstance(ours, int | float) or not isinstance(raw, int | float) or raw <= 0:
        return None
    return round(float(ours) / float(raw), 3)


def evaluate(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per target: measured per server, and pass/miss for allied-c2."""
    rows: list[dict[str, Any]] = []
    for t in TARGETS:
        measured = {name: t.measured(results, name) for name in TARGETS_ORDER}
        ours, run = measured[ALLIED], t.run(results, ALLIED)
        passed = None if t.check is None or ours is None or run is None else t.check(ours, run)
        rows.append(
            {"key": t.key, "what": t.what, "target": t.target, "measured": measured, "pass": passed}
        )
    ratio = saturation_ratio(results)
    pairs = results.get("saturation_pairs") or []
    rows.append(
        {
            "key": "saturation_ratio",
            "what": "saturation: allied-c2 / raw relay"
            + (f" (median of {len(pairs)} pairs)" if len(pairs) > 1 else ""),
            "target": "≥ 0.70",
            "measured": {ALLIED: ratio},
            "pass": None if ratio is None else ratio >= 0.70,
        }
    )
    per_event = saturation_ratio(results, RAW_PER_EVENT)
    if per_event is not None:
        rows.append(
            {
                "key": "saturation_ratio_per_event",
                "what": "saturation: allied-c2 / per-event raw relay (for comparison)",
                "target": "",
                "measured": {ALLIED: per_event},
                "pass": None,
            }
        )
    sim = _get(results, "scenarios", "simulation", "min_requests_per_s")
    rows.append(
        {
            "key": "simulated_requests_per_s",
            "what": "simulator: requests/s (slowest scenario)",
            "target": "",
            "measured": {ALLIED: sim},
            "pass": None,
        }
    )
    return rows


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        if value >= 100:
            return f"{value:,.0f}"
        return f"{value:.3g}" if value < 10 else f"{value:.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def render(results: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title="allied-c2 benchmarks (issue 2 targets)", title_justify="left")
    table.add_column("figure")
    table.add_column("target", justify="right")
    for name in TARGETS_ORDER:
        table.add_column(name, justify="right")
    table.add_column("result")
    for row in results.get("targets", []):
        if all(v is None for v in row["measured"].values()):
            continue  # a scenario left out with --only
        verdict = {True: "[green]pass[/]", False: "[red]MISS[/]", None: ""}[row["pass"]]
        cells = [_fmt(row["measured"].get(name)) for name in TARGETS_ORDER]
        table.add_row(row["what"], row["target"], *cells, verdict)
    console.print(table)
    pairs = pairs_line(results)
    if pairs:
        console.print(pairs)
    notes = results.get("notes") or []
    for note in notes:
        console.print(f"[dim]note:[/] {note}")


def pairs_line(results: dict[str, Any]) -> str | None:
    """Every saturation pair's ratio, so the spread behind the median is visible."""
    pairs = results.get("saturation_pairs") or []
    if len(pairs) < 2:
        return None
    ratios = ", ".join(_fmt(pair.get("ratio")) for pair in pairs)
    return f"saturation pairs, allied-c2 / raw relay in run order: {ratios}"


def markdown(results: dict[str, Any]) -> str:
    """The same table as :func:`render`, as Markdown for docs/benchmarks.md."""
    head = ["figure", "target", *TARGETS_ORDER, "result"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in results.get("targets", []):
        if all(v is None for v in row["measured"].values()):
            continue
        verdict = {True: "pass", False: "**miss**", None: ""}[row["pass"]]
        cells = [_fmt(row["measured"].get(name)) for name in TARGETS_ORDER]
        lines.append("| " + " | ".join([row["what"], row["target"], *cells, verdict]) + " |")
    machine = results.get("machine", {})
    versions = results.get("versions", {})
    lines.append("")
    lines.append(
        f"Taken {results.get('timestamp')} on {machine.get('nproc')} × {machine.get('cpu_model')}"
        f" (pinned: {machine.get('pinned')}), allied-c2 {versions.get('allied-c2')}"
        f" ({versions.get('git')}), taky {versions.get('taky') or '–'}."
    )
    pairs = pairs_line(results)
    if pairs:
        lines.append(f"- {pairs}")
    for note in results.get("notes") or []:
        lines.append(f"- {note}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    import json
    import sys

    with open(sys.argv[1] if len(sys.argv) > 1 else "var/bench/results.json") as f:
        print(markdown(json.load(f)))
