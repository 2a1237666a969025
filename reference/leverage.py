"""The trader's chosen leverage (LIQ-LEVERAGE-*) and opening an account where a venue's worked
example starts (LIQ-ACCOUNT-3).

Binance, Bybit and OKX let a trader choose a leverage per market (cross) or per position
(isolated). In this model it is a whole multiple kept on the account per market
(``Account.leverage``): the initial requirement of a position becomes ``ceil(notional /
leverage)``, never below the venue's own (LIQ-LEVERAGE-2, in :mod:`.margin` beside the other
requirements), and an isolated position opened at a leverage posts ``ceil(entry notional /
leverage)`` (LIQ-LEVERAGE-3). A leverage is at most what the position's tier allows: a venue
prints a tier's initial rate as ``1 / max leverage`` rounded, so the maximum is the whole multiple
nearest to ``10^6 / rate`` (LIQ-LEVERAGE-1).
"""

from __future__ import annotations

from collections.abc import Mapping

from .arithmetic import INT64_MAX, PPM, div_ceil, require_int
from .collateral import check_open_account
from .errors import InvalidAmount, InvalidLeverage, InvalidSize, Rejection, ResultCode
from .ledger import open_at_entry, transfer
from .margin import (account_initial_margin_quote, equity_quote, notional_quote,
                     open_interest_quote, tier_for)
from .profile import Market, Tier
from .receipts import Receipt, receipt
from .rules import implements
from .state import OUTSIDE, TRADER, Account, State, atomic
from .trading import require_market_allowed
from .validation import valid_price

#: the largest leverage: a margin rate of one ppm
MAX_LEVERAGE = PPM


@implements("LIQ-LEVERAGE-1")
def valid_leverage(leverage: object, what: str = "leverage") -> int:
    """A chosen leverage: a whole multiple in 1..10^6."""
    value = require_int(leverage, what)
    if not 1 <= value <= MAX_LEVERAGE:
        raise InvalidLeverage(f"{what} must be a whole multiple in 1..{MAX_LEVERAGE}, got {value}")
    return value


@implements("LIQ-LEVERAGE-1")
def tier_max_leverage(market: Market, tier: Tier) -> int:
    """The maximum leverage of a tier of ``market``: ``1 / r`` for its initial rate ``r`` (in the
    market's rate unit, LIQ-TIER-7), to the nearest whole multiple (a tie goes down). A venue
    publishes the maximum and prints its rate ``1 / max`` rounded (Bybit 70x as 1.43%), so the
    nearest multiple gives back the published maximum; no requirement depends on this rounding,
    since LIQ-LEVERAGE-2 keeps every requirement at least the tier's own."""
    whole, rest = divmod(PPM * market.rate_scale, tier.init_margin_ppm)
    return whole + (1 if 2 * rest > tier.init_margin_ppm else 0)


@implements("LIQ-LEVERAGE-1")
def check_leverage_within_tier(market: Market, notional: int, leverage: int,
                               lots: int | None = None) -> None:
    """``leverage`` is at most the maximum of the tier that holds the position: of ``notional``,
    or of its ``lots`` in a market keyed by size (LIQ-TIER-8)."""
    maximum = tier_max_leverage(market, tier_for(market, notional, lots))
    if leverage > maximum:
        raise Rejection(ResultCode.LEVERAGE_ABOVE_TIER_MAX,
                        f"leverage {leverage}x in {market.market_id} is above {maximum}x, the "
                        f"maximum of the tier of notional {notional}")


@implements("LIQ-LEVERAGE-4")
def check_set_leverage(state: State, account_id: str, market_id: str, leverage: int) -> None:
    """The checks of :func:`set_leverage` that need no change, in its order; pure."""
    account = state.account(account_id)
    market = state.market(market_id)
    valid_leverage(leverage)
    if account.role != TRADER:
        raise Rejection(ResultCode.ACCOUNT_NOT_TRADER, f"{account_id} is not a trader account")
    require_market_allowed(account, market_id)
    notional = notional_quote(account.position(market_id), state.marks[market_id], market)
    check_leverage_within_tier(market, notional, leverage, account.position(market_id))


@implements("LIQ-LEVERAGE-4")
def set_leverage(state: State, account_id: str, market_id: str, leverage: int) -> Receipt:
    """Choose the leverage of ``account_id`` in ``market_id``. A change that raises the account's
    initial requirement (a lower leverage on an open position) must leave equity at or above it
    (``INSUFFICIENT_INITIAL_MARGIN``); no quote moves."""
    check_set_leverage(state, account_id, market_id, leverage)
    account = state.account(account_id)
    oi = {m: open_interest_quote(state, m) for m in account.positions}
    before = account_initial_margin_quote(account, state.marks, state.profile, oi)
    first = len(state.journal)
    with atomic(state):
        state.save_account(account_id)
        account = state.account(account_id)
        account.leverage[market_id] = leverage
        after = account_initial_margin_quote(account, state.marks, state.profile, oi)
        if after > before:
            equity = equity_quote(account, state.marks, state.profile)
            if equity < after:
                raise Rejection(ResultCode.INSUFFICIENT_INITIAL_MARGIN,
                                f"{account_id} at {leverage}x would need initial margin {after}, "
                                f"above its equity {equity}")
    return receipt(state, first)


