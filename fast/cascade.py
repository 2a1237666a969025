"""The cascade on the compiled engine (LIQ-CASCADE-*): ``run_cascade`` with the reference's
signature and an equal :class:`~liqspec.reference.cascade.CascadeResult` (trace events, step
records, summary and final state, compared with ``==``).

The state is packed once into an ``Engine`` (``liqspec.fast._engine``); every step's marks and books, every
round's processing order, every account's liquidation orders, deleveraging, backstop and
socialization, the trace and the running totals are computed there without the GIL. Python only
drives the steps (for ``progress``), calls ``after_round`` (the engine's changes are written back
into the state first, so the callback sees the reference's state at that point), and at the end
turns the engine's records into the reference's Event, StepRecord and Summary objects and writes
the final state back.

An error inside the run (an Overflow, or a rejection the reference does not catch) aborts it with
the reference's typed error, as the reference's run does; the input state is never touched.
"""

from __future__ import annotations

import copy
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from liqspec.reference.cascade import (CascadeConfig, CascadeResult, Event, StepRecord, Summary,
                                       _check_config, charge_detail, check_fund_history,
                                       check_share_vault)
from liqspec.reference.marks import MarkKind
from liqspec.reference.errors import MalformedState, ResultCode, UnknownAccount
from liqspec.reference.validation import valid_price
from liqspec.reference.state import BACKSTOP, HOLDERS, INSURANCE_FUND, LIQUIDITY, Account, State

from . import _engine
from .domain import int64_array, int64_scalar
from .operations import _engine_for, _error_for, _write_back, policies_of
from .pack import (OTHER_ROLE, AccountRows, EngineArrays, holder_balances, pack_marks, pack_rows,
                   tables_for)

__all__ = ["run_cascade", "cascade_arrays", "arrays_of", "ArrayCascadeResult"]

_UNRESOLVED_DETAIL = "liquidatable at the end of the path: the book could not take it"
#: the engine's code for a role outside ``_engine.ROLES`` (a hand-built state's)


def _events(engine: _engine.Engine, step_seconds: int) -> list[Event]:
    """The engine's trace as the reference's Event objects (built from int64 columns: one
    tolist per column instead of a tuple per event)."""
    ids, market_ids = engine.account_ids, engine.market_ids
    kinds, rules = _engine.EVENT_KIND_NAMES, _engine.EVENT_RULE_IDS
    trace = engine.cascade_trace()
    none = _engine.EV_NONE_VALUE
    holders = {-h - 1: name for h, name in enumerate(HOLDERS)}

    def name(holder: int) -> str:
        return ids[holder] if holder >= 0 else holders[holder]

    columns = [trace[c].tolist() for c in ("step", "round", "kind", "account", "market", "lots",
                                           "price", "has_price", "quote", "rule", "detail",
                                           "detail_party", "detail_destination")]
    out = []
    append = out.append
    for (step, round_, kind, account, market, lots, price, has_price, quote, rule, detail, party,
         destination) in zip(*columns):
        if detail == 1:
            text = f"counterparty {name(party)}"
        elif detail == 2:
            text = f"{name(party)} -> {name(destination)}"
        elif detail == 3:
            text = _UNRESOLVED_DETAIL
        elif detail == 4:
            text = charge_detail(party, destination)
        else:
            text = ""
        append(Event(step, step * step_seconds, round_, kinds[kind],
                     None if account == none else name(account),
                     None if market < 0 else market_ids[market], lots,
                     price if has_price else None, quote, rules[rule], text))
    return out


def _copy_state(state: State) -> State:
    """State.copy() without deepcopy's per-object bookkeeping: accounts hold only immutable
    values and two dicts of them, so one new Account and two dict copies each are a deep copy."""
    return State(profile=state.profile, marks=dict(state.marks),
                 accounts={aid: Account(a.account_id, a.quote, dict(a.positions),
                                        dict(a.cost_quote), a.isolated_market, a.role)
                           for aid, a in state.accounts.items()},
                 holders=dict(state.holders), journal=list(state.journal), seq=state.seq,
                 books=copy.deepcopy(state.books))


