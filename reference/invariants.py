"""Executable forms of the invariants (LIQ-INV-*): each returns a list of violations, empty when
the invariant holds, so a failing test can say exactly what broke and where."""

from __future__ import annotations

import hashlib
from collections import defaultdict

from .journal import Fill, Transfer
from .margin import equity_quote
from .rules import implements
from .state import FEE_SINK, FUNDING_POOL, HOLDERS, INSURANCE_FUND, SOCIALIZED_LOSS, TRADER, State


@implements("LIQ-INV-1")
def conservation_violations(state: State) -> list[str]:
    """Quote over all accounts and holders sums to zero, and equals a replay of the journal."""
    problems = []
    total = sum(a.quote for a in state.accounts.values()) + sum(state.holders.values())
    if total != 0:
        problems.append(f"quote over all holders sums to {total}, not 0")
    replay: dict[str, int] = defaultdict(int)
    for entry in state.journal:
        if isinstance(entry, Transfer):
            replay[entry.source] -= entry.amount_quote
            replay[entry.destination] += entry.amount_quote
    for holder in HOLDERS:
        if replay[holder] != state.holders[holder]:
            problems.append(f"{holder} holds {state.holders[holder]}, journal says {replay[holder]}")
    for account in state.accounts.values():
        if replay[account.account_id] != account.quote:
            problems.append(f"{account.account_id} holds {account.quote}, journal says "
                            f"{replay[account.account_id]}")
    return problems


@implements("LIQ-INV-2")
def zero_sum_violations(state: State) -> list[str]:
    """Base sums to zero in every market, and equals a replay of the journal's fills."""
    problems = []
    replay: dict[tuple[str, str], int] = defaultdict(int)
    for entry in state.journal:
        if isinstance(entry, Fill):
            replay[(entry.buyer, entry.market_id)] += entry.lots
            replay[(entry.seller, entry.market_id)] -= entry.lots
    for market_id in state.profile.markets:
        total = sum(a.position(market_id) for a in state.accounts.values())
        if total != 0:
            problems.append(f"positions in {market_id} sum to {total}, not 0")
        for account in state.accounts.values():
            if replay[(account.account_id, market_id)] != account.position(market_id):
                problems.append(f"{account.account_id} holds {account.position(market_id)} "
                                f"{market_id}, journal says {replay[(account.account_id, market_id)]}")
    for account in state.accounts.values():
        if 0 in account.positions.values():
            problems.append(f"{account.account_id} stores a zero position")
    return problems


@implements("LIQ-INV-3")
def fund_solvency_violations(state: State) -> list[str]:
    """The insurance fund is never negative."""
    fund = state.holders[INSURANCE_FUND]
    return [] if fund >= 0 else [f"insurance fund is {fund}"]


@implements("LIQ-INV-4")
def resolution_violations(state: State) -> list[str]:
    """No flat trader account carries a deficit: every settled loss is paid by the fund or
    recorded as bad debt with the socialized-loss holder."""
    return [f"flat account {a.account_id} has quote {a.quote}"
            for a in state.accounts.values() if a.role == TRADER and a.is_flat() and a.quote < 0]


@implements("LIQ-INV-6")
def progress_violations(before: State, after: State, account_id: str) -> list[str]:
    """A liquidation step strictly shrinks the account's total position (so liquidating one
    account ends within as many steps as it holds lots)."""
    lots_before = sum(abs(v) for v in before.account(account_id).positions.values())
    lots_after = sum(abs(v) for v in after.account(account_id).positions.values())
    return [] if lots_after < lots_before else [
        f"{account_id} held {lots_before} lots before the step and {lots_after} after"]


@implements("LIQ-INV-7")
def fee_cap_violations(fee_quote: int, surplus_quote: int, fund_delta_quote: int | None = None,
                       equity_before_quote: int | None = None) -> list[str]:
    """A liquidation fee is never negative and never exceeds the surplus left after the fill.
    Under ``per_fill`` (a ``fund_delta_quote`` is given, LIQ-FEE-2) the cap is the fill's own
    delta, and the surplus caps it only for an account whose equity before the fill was not
    negative (``equity_before_quote``)."""
    if fee_quote < 0:
        return [f"fee {fee_quote} is negative"]
    if fund_delta_quote is not None:
        problems = [] if fee_quote <= max(fund_delta_quote, 0) else [
            f"fee {fee_quote} exceeds the fill's insurance fund delta {fund_delta_quote}"]
        if equity_before_quote is not None and equity_before_quote >= 0 \
                and fee_quote > max(surplus_quote, 0):
            problems.append(f"fee {fee_quote} exceeds surplus {surplus_quote} of an account "
                            f"with equity {equity_before_quote} before the fill")
        return problems
    return [] if fee_quote <= max(surplus_quote, 0) else [
        f"fee {fee_quote} exceeds surplus {surplus_quote}"]


@implements("LIQ-INV-8")
def rounding_violations(state: State) -> list[str]:
    """Residuals land on the venue's side: the funding pool is empty between operations, and the
    socialized-loss holder never holds a surplus (it is swept to the fee sink)."""
    problems = []
    if state.holders[FUNDING_POOL] != 0:
        problems.append(f"funding pool holds {state.holders[FUNDING_POOL]}")
    if state.holders[SOCIALIZED_LOSS] > 0:
        problems.append(f"socialized-loss holder has surplus {state.holders[SOCIALIZED_LOSS]}")
    if state.holders[FEE_SINK] < 0:
        problems.append(f"fee sink is {state.holders[FEE_SINK]}")
    return problems


@implements("LIQ-INV-10")
def state_digest(state: State) -> str:
    """A SHA-256 of the canonical state image: equal inputs give equal digests, byte for byte."""
    return hashlib.sha256(repr(state.snapshot()).encode()).hexdigest()


def isolation_violations(state: State) -> list[str]:
    """An isolated account holds no position outside its market (LIQ-ACCOUNT-2)."""
    return [f"{a.account_id} is isolated to {a.isolated_market} but holds {m}"
            for a in state.accounts.values() if a.isolated_market is not None
            for m in a.positions if m != a.isolated_market]


def all_violations(state: State) -> list[str]:
    """Every state invariant at once (the operation-level ones are checked per operation)."""
    return (conservation_violations(state) + zero_sum_violations(state)
            + fund_solvency_violations(state) + resolution_violations(state)
            + rounding_violations(state) + isolation_violations(state))


def trader_equities(state: State) -> dict[str, int]:
    """Equity of every trader account (for reports and the resolution checks of cascades)."""
    return {a.account_id: equity_quote(a, state.marks, state.profile)
            for a in state.accounts.values() if a.role == TRADER}
