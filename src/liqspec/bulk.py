"""Large books on the compiled engine: a scenario read in columns, a run kept as arrays, the
trace as a pyarrow table.

Three lines from a scenario file (its ``[positions]`` a CSV or Parquet file of any size, or a
``[synthetic]`` book) to the event trace as a table::

    from liqspec.bulk import load_bulk_scenario, run
    crash = run(load_bulk_scenario("crash.toml"))
    events = crash.events_table()          # pyarrow.Table; .to_pandas() for a DataFrame

``crash.summary`` and ``crash.steps`` are the reference's Summary and StepRecord objects (equal
to what :func:`liqspec.reference.cascade.run_cascade` gives on the same scenario); the trace is
never built as Python objects: :meth:`BulkRun.event_batches` formats it from the engine's int64
columns a chunk at a time (:mod:`liqspec.trace_stream` writes those chunks to disk).

Without a scenario file, from a positions file and a config::

    from liqspec.positions_bulk import load_book
    book = load_book("book.parquet", profile, marks, insurance_fund_quote=fund)
    crash = run_book(book, config)

The scenario is read as :func:`liqspec.scenario.load_scenario` reads it (the same checks and
errors) except that its accounts go to columns (:mod:`liqspec.positions_bulk`) instead of a
reference State; the reference engine keeps the readable path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from liqspec.reference.cascade import CascadeConfig, Event, StepRecord, Summary
from liqspec.reference.profile import Profile
from liqspec.reference.state import HOLDERS, State, new_state

from .positions import PositionsError
from .positions_bulk import BookArrays, build_book, columns_of_rows, read_columns
from .scenario import (ScenarioError, _converted, _synthetic, default_scenario, load_scenario,
                       positions_file, scenario_parts)
from .statefile import check_outside_supply

if TYPE_CHECKING:  # the compiled engine is imported where a run starts, not with this module
    from liqspec.fast.cascade import ArrayCascadeResult

__all__ = ["BulkScenario", "BulkRun", "parse_bulk_scenario", "load_bulk_scenario",
           "default_bulk_scenario", "run", "run_book", "EVENT_SCHEMA", "CHUNK_EVENTS"]

#: events formatted per chunk (the trace's text never exists whole)
CHUNK_EVENTS = 1 << 20

#: the trace table's columns: events.csv's, in its order (the Event fields)
EVENT_SCHEMA = pa.schema([
    ("step", pa.int64()), ("time_s", pa.int64()), ("round", pa.int64()), ("kind", pa.string()),
    ("account", pa.string()), ("market", pa.string()), ("lots", pa.int64()),
    ("price_ticks", pa.int64()), ("quote", pa.int64()), ("rule_id", pa.string()),
    ("detail", pa.string()),
])


@dataclass(frozen=True)
class BulkScenario:
    """A scenario with its accounts as the engine's arrays (``book``); ``marks`` the start
    prices, ``seed`` the synthetic generator's (None for a positions file)."""

    name: str
    description: str
    profile: Profile
    marks: dict
    book: BookArrays
    config: CascadeConfig
    seed: int | None

    @property
    def state(self) -> State:
        """The venue before the run without its accounts: profile and marks (what the summary
        table and files read)."""
        return new_state(self.profile, self.marks)


def parse_bulk_scenario(document: dict, base_dir: str | Path | None = None) -> BulkScenario:
    """:func:`liqspec.scenario.parse_scenario`, the accounts in columns: the same checks and
    the same ScenarioErrors, in the same order."""
    parts = scenario_parts(document)
    top, profile, start = parts.top, parts.profile, parts.start
    if "synthetic" in top:
        seed, rows = _synthetic(top["synthetic"], profile, start, "synthetic")
        columns, source = columns_of_rows(rows, profile), "synthetic"
    else:
        seed = None
        file, where = positions_file(top["positions"],
                                     Path(base_dir) if base_dir is not None else None,
                                     "positions")
        try:
            columns = read_columns(file, profile)
        except PositionsError as error:
            raise ScenarioError(where, str(error), error.code) from error
        source = "positions.file"
    wallets = columns.wallet_quote[columns.accounts().first_row]
    _converted(check_outside_supply, parts.insurance_fund_quote, wallets.tolist(),
               "insurance_fund", profile.quote_decimals)
    try:
        book = build_book(profile, start, columns, book_account=parts.book_account,
                          insurance_fund_quote=parts.insurance_fund_quote,
                          backstop_vault=parts.backstop_vault)
    except PositionsError as error:
        raise ScenarioError(source, str(error), error.code) from error
    return BulkScenario(parts.name, parts.description, profile, dict(start), book, parts.config,
                        seed)


