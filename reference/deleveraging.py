"""Auto-deleveraging (LIQ-ADL-*): when a bankrupt account's loss exceeds the insurance fund, its
position is closed against traders on the other side, chosen by the profile's ranking policy.

Rankings (LIQ-ADL-2) order the opposite-side traders; the first ones absorb the position, each up
to its own size. Scores are exact rationals, compared exactly; ties go to the smaller account ID,
so the order is deterministic (LIQ-INV-10).
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

from .arithmetic import PPM, checked, sign
from .book import closable_within_fund
from .errors import Rejection, ResultCode
from .insurance import settle_deficit
from .ledger import fill
from .liquidation import is_liquidatable
from .margin import (account_maintenance_margin_quote, equity_quote, notional_quote,
                     position_value_quote, unrealized_pnl_quote)
from .prices import bankruptcy_value_quote
from .profile import AdlPrice, AdlRanking, BadDebtPolicy
from .receipts import Receipt, receipt
from .rules import implements
from .state import INSURANCE_FUND, TRADER, Account, State, atomic
from .validation import valid_fund_peak

Score = Callable[[Account, str, State], Fraction]


def _pnl_fraction(account: Account, market_id: str, state: State) -> Fraction:
    """PnL% as a fraction: unrealized PnL over the absolute entry cost (0 for a zero cost)."""
    cost = abs(account.cost_quote.get(market_id, 0))
    if cost == 0:
        return Fraction(0)
    pnl = unrealized_pnl_quote(account, market_id, state.marks[market_id], state.market(market_id))
    return Fraction(pnl, cost)


def _notional_and_equity(account: Account, market_id: str, state: State) -> tuple[int, int]:
    notional = notional_quote(account.position(market_id), state.marks[market_id],
                              state.market(market_id))
    return notional, equity_quote(account, state.marks, state.profile)


@implements("LIQ-ADL-2")
def score_pnl_leverage(account: Account, market_id: str, state: State) -> Fraction:
    """BitMEX (and Bybit's "profit and effective leverage"): PnL% x effective leverage when in
    profit, PnL% / effective leverage otherwise; effective leverage = notional / equity, with
    equity floored at one quantum, so an account with no equity ranks as the most leveraged."""
    pnl = _pnl_fraction(account, market_id, state)
    notional, equity = _notional_and_equity(account, market_id, state)
    leverage = Fraction(notional, max(equity, 1))
    return pnl * leverage if pnl > 0 else pnl / leverage


@implements("LIQ-ADL-2")
def score_pnl_margin_ratio(account: Account, market_id: str, state: State) -> Fraction:
    """Binance: max(0, unrealized profit) / max(1 quote unit, wallet balance) x margin ratio, where
    margin ratio = maintenance / (wallet balance + unrealized PnL), or 0 when that is <= 0."""
    market = state.market(market_id)
    pnl = unrealized_pnl_quote(account, market_id, state.marks[market_id], market)
    equity = equity_quote(account, state.marks, state.profile)
    total_pnl = sum(unrealized_pnl_quote(account, m, state.marks[m], state.market(m))
                    for m in account.positions)
    # the wallet balance (quote plus the entry costs) is a derived quantity (LIQ-DOMAIN-1)
    wallet = checked(equity - total_pnl, f"wallet balance of {account.account_id}")
    one_unit = 10**state.profile.quote_decimals
    pnl_percent = Fraction(max(0, pnl), max(one_unit, wallet))
    if equity <= 0:
        return Fraction(0)
    margin_ratio = Fraction(account_maintenance_margin_quote(account, state.marks, state.profile),
                            equity)
    return pnl_percent * margin_ratio


@implements("LIQ-ADL-2")
def score_price_ratio_leverage(account: Account, market_id: str, state: State) -> Fraction:
    """Hyperliquid: (mark / entry) x (notional / account value). For a short we use entry / mark,
    so that, as for a long, the more the position is in profit the earlier it is chosen (the
    published index is written for longs)."""
    lots = account.position(market_id)
    value = abs(position_value_quote(lots, state.marks[market_id], state.market(market_id)))
    cost = abs(account.cost_quote.get(market_id, 0)) or 1
    price_ratio = Fraction(value, cost) if lots > 0 else Fraction(cost, max(value, 1))
    notional, equity = _notional_and_equity(account, market_id, state)
    return price_ratio * Fraction(notional, max(equity, 1))


RANKINGS: dict[str, Score] = {
    AdlRanking.PNL_LEVERAGE: score_pnl_leverage,
    AdlRanking.PNL_MARGIN_RATIO: score_pnl_margin_ratio,
    AdlRanking.PRICE_RATIO_LEVERAGE: score_price_ratio_leverage,
}
#: policies that order without a score
ORDERINGS = (AdlRanking.SEEDED, AdlRanking.PRO_RATA)
assert set(RANKINGS) | set(ORDERINGS) == set(AdlRanking), "profiles validate against this list"


def _splitmix64(value: int) -> int:
    """A fixed 64-bit mixer (SplitMix64): the deterministic pseudo-random start of LIQ-ADL-2."""
    value = (value + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return value ^ (value >> 31)


@implements("LIQ-ADL-2")
def adl_allocation(state: State, account: Account, market_id: str) -> list[tuple[str, int]]:
    """Who takes how many lots of the bankrupt position, in execution order."""
    lots_needed = abs(account.position(market_id))
    side = sign(account.position(market_id))
    candidates = sorted(
        (a for a in state.accounts.values()
         if a.role == TRADER and a.account_id != account.account_id
         and sign(a.position(market_id)) == -side),
        key=lambda a: a.account_id)
    policy = state.profile.adl_ranking
    if policy == AdlRanking.PRO_RATA:
        return _pro_rata(candidates, market_id, lots_needed)
    if policy == AdlRanking.SEEDED:  # dYdX v4: a pseudo-random start, then every candidate in turn
        start = _splitmix64(state.profile.adl_seed ^ state.seq) % len(candidates) if candidates else 0
        ordered = candidates[start:] + candidates[:start]
    else:
        score = RANKINGS[policy]
        ordered = sorted(candidates, key=lambda a: (-score(a, market_id, state), a.account_id))
    allocation = []
    for candidate in ordered:
        if lots_needed == 0:
            break
        take = min(lots_needed, abs(candidate.position(market_id)))
        allocation.append((candidate.account_id, take))
        lots_needed -= take
    return allocation


def _pro_rata(candidates: list[Account], market_id: str, lots_needed: int) -> list[tuple[str, int]]:
    """Each opposite trader takes floor(needed x its share); the leftover lots go one each by
    largest remainder, ties to the smaller account ID."""
    total = sum(abs(a.position(market_id)) for a in candidates)
    if total <= lots_needed:  # everyone takes everything; any shortfall is reported by the caller
        return [(a.account_id, abs(a.position(market_id))) for a in candidates]
    shares: list[list] = []  # [account_id, lots, remainder] each
    for a in candidates:
        exact = lots_needed * abs(a.position(market_id))
        shares.append([a.account_id, exact // total, exact % total])
    leftover = lots_needed - sum(s[1] for s in shares)
    for share in sorted(shares, key=lambda s: (-s[2], s[0]))[:leftover]:
        share[1] += 1
    return [(account_id, lots) for account_id, lots, _ in shares if lots > 0]


@implements("LIQ-ADL-5")
def fund_in_drawdown(state: State, fund_peak_quote: int) -> bool:
    """Whether the insurance fund has fallen from ``fund_peak_quote``, its peak within the
    profile's window, by at least ``adl_drawdown_ppm`` of that peak: ``(peak - fund) * 10^6 >=
    ppm * peak`` with ``peak > fund``, compared exactly. Never under a profile without the rule
    (ppm 0). The peak is the operation's input (the fund's history is not in the state); a
    cascade takes it from the balances it has seen
    (:class:`~liqspec.reference.cascade.FundWindow`)."""
    ppm = state.profile.adl_drawdown_ppm
    fund = state.holders[INSURANCE_FUND]
    return (ppm > 0 and fund_peak_quote > fund
            and (fund_peak_quote - fund) * PPM >= ppm * fund_peak_quote)


@implements("LIQ-ADL-4", "LIQ-ADL-5")
def adl_at_mark(state: State, fund_peak_quote: int) -> bool:
    """Deleveraging executes at the mark: the profile's ``adl_price`` says so, or the fund is in
    drawdown (LIQ-ADL-5: OKX matches "at the current Mark Price")."""
    return state.profile.adl_price == AdlPrice.MARK or fund_in_drawdown(state, fund_peak_quote)


@implements("LIQ-ADL-4")
def adl_receive_quote(account: Account, market_id: str, lots: int, state: State,
                      fund_peak_quote: int = 0) -> int:
    """Quote the bankrupt account receives for closing ``lots`` of its position (negative: pays).

    At the bankruptcy price: :func:`~liqspec.reference.prices.bankruptcy_value_quote`. At the
    mark (:func:`adl_at_mark`: the profile's price, or the fund in drawdown from
    ``fund_peak_quote``): the closed lots' mark value alone. A count of lots outside int64 (2^63,
    the whole of a position of -2^63 lots) is OVERFLOW (LIQ-DOMAIN-1), as every other count of
    lots is; a peak outside 0..2^63-1 is INVALID_AMOUNT.
    """
    checked(lots, "deleveraged lots")
    if adl_at_mark(state, valid_fund_peak(fund_peak_quote)):
        market, mark = state.market(market_id), state.marks[market_id]
        before = account.position(market_id)
        after = before - sign(before) * lots
        return position_value_quote(before, mark, market) - position_value_quote(after, mark,
                                                                                 market)
    return bankruptcy_value_quote(account, market_id, lots, state.marks, state.profile)


@implements("LIQ-ADL-1", "LIQ-ADL-5")
def check_deleverage(state: State, account_id: str, market_id: str,
                     fund_peak_quote: int = 0) -> list[tuple[str, int]]:
    """The checks of :func:`deleverage`, in its order (the account, the market, the fund's peak,
    the role, the policy, the position, the trigger or bankruptcy, the fund unless it is in
    drawdown, the opposite side's depth); pure. Returns the allocation: each counterparty and
    the lots it takes, in ranking order."""
    account = state.account(account_id)
    state.market(market_id)
    valid_fund_peak(fund_peak_quote)
    if account.role != TRADER:
        raise Rejection(ResultCode.ACCOUNT_NOT_TRADER, f"{account_id} is not a trader account")
    if state.profile.bad_debt_policy != BadDebtPolicy.ADL:
        raise Rejection(ResultCode.POLICY_FORBIDS,
                        f"{state.profile.name} socializes losses instead of deleveraging")
    position = account.position(market_id)
    if position == 0:
        raise Rejection(ResultCode.NO_POSITION, f"{account_id} has no position in {market_id}")
    if market_id in state.books:
        if not is_liquidatable(account, state):
            raise Rejection(ResultCode.NOT_LIQUIDATABLE,
                            f"{account_id} is at or above maintenance margin")
    else:
        equity = equity_quote(account, state.marks, state.profile)
        if equity >= 0:
            raise Rejection(ResultCode.NOT_BANKRUPT, f"{account_id} has equity {equity} >= 0")
    if not fund_in_drawdown(state, fund_peak_quote) and closable_within_fund(state, account,
                                                                             market_id):
        raise Rejection(ResultCode.FUND_CAN_COVER,
                        "the market's liquidity and the insurance fund can absorb the position")
    allocation = adl_allocation(state, account, market_id)
    if sum(lots for _, lots in allocation) < abs(position):
        raise Rejection(ResultCode.INSUFFICIENT_ADL_LIQUIDITY,
                        f"the opposite side holds fewer than {abs(position)} lots")
    return allocation


@implements("LIQ-ADL-1", "LIQ-ADL-3", "LIQ-ADL-5")
def deleverage(state: State, account_id: str, market_id: str,
               fund_peak_quote: int = 0) -> Receipt:
    """Close the account's whole position in ``market_id`` against the ranked opposite side, when
    the market's liquidity cannot close it without a deficit the insurance fund cannot pay
    (LIQ-BOOK-3), or when the fund has fallen from ``fund_peak_quote`` by the profile's drawdown
    share (LIQ-ADL-5). Without a book that liquidity is a fill at the mark: the account must be
    bankrupt (equity < 0) beyond the fund. With a book it must be liquidatable and the book too
    thin; it is then closed at its bankruptcy value even if its equity at the mark is positive,
    as venues close a liquidated position they cannot sell at its bankruptcy price. In drawdown
    it closes at the mark (:func:`adl_at_mark`)."""
    allocation = check_deleverage(state, account_id, market_id, fund_peak_quote)
    account = state.account(account_id)
    position = account.position(market_id)
    at_mark = adl_at_mark(state, fund_peak_quote)  # the fills move no quote to or from the fund
    first = len(state.journal)
    with atomic(state):
        for counterparty_id, lots in allocation:
            receives = adl_receive_quote(account, market_id, lots, state, fund_peak_quote)
            price = state.marks[market_id] if at_mark else None
            if position > 0:
                fill(state, market_id, counterparty_id, account_id, lots, receives, price,
                     "LIQ-ADL-3")
            else:
                fill(state, market_id, account_id, counterparty_id, lots, -receives, price,
                     "LIQ-ADL-3")
        settled = settle_deficit(state, account) if account.is_flat() and account.quote < 0 else {}
        # A counterparty closed at the bankrupt account's price can itself be left flat and in
        # deficit; it is settled the same way, so no flat account carries a loss (LIQ-INV-4).
        for counterparty_id, _ in allocation:
            counterparty = state.account(counterparty_id)
            if counterparty.is_flat() and counterparty.quote < 0:
                for key, amount in settle_deficit(state, counterparty).items():
                    settled[key] = settled.get(key, 0) + amount
    return receipt(state, first, lots=abs(position), counterparties=len(allocation), **settled)
