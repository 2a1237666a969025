"""Liquidation by account share (LIQ-SHARE-1, LIQ-SHARE-2): Paradex's partial liquidation.

Where the other venues close one position at a time through the book, Paradex reduces every
position of a liquidatable account by the same fraction, the liquidation share, at once: the
positions go to its insurance fund at the mark, and the account pays a penalty, a share of its
maintenance requirement. The share is the smallest multiple of a step (20%) whose predicted
margin ratio (maintenance over equity) falls strictly below a target (90%); failing that, all of
it. Since the transfer is at the mark, it changes no equity: only the penalty does.
"""

from __future__ import annotations

from dataclasses import dataclass

from .arithmetic import PPM, checked, div_ceil
from .errors import Rejection, ResultCode
from .insurance import settle_deficit
from .ledger import fill, transfer
from .liquidation import check_vault_takeover, is_liquidatable
from .margin import equity_quote, position_maintenance_margin_quote
from .profile import LiquidationSize, Profile
from .receipts import Receipt, receipt
from .rules import implements
from .state import INSURANCE_FUND, Account, State, atomic
from .trading import require_market_allowed


@dataclass(frozen=True)
class SharePlan:
    """What one share liquidation does to an account, computed before it moves anything."""

    share_ppm: int  # the fraction of every position closed, in millionths
    penalty_quote: int  # what the account pays the insurance fund
    closed_lots: dict[str, int]  # per market, the lots closed (unsigned)
    maintenance_after_quote: int  # the requirement of the lots kept
    equity_after_quote: int  # equity less the penalty (the transfer at the mark moves none)


def share_steps_ppm(profile: Profile) -> tuple[int, ...]:
    """The shares tried, in order: the multiples of ``portion_ppm`` below 100%, then 100%."""
    step = profile.portion_ppm
    return tuple(range(step, PPM, step)) + (PPM,)


def share_lots(lots: int, share_ppm: int) -> int:
    """The lots a share closes of a position: ``ceil(|lots| * share)``, rounded up to a whole lot
    so a partial close never takes less than its share (LIQ-ROUND-1's side: the account ends
    safer)."""
    return div_ceil(abs(lots) * share_ppm, PPM)


def fee_weighted_maintenance(account: Account, state: State) -> int:
    """``sum_m(MM_m * fee_m)`` over the account's positions, each market's maintenance
    requirement before the liquidation times its liquidation_fee_ppm: quote quantums x ppm, the
    same for every share tried."""
    profile = state.profile
    total = 0
    for market_id in account.positions:
        requirement = position_maintenance_margin_quote(account, market_id, state.marks, profile)
        total += requirement * profile.markets[market_id].liquidation_fee_ppm
    return total


def _penalty_quote(fee_weighted: int, share_ppm: int, equity_quote: int) -> int:
    """LIQ-SHARE-1's penalty from its parts: ``ceil(share * fee_weighted)``, rounded up, at most
    the equity when positive and nothing when it is not."""
    return min(div_ceil(fee_weighted * share_ppm, PPM * PPM), max(equity_quote, 0))


@implements("LIQ-SHARE-1")
def share_penalty_quote(account: Account, state: State, share_ppm: int) -> int:
    """The penalty of a share: ``ceil(share * sum_m(fee_m * MM_m))`` over the account's positions
    (each market's liquidation_fee_ppm of its maintenance requirement before the liquidation),
    rounded up, at most the account's equity when positive and nothing when it is not."""
    return _penalty_quote(fee_weighted_maintenance(account, state), share_ppm,
                          equity_quote(account, state.marks, state.profile))


@implements("LIQ-SHARE-1")
def liquidation_share(account: Account, state: State) -> SharePlan:
    """The share to liquidate: the first of :func:`share_steps_ppm` after which the requirement
    of the lots kept is strictly below ``share_target_ppm`` of the equity less the penalty
    (``kept_mm * 10^6 < target * (equity - penalty)``); 100% when none is."""
    profile, marks = state.profile, state.marks
    equity = equity_quote(account, marks, profile)
    fee_weighted = fee_weighted_maintenance(account, state)  # the same for every share
    plan = None
    for share in share_steps_ppm(profile):
        closed = {m: share_lots(lots, share) for m, lots in sorted(account.positions.items())}
        kept_mm_quote = 0
        for market_id, lots in account.positions.items():
            kept_lots = lots - closed[market_id] if lots > 0 else lots + closed[market_id]
            kept_mm_quote += position_maintenance_margin_quote(account, market_id, marks,
                                                               profile, kept_lots)
        penalty = _penalty_quote(fee_weighted, share, equity)
        equity_after_quote = equity - penalty
        plan = SharePlan(share, penalty, closed, checked(kept_mm_quote, "maintenance kept"),
                         equity_after_quote)
        if kept_mm_quote * PPM < profile.share_target_ppm * equity_after_quote:
            return plan
    assert plan is not None  # share_steps_ppm always ends with 100%
    return plan


@implements("LIQ-SHARE-2")
def check_share_liquidate(state: State, account_id: str, vault_id: str) -> None:
    """The checks of :func:`share_liquidate`, in its order (the accounts, the same account, the
    role, the vault, the policy, the vault's markets, the trigger); pure."""
    account = check_vault_takeover(state, account_id, vault_id)
    vault = state.account(vault_id)
    if state.profile.liquidation_size != LiquidationSize.ACCOUNT_SHARE:
        raise Rejection(ResultCode.POLICY_FORBIDS,
                        f"{state.profile.name} does not liquidate by account share")
    for market_id in sorted(account.positions):
        require_market_allowed(vault, market_id)
    if not is_liquidatable(account, state):
        raise Rejection(ResultCode.NOT_LIQUIDATABLE,
                        f"{account_id} is at or above maintenance margin")  # LIQ-INV-5


@implements("LIQ-SHARE-2")
def share_liquidate(state: State, account_id: str, vault_id: str) -> Receipt:
    """Paradex's liquidation: the vault (the insurance fund's trading account) takes the share of
    :func:`liquidation_share` of every position at the mark, in market-ID order; the account pays
    the penalty to the insurance fund; a flat account left in deficit is settled at once
    (LIQ-INSURANCE-1, LIQ-SOCIAL-1)."""
    check_share_liquidate(state, account_id, vault_id)
    account = state.account(account_id)
    plan = liquidation_share(account, state)
    first = len(state.journal)
    with atomic(state):
        for market_id, lots in sorted(plan.closed_lots.items()):
            mark, market = state.marks[market_id], state.market(market_id)
            amount = checked(lots * mark * market.value_per_lot_tick, "takeover notional")
            long = account.position(market_id) > 0
            buyer, seller = (vault_id, account_id) if long else (account_id, vault_id)
            fill(state, market_id, buyer, seller, lots, amount, mark, "LIQ-SHARE-2")
        if plan.penalty_quote > 0:
            transfer(state, account_id, INSURANCE_FUND, plan.penalty_quote, "LIQ-SHARE-1")
        settled = settle_deficit(state, account) if account.is_flat() and account.quote < 0 else {}
    return receipt(state, first, share_ppm=plan.share_ppm, fee=plan.penalty_quote, **settled)