def load_bulk_scenario(path: str | Path) -> BulkScenario:
    """Read a scenario file (:func:`liqspec.scenario.load_scenario`) into columns."""
    return load_scenario(path, parse_bulk_scenario)


def default_bulk_scenario() -> BulkScenario:
    """The embedded default scenario, in columns."""
    return default_scenario(parse_bulk_scenario)


@dataclass(eq=False)
class BulkRun:
    """A cascade run on the compiled engine, kept as arrays (:class:`~liqspec.fast.cascade.
    ArrayCascadeResult` in ``arrays``): the step records and summary as objects, the trace as
    int64 columns, formatted on demand."""

    scenario: BulkScenario
    arrays: ArrayCascadeResult = field(repr=False)
    _names: pa.Array | None = field(default=None, repr=False)

    def account_names(self) -> pa.Array:
        """Row i's account ID at i, then the holders (built once)."""
        if self._names is None:
            self._names = _account_names(self.scenario.book)
        return self._names

    @property
    def steps(self) -> list[StepRecord]:
        return self.arrays.steps

    @property
    def summary(self) -> Summary:
        return self.arrays.summary

    @property
    def events(self) -> list[Event]:
        """The trace as the reference's Event objects (built now: for small runs)."""
        return self.arrays.events()

    @property
    def event_count(self) -> int:
        return len(self.arrays.trace["step"])

    def event_batches(self, chunk_events: int = CHUNK_EVENTS) -> Iterator[pa.RecordBatch]:
        """The trace as record batches of :data:`EVENT_SCHEMA`, ``chunk_events`` at a time."""
        names = self.account_names()
        trace = self.arrays.trace
        for start in range(0, max(self.event_count, 1), chunk_events):
            if start >= self.event_count:
                return
            chunk = {key: value[start:start + chunk_events] for key, value in trace.items()}
            yield _event_batch(chunk, names, self.arrays.market_ids,
                               self.scenario.config.path.step_seconds)

    def plain_text(self) -> bool:
        """Whether every text of the trace is plain (:func:`liqspec.trace_stream.is_plain`):
        checked once on what it is built from (account and holder names, markets, kinds,
        rules, the fixed detail texts), not per event."""
        from liqspec.fast import _engine
        from liqspec.fast.cascade import _UNRESOLVED_DETAIL
        from liqspec.trace_stream import is_plain

        words = [*self.arrays.market_ids, *_engine.EVENT_KIND_NAMES, *_engine.EVENT_RULE_IDS,
                 _UNRESOLVED_DETAIL, "counterparty ", " -> "]
        return (is_plain(pa.array(words, pa.string()))
                and is_plain(self.account_names()))

    def events_table(self) -> pa.Table:
        """The whole trace as one pyarrow Table (``.to_pandas()`` for a DataFrame)."""
        return pa.Table.from_batches(list(self.event_batches()), schema=EVENT_SCHEMA)


def run_book(book: BookArrays, config: CascadeConfig, *, name: str = "",
             on_step: Callable[[int, int, int], None] | None = None) -> BulkRun:
    """Run ``config``'s price path over ``book`` on the compiled engine."""
    scenario = BulkScenario(name, "", book.profile, dict(book.marks), book, config, None)
    return run(scenario, on_step=on_step)


def run(scenario: BulkScenario,
        on_step: Callable[[int, int, int], None] | None = None) -> BulkRun:
    """The scenario's cascade on the compiled engine (:func:`liqspec.fast.cascade_arrays`);
    ``on_step(done, total, accounts liquidated so far)`` after each step."""
    from liqspec.fast import cascade_arrays

    result = cascade_arrays(**scenario.book.cascade_kwargs(), config=scenario.config,
                            on_step=on_step)
    return BulkRun(scenario, result)