@implements("LIQ-LEVERAGE-3")
def posted_margin_quote(notional: int, leverage: int) -> int:
    """The margin an isolated position opened at ``leverage`` posts: ``ceil(notional /
    leverage)``, rounded up because the trader owes it."""
    return div_ceil(notional, leverage)


#: positions to open, by market: (signed lots, entry price in ticks)
Positions = Mapping[str, tuple[int, int]]


@implements("LIQ-ACCOUNT-3")
def check_open_account_at(state: State, account_id: str, balance_quote: int,
                          positions: Positions, counterparty_id: str,
                          isolated_market: str | None = None,
                          leverage: Mapping[str, int] | None = None) -> None:
    """The checks of :func:`open_account_at`, in its order (LIQ-RESULT-2); pure."""
    leverage = leverage or {}
    check_open_account(state, account_id, isolated_market)
    counterparty = state.account(counterparty_id)
    for market_id in (*sorted(positions), *sorted(leverage)):
        state.market(market_id)
    if not 0 <= require_int(balance_quote, "balance") <= INT64_MAX:
        raise InvalidAmount(f"balance must be in 0..{INT64_MAX} quote quantums, "
                            f"got {balance_quote}")
    for market_id in sorted(positions):
        signed_lots, entry_ticks = positions[market_id]
        if not 0 < abs(require_int(signed_lots, f"position in {market_id}")) <= INT64_MAX:
            raise InvalidSize(f"position in {market_id} must be a non-zero lot count within "
                              f"+-{INT64_MAX}, got {signed_lots}")
        valid_price(entry_ticks, f"entry price in {market_id}")
    for market_id in sorted(leverage):
        valid_leverage(leverage[market_id], f"leverage in {market_id}")
    opened = Account(account_id, isolated_market=isolated_market)
    for market_id in sorted(positions):
        require_market_allowed(opened, market_id)
        require_market_allowed(counterparty, market_id)
    for market_id in sorted(leverage):
        require_market_allowed(opened, market_id)
    for market_id in sorted(leverage):
        market = state.market(market_id)
        signed_lots, entry_ticks = positions.get(market_id, (0, 1))
        check_leverage_within_tier(market, notional_quote(signed_lots, entry_ticks, market),
                                   leverage[market_id], signed_lots)


@implements("LIQ-ACCOUNT-3")
def open_account_at(state: State, account_id: str, balance_quote: int, positions: Positions,
                    counterparty_id: str, isolated_market: str | None = None,
                    leverage: Mapping[str, int] | None = None) -> Receipt:
    """Open a trader account where a venue's worked example starts: ``balance_quote`` deposited
    (the example's wallet balance), then each position booked at its entry price against
    ``counterparty_id`` in market-ID order (:func:`~.ledger.open_at_entry`: no margin check,
    since an example may start under water), with the chosen ``leverage`` per market. Its equity
    at marks equal to the entry prices is the balance. Atomic."""
    check_open_account_at(state, account_id, balance_quote, positions, counterparty_id,
                          isolated_market, leverage)
    first = len(state.journal)
    with atomic(state):
        state.save_account(account_id)
        state.accounts[account_id] = Account(account_id, isolated_market=isolated_market,
                                             leverage=dict(sorted((leverage or {}).items())))
        if balance_quote:
            transfer(state, OUTSIDE, account_id, balance_quote, "LIQ-DEPOSIT-1")
        for market_id in sorted(positions):
            signed_lots, entry_ticks = positions[market_id]
            open_at_entry(state, account_id, counterparty_id, market_id, signed_lots,
                          entry_ticks)
    return receipt(state, first)


@implements("LIQ-LEVERAGE-3")
def open_isolated_at_leverage(state: State, account_id: str, market_id: str, signed_lots: int,
                              entry_ticks: int, leverage: int, counterparty_id: str) -> Receipt:
    """Open an account isolated to ``market_id`` holding ``signed_lots`` bought (> 0) or sold
    (< 0) at ``entry_ticks`` against ``counterparty_id``, at ``leverage``: it posts
    ``ceil(entry notional / leverage)`` (:func:`posted_margin_quote`) and keeps the leverage for
    the position (LIQ-LEVERAGE-2). The checks are :func:`open_account_at`'s."""
    positions = {market_id: (signed_lots, entry_ticks)}
    chosen = {market_id: leverage}
    check_open_account_at(state, account_id, 0, positions, counterparty_id, market_id, chosen)
    market = state.market(market_id)
    posted = posted_margin_quote(notional_quote(signed_lots, entry_ticks, market), leverage)
    return open_account_at(state, account_id, posted, positions, counterparty_id, market_id,
                           chosen)
