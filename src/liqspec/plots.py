"""The plots ``liqspec simulate`` draws from a cascade run (display only: floats start here).

* ``price_path.png``: per market, the exogenous index and the mark through the run, with the
  notional liquidated at each step as bars on a second axis;
* ``insurance_fund.png``: the insurance fund after each step, with auto-deleveraging and written-
  off bad debt marked when there is any;
* ``liquidation_map.png``: before the shock, the notional that would be liquidated at each price
  level (LIQ-CASCADE-6), bucketed, with the starting mark and the crash's lowest index marked.

Figures are drawn on matplotlib's Agg canvas through :class:`matplotlib.figure.Figure`, never
through ``pyplot``: no display is needed, no global backend is switched, and nothing is left open.
Integers from the run become floats only here, to be drawn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from liqspec.reference.cascade import Event, StepRecord, Summary, liquidation_map
from liqspec.reference.state import State
from liqspec.reference.units import from_units
from liqspec.display import group_digits
from liqspec.price_view import price_view



class CascadeRecord(Protocol):
    """What the plots read of a cascade run: its events, its step records and its summary, never
    its final venue (a ``CascadeResult``, or a bulk run's :class:`RunRecord`)."""

    @property
    def events(self) -> Sequence[Event]: ...

    @property
    def steps(self) -> Sequence[StepRecord]: ...

    @property
    def summary(self) -> Summary | None: ...


@dataclass(frozen=True)
class RunRecord:
    """A cascade run as the plots read it, where no final venue is kept (a bulk run)."""

    events: Sequence[Event]
    steps: Sequence[StepRecord]
    summary: Summary | None


#: colours (colour-blind safe, Okabe-Ito)
INDEX_COLOUR = "#7f7f7f"
MARK_COLOUR = "#0072B2"
LIQUIDATED_COLOUR = "#D55E00"
FUND_COLOUR = "#009E73"
ADL_COLOUR = "#CC79A7"
WRITE_OFF_COLOUR = "#000000"
LONG_COLOUR = "#D55E00"
SHORT_COLOUR = "#56B4E9"

DPI = 120
#: how many price buckets the liquidation map groups its levels into (at most)
MAP_BUCKETS = 60


# -- units -----------------------------------------------------------------------------------------

def _scale(units: int, decimals: int) -> float:
    return units / 10**decimals


def _compact(value: float, _position: object = None) -> str:
    """Axis numbers people read at a glance: 1.2M, 350k, 12.5."""
    magnitude = abs(value)
    for threshold, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if magnitude >= threshold:
            return f"{value / threshold:.3g}{suffix}"
    return f"{value:.4g}"


def _price_text(value: float, decimals: int) -> str:
    """A price as people write it: thousands separators, at most the market's decimals, no
    trailing zeros (50,000 or 2,999.5)."""
    text = f"{value:,.{max(decimals, 0)}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _price_axis(decimals: int) -> FuncFormatter:
    return FuncFormatter(lambda value, _position: _price_text(value, decimals))


def _time_axis(seconds: Sequence[int]) -> tuple[list[float], str, float]:
    """Step times in the unit that reads best for the run's length: (times, label, unit s)."""
    span = max(seconds, default=0)
    unit, name = (3600, "hours") if span > 3 * 3600 else (60, "minutes") if span > 180 else (1, "s")
    return [t / unit for t in seconds], f"time ({name})", unit


def _step_width(result: CascadeRecord, unit_s: float) -> float:
    """One step on the time axis (a path has at least one step; one step is drawn 1 wide)."""
    steps = result.steps
    return (steps[1].time_s - steps[0].time_s) / unit_s if len(steps) > 1 else 1.0


def _save(figure: Figure, path: Path) -> Path:
    FigureCanvasAgg(figure)
    # no "Software" key: the bytes do not depend on the matplotlib version string
    figure.savefig(path, dpi=DPI, metadata={"Software": None})
    return path


# -- price path ------------------------------------------------------------------------------------

def liquidated_notional_by_step(result: CascadeRecord, market_id: str) -> list[int]:
    """Quote notional of the liquidation fills (book and backstop) in ``market_id`` at each step,
    counted as the cascade counts them for ``StepRecord.liquidated_notional_quote``."""
    per_step = [0] * len(result.steps)
    for event in result.events:
        if (event.kind in ("liquidation_fill", "backstop") and event.market == market_id
                and event.price_ticks and 0 <= event.step < len(per_step)):
            per_step[event.step] += abs(event.quote)
    return per_step


def lowest_mark_by_step(result: CascadeRecord, market_id: str, highest: bool = False
                        ) -> list[int]:
    """The lowest mark each step reached (``highest``: the highest, which an inverse market's
    view shows as its lowest venue price): its rounds move the mark (``mark`` events), and the
    step record keeps only where it ended."""
    pick = max if highest else min
    lowest = [pick(r.index_ticks[market_id], r.mark_ticks[market_id]) for r in result.steps]
    for event in result.events:
        if event.kind == "mark" and event.market == market_id and event.price_ticks is not None:
            lowest[event.step] = pick(lowest[event.step], event.price_ticks)
    return lowest


def plot_price_path(result: CascadeRecord, state: State, path: Path, title: str = "") -> Path:
    """Index and mark per step for each market, liquidated notional per step as bars."""
    profile = state.profile
    markets = sorted(result.steps[0].index_ticks) if result.steps else []
    times, time_label, unit_s = _time_axis([r.time_s for r in result.steps])
    step_width = _step_width(result, unit_s)
    figure = Figure(figsize=(10, 1 + 3.6 * max(1, len(markets))), layout="constrained")
    axes = figure.subplots(max(1, len(markets)), 1, sharex=True, squeeze=False)[:, 0]
    for ax, market_id in zip(axes, markets):
        view = price_view(profile, market_id)  # an inverse market in the venue's price
        index = [view.value(r.index_ticks[market_id]) for r in result.steps]
        mark = [view.value(r.mark_ticks[market_id]) for r in result.steps]
        low = [view.value(p) for p in lowest_mark_by_step(result, market_id, view.inverse)]
        notional = [_scale(q, profile.quote_decimals)
                    for q in liquidated_notional_by_step(result, market_id)]

        bars = ax.twinx()
        bars.bar(times, notional, width=0.8 * step_width, color=LIQUIDATED_COLOUR, alpha=0.35,
                 label="liquidated notional (per step)")
        bars.set_ylabel(f"liquidated notional ({profile.quote_asset})", color=LIQUIDATED_COLOUR)
        bars.tick_params(axis="y", colors=LIQUIDATED_COLOUR)
        bars.yaxis.set_major_formatter(FuncFormatter(_compact))
        bars.set_ylim(0, max(notional, default=0) * 2.2 or 1)  # bars in the lower half
        ax.set_zorder(bars.get_zorder() + 1)  # lines over bars
        ax.patch.set_visible(False)

        single = len(times) == 1  # one step draws no line: show its point
        ax.plot(times, index, color=INDEX_COLOUR, linestyle="--", linewidth=1.5,
                marker="o" if single else None, label="index")
        ax.plot(times, mark, color=MARK_COLOUR, linewidth=2, marker="o", markersize=2.5,
                label="mark (end of step)")
        dips = [(t, lo) for t, lo, m in zip(times, low, mark) if lo < m]
        if dips:  # a round's fills took the mark lower than where the step ended
            ax.scatter([t for t, _ in dips], [lo for _, lo in dips], s=12, color=MARK_COLOUR,
                       marker="v", label="mark (lowest in step, when lower)")
        ax.set_ylabel(f"{market_id} price ({view.unit})")
        ax.yaxis.set_major_formatter(_price_axis(view.decimals))
        ax.grid(True, alpha=0.3)
        ax.set_title(market_id, loc="left", fontsize=10, fontweight="bold")
        handles, labels = ax.get_legend_handles_labels()
        bar_handles, bar_labels = bars.get_legend_handles_labels()
        ax.legend(handles + bar_handles, labels + bar_labels, loc="upper right", fontsize=9,
                  framealpha=0.9)
    axes[-1].set_xlabel(time_label)
    figure.suptitle(title or "Price path: index, mark and liquidations", fontsize=13)
    return _save(figure, path)


# -- insurance fund --------------------------------------------------------------------------------

def adl_notional_by_step(result: CascadeRecord) -> list[int]:
    """Quote value of the auto-deleveraging fills at each step (their cash legs)."""
    per_step = [0] * len(result.steps)
    for event in result.events:
        if event.kind == "adl_fill" and 0 <= event.step < len(per_step):
            per_step[event.step] += abs(event.quote)
    return per_step


def plot_insurance_fund(result: CascadeRecord, state: State, path: Path,
                        title: str = "") -> Path:
    """The fund after each step, its balance before the run and its minimum as lines; ADL volume
    and written-off bad debt per step as bars on a second axis when there are any."""
    profile = state.profile
    asset, decimals = profile.quote_asset, profile.quote_decimals
    summary = result.summary
    times, time_label, unit_s = _time_axis([r.time_s for r in result.steps])
    step_width = _step_width(result, unit_s)
    fund = [_scale(r.insurance_fund_quote, decimals) for r in result.steps]
    start = _scale(summary.insurance_fund_start_quote, decimals) if summary else None

    figure = Figure(figsize=(10, 4.8), layout="constrained")
    ax = figure.subplots()
    adl = [_scale(q, decimals) for q in adl_notional_by_step(result)]
    written_off = [_scale(r.written_off_quote, decimals) for r in result.steps]
    if any(adl) or any(written_off):
        bars = ax.twinx()
        both = any(adl) and any(written_off)
        width = (0.4 if both else 0.8) * step_width
        shift = width / 2 if both else 0.0  # side by side when a step has both
        if any(adl):
            bars.bar([t - shift for t in times], adl, width=width, color=ADL_COLOUR, alpha=0.7,
                     label="ADL volume per step (at fill value)")
        if any(written_off):
            bars.bar([t + shift for t in times], written_off, width=width,
                     color=WRITE_OFF_COLOUR, alpha=0.6, label="bad debt written off per step")
        what = "ADL / bad debt" if both else "ADL volume" if any(adl) else "bad debt"
        bars.set_ylabel(f"{what} per step ({asset})")
        bars.yaxis.set_major_formatter(FuncFormatter(_compact))
        bars.set_ylim(0, max(adl + written_off) * 2.2)
        ax.set_zorder(bars.get_zorder() + 1)
        ax.patch.set_visible(False)
    else:
        bars = None

    # each step's record is the fund after the step, drawn from the step's start to the next
    ax.step(times, fund, where="post", color=FUND_COLOUR, linewidth=2,
            label="insurance fund (after each step)")
    ax.fill_between(times, fund, step="post", color=FUND_COLOUR, alpha=0.12)
    if summary is not None:
        def exact(amount: int) -> str:
            return group_digits(from_units(amount, decimals))

        ax.axhline(_scale(summary.insurance_fund_start_quote, decimals), color=INDEX_COLOUR,
                   linestyle=":", linewidth=1,
                   label=f"start: {exact(summary.insurance_fund_start_quote)} {asset}")
        if summary.insurance_fund_min_quote < summary.insurance_fund_start_quote:
            ax.axhline(_scale(summary.insurance_fund_min_quote, decimals),
                       color=LIQUIDATED_COLOUR, linestyle="--", linewidth=1,
                       label=f"minimum: {exact(summary.insurance_fund_min_quote)} {asset}")
    ax.set_ylim(bottom=0, top=max(fund + ([start] if start else []), default=0) * 1.15 or 1)
    ax.set_ylabel(f"insurance fund ({asset})")
    ax.set_xlabel(time_label)
    ax.yaxis.set_major_formatter(FuncFormatter(_compact))
    ax.grid(True, alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    if bars is not None:
        bar_handles, bar_labels = bars.get_legend_handles_labels()
        handles, labels = handles + bar_handles, labels + bar_labels
    # above the plot: a fund near zero, or bars, would hide under a legend inside it
    ax.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 1.0),
              ncols=min(len(handles), 3), fontsize=9, frameon=False)
    figure.suptitle(title or "Insurance fund through the cascade", fontsize=13)
    return _save(figure, path)