# -- the trace as text ------------------------------------------------------------------------

def _account_names(book: BookArrays) -> pa.Array:
    """Row i's account ID at i, then the holders: holder h (the engine's -h-1) at N + h."""
    return pa.array(list(book.account_ids) + list(HOLDERS), pa.string())


def _names(names: pa.Array, holder: np.ndarray, none: int | None = None) -> pa.Array:
    """Account or holder names of the engine's codes (``none``: the code of no account)."""
    n_rows = len(names) - len(HOLDERS)
    index = np.where(holder >= 0, holder, n_rows - holder - 1)
    if none is not None:
        missing = holder == none
        index = pa.array(np.where(missing, 0, index), mask=missing)
    return names.take(index)


def _socialize_details(trace: dict, charges: np.ndarray) -> pa.Array:
    """The details of the trace's charges of socialized loss ("" elsewhere): few rows, one per
    round, market and side, so written one by one."""
    from liqspec.reference.cascade import charge_detail

    out = np.full(len(charges), "", dtype=object)
    for j in np.flatnonzero(charges):
        out[j] = charge_detail(int(trace["detail_party"][j]),
                                   int(trace["detail_destination"][j]))
    return pa.array(out, pa.string())


def _event_batch(trace: dict, names: pa.Array, market_ids, step_seconds: int) -> pa.RecordBatch:
    from liqspec.fast import _engine
    from liqspec.fast.cascade import _UNRESOLVED_DETAIL

    n = len(trace["step"])
    kinds = pa.array(list(_engine.EVENT_KIND_NAMES), pa.string())
    rules = pa.array(list(_engine.EVENT_RULE_IDS), pa.string())
    markets = pa.array(list(market_ids), pa.string())
    market = trace["market"]
    no_market = market < 0
    detail_kind = trace["detail"]
    named = (detail_kind == 1) | (detail_kind == 2)
    first = _names(names, np.where(named, trace["detail_party"], 0))
    second = _names(names, np.where(detail_kind == 2, trace["detail_destination"], 0))
    charges = detail_kind == 4
    detail = pc.if_else(
        pa.array(detail_kind == 1), pc.binary_join_element_wise("counterparty ", first, ""),
        pc.if_else(pa.array(detail_kind == 2),
                   pc.binary_join_element_wise(first, " -> ", second, ""),
                   pc.if_else(pa.array(detail_kind == 3), _UNRESOLVED_DETAIL,
                              _socialize_details(trace, charges))))
    return pa.RecordBatch.from_arrays([
        pa.array(trace["step"]), pa.array(trace["step"] * step_seconds), pa.array(trace["round"]),
        kinds.take(trace["kind"]), _names(names, trace["account"], _engine.EV_NONE_VALUE),
        markets.take(pa.array(np.where(no_market, 0, market), mask=no_market)),
        pa.array(trace["lots"]), pa.array(trace["price"], mask=trace["has_price"] == 0),
        pa.array(trace["quote"]), rules.take(trace["rule"]), detail,
    ], schema=EVENT_SCHEMA) if n else pa.RecordBatch.from_pylist([], schema=EVENT_SCHEMA)


# -- what the plots read ----------------------------------------------------------------------

