"""Order-book liquidity and the market liquidation order (LIQ-BOOK-1, LIQ-BOOK-2, LIQ-BOOK-3).

A market's book is a ladder of price levels on each side, owned by one liquidity account (the
makers, outside the margin system). A liquidation order of a long sells into the bids, best first;
of a short, buys from the asks. Each level it takes from is one liquidation step (LIQ-EXEC-2) at
that level's price, so every step keeps its own checks, fee and settlement, and the walk stops as
soon as the account is healthy again.

How far down the book an order may go depends on who pays for a fill worse than bankruptcy. Under
the ``adl`` bad-debt policy the insurance fund pays, so the order takes a level only while the
deficit it would leave stays within the fund; what it cannot fill is auto-deleveraged
(LIQ-ADL-1). Under ``socialize`` the order takes any level, and a deficit beyond the fund is
written off and socialized (LIQ-SOCIAL-1/2).
"""

from __future__ import annotations

from dataclasses import dataclass

from .arithmetic import PPM, checked, div_ceil, div_floor, require_int
from .errors import MalformedState, Rejection, ResultCode
from .liquidation import is_liquidatable, liquidate, liquidation_size_lots
from .margin import equity_quote
from .profile import BadDebtPolicy
from .receipts import Receipt, receipt
from .rules import implements
from .state import INSURANCE_FUND, LIQUIDITY, TRADER, Account, Book, State, atomic


@dataclass(frozen=True)
class BookShape:
    """How a market's book is rebuilt around the index at every step of a price path.

    ``levels`` levels per side; level k (from 1) sits ``k * spacing_ppm`` of the index away from
    it and rests ``lots_per_level`` lots.
    """

    levels: int
    spacing_ppm: int
    lots_per_level: int

    def __post_init__(self) -> None:
        for name in ("levels", "spacing_ppm", "lots_per_level"):
            if require_int(getattr(self, name), name) <= 0:
                raise MalformedState(f"book {name} must be positive, got {getattr(self, name)}")
        checked(self.lots_per_level, "book lots_per_level")  # a stored level (LIQ-DOMAIN-1)
        if self.levels * self.spacing_ppm >= PPM:
            raise MalformedState("the deepest bid must stay above zero: levels x spacing < 100%")


@implements("LIQ-BOOK-1")
def build_book(shape: BookShape, index_ticks: int, account_id: str) -> Book:
    """A fresh ladder around ``index_ticks``: bids rounded down and asks rounded up to ticks (the
    book never quotes better than its shape), levels that round onto the same tick merged.

    Every level is stored, so its price and lots must lie in int64 (LIQ-DOMAIN-1): around an
    index near 2^63 the upper asks do not, and the book is refused with ``Overflow`` before
    anything is stored (a bid is at most the index, so it always fits)."""
    bids: list[list[int]] = []
    asks: list[list[int]] = []
    for k in range(1, shape.levels + 1):
        bid = div_floor(index_ticks * (PPM - k * shape.spacing_ppm), PPM)
        ask = checked(div_ceil(index_ticks * (PPM + k * shape.spacing_ppm), PPM),
                      f"ask level {k} of the book")
        for side, price in ((bids, bid), (asks, ask)):
            if price <= 0:
                continue
            if side and side[-1][0] == price:
                side[-1][1] = checked(side[-1][1] + shape.lots_per_level,
                                      f"lots of the book level at {price} ticks")
            else:
                side.append([price, shape.lots_per_level])
    return Book(account_id, bids, asks)


def closing_side(book: Book, position_lots: int) -> list[list[int]]:
    """The side a position closes into: a long sells to the bids, a short buys the asks."""
    return book.bids if position_lots > 0 else book.asks