# -- liquidation map -------------------------------------------------------------------------------

def nice_width_ticks(span_ticks: int, buckets: int) -> int:
    """The smallest width of 1, 2, 2.5 or 5 times a power of ten ticks (a whole number) that
    covers ``span_ticks`` in at most ``buckets`` buckets: bucket edges fall on round prices."""
    raw = max(1, -(-span_ticks // buckets))  # round up: at most ``buckets`` buckets
    power = 1
    while True:
        for tenths in (10, 20, 25, 50):
            if tenths * power % 10 == 0 and tenths * power // 10 >= raw:
                return tenths * power // 10
        power *= 10


def bucket_levels(levels: Sequence[tuple[int, int]], width_ticks: int) -> dict[int, int]:
    """Sum ``(price_ticks, notional_quote)`` levels into buckets ``[k * width, (k + 1) * width)``:
    bucket start -> notional, exactly (integers)."""
    sums: dict[int, int] = {}
    for price, notional in levels:
        start = price // width_ticks * width_ticks
        sums[start] = sums.get(start, 0) + notional
    return sums


def plot_liquidation_map(state: State, config: Any, path: Path, title: str = "",
                         result: CascadeRecord | None = None,
                         levels_by_market: Mapping[str, list[tuple[int, int]]] | None = None
                         ) -> Path:
    """Per market: before the shock, the notional liquidated at each price (LIQ-CASCADE-6),
    bucketed, longs (levels at or below the starting mark) and shorts (above) stacked, with the
    starting mark, the path's lowest index and the span the path sweeps marked; with ``result``,
    what the run actually liquidated is set beside what the map alone predicts.
    ``levels_by_market``: the map's levels when already computed (a book held as arrays), else
    ``liquidation_map(state, market)``."""
    profile = state.profile
    asset = profile.quote_asset

    def to_quote(amount: int) -> float:
        return _scale(amount, profile.quote_decimals)

    markets = sorted(config.path.index_ticks)
    figure = Figure(figsize=(10, 1 + 3.8 * len(markets)), layout="constrained")
    axes = figure.subplots(len(markets), 1, squeeze=False)[:, 0]
    for ax, market_id in zip(axes, markets):
        # every price below in the view's ticks: an inverse market's in the venue's price, in
        # which its contract longs are the levels below the start, as a linear market's longs
        view = price_view(profile, market_id)
        decimals = view.decimals

        def to_price(ticks: int) -> float:
            return _scale(ticks, decimals)

        def price_text(ticks: int) -> str:
            return _price_text(to_price(ticks), decimals)

        start_ticks = view.ticks(state.marks[market_id])
        path_ticks = [view.ticks(p) for p in config.path.index_ticks[market_id]]
        low_ticks, high_ticks = min(path_ticks), max(path_ticks)
        levels = [(view.ticks(p), n) for p, n in
                  (liquidation_map(state, market_id) if levels_by_market is None
                   else levels_by_market[market_id])]
        prices = [p for p, _ in levels] + [low_ticks, high_ticks, start_ticks]
        width = nice_width_ticks(max(prices) - min(prices), MAP_BUCKETS)
        # a long is liquidated as the price falls to its level, a short as it rises to it
        longs = bucket_levels([lv for lv in levels if lv[0] <= start_ticks], width)
        shorts = bucket_levels([lv for lv in levels if lv[0] > start_ticks], width)
        starts = sorted(set(longs) | set(shorts))
        long_heights = [to_quote(longs.get(b, 0)) for b in starts]
        short_heights = [to_quote(shorts.get(b, 0)) for b in starts]
        edges = [to_price(b) for b in starts]
        bar_width = to_price(width) * 0.9
        ax.bar(edges, long_heights, width=bar_width, align="edge", color=LONG_COLOUR,
               zorder=3, label="longs (liquidated as the price falls)")
        ax.bar(edges, short_heights, bottom=long_heights, width=bar_width, align="edge",
               color=SHORT_COLOUR, zorder=3, label="shorts (liquidated as the price rises)")
        ax.axvspan(to_price(low_ticks), to_price(high_ticks), color="#F0E442", alpha=0.3,
                   zorder=1, label="range of the index path")
        ax.axvline(to_price(start_ticks), color=MARK_COLOUR, linewidth=2, zorder=4,
                   label=f"starting mark {price_text(start_ticks)}")
        if low_ticks < start_ticks:  # a crash: where it bottoms out
            ax.axvline(to_price(low_ticks), color="#000000", linestyle="--", linewidth=1.5,
                       zorder=4, label=f"lowest index {price_text(low_ticks)}")
        if high_ticks > start_ticks:  # a squeeze: where it tops out
            ax.axvline(to_price(high_ticks), color="#000000", linestyle="-.", linewidth=1.5,
                       zorder=4, label=f"highest index {price_text(high_ticks)}")
        if result is not None and result.summary is not None and not view.inverse:
            # the summary keeps the model's lowest mark: an inverse market's venue high
            low_mark = result.summary.lowest_mark_ticks.get(market_id)
            if low_mark is not None and low_mark < low_ticks:
                ax.axvline(to_price(low_mark), color=MARK_COLOUR, linestyle=":", linewidth=1.5,
                           zorder=4, label=f"lowest mark {price_text(low_mark)}")

        in_range = sum(n for p, n in levels if low_ticks <= p <= high_ticks)
        total = sum(n for _, n in levels)
        note = (f"at stake within the index path's range: {_compact(to_quote(in_range))} "
                f"of {_compact(to_quote(total))} {asset}")
        if result is not None:
            done = sum(liquidated_notional_by_step(result, market_id))
            note += f"\nliquidated in the run (at fill prices): {_compact(to_quote(done))} {asset}"
        ax.text(0.01, 0.97, note, transform=ax.transAxes, va="top", ha="left", fontsize=9,
                zorder=5, bbox={"facecolor": "white", "alpha": 0.9, "edgecolor": "#cccccc"})
        ax.set_title(f"{market_id}: notional by liquidation price, in buckets of "
                     f"{price_text(width)} "
                     + (f"({view.unit})" if view.inverse else view.unit), loc="left",
                     fontsize=10, fontweight="bold")
        ax.set_xlabel(f"{market_id} liquidation price ({view.unit})")
        ax.set_ylabel(f"notional at stake ({asset})")
        ax.xaxis.set_major_formatter(_price_axis(decimals))
        ax.xaxis.set_major_locator(MaxNLocator(10, steps=[1, 2, 2.5, 5, 10]))
        ax.yaxis.set_major_formatter(FuncFormatter(_compact))
        stacked = [a + b for a, b in zip(long_heights, short_heights)]
        ax.set_ylim(0, max(stacked, default=0) * 1.45 or 1)  # room for the note and legend
        ax.grid(True, axis="y", alpha=0.3)
        ax.legend(loc="upper right", fontsize=9, framealpha=0.9)
    figure.suptitle(title or "Liquidation map before the shock", fontsize=13)
    return _save(figure, path)


def render_all(result: CascadeRecord, state: State, config: Any, out_dir: Path,
               name: str | None = None,
               levels_by_market: Mapping[str, list[tuple[int, int]]] | None = None
               ) -> Mapping[str, Path]:
    """Draw the three plots into ``out_dir``; ``state`` is the state before the run
    (``levels_by_market``: see :func:`plot_liquidation_map`)."""
    suffix = f" ({name})" if name else ""
    return {
        "price_path": plot_price_path(result, state, out_dir / "price_path.png",
                                      f"Price path: index, mark and liquidations{suffix}"),
        "insurance_fund": plot_insurance_fund(result, state, out_dir / "insurance_fund.png",
                                              f"Insurance fund through the cascade{suffix}"),
        "liquidation_map": plot_liquidation_map(state, config, out_dir / "liquidation_map.png",
                                                f"Liquidation map before the shock{suffix}",
                                                result=result, levels_by_market=levels_by_market),
    }
