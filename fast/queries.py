"""The reference's read queries that have no batch kernel, over the compiled engine
(``liqspec.fast._engine``).

Each function has its reference counterpart's signature, result and typed errors: the tier and
requirement of one notional (LIQ-TIER-1/2/3/4), the size of one liquidation step (LIQ-EXEC-1),
the fee of one step (LIQ-FEE-1), the deleveraging allocation (LIQ-ADL-2) and the quote a
bankrupt account receives for lots deleveraged (LIQ-ADL-4). The lookups come first, in the
reference's order (the catalogue's bankruptcy-price check, then the market, then the account's
row), then the arguments' int64 domain; the engine computes the answer with the same cdef
functions its operations use (``maintenance_margin``, ``initial_margin``, ``size_lots``,
``fee_quote``, ``adl_allocation``, ``adl_receive``) on a state packed by the operations' own packer, and a
result code becomes the reference's typed error. A query changes nothing.
"""

from __future__ import annotations

from liqspec.reference.errors import MalformedState, ResultCode
from liqspec.reference.margin import tier_for
from liqspec.reference.profile import TierBasis
from liqspec.reference.state import Account, State
from liqspec.reference.validation import valid_fund_peak

from .domain import int64_scalar
from .operations import _column, _engine_for, _error_for, _row

#: the queries, by the names the conformance catalogue calls them
QUERIES = ("maintenance_requirement", "initial_requirement", "liquidation_size_lots",
           "liquidation_fee", "adl_allocation", "adl_receive_quote")

__all__ = list(QUERIES)


def _answer(query: str, code_and_value: tuple):
    code, value = code_and_value
    if code != ResultCode.OK:
        raise _error_for(code, query)
    return value


def _notional_keyed(state: State, market_id: str) -> None:
    """A notional alone has a tier only where the market keys its tiers by notional: elsewhere
    the reference's own refusal (LIQ-TIER-8), raised before the engine is asked."""
    market = state.market(market_id)
    if market.tier_basis != TierBasis.NOTIONAL:
        tier_for(market, 0)


def maintenance_requirement(state: State, market_id: str, notional_quote: int) -> dict[str, int]:
    """LIQ-TIER-1/2: the tier (its index from 0) and the maintenance requirement of a notional."""
    _notional_keyed(state, market_id)
    notional = int64_scalar(notional_quote, "notional")
    tier, requirement = _answer("maintenance_requirement", _engine_for(state)
                                .maintenance_requirement(_column(state, market_id), notional))
    return {"tier": tier, "maint_margin_quote": requirement}


def initial_requirement(state: State, market_id: str, notional_quote: int,
                        open_interest_quote: int) -> dict[str, int]:
    """LIQ-TIER-1/3/4: the tier and the initial requirement of a notional at an open interest."""
    _notional_keyed(state, market_id)
    notional = int64_scalar(notional_quote, "notional")
    open_interest = int64_scalar(open_interest_quote, "open interest")
    tier, requirement = _answer("initial_requirement", _engine_for(state).initial_requirement(
        _column(state, market_id), notional, open_interest))
    return {"tier": tier, "init_margin_quote": requirement}


def liquidation_size_lots(account: Account, market_id: str, state: State) -> int:
    """LIQ-EXEC-1: how many lots one liquidation step may close, by the profile's policy."""
    state.market(market_id)
    return _answer("liquidation_size_lots", _engine_for(state).liquidation_size(
        _row(state, account.account_id), _column(state, market_id)))


def liquidation_fee(state: State, market_id: str, side: int, lots: int, fill_price_ticks: int,
                    bankruptcy_num: int, bankruptcy_den: int, surplus_quote: int) -> int:
    """LIQ-FEE-1 for a step closing ``lots`` of a position on ``side`` at ``fill_price_ticks``,
    at the bankruptcy price ``bankruptcy_num / bankruptcy_den``, capped by ``surplus_quote``."""
    if bankruptcy_den <= 0:
        raise MalformedState("the bankruptcy price's denominator must be positive")
    state.market(market_id)
    args = [int64_scalar(value, what) for value, what in (
        (side, "side"), (lots, "liquidation size"), (fill_price_ticks, "fill price"),
        (bankruptcy_num, "bankruptcy price numerator"),
        (bankruptcy_den, "bankruptcy price denominator"), (surplus_quote, "surplus"))]
    return _answer("liquidation_fee", _engine_for(state).liquidation_fee(
        _column(state, market_id), *args))


def adl_allocation(state: State, account: Account, market_id: str) -> list[tuple[str, int]]:
    """LIQ-ADL-2: who takes how many lots of the account's position, in execution order (the
    ranking index's allocation, as deleverage uses it)."""
    state.market(market_id)
    engine = _engine_for(state)
    allocation = _answer("adl_allocation", engine.adl_allocation(
        _row(state, account.account_id), _column(state, market_id)))
    ids = engine.account_ids
    return [(ids[row], lots) for row, lots in allocation]


def adl_receive_quote(account: Account, market_id: str, lots: int, state: State,
                      fund_peak_quote: int = 0) -> int:
    """LIQ-ADL-4: the quote the account receives for closing ``lots`` by deleveraging
    (negative: it pays), at the mark where the fund is in drawdown from ``fund_peak_quote``
    (LIQ-ADL-5)."""
    state.market(market_id)
    size = int64_scalar(lots, "deleveraged lots")
    peak = valid_fund_peak(fund_peak_quote)
    return _answer("adl_receive_quote", _engine_for(state).adl_receive(
        _row(state, account.account_id), _column(state, market_id), size, peak))