def _book_arrays(config: CascadeConfig, market_ids) -> tuple:
    column = {m: k for k, m in enumerate(market_ids)}
    m = len(market_ids)
    levels = np.zeros(m, dtype=np.int64)
    spacing = np.zeros(m, dtype=np.int64)
    lots_per_level = np.zeros(m, dtype=np.int64)
    for market_id, shape in config.books.items():
        k = column[market_id]
        levels[k], spacing[k], lots_per_level[k] = (shape.levels, shape.spacing_ppm,
                                                    shape.lots_per_level)
    cfg_cols = np.array([column[mid] for mid in sorted(config.path.index_ticks)], dtype=np.int64)
    return column, cfg_cols, levels, spacing, lots_per_level


def _check(code: int, what: str) -> None:
    if code == _engine.C_ORDER_MISMATCH_CODE:
        raise AssertionError("the index's processing order differs from the scan's")
    if code == _engine.C_ADL_MISMATCH_CODE:
        raise AssertionError("the deleveraging index's allocation differs from the scan's")
    if code != ResultCode.OK:
        raise _error_for(code, what)


def _drive(engine: _engine.Engine, config: CascadeConfig, column: dict, fund_start: int,
           progress, round_hook, mark_keys, on_step=None) -> tuple[list[StepRecord], Summary]:
    """Every step of the path on a set-up engine; ``round_hook(step, round)`` after each round
    (then rounds are driven one by one); ``on_step(done, total, accounts liquidated so far)``
    after each step. Returns the step records and the summary."""
    steps = []
    fund_min = fund_start
    rounds_total = liquidated_notional = adl_lots = written_off = 0
    total_steps = config.path.steps
    index = engine.marks.copy()
    for step in range(total_steps):
        for market_id, path in config.path.index_ticks.items():
            index[column[market_id]] = path[step]
        _check(engine.cascade_open_step(step, index), "cascade step")
        if round_hook is None:
            _check(engine.cascade_rounds(), "cascade round")
        else:
            rounds = 0
            while True:
                code, progressed = engine.cascade_round()
                if code == _engine.NO_DUE_CODE:
                    break
                _check(code, "cascade round")
                rounds += 1
                round_hook(step, rounds)
                if not progressed:
                    break
        rounds, step_notional, step_adl, step_written_off = engine.cascade_end_step()
        rounds_total += rounds
        liquidated_notional += step_notional
        adl_lots += step_adl
        written_off += step_written_off
        fund = int(engine.holders[1])
        fund_min = min(fund_min, fund)
        step_index = {mid: path[step] for mid, path in config.path.index_ticks.items()}
        steps.append(StepRecord(
            step, step * config.path.step_seconds, step_index,
            {mid: int(engine.marks[column[mid]]) for mid in mark_keys}, rounds,
            step_notional, fund, step_adl, step_written_off))
        if progress is not None:
            progress(step + 1, total_steps)
        if on_step is not None:
            on_step(step + 1, total_steps, engine.cascade_totals()["accounts_liquidated"])
    code, unresolved = engine.cascade_unresolved()
    _check(code, "cascade end")
    totals = engine.cascade_totals()
    lowest = {mid: totals["lowest"][column[mid]] for mid in config.path.index_ticks}
    summary = Summary(
        steps=total_steps, rounds=rounds_total,
        accounts_liquidated=totals["accounts_liquidated"],
        liquidation_fills=totals["liquidation_fills"],
        notional_liquidated_quote=liquidated_notional, lowest_mark_ticks=lowest,
        insurance_fund_start_quote=fund_start, insurance_fund_min_quote=fund_min,
        insurance_fund_end_quote=int(engine.holders[1]), adl_lots=adl_lots,
        adl_notional_quote=totals["adl_notional_quote"], bad_debt_quote=written_off,
        socialized_quote=totals["socialized_quote"], unresolved_accounts=unresolved)
    return steps, summary


