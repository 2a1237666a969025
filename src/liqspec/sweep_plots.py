"""The sweep's plots (PNG, drawn with matplotlib's Agg backend from the finished table):

``heatmap.png``
    P(insurance fund exhausted) and P(auto-deleveraging) over two swept parameters, one cell per
    pair of values, the share of that cell's successful runs written in it.
``amplification.png``
    The cascade amplification curve: the final move (how far the lowest mark or liquidation fill
    fell, in % of the start) against the initial shock (how far the index fell), the median and
    the 10-90% and 25-75% bands over runs with that shock (runs binned by shock when the shocks
    are many), every run as a faint dot, and the line "final move = shock".
``fund_fan.png``
    A fan chart of the insurance fund's path, in % of its start, per path generator: the median
    and the 5-95% and 25-75% bands over runs at every step.

Floats appear here only, for drawing: the table's integers are divided for display.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np

from liqspec.reference.arithmetic import PPM

PLOT_FILES = {"heatmap": "heatmap.png", "amplification": "amplification.png",
              "fund_fan": "fund_fan.png"}
_SAVE = {"dpi": 110, "metadata": {"Software": None}}


#: a percent is 10,000 parts per million (the table's moves are in ppm)
PPM_PER_PERCENT = PPM // 100


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _order(values: list) -> list:
    """Distinct values, numerically when they are all numbers, else as text."""
    distinct = list(dict.fromkeys(v for v in values))

    def number(v):
        try:
            return (0, Decimal(str(v)), "")
        except (InvalidOperation, ValueError):
            return (1, Decimal(0), str(v))

    return sorted(distinct, key=number)


def render_all(columns: dict[str, list], heatmap_params: tuple[str, ...], out: Path,
               title: str) -> dict[str, Path]:
    """Draw every plot from the table's columns (ok runs only) into ``out``."""
    plt = _pyplot()
    ok = [i for i, s in enumerate(columns["status"]) if s == "ok"]
    data = {name: [values[i] for i in ok] for name, values in columns.items()}
    files = {}
    for key, draw in (("heatmap", _heatmap), ("amplification", _amplification),
                      ("fund_fan", _fund_fan)):
        figure = draw(plt, data, heatmap_params, title)
        path = out / PLOT_FILES[key]
        figure.savefig(path, **_SAVE)
        plt.close(figure)
        files[key] = path
    return files


def _heatmap(plt, data: dict, params: tuple[str, ...], title: str):
    x_name = params[0] if params else None
    y_name = params[1] if len(params) > 1 else None
    n = len(data["status"])
    xs = data[x_name] if x_name else [""] * n
    ys = data[y_name] if y_name else [""] * n
    x_values, y_values = _order(xs), _order(ys)
    figure, axes = plt.subplots(1, 2, figsize=(11, 4.6), constrained_layout=True)
    for axis, metric, label in ((axes[0], "fund_exhausted", "P(insurance fund exhausted)"),
                                (axes[1], "deleveraged", "P(auto-deleveraging)")):
        counts = np.zeros((len(y_values), len(x_values)))
        hits = np.zeros_like(counts)
        for x, y, flag in zip(xs, ys, data[metric]):
            j, i = x_values.index(x), y_values.index(y)
            counts[i, j] += 1
            hits[i, j] += bool(flag)
        with np.errstate(invalid="ignore"):
            share = np.where(counts > 0, hits / np.maximum(counts, 1), np.nan)
        image = axis.imshow(share, origin="lower", cmap="Reds", vmin=0, vmax=1, aspect="auto")
        for i in range(len(y_values)):
            for j in range(len(x_values)):
                if counts[i, j]:
                    axis.text(j, i, f"{share[i, j]:.0%}", ha="center", va="center", fontsize=8,
                              color="white" if share[i, j] > 0.6 else "black")
        axis.set_xticks(range(len(x_values)), [str(v) for v in x_values])
        axis.set_yticks(range(len(y_values)), [str(v) for v in y_values])
        axis.set_xlabel(x_name or "(all runs)")
        axis.set_ylabel(y_name or "")
        axis.set_title(label)
        figure.colorbar(image, ax=axis, shrink=0.85)
    figure.suptitle(f"{title}: {n} runs")
    return figure


