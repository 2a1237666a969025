"""The reference's per-account signatures over the compiled batch kernels.

Each function packs its account (a batch of one) and calls a kernel, so the same test body can run
on ``liqspec.reference`` and on ``liqspec.fast`` (the ``impl`` fixture) and a differential campaign
can compare them call for call. Arguments are validated by the reference's own validators, in the
reference's order, so argument errors are the same objects; every number comes from a kernel.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

import numpy as np

from liqspec.reference.errors import Overflow, Rejection, ResultCode
from liqspec.reference.inverse import model_funding_rate
from liqspec.reference.prices import Threshold
from liqspec.reference.profile import Profile
from liqspec.reference.state import Account, State
from liqspec.reference.validation import valid_rate

from . import _kernels
from .domain import int64_scalar
from .pack import pack_accounts, pack_state, tables_for


def _one(account: Account, marks: Mapping[str, int], profile: Profile):
    tables = tables_for(profile)
    return pack_accounts([account], marks, tables), tables


def equity_quote(account: Account, marks: Mapping[str, int], profile: Profile) -> int:
    """LIQ-MARGIN-2 (reference: margin.equity_quote)."""
    arrays, tables = _one(account, marks, profile)
    return int(_kernels.equity_quotes(arrays.quote, arrays.lots, arrays.marks, tables)[0])


def account_maintenance_margin_quote(account: Account, marks: Mapping[str, int],
                                     profile: Profile) -> int:
    """LIQ-TIER-5 (reference: margin.account_maintenance_margin_quote)."""
    arrays, tables = _one(account, marks, profile)
    return int(_kernels.maintenance_margin_quotes(arrays.lots, arrays.marks, tables,
                                                  **arrays.basis())[0])


def _leverage_of(account: Account, tables) -> np.ndarray | None:
    """The account's chosen leverage as a [1, M] row (0 where none), or None without any."""
    if not account.leverage:
        return None
    row = np.zeros((1, len(tables.market_ids)), dtype=np.int64)
    for market_id, chosen in account.leverage.items():
        row[0, tables.column(market_id)] = int64_scalar(chosen, f"leverage in {market_id}")
    return row


def account_initial_margin_quote(account: Account, marks: Mapping[str, int], profile: Profile,
                                 open_interest: Mapping[str, int] | None = None) -> int:
    """LIQ-TIER-5 over LIQ-TIER-3/4 and LIQ-LEVERAGE-2 (reference:
    margin.account_initial_margin_quote)."""
    arrays, tables = _one(account, marks, profile)
    oi = np.array([int64_scalar((open_interest or {}).get(m, 0), f"open interest of {m}")
                   for m in tables.market_ids], dtype=np.int64)
    return int(_kernels.initial_margin_quotes(arrays.lots, arrays.marks, tables, oi,
                                              _leverage_of(account, tables))[0])


def open_interest_quote(state: State, market_id: str) -> int:
    """Open interest of one market (reference: margin.open_interest_quote)."""
    state.market(market_id)
    tables = tables_for(state.profile)
    arrays = pack_state(state, tables, read=(market_id,))
    wanted = np.array([m == market_id for m in tables.market_ids])
    return int(_kernels.open_interest_quotes(arrays.lots, arrays.marks, tables, wanted)[
        tables.column(market_id)])


def free_collateral_quote(state: State, account: Account) -> int:
    """LIQ-MARGIN-5 (reference: margin.free_collateral_quote): equity less initial margin, with
    the open interest of the account's markets (and above maintenance under LIQ-TRIGGER-3)."""
    tables = tables_for(state.profile)
    everyone = pack_state(state, tables, read=account.positions)
    wanted = np.array([m in account.positions for m in tables.market_ids])
    oi = _kernels.open_interest_quotes(everyone.lots, everyone.marks, tables, wanted)
    arrays = pack_accounts([account], state.marks, tables)
    return int(_kernels.free_collateral_quotes(arrays.quote, arrays.lots, arrays.marks, tables,
                                               oi, _leverage_of(account, tables),
                                               **arrays.basis())[0])


def is_liquidatable(account: Account, state: State) -> bool:
    """LIQ-TRIGGER-1 (reference: liquidation.is_liquidatable)."""
    arrays, tables = _one(account, state.marks, state.profile)
    return bool(_kernels.liquidatable_flags(arrays.quote, arrays.lots, arrays.marks, tables,
                                            **arrays.basis())[0])


def is_below_backstop(account: Account, state: State) -> bool:
    """LIQ-TRIGGER-2 (reference: liquidation.is_below_backstop)."""
    arrays, tables = _one(account, state.marks, state.profile)
    return bool(_kernels.below_backstop_flags(arrays.quote, arrays.lots, arrays.marks, tables,
                                              **arrays.basis())[0])


def _threshold(kernel, account: Account, market_id: str, marks: Mapping[str, int],
               profile: Profile) -> Threshold:
    profile.market(market_id)  # UNKNOWN_MARKET first, as the reference
    if account.position(market_id) == 0:  # then NO_POSITION, as the reference
        raise Rejection(ResultCode.NO_POSITION,
                        f"account {account.account_id} has no position in {market_id}")
    arrays, tables = _one(account, marks, profile)
    ticks, num, den, code = kernel(arrays.quote, arrays.lots, arrays.marks, tables,
                                   tables.column(market_id), **arrays.basis())
    if code[0] == ResultCode.OVERFLOW:
        raise Overflow(f"a price of {account.account_id} in {market_id} is outside the fast "
                       f"path's signed 64-bit domain")
    assert code[0] == ResultCode.OK, code[0]
    side = 1 if account.position(market_id) > 0 else -1
    return Threshold(market_id, side, Fraction(int(num[0]), int(den[0])), int(ticks[0]))


def bankruptcy_price(account: Account, market_id: str, marks: Mapping[str, int],
                     profile: Profile) -> Threshold:
    """LIQ-PRICE-1 (reference: prices.bankruptcy_price). Raises Overflow where the reference
    does, and also where the price (ticks, or exact numerator or denominator) leaves int64."""
    return _threshold(_kernels.bankruptcy_prices, account, market_id, marks, profile)


def liquidation_price(account: Account, market_id: str, marks: Mapping[str, int],
                      profile: Profile) -> Threshold:
    """LIQ-PRICE-2 (reference: prices.liquidation_price); Overflow as :func:`bankruptcy_price`."""
    return _threshold(_kernels.liquidation_prices, account, market_id, marks, profile)


def funding_owed(state: State, market_id: str, rate_ppm: int) -> dict[str, int]:
    """LIQ-FUNDING-1: what each account with a position owes (+) or is owed (-), keyed by id in
    sorted order, the amounts ``apply_funding`` moves; validated in its order (market, rate).
    An inverse market's venue rate enters negated (LIQ-INVERSE-2), as in ``apply_funding``."""
    market = state.market(market_id)
    valid_rate(rate_ppm, "funding rate")
    rate_ppm = model_funding_rate(market, rate_ppm)
    tables = tables_for(state.profile)
    arrays = pack_state(state, tables, read=(market_id,))
    column = arrays.lots[:, tables.column(market_id)]
    owed = _kernels.funding_owed_quotes(column, state.marks[market_id],
                                        market.value_per_lot_tick, rate_ppm)
    return {a: int(v) for a, v, lots in zip(arrays.account_ids, owed, column, strict=True) if lots}
