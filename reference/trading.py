"""Trades and the initial-margin check (LIQ-TRADE-1, LIQ-TRADE-2, LIQ-ACCOUNT-2)."""

from __future__ import annotations

from dataclasses import dataclass

from .arithmetic import checked
from .errors import Rejection, ResultCode
from .ledger import fill
from .margin import (account_initial_margin_quote, account_maintenance_margin_quote,
                     checked_initial_quote, equity_quote, open_interest_quote)
from .receipts import Receipt, receipt
from .rules import implements
from .state import TRADER, Account, State, atomic
from .validation import accounts, valid_price, valid_size


@implements("LIQ-ACCOUNT-2")
def require_market_allowed(account: Account, market_id: str) -> None:
    """An isolated account trades only the market it is bound to."""
    if account.isolated_market is not None and account.isolated_market != market_id:
        raise Rejection(ResultCode.ISOLATED_MARKET_MISMATCH,
                        f"{account.account_id} is isolated to {account.isolated_market}, "
                        f"not {market_id}")


@dataclass(frozen=True)
class MarginBefore:
    """What the reduce-only exemption compares against: health and position before a trade."""

    equity_quote: int
    maintenance_quote: int
    position_lots: int


def margin_before(state: State, account_id: str, market_id: str) -> MarginBefore:
    account = state.account(account_id)
    return MarginBefore(equity_quote(account, state.marks, state.profile),
                        account_maintenance_margin_quote(account, state.marks, state.profile),
                        account.position(market_id))


@implements("LIQ-TRADE-2")
def check_margin_after_trade(state: State, account_id: str, market_id: str,
                             before: MarginBefore) -> None:
    """After a trade an account must meet initial margin (equity >= IM, at the post-trade open
    interest; and above maintenance under the ``at_or_below`` trigger, LIQ-TRIGGER-3). A trade
    that only reduces the position is exempt if it leaves equity >= 0 and does not widen the
    maintenance shortfall (equity - MM does not decrease)."""
    account = state.account(account_id)
    equity = equity_quote(account, state.marks, state.profile)
    oi = {m: open_interest_quote(state, m) for m in account.positions}
    initial = account_initial_margin_quote(account, state.marks, state.profile, oi)
    if equity >= checked_initial_quote(account, initial, state.marks, state.profile):
        return
    after = account.position(market_id)
    reduces = before.position_lots != 0 and abs(after) < abs(before.position_lots) and (
        after == 0 or (after > 0) == (before.position_lots > 0))
    if not reduces:
        raise Rejection(ResultCode.INSUFFICIENT_INITIAL_MARGIN,
                        f"{account_id} would have equity {equity} below initial margin {initial}")
    maintenance = account_maintenance_margin_quote(account, state.marks, state.profile)
    if equity < 0 or equity - maintenance < before.equity_quote - before.maintenance_quote:
        raise Rejection(ResultCode.REDUCE_ONLY_WORSENS_HEALTH,
                        f"reducing trade would leave {account_id} with equity {equity} and "
                        f"maintenance margin {maintenance}, worse than before")


@implements("LIQ-TRADE-1")
def check_trade(state: State, buyer_id: str, seller_id: str, market_id: str, lots: int,
                price_ticks: int) -> int:
    """The checks of :func:`trade` before the fill, in its order (the accounts, the market, the
    size, the price, the notional's overflow, the same account, each side's market); pure.
    Returns the trade's notional."""
    buyer, seller = accounts(state, buyer_id, seller_id)
    market = state.market(market_id)
    valid_size(lots, "trade size")
    valid_price(price_ticks, "trade price")
    amount = checked(lots * price_ticks * market.value_per_lot_tick, "trade notional")
    if buyer_id == seller_id:
        raise Rejection(ResultCode.SAME_ACCOUNT, "a trade needs two different accounts")
    require_market_allowed(buyer, market_id)
    require_market_allowed(seller, market_id)
    return amount


@implements("LIQ-TRADE-1")
def trade(state: State, buyer_id: str, seller_id: str, market_id: str, lots: int,
          price_ticks: int) -> Receipt:
    """The buyer buys ``lots`` from the seller at ``price_ticks``; each trader must pass
    LIQ-TRADE-2 (backstop vaults and book liquidity are outside the margin system)."""
    amount = check_trade(state, buyer_id, seller_id, market_id, lots, price_ticks)
    buyer, seller = state.account(buyer_id), state.account(seller_id)
    befores = {a: margin_before(state, a, market_id) for a in (buyer_id, seller_id)}
    first = len(state.journal)
    with atomic(state):
        fill(state, market_id, buyer_id, seller_id, lots, amount, price_ticks, "LIQ-TRADE-1")
        for account in (buyer, seller):
            if account.role == TRADER:  # only traders are margined
                check_margin_after_trade(state, account.account_id, market_id,
                                         befores[account.account_id])
    return receipt(state, first, notional=amount)