def run_cascade(initial: State, config: CascadeConfig,
                progress: Callable[[int, int], None] | None = None,
                after_round: Callable[[State, int, int], None] | None = None, *,
                order: str = "index") -> CascadeResult:
    """LIQ-CASCADE-2 on the compiled engine; same arguments and result as
    :func:`liqspec.reference.cascade.run_cascade`.

    ``order`` picks how each round's processing order (LIQ-CASCADE-1) is found: ``index``
    (trigger-price heaps and a pointer sweep, O(candidates) per round), ``scan`` (every account
    every round, as the reference: the oracle) or ``verify`` (both, an AssertionError on any
    difference). All three give the same result."""
    state = _copy_state(initial)
    _check_config(state, config)
    market_ids = list(state.profile.markets)
    column, cfg_cols, levels, spacing, lots_per_level = _book_arrays(config, market_ids)
    engine = _engine_for(state, int(levels.max()) if len(market_ids) else 0)
    row = {a: i for i, a in enumerate(engine.account_ids)}
    engine.cascade_setup(cfg_cols, levels, spacing, lots_per_level, row[config.book_account],
                         -1 if config.backstop_vault is None else row[config.backstop_vault],
                         1 if config.mark_rule.kind == MarkKind.LAST_FILL else 0,
                         config.mark_rule.band_ppm, config.path.step_seconds, order,
                         fund_window_s=state.profile.adl_drawdown_window_s,  # LIQ-ADL-5
                         fund_history=config.fund_history)
    synced = 0

    def hook(step: int, round_: int) -> None:
        # the callback sees the state as the reference's run has it after this round
        nonlocal synced
        _write_back(state, engine, synced, marks=True)
        synced = engine.n_records
        after_round(state, step, round_)

    steps, summary = _drive(engine, config, column, state.holders[INSURANCE_FUND], progress,
                            None if after_round is None else hook, list(state.marks))
    _write_back(state, engine, synced, marks=True)
    result = CascadeResult(state, _events(engine, config.path.step_seconds), steps, summary)
    return result


# -- the cascade straight from numpy arrays ------------------------------------------------------

@dataclass(eq=False)
class ArrayCascadeResult:
    """What :func:`cascade_arrays` returns: the final venue as arrays (rows in ``account_ids``
    order, columns in ``market_ids`` order), the step records and summary (equal to the
    reference's), the trace as int64 columns (``trace``, see ``Engine.cascade_trace``) and, on
    demand, as the reference's Event objects (:meth:`events`)."""

    account_ids: tuple
    market_ids: tuple
    quote: np.ndarray
    lots: np.ndarray
    cost: np.ndarray
    marks: dict
    holders: dict
    seq: int
    steps: list
    summary: Summary
    trace: dict
    index_stats: dict
    _engine: object = field(repr=False, default=None)
    _step_seconds: int = 0

    def events(self) -> list[Event]:
        """The trace as the reference's Event objects (built now: about a microsecond each)."""
        return _events(self._engine, self._step_seconds)


def arrays_of(state: State) -> dict:
    """The keyword arguments of :func:`cascade_arrays` for a reference state (its books are not
    carried: a cascade rebuilds the books of its path's markets at every step)."""
    ids = sorted(state.accounts)
    rows = pack_rows((state.accounts[a] for a in ids), tables_for(state.profile))
    quote, lots, cost, role, isolated = rows.quote, rows.lots, rows.cost, rows.role, rows.isolated
    return {"profile": state.profile, "marks": dict(state.marks), "account_ids": ids,
            "quote": quote, "lots": lots, "cost": cost, "role": role, "isolated": isolated,
            "holders": dict(state.holders), "seq": state.seq}


def _own(value, what: str, shape: tuple) -> np.ndarray:
    """A checked int64 array the caller does not hold (the conversion's result, or a copy)."""
    array = int64_array(value, what, shape)
    return array.copy() if array is value else array