@implements("LIQ-BOOK-2")
def plan_order(state: State, account: Account, market_id: str, lots: int,
               within_fund: bool) -> list[tuple[int, int]]:
    """The fills, ``(price_ticks, lots)`` best first, that an order for ``lots`` would take from the
    closing side, stopping where the book runs out or, when ``within_fund``, where the next lot
    would leave a deficit larger than the insurance fund.

    A lot filled at ``p`` changes equity by ``side * value_per_lot_tick * (p - mark)``; fees never
    create a deficit (they are capped by the surplus), so they are left out of the projection.
    """
    book = state.books[market_id]
    position = account.position(market_id)
    side = 1 if position > 0 else -1
    market, mark = state.market(market_id), state.marks[market_id]
    equity = equity_quote(account, state.marks, state.profile)
    fund = state.holders[INSURANCE_FUND]
    plan = []
    remaining = lots
    for price, resting in closing_side(book, position):
        if remaining == 0:
            break
        take = min(remaining, resting)
        per_lot = side * market.value_per_lot_tick * (price - mark)
        if within_fund and per_lot < 0:
            # largest t with equity + t * per_lot >= -fund
            affordable = div_floor(equity + fund, -per_lot) if equity + fund > 0 else 0
            take = min(take, affordable)
        if take <= 0:
            break
        plan.append((price, take))
        equity += take * per_lot
        remaining -= take
    return plan


@implements("LIQ-BOOK-3")
def closable_within_fund(state: State, account: Account, market_id: str) -> bool:
    """Whether the whole position can be closed against the market's liquidity leaving a deficit
    the insurance fund can pay: walking the book when the state holds one, else at the mark
    (where closing leaves equity unchanged). Auto-deleveraging is allowed only when it cannot."""
    lots = abs(account.position(market_id))
    if market_id not in state.books:
        return equity_quote(account, state.marks, state.profile) >= -state.holders[INSURANCE_FUND]
    return sum(t for _, t in plan_order(state, account, market_id, lots, True)) == lots


@implements("LIQ-BOOK-2")
def check_market_liquidate(state: State, account_id: str,
                           market_id: str) -> list[tuple[int, int]]:
    """The checks of :func:`market_liquidate`, in its order (the account, the market, the role,
    the trigger, the position, the book, the book's depth); pure. Returns the order's plan."""
    account = state.account(account_id)
    state.market(market_id)
    if account.role != TRADER:
        raise Rejection(ResultCode.ACCOUNT_NOT_TRADER, f"{account_id} is not a trader account")
    if not is_liquidatable(account, state):
        raise Rejection(ResultCode.NOT_LIQUIDATABLE,
                        f"{account_id} is at or above maintenance margin")
    if account.position(market_id) == 0:
        raise Rejection(ResultCode.NO_POSITION, f"{account_id} has no position in {market_id}")
    book = state.books.get(market_id)
    if book is None or state.account(book.account_id).role != LIQUIDITY:
        raise Rejection(ResultCode.NO_BOOK_LIQUIDITY, f"{market_id} has no order book")
    within_fund = state.profile.bad_debt_policy == BadDebtPolicy.ADL
    size = liquidation_size_lots(account, market_id, state)
    plan = plan_order(state, account, market_id, size, within_fund)
    if not plan:
        raise Rejection(ResultCode.NO_BOOK_LIQUIDITY,
                        f"the {market_id} book cannot take {account_id}'s order"
                        + (" within the insurance fund" if within_fund else ""))
    return plan


@implements("LIQ-BOOK-2")
def market_liquidate(state: State, account_id: str, market_id: str) -> Receipt:
    """One liquidation order against the market's book: the policy's size (LIQ-EXEC-1), walked
    level by level as liquidation steps, stopping early once the account is healthy."""
    plan = check_market_liquidate(state, account_id, market_id)
    account, book = state.account(account_id), state.books[market_id]
    first = len(state.journal)
    filled = fee = 0
    with atomic(state):
        state.save_book(market_id)
        levels = closing_side(book, account.position(market_id))
        for price, take in plan:
            if not is_liquidatable(account, state):
                break  # healthy again: the order stops (LIQ-INV-5)
            lots = min(take, liquidation_size_lots(account, market_id, state))
            step = liquidate(state, account_id, market_id, book.account_id, price, lots)
            fee += step.amounts["fee"]
            filled += lots
            levels[0][1] -= lots
            if levels[0][1] == 0:
                levels.pop(0)
            if lots < take:
                break  # the policy now allows less than this level offered: the order ends here
    return receipt(state, first, lots=filled, fee=fee, levels=len(plan))
