"""A sweep on disk: one CSV row per cell and a heat map of the median time to decision."""

from __future__ import annotations

import csv
import itertools
from collections.abc import Mapping
from pathlib import Path

from allied_c2.analysis.sweep import CellResult, Sweep

SWEEP_CSV = "sweep.csv"
SWEEP_PNG = "sweep.png"
STATS = (
    "requests",
    "p50_hours",
    "p90_hours",
    "mean_hours",
    "share_by_needed_by",
    "approved_share",
    "escalations_per_request",
    "p50_seed_min",
    "p50_seed_max",
)


def row(result: CellResult) -> dict[str, object]:
    """A cell as a flat row: its axis values, then the statistics."""
    out: dict[str, object] = dict(result.cell.values)
    out.update((name, getattr(result, name)) for name in STATS)
    return out


def write_csv(sweep: Sweep, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=[*sweep.axes, *STATS], lineterminator="\n")
        writer.writeheader()
        for result in sweep.results:
            writer.writerow({k: "" if v is None else v for k, v in row(result).items()})
    return path


def write_heatmap(
    sweep: Sweep, path: Path, labels: Mapping[str, str] | None = None, title: str = ""
) -> Path:
    """Median hours to decision per cell: the last axis down, the one before it across,
    one panel per combination of the others (e.g. per grade), one colour scale.
    ``labels`` names the axes on the plot (default: their own names)."""
    labels = labels or {}
    import matplotlib  # a second to import: only the commands that plot pay it

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(sweep.axes)
    while len(names) < 2:  # a one-axis sweep still draws: a single column
        names.insert(0, "")
    y_axis, x_axis, facet_axes = names[-1], names[-2], names[:-2]
    xs = sweep.axes.get(x_axis, [""])
    ys = sweep.axes.get(y_axis, [""])
    facets = list(itertools.product(*(sweep.axes[a] for a in facet_axes))) or [()]
    by_cell = {tuple(dict(r.cell.values).get(a, "") for a in names): r for r in sweep.results}
    values = [r.p50_hours for r in sweep.results if r.p50_hours is not None]
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    fig, axes = plt.subplots(
        1,
        len(facets),
        figsize=(1.8 + 1.5 * len(xs) * len(facets), 1.5 + 0.7 * len(ys)),
        squeeze=False,
        sharey=True,
    )
    image = None
    for n, (ax, facet) in enumerate(zip(axes[0], facets, strict=True)):
        grid: list[list[float]] = []
        for y in ys:
            line: list[float] = []
            for x in xs:
                result = by_cell.get((*facet, x, y))
                p50 = result.p50_hours if result is not None else None
                line.append(float("nan") if p50 is None else p50)
                if p50 is not None:
                    ax.text(
                        xs.index(x),
                        ys.index(y),
                        f"{p50:.1f}",
                        ha="center",
                        va="center",
                        fontsize=9,
                        # viridis is dark at the low end: light text there
                        color="white" if p50 < (low + high) / 2 else "black",
                    )
            grid.append(line)
        image = ax.imshow(grid, cmap="viridis", vmin=low, vmax=high, aspect="auto")
        ax.set_xticks(range(len(xs)), xs)
        ax.set_yticks(range(len(ys)), ys)
        ax.set_xlabel(labels.get(x_axis, x_axis))
        if n == 0:
            ax.set_ylabel(labels.get(y_axis, y_axis))
        pairs = zip(facet_axes, facet, strict=True)
        label = ", ".join(f"{labels.get(a, a)}: {v}" for a, v in pairs)
        ax.set_title(label, fontsize=10)
    if image is not None:
        fig.colorbar(image, ax=list(axes[0]), label="median hours to decision")
    kind = sweep.kind or "all request kinds"
    fig.suptitle(
        title or f"Median time to decision ({kind}; {sweep.seeds} seeds per cell)",
        fontsize=11,
        y=1.04,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path
