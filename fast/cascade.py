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

from collections.abc import Callable

import numpy as np

from liqspec.reference.cascade import (MARK_LAST_FILL, CascadeConfig, CascadeResult, Event,
                                       StepRecord, Summary, _check_config)
from liqspec.reference.errors import ResultCode
from liqspec.reference.state import HOLDERS, INSURANCE_FUND, State

from . import _engine
from .operations import _engine_for, _error_for, _write_back

__all__ = ["run_cascade"]

_UNRESOLVED_DETAIL = "liquidatable at the end of the path: the book could not take it"


def _events(engine: _engine.Engine, step_seconds: int) -> list[Event]:
    ids, market_ids = engine.account_ids, engine.market_ids
    kinds, rules = _engine.EVENT_KIND_NAMES, _engine.EVENT_RULE_IDS

    def name(holder: int) -> str:
        return ids[holder] if holder >= 0 else HOLDERS[-holder - 1]

    out = []
    for (step, round_, kind, account, market, lots, price, quote, rule, detail, d1,
         d2) in engine.cascade_events():
        if detail == 1:
            text = f"counterparty {name(d1)}"
        elif detail == 2:
            text = f"{name(d1)} -> {name(d2)}"
        elif detail == 3:
            text = _UNRESOLVED_DETAIL
        else:
            text = ""
        out.append(Event(step, step * step_seconds, round_, kinds[kind],
                         None if account is None else name(account),
                         None if market is None else market_ids[market], lots, price, quote,
                         rules[rule], text))
    return out


def run_cascade(initial: State, config: CascadeConfig,
                progress: Callable[[int, int], None] | None = None,
                after_round: Callable[[State, int, int], None] | None = None) -> CascadeResult:
    """LIQ-CASCADE-2 on the compiled engine; same arguments and result as
    :func:`liqspec.reference.cascade.run_cascade`."""
    state = initial.copy()
    _check_config(state, config)
    market_ids = list(state.profile.markets)
    column = {m: k for k, m in enumerate(market_ids)}
    m = len(market_ids)
    levels = np.zeros(m, dtype=np.int64)
    spacing = np.zeros(m, dtype=np.int64)
    lots_per_level = np.zeros(m, dtype=np.int64)
    for market_id, shape in config.books.items():
        k = column[market_id]
        levels[k], spacing[k], lots_per_level[k] = (shape.levels, shape.spacing_ppm,
                                                    shape.lots_per_level)
    engine = _engine_for(state, int(levels.max()) if m else 0)
    ids = engine.account_ids
    row = {a: i for i, a in enumerate(ids)}
    cfg_cols = np.array([column[mid] for mid in sorted(config.path.index_ticks)], dtype=np.int64)
    engine.cascade_setup(cfg_cols, levels, spacing, lots_per_level, row[config.book_account],
                         -1 if config.backstop_vault is None else row[config.backstop_vault],
                         1 if config.mark_rule.kind == MARK_LAST_FILL else 0,
                         config.mark_rule.band_ppm, config.path.step_seconds)
    result = CascadeResult(state)
    fund_start = state.holders[INSURANCE_FUND]
    fund_min = fund_start
    rounds_total = liquidated_notional = adl_lots = written_off = 0
    total_steps = config.path.steps
    index = np.array([state.marks[mid] for mid in market_ids], dtype=np.int64)
    synced = 0

    def check(code: int, what: str) -> None:
        if code != ResultCode.OK:
            raise _error_for(code, what)

    for step in range(total_steps):
        for market_id, path in config.path.index_ticks.items():
            index[column[market_id]] = path[step]
        check(engine.cascade_open_step(step, index), "cascade step")
        if after_round is None:
            check(engine.cascade_rounds(), "cascade round")
        else:
            rounds = 0
            while True:
                code, progressed = engine.cascade_round()
                if code == _engine.NO_DUE_CODE:
                    break
                check(code, "cascade round")
                rounds += 1
                # the callback sees the state as the reference's run has it after this round
                _write_back(state, engine, synced, marks=True)
                synced = engine.n_records
                after_round(state, step, rounds)
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
        result.steps.append(StepRecord(
            step, step * config.path.step_seconds, step_index,
            {mid: int(engine.marks[column[mid]]) for mid in state.marks}, rounds,
            step_notional, fund, step_adl, step_written_off))
        if progress is not None:
            progress(step + 1, total_steps)
    code, unresolved = engine.cascade_unresolved()
    check(code, "cascade end")
    _write_back(state, engine, synced, marks=True)
    result.events = _events(engine, config.path.step_seconds)
    totals = engine.cascade_totals()
    lowest = {mid: totals["lowest"][column[mid]] for mid in config.path.index_ticks}
    result.summary = Summary(
        steps=total_steps, rounds=rounds_total,
        accounts_liquidated=totals["accounts_liquidated"],
        liquidation_fills=totals["liquidation_fills"],
        notional_liquidated_quote=liquidated_notional, lowest_mark_ticks=lowest,
        insurance_fund_start_quote=fund_start, insurance_fund_min_quote=fund_min,
        insurance_fund_end_quote=state.holders[INSURANCE_FUND], adl_lots=adl_lots,
        adl_notional_quote=totals["adl_notional_quote"], bad_debt_quote=written_off,
        socialized_quote=totals["socialized_quote"], unresolved_accounts=unresolved)
    return result