def _amplification(plt, data: dict, params: tuple[str, ...], title: str):
    shock_percent = np.asarray(data["index_drop_ppm"], dtype=float) / PPM_PER_PERCENT
    final_percent = np.asarray(data["final_move_ppm"], dtype=float) / PPM_PER_PERCENT
    figure, axis = plt.subplots(figsize=(7.5, 5), constrained_layout=True)
    if len(shock_percent):
        axis.scatter(shock_percent, final_percent, s=6, alpha=0.25, color="tab:blue", label="runs")
        centres, bands = _binned_quantiles(shock_percent, final_percent)
        if centres:
            q = np.asarray(bands)
            axis.fill_between(centres, q[:, 0], q[:, 4], color="tab:red", alpha=0.15,
                              label="10-90%")
            axis.fill_between(centres, q[:, 1], q[:, 3], color="tab:red", alpha=0.3,
                              label="25-75%")
            axis.plot(centres, q[:, 2], color="tab:red", marker="o", ms=3, label="median")
        top = float(max(shock_percent.max(), final_percent.max(), 1e-9))
        axis.plot([0, top], [0, top], color="grey", linestyle="--", linewidth=1,
                  label="final move = shock")
    axis.set_xlabel("initial shock: index fall from the start (%)")
    axis.set_ylabel("final move: lowest mark or liquidation fill (%)")
    axis.set_title(f"{title}: cascade amplification")
    axis.legend(loc="upper left", fontsize=8)
    axis.grid(alpha=0.3)
    return figure


def _binned_quantiles(x: np.ndarray, y: np.ndarray, max_groups: int = 25, bins: int = 12):
    """(centres, [q10, q25, q50, q75, q90] per group): by distinct x when they are few, else by
    quantile bins of x."""
    distinct = np.unique(x)
    if len(distinct) <= max_groups:
        groups = [(value, y[x == value]) for value in distinct]
    else:
        edges = np.unique(np.quantile(x, np.linspace(0, 1, bins + 1)))
        index = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(edges) - 2)
        groups = [(float(x[index == k].mean()), y[index == k]) for k in range(len(edges) - 1)
                  if (index == k).any()]
    centres = [float(c) for c, _ in groups]
    bands = [np.quantile(values, [0.1, 0.25, 0.5, 0.75, 0.9]).tolist() for _, values in groups]
    return centres, bands


def _fund_fan(plt, data: dict, params: tuple[str, ...], title: str):
    by_path: dict[str, list[np.ndarray]] = defaultdict(list)
    for name, fund_path_quote, start_quote in zip(data["path"], data["fund_path_quote"],
                                                  data["insurance_fund_start_quote"]):
        if fund_path_quote and start_quote:
            by_path[name].append(np.asarray(fund_path_quote, dtype=float) * 100.0 / start_quote)
    names = list(by_path)[:4] or ["(no run with a fund)"]
    figure, axes = plt.subplots(1, len(names), figsize=(5.2 * len(names), 4.4),
                                constrained_layout=True, squeeze=False)
    for axis, name in zip(axes[0], names):
        paths = by_path.get(name, [])
        if paths:
            length = max(len(p) for p in paths)
            grid = np.full((len(paths), length), np.nan)
            for k, p in enumerate(paths):
                grid[k, :len(p)] = p
            steps = np.arange(length)
            q = np.nanquantile(grid, [0.05, 0.25, 0.5, 0.75, 0.95], axis=0)
            axis.fill_between(steps, q[0], q[4], color="tab:green", alpha=0.15, label="5-95%")
            axis.fill_between(steps, q[1], q[3], color="tab:green", alpha=0.35, label="25-75%")
            axis.plot(steps, q[2], color="tab:green", label="median")
            axis.legend(loc="lower left", fontsize=8)
        axis.set_ylim(bottom=0)
        axis.set_xlabel("step")
        axis.set_ylabel("insurance fund (% of its start)")
        axis.set_title(f"{name}: {len(paths)} runs")
        axis.grid(alpha=0.3)
    figure.suptitle(f"{title}: the insurance fund's path")
    return figure
