"""Write a comparison to disk: summary.json, PNG plots and report.md embedding them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from allied_c2.analysis.compare import Comparison, KindStats
from allied_c2.analysis.timeline import Timeline

SUMMARY_JSON = "summary.json"
REPORT_MD = "report.md"


def write_outputs(comparison: Comparison, out: Path, sources: Sequence[str] = ()) -> list[Path]:
    """summary.json, the plots and report.md in ``out`` (created); returns the paths."""
    out.mkdir(parents=True, exist_ok=True)
    summary = out / SUMMARY_JSON
    summary.write_text(
        json.dumps(comparison.summary(), indent=2, sort_keys=True, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    # matplotlib costs a second to import: only commands that plot pay it.
    from allied_c2.analysis.plots import write_plots

    plots = write_plots(comparison, out)
    report = out / REPORT_MD
    report.write_text(render_markdown(comparison, [p.name for p in plots], sources), "utf-8")
    return [summary, *plots, report]


def _h(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


def render_markdown(comparison: Comparison, plots: Sequence[str], sources: Sequence[str]) -> str:
    names = list(comparison.structures)
    wl = comparison.workload
    lines = [
        f"# What-if: {' vs '.join(names)}",
        "",
        f"Workload **{wl.name}** ({wl.days:g} days from {wl.start:%Y-%m-%d %H:%M}Z, "
        f"{len(wl.kinds)} request kinds), {comparison.runs} runs, seed {comparison.seed}: "
        f"{comparison.requests} simulated requests in {comparison.elapsed_seconds:.1f} s "
        f"({comparison.requests_per_second:,.0f} requests/s).",
    ]
    if sources:
        lines += ["", "Structures: " + ", ".join(f"`{s}`" for s in sources)]
    lines += [
        "",
        "Hours are from submission to the decision (approved, denied or returned), "
        "pooled over all runs. The rules, the staff model and the assumptions are in "
        "docs/analysis.md.",
        "",
        "## Time to decision per request kind",
        "",
    ]
    header = (
        "| request kind | structure | n | p50 h | p90 h | p99 h | by needed-by | hops | esc./req |"
    )
    lines += [header, "|" + "---|" * 9]
    for kind in _kinds(comparison):
        for name in names:
            s = comparison.structures[name].kinds.get(kind)
            if s is None:
                lines.append(f"| {kind} | {name} | not routable | | | | | | |")
                continue
            lines.append(
                f"| {kind} | {name} | {s.count} | {_h(s.p50_hours)} | {_h(s.p90_hours)} | "
                f"{_h(s.p99_hours)} | {_pct(s.share_by_needed_by)} | {_h(s.mean_hops)} | "
                f"{s.escalations_per_request if s.escalations_per_request is not None else '–'} |"
            )
    if len(names) >= 2:
        base, other = names[0], names[1]
        lines += ["", f"## {other} against {base} (median time to decision)", ""]
        lines += [
            "| request kind | " + " | ".join(names) + " | change |",
            "|---|" + "---|" * len(names) + "---|",
        ]
        for kind in _kinds(comparison):
            a = comparison.structures[base].kinds.get(kind)
            b = comparison.structures[other].kinds.get(kind)
            cells = [
                _h(comparison.structures[n].kinds[kind].p50_hours)
                if kind in comparison.structures[n].kinds
                else "–"
                for n in names
            ]
            lines.append(f"| {kind} | " + " | ".join(cells) + f" | {_change(a, b)} |")
    lines += ["", "## Median hours by originating nation", ""]
    lines += ["| request kind | structure | " + " | ".join(_nations(comparison)) + " |"]
    lines += ["|---|---|" + "---|" * len(_nations(comparison))]
    for kind in _kinds(comparison):
        for name in names:
            per = comparison.structures[name].by_nation.get(kind, {})
            cells = [_h(per[n].p50_hours) if n in per else "–" for n in _nations(comparison)]
            lines.append(f"| {kind} | {name} | " + " | ".join(cells) + " |")
    lines += ["", "## Plots", ""]
    lines += [f"![{p}]({p})" for p in plots]
    lines += ["", "## Critical path of a sample request", ""]
    if comparison.sample_kind:
        lines.append(
            f"The same simulated {comparison.sample_kind} request (same originator, "
            "same submission time, same staff luck) in each structure; times are local to "
            "the holder. *wait* is time the office was closed after receipt; ★ marks the "
            "holdings on the critical path."
        )
    for name in names:
        sample = comparison.structures[name].sample
        lines += ["", f"### {name}", ""]
        lines += _timeline_table(sample) if sample else ["No sample request in this run."]
    unroutable = {n: r.unroutable for n, r in comparison.structures.items() if r.unroutable}
    if unroutable:
        lines += ["", "## Not simulated", ""]
        for name, kinds in unroutable.items():
            lines += [f"- {name}: {reason}" for reason in kinds.values()]
    return "\n".join(lines) + "\n"


def _change(a: KindStats | None, b: KindStats | None) -> str:
    if not a or not b or not a.p50_hours or b.p50_hours is None:
        return "–"
    delta = (b.p50_hours - a.p50_hours) / a.p50_hours
    return f"{delta:+.0%} ({'faster' if delta < 0 else 'slower' if delta > 0 else 'same'})"


def _kinds(comparison: Comparison) -> list[str]:
    return [load.kind for load in comparison.workload.kinds]


def _nations(comparison: Comparison) -> list[str]:
    found = {n for r in comparison.structures.values() for per in r.by_nation.values() for n in per}
    return sorted(found)


def _timeline_table(t: Timeline) -> list[str]:
    lines = [
        f"{t.kind} from `{t.originator}` submitted {t.submitted_at:%a %d %b %H:%M}Z: "
        f"**{t.state.value}** after {_h(t.hours_to_decision)} h.",
        "",
        "| | organisation | zone | received (local) | wait h | duty h | held h | action |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for h in t.holdings:
        zone = t.zones.get(h.org, "UTC")
        received = t.to_local(h.org, h.received_at)
        action = h.action or "(holding)"
        if h.by_deadline:
            action += " (deadline passed)"
        if h.questions:
            action += f" after {h.questions} question(s) to the decider"
        if h.overdue:
            action += f", overdue ×{h.overdue}"
        lines.append(
            f"| {'★' if h.critical else ''} | {h.org} | {zone} | {received:%a %d %b %H:%M} | "
            f"{h.wait_hours:.1f} | {h.duty_hours:.1f} | {h.elapsed_hours:.1f} | {action} |"
        )
    return lines
