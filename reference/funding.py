"""Funding payments (LIQ-FUNDING-1, LIQ-FUNDING-2).

At a funding time every position pays ``value_at_mark x rate`` (longs pay shorts when the rate is
positive). Payments are collected into the funding pool rounded up and paid out rounded down, so
the pool never runs short; what is left in it, the rounding residual, goes to the fee sink.
"""

from __future__ import annotations

from .arithmetic import PPM, checked, div_ceil, div_floor
from .inverse import model_funding_rate
from .ledger import sweep_residual, transfer
from .margin import position_value_quote
from .receipts import Receipt, receipt
from .rules import implements
from .state import FUNDING_POOL, State, atomic
from .validation import valid_rate


@implements("LIQ-FUNDING-1")
def funding_owed_quote(value_quote: int, rate_ppm: int) -> int:
    """What a position owes (positive) or is owed (negative): owing rounds up, being owed down.
    The amount is a transfer, so it lies in int64 (LIQ-DOMAIN-1): only a value of -2^63 at
    -100% would leave it."""
    return checked(_rounded_funding(value_quote * rate_ppm), "funding amount")


def _rounded_funding(exact_numerator: int) -> int:
    """``exact_numerator / 10^6``, away from the account: up when owing, toward zero when owed."""
    if exact_numerator >= 0:
        return div_ceil(exact_numerator, PPM)
    return -div_floor(-exact_numerator, PPM)


@implements("LIQ-FUNDING-1")
def check_apply_funding(state: State, market_id: str, rate_ppm: int) -> dict[str, int]:
    """The checks of :func:`apply_funding` and what each account with a position in the market
    owes (positive) or is owed (negative), in account-ID order; pure: changes nothing. The rate
    is the venue's: an inverse market's enters negated (LIQ-INVERSE-2)."""
    market = state.market(market_id)
    valid_rate(rate_ppm, "funding rate")
    rate_ppm = model_funding_rate(market, rate_ppm)
    mark = state.marks[market_id]
    return {
        account_id: funding_owed_quote(position_value_quote(account.position(market_id), mark,
                                                            market), rate_ppm)
        for account_id, account in sorted(state.accounts.items())
        if account.position(market_id) != 0
    }


@implements("LIQ-FUNDING-1", "LIQ-FUNDING-2")
def apply_funding(state: State, market_id: str, rate_ppm: int) -> Receipt:
    """Exchange funding for one interval on ``market_id`` at ``rate_ppm`` of each position's value
    at the mark; the residual in the pool goes to the fee sink."""
    owed = check_apply_funding(state, market_id, rate_ppm)
    first = len(state.journal)
    with atomic(state):
        for account_id, amount in owed.items():  # collect first, so the pool never goes negative
            if amount > 0:
                transfer(state, account_id, FUNDING_POOL, amount, "LIQ-FUNDING-1")
        for account_id, amount in owed.items():
            if amount < 0:
                transfer(state, FUNDING_POOL, account_id, -amount, "LIQ-FUNDING-1")
        residual = sweep_residual(state, FUNDING_POOL, "LIQ-FUNDING-2")
    return receipt(state, first, residual=residual)