def plot_events(crash: BulkRun) -> list[Event]:
    """The trace reduced to what :mod:`liqspec.plots` reads from it, one event per step and
    market (and kind; two for the marks): the liquidation fills' and backstop fills' notional (their |quote| summed,
    those with a price), the lowest and the highest mark of the step's mark events, the ADL
    fills' value. The plots drawn from these are the plots drawn from the whole trace."""
    from liqspec.fast import _engine

    trace = crash.arrays.trace
    kinds = list(_engine.EVENT_KIND_NAMES)
    market_ids = crash.arrays.market_ids
    seconds = crash.scenario.config.path.step_seconds
    step, kind, market = trace["step"], trace["kind"], trace["market"]
    priced = (trace["has_price"] != 0) & (trace["price"] != 0)
    out: list[Event] = []

    width = len(market_ids) + 1  # a (step, market) pair as one key; market -1 is 0

    def grouped(mask: np.ndarray, values: np.ndarray, reduce) -> list[tuple[int, int, int]]:
        """(step, market, reduced value) per (step, market) of the masked events."""
        if not mask.any():
            return []
        key = step[mask] * width + market[mask] + 1
        order = np.argsort(key, kind="stable")
        key = key[order]
        starts = np.flatnonzero(np.diff(key, prepend=key[0] - 1))
        totals = reduce.reduceat(values[mask][order], starts)
        return [(k // width, k % width - 1, v)
                for k, v in zip(key[starts].tolist(), totals.tolist())]

    fills = np.isin(kind, [kinds.index("liquidation_fill"), kinds.index("backstop")]) & priced
    for s, m, total in grouped(fills, np.abs(trace["quote"]), np.add):
        out.append(Event(s, s * seconds, 0, "liquidation_fill", None, market_ids[m], 0, 1, total))
    marks = (kind == kinds.index("mark")) & (trace["has_price"] != 0) & (market >= 0)
    # the lowest and the highest: an inverse market's plot shows its highest model mark as its
    # lowest venue price (liqspec.price_view)
    for reduce in (np.minimum, np.maximum):
        for s, m, extreme in grouped(marks, trace["price"], reduce):
            out.append(Event(s, s * seconds, 0, "mark", None, market_ids[m], 0, extreme, 0))
    adl = kind == kinds.index("adl_fill")
    by_step = np.zeros(int(step.max()) + 1 if len(step) else 0, dtype=np.int64)  # over markets
    for s, _, total in grouped(adl, np.abs(trace["quote"]), np.add):
        by_step[s] += total
    for s in np.flatnonzero(by_step).tolist():
        out.append(Event(s, s * seconds, 0, "adl_fill", None, None, 0, None, int(by_step[s])))
    return out


def liquidation_levels(book: BookArrays, market_id: str) -> list[tuple[int, int]]:
    """:func:`liqspec.reference.cascade.liquidation_map` of the book before the run, from its
    arrays (the compiled liquidation-price kernel, equal to the reference's): for every trader
    holding the market, its liquidation price and the notional there, summed by price."""
    from liqspec.fast import _engine, _kernels
    from liqspec.fast.pack import tables_for

    tables = tables_for(book.profile)
    k = tables.column(market_id)
    rows = np.flatnonzero((book.role == _engine.ROLES["trader"]) & (book.lots[:, k] != 0))
    if not len(rows):
        return []
    marks = np.array([book.marks.get(m, 1) for m in tables.market_ids], dtype=np.int64)
    lots = np.ascontiguousarray(book.lots[rows])
    at_entry = (book.isolated[rows] != -1) & tables.maintenance_at_entry  # LIQ-TIER-6
    ticks, _, _, code = _kernels.liquidation_prices(
        book.quote[rows], lots, marks, tables, k, cost=np.ascontiguousarray(book.cost[rows]),
        at_entry=at_entry)
    ticks = np.asarray(ticks)
    side = np.sign(lots[:, k])
    mark = marks[k]
    crossed = np.where(side > 0, mark < ticks, mark > ticks)
    keep = (np.asarray(code) == 0) & (ticks > 0) & ~crossed
    if not keep.any():
        return []
    prices, held = ticks[keep], np.abs(lots[keep, k])
    value_per_lot_tick = int(tables.value_per_lot_tick[k])
    estimate = held.astype(np.float64) * prices * value_per_lot_tick
    if estimate.sum() >= float(2 ** 62):  # beyond int64 sums: Python's integers
        by_price: dict[int, int] = {}
        for n, price in zip(held.tolist(), prices.tolist()):
            by_price[price] = by_price.get(price, 0) + n * price * value_per_lot_tick
        return sorted(by_price.items())
    order = np.argsort(prices, kind="stable")
    prices, notional = prices[order], (held * prices * value_per_lot_tick)[order]
    starts = np.flatnonzero(np.diff(prices, prepend=prices[0] - 1))
    return list(zip(prices[starts].tolist(), np.add.reduceat(notional, starts).tolist()))
