"""PNG charts of a comparison (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from allied_c2.analysis.compare import Comparison

CDF_PNG = "time-to-decision-cdf.png"
PERCENTILES_PNG = "p50-p90-by-kind.png"
NEEDED_BY_PNG = "share-by-needed-by.png"


def write_plots(comparison: Comparison, out: Path) -> list[Path]:
    """Write the charts into ``out``; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    return [
        _cdf(comparison, out / CDF_PNG),
        _percentiles(comparison, out / PERCENTILES_PNG),
        _needed_by(comparison, out / NEEDED_BY_PNG),
    ]


def _kinds(comparison: Comparison) -> list[str]:
    kinds: list[str] = []
    for result in comparison.structures.values():
        kinds.extend(k for k in result.kinds if k not in kinds)
    return kinds


def _cdf(comparison: Comparison, path: Path) -> Path:
    kinds = _kinds(comparison)
    cols = min(3, max(1, len(kinds)))
    rows = (len(kinds) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.6 * rows), squeeze=False)
    for ax, kind in zip(axes.flat, kinds, strict=False):
        for name, result in comparison.structures.items():
            hours = result.hours.get(kind, [])
            if hours:
                n = len(hours)
                ax.step(hours, [(i + 1) / n for i in range(n)], where="post", label=name)
        ax.set_title(kind.replace("_", " "), fontsize=10)
        ax.set_xlabel("hours to decision")
        ax.set_ylabel("share decided")
        ax.set_ylim(0, 1.01)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    for ax in list(axes.flat)[len(kinds) :]:
        ax.set_visible(False)
    fig.suptitle("Time to decision (cumulative)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _grouped(comparison: Comparison, path: Path, title: str, ylabel: str, metric: str) -> Path:
    kinds = _kinds(comparison)
    names = list(comparison.structures)
    fig, ax = plt.subplots(figsize=(max(7.0, 1.7 * len(kinds) * max(1, len(names)) / 2), 4.5))
    width = 0.8 / max(1, len(names))
    for i, name in enumerate(names):
        result = comparison.structures[name]
        xs = [k + (i - (len(names) - 1) / 2) * width for k in range(len(kinds))]
        if metric == "percentiles":
            p90 = [_value(result.kinds.get(kind), "p90_hours") for kind in kinds]
            p50 = [_value(result.kinds.get(kind), "p50_hours") for kind in kinds]
            bars = ax.bar(xs, p90, width, alpha=0.35, label=f"{name} p90")
            ax.bar(xs, p50, width, color=bars.patches[0].get_facecolor()[:3], label=f"{name} p50")
        else:
            shares = [_value(result.kinds.get(kind), "share_by_needed_by") for kind in kinds]
            ax.bar(xs, shares, width, label=name)
    ax.set_xticks(range(len(kinds)))
    ax.set_xticklabels([k.replace("_", "\n") for k in kinds], fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _value(stats: object, field: str) -> float:
    value = getattr(stats, field, None) if stats is not None else None
    return float(value) if isinstance(value, int | float) else 0.0


def _percentiles(comparison: Comparison, path: Path) -> Path:
    return _grouped(comparison, path, "Hours to decision by request kind", "hours", "percentiles")


def _needed_by(comparison: Comparison, path: Path) -> Path:
    return _grouped(comparison, path, "Share decided by the needed-by time", "share", "needed_by")