def cascade_arrays(profile, marks, account_ids, quote, lots, config: CascadeConfig, *,
                   cost=None, role=None, isolated=None, holders=None, seq: int = 0,
                   progress: Callable[[int, int], None] | None = None,
                   order: str = "index",
                   on_step: Callable[[int, int, int], None] | None = None
                   ) -> ArrayCascadeResult:
    """LIQ-CASCADE-2 from numpy arrays, without a ``State`` or any per-account Python object:
    the same step records, summary and trace as :func:`run_cascade` on the equal state (tested
    against the reference), at the cost of the arrays alone.

    ``account_ids`` sorted and unique (row order); ``quote`` int64[N]; ``lots`` and ``cost``
    int64[N, M] in the profile's market order (a nonzero lot is a position); ``role`` int8[N]
    (``liqspec.fast._engine.ROLES`` codes, default every row a trader); ``isolated`` int64[N]
    (market column, -1 cross); ``holders`` by name (default 0); ``marks`` by market id. The
    books of the path's markets are rebuilt at every step, as in the reference; no other
    market has a book. ``on_step(done, total, accounts liquidated so far)`` after each step
    (for a progress bar). The arrays are checked (liqspec.fast.domain: an integer outside int64,
    a float or bool array, a wrong shape each raise the reference's typed error) and copied into
    the engine, never changed."""
    tables = tables_for(profile)
    market_ids = tables.market_ids
    ids = tuple(account_ids)
    if any(a >= b for a, b in zip(ids, ids[1:])):
        raise MalformedState("account_ids must be sorted and unique (the reference's order)")
    n, m = len(ids), len(market_ids)
    # LIQ-DOMAIN-1: every array checked (dtype, range, shape); the engine changes the arrays it
    # is given, so it gets its own copy of each, never the caller's (one copy either way)
    quote = _own(quote, "quote", (n,))
    lots = _own(lots, "lots", (n, m))
    cost = np.zeros((n, m), dtype=np.int64) if cost is None else _own(cost, "cost", (n, m))
    if role is None:
        role = np.zeros(n, dtype=np.int8)
    else:
        role = int64_array(role, "role", (n,), contiguous=False)
        if not np.isin(role, [*_engine.ROLES.values(), OTHER_ROLE]).all():
            raise MalformedState(f"role must hold the codes of liqspec.fast._engine.ROLES "
                                 f"{dict(_engine.ROLES)} (or {OTHER_ROLE}: any other role)")
        role = role.astype(np.int8)
    if isolated is None:
        isolated = np.full(n, -1, dtype=np.int64)
    else:
        isolated = _own(isolated, "isolated", (n,))
        if ((isolated < -1) | (isolated >= m)).any():
            raise MalformedState(f"isolated must hold -1 (cross) or a market column in "
                                 f"0..{m - 1}")
    for market_id in marks:
        profile.market(market_id)  # raises UnknownMarket
    for holder in holders or {}:
        if holder not in HOLDERS:
            raise MalformedState(f"unknown holder {holder!r}; known: {', '.join(HOLDERS)}")
    seq = int64_scalar(seq, "seq")
    present = (lots != 0).astype(np.uint8)
    row = {config.book_account: None}
    if config.backstop_vault is not None:
        row[config.backstop_vault] = None
    for name in row:
        at = bisect_left(ids, name)
        if at == len(ids) or ids[at] != name:
            raise UnknownAccount(f"unknown account {name!r}")
        row[name] = at
    if set(config.path.index_ticks) != set(config.books):
        raise MalformedState("the price path and the books must name the same markets")
    for market_id in config.books:
        profile.market(market_id)
    if role[row[config.book_account]] != _engine.ROLES[LIQUIDITY]:
        raise MalformedState(f"book account {config.book_account!r} must have the liquidity role")
    if config.backstop_vault is not None and role[row[config.backstop_vault]] != \
            _engine.ROLES[BACKSTOP]:
        raise MalformedState(f"backstop vault {config.backstop_vault!r} must have the backstop "
                             f"role")
    check_share_vault(profile, config.backstop_vault)
    check_fund_history(profile, config.fund_history)
    holder_values = holder_balances(holders or {})
    for market_id in marks:
        valid_price(int64_scalar(marks[market_id], f"mark of {market_id}"), f"mark of {market_id}")
    mark_values = pack_marks(marks, tables, lots)
    column, cfg_cols, levels, spacing, lots_per_level = _book_arrays(config, market_ids)
    engine = _engine.Engine()
    engine.setup(EngineArrays(tables, AccountRows(ids, quote, lots, cost, present, role, isolated),
                              mark_values, holder_values, seq, policies_of(profile),
                              book_capacity=int(levels.max()) if m else 1))
    engine.cascade_setup(cfg_cols, levels, spacing, lots_per_level, row[config.book_account],
                         -1 if config.backstop_vault is None else row[config.backstop_vault],
                         1 if config.mark_rule.kind == MarkKind.LAST_FILL else 0,
                         config.mark_rule.band_ppm, config.path.step_seconds, order,
                         keep_journal=False,  # nothing is written back: the trace suffices
                         fund_window_s=profile.adl_drawdown_window_s,  # LIQ-ADL-5
                         fund_history=config.fund_history)
    steps, summary = _drive(engine, config, column, holder_values[1], progress, None,
                            [mid for mid in market_ids if mid in marks], on_step)
    return ArrayCascadeResult(
        ids, market_ids, engine.quote, engine.lots, engine.cost,
        {mid: int(engine.marks[k]) for k, mid in enumerate(market_ids) if mid in marks},
        dict(zip(HOLDERS, map(int, engine.holders))), engine.seq, steps, summary,
        engine.cascade_trace(), engine.cascade_index_stats(), engine, config.path.step_seconds)
