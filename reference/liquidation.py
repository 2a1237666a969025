"""The liquidation trigger, sizing, execution, fee and backstop (LIQ-TRIGGER-*, LIQ-EXEC-*,
LIQ-FEE-1, LIQ-FEE-2, LIQ-BACKSTOP-1); Drift's sizing and fees are in :mod:`.shortage`.

A liquidation step closes part or all of one position of a liquidatable account against a
counterparty at a given fill price (in a cascade, the price the order book gives). The liquidated
account is forced: it gets no margin check. The fee is charged to the account and paid to the
insurance fund, capped by what the account has left (under ``per_fill``, what the closed lots have
left, the fund paying at once what they lack; under ``liquidator_and_fund`` the counterparty is
paid its fee first, uncapped). When the step leaves the account flat with a
negative balance, the deficit is settled at once (LIQ-INSURANCE-1, LIQ-SOCIAL-1).
"""

from __future__ import annotations

from fractions import Fraction
from math import ceil

from .arithmetic import PPM, checked, div_ceil, mul_ppm_ceil, mul_ppm_floor, sign
from .errors import Rejection, ResultCode
from .insurance import settle_deficit
from .ledger import fill, transfer
from .margin import (account_maintenance_margin_quote, equity_quote, maintenance_at_entry,
                     maintenance_margin_quote, maintenance_notional_quote, notional_quote,
                     position_maintenance_margin_quote, tier_index, trigger_equity_quote)
from .prices import bankruptcy_price, bankruptcy_value_quote
from .profile import FeePolicy, LiquidationSize, Tier, TierBasis
from .receipts import Receipt, receipt
from .rules import implements
from .shortage import (cover_shortage_lots, fund_fee_quote, liquidator_fee_quote,
                       margin_shortage_quote, shortage_rates)
from .state import BACKSTOP, INSURANCE_FUND, TRADER, Account, State, atomic
from .trading import check_margin_after_trade, margin_before, require_market_allowed
from .validation import accounts, valid_price, valid_size


@implements("LIQ-TRIGGER-1", "LIQ-TRIGGER-3")
def is_liquidatable(account: Account, state: State) -> bool:
    """Liquidatable iff the maintenance requirement is positive and equity is strictly below it
    (LIQ-TRIGGER-1), or at or below it under the profile's ``at_or_below`` trigger
    (LIQ-TRIGGER-3)."""
    maintenance = account_maintenance_margin_quote(account, state.marks, state.profile)
    return maintenance > 0 and trigger_equity_quote(
        equity_quote(account, state.marks, state.profile), state.profile) < maintenance


@implements("LIQ-TRIGGER-2")
def is_below_backstop(account: Account, state: State) -> bool:
    """Hyperliquid's backstop threshold: equity < num/den of maintenance (2/3), compared exactly
    by cross-multiplying; never true for a profile without a backstop."""
    if state.profile.backstop_ratio is None:
        return False
    num, den = state.profile.backstop_ratio
    maintenance = account_maintenance_margin_quote(account, state.marks, state.profile)
    return maintenance > 0 and equity_quote(account, state.marks, state.profile) * den < num * maintenance


@implements("LIQ-EXEC-1", "LIQ-TIER-8")
def liquidation_size_lots(account: Account, market_id: str, state: State) -> int:
    """How many lots one liquidation step may close, by the profile's sizing policy. Under
    ``account_share`` there is no step of one market (POLICY_FORBIDS): the whole account is
    reduced at once (LIQ-SHARE-2)."""
    profile = state.profile
    if profile.liquidation_size == LiquidationSize.ACCOUNT_SHARE:
        raise Rejection(ResultCode.POLICY_FORBIDS,
                        f"{profile.name} liquidates whole accounts by share (LIQ-SHARE-2)")
    lots = abs(account.position(market_id))
    market, mark = state.market(market_id), state.marks[market_id]
    notional = notional_quote(lots, mark, market)
    if profile.liquidation_size == LiquidationSize.FULL:
        return lots
    if profile.liquidation_size == LiquidationSize.COVER_SHORTAGE:
        return cover_shortage_lots(account, market_id, state)
    if profile.liquidation_size == LiquidationSize.PORTION:
        if notional <= profile.portion_threshold_quote:
            return lots
        return max(1, div_ceil(lots * profile.portion_ppm, PPM))  # round up: close more
    # The tier of the requirement's notional (LIQ-TIER-6): at the mark, or the entry value; in a
    # market keyed by size, the tier of the size (LIQ-TIER-8).
    basis = maintenance_notional_quote(account, market_id, state.marks, profile)
    index = tier_index(market, basis, lots)
    if profile.liquidation_size == LiquidationSize.TWO_TIER_STEP:
        if index < 2 or past_at_first_tier(account, market_id, state):
            return lots
        return lots - lots_kept_below(account, market_id, state, market.tiers[index - 1])
    assert profile.liquidation_size == LiquidationSize.TIER_STEP
    return lots - lots_kept_below(account, market_id, state, market.tiers[index])


@implements("LIQ-EXEC-1", "LIQ-TIER-8")
def lots_kept_below(account: Account, market_id: str, state: State, tier: Tier) -> int:
    """The most lots of the account's position whose requirement's notional stays strictly
    below ``tier``'s floor (LIQ-TIER-6), or in a market keyed by size whose size does
    (``floor_lots - 1``, LIQ-TIER-8); none below the first tier's floor, 0."""
    profile, market, mark = state.profile, state.market(market_id), state.marks[market_id]
    lots = abs(account.position(market_id))
    if market.tier_basis == TierBasis.SIZE:
        return max(tier.floor_lots - 1, 0)
    floor = tier.floor_notional_quote
    if floor == 0:
        return 0
    if not maintenance_at_entry(account, profile):  # at the mark: k lots are worth k * mark * m
        return div_ceil(floor, mark * market.value_per_lot_tick) - 1
    # at entry: the basis k lots keep rises with k; the most below the floor, by bisection
    keep, above = 0, lots  # basis(keep) < floor <= basis(above)
    while above - keep > 1:
        middle = (keep + above) // 2
        kept = maintenance_notional_quote(account, market_id, state.marks, profile, middle)
        keep, above = (middle, above) if kept < floor else (keep, middle)
    return keep


@implements("LIQ-EXEC-3")
def past_at_first_tier(account: Account, market_id: str, state: State) -> bool:
    """OKX's test for a whole liquidation of a position in its third tier or above: the account
    is past its trigger (LIQ-TRIGGER-1/3) even with that position's requirement at its market's
    first tier, on the same basis (LIQ-TIER-6), the other positions' as they are. Reducing the
    position cannot then bring the account back, however far it steps down."""
    profile, market = state.profile, state.market(market_id)
    own = position_maintenance_margin_quote(account, market_id, state.marks, profile)
    basis = maintenance_notional_quote(account, market_id, state.marks, profile)
    first = maintenance_margin_quote(market, basis, account.position(market_id),
                                     tier=market.tiers[0])
    maintenance = account_maintenance_margin_quote(account, state.marks, profile) - own + first
    equity = trigger_equity_quote(equity_quote(account, state.marks, profile), profile)
    return maintenance > 0 and equity < maintenance


@implements("LIQ-FEE-1")
def liquidation_fee_quote(state: State, market_id: str, side: int, lots: int,
                          fill_price_ticks: int, bankruptcy: Fraction, surplus_quote: int) -> int:
    """The fee a step pays the insurance fund, never more than the surplus left after the fill.

    ``rate``: ceil(fill notional * liquidation_fee_ppm). ``all_surplus``: the fill's gain over the
    bankruptcy price of the closed lots, rounded up (BitMEX and Bybit keep everything above it).
    ``side`` is the closed position's side (+1 long, -1 short), taken before the fill.
    ``per_fill`` has no such fee (POLICY_FORBIDS): its fee is the fill's insurance fund delta,
    which depends on the whole account (:func:`insurance_fund_delta_quote`, LIQ-FEE-2); nor has
    ``maintenance_share``, whose penalty is the account's (LIQ-SHARE-1), nor
    ``liquidator_and_fund``, whose fees are LIQ-FEE-3's and LIQ-FEE-4's.
    """
    market = state.market(market_id)
    if state.profile.fee_policy == FeePolicy.LIQUIDATOR_AND_FUND:
        raise Rejection(ResultCode.POLICY_FORBIDS,
                        f"{state.profile.name} charges a liquidator's and a fund's fee "
                        "(LIQ-FEE-3, LIQ-FEE-4)")
    if state.profile.fee_policy == FeePolicy.PER_FILL:
        raise Rejection(ResultCode.POLICY_FORBIDS,
                        f"{state.profile.name} charges the fill's insurance fund delta (LIQ-FEE-2)")
    if state.profile.fee_policy == FeePolicy.MAINTENANCE_SHARE:
        raise Rejection(ResultCode.POLICY_FORBIDS,
                        f"{state.profile.name} charges a share of maintenance (LIQ-SHARE-1)")
    if state.profile.fee_policy == FeePolicy.ALL_SURPLUS:
        gain = side * lots * market.value_per_lot_tick * (fill_price_ticks - bankruptcy)
        wanted = max(ceil(gain), 0)
    else:
        wanted = mul_ppm_ceil(notional_quote(lots, fill_price_ticks, market),
                              market.liquidation_fee_ppm)
    return min(wanted, max(surplus_quote, 0))


@implements("LIQ-FEE-2")
def insurance_fund_delta_quote(account: Account, market_id: str, lots: int,
                               fill_price_ticks: int, state: State) -> int:
    """dYdX v4's insurance fund delta of a fill closing ``lots`` of the account's position at
    ``fill_price_ticks``, taken before the fill: the fill's quote (received +, paid -) less the
    bankruptcy value of the closed lots (LIQ-ADL-4). When positive, the fee the account pays the
    fund, at most floor(|fill quote| * liquidation_fee_ppm); when negative, what the fund owes."""
    market = state.market(market_id)
    fill_quote = sign(account.position(market_id)) * notional_quote(lots, fill_price_ticks, market)
    delta = fill_quote - bankruptcy_value_quote(account, market_id, lots, state.marks,
                                                state.profile)
    if delta <= 0:
        return delta
    return min(mul_ppm_floor(abs(fill_quote), market.liquidation_fee_ppm), delta)


@implements("LIQ-EXEC-2")
def check_liquidate(state: State, account_id: str, market_id: str, counterparty_id: str,
                    fill_price_ticks: int, lots: int | None = None) -> int:
    """The checks of :func:`liquidate`, in its order (the accounts, the market, the size, the
    price, the same account, the role, the counterparty's market, the trigger, the position, the
    policy's size); pure. Returns the step's size in lots."""
    account, counterparty = accounts(state, account_id, counterparty_id)
    state.market(market_id)
    if lots is not None:
        valid_size(lots, "liquidation size")
    valid_price(fill_price_ticks, "fill price")
    if account_id == counterparty_id:
        raise Rejection(ResultCode.SAME_ACCOUNT, "an account cannot take over its own position")
    if account.role != TRADER:
        raise Rejection(ResultCode.ACCOUNT_NOT_TRADER, f"{account_id} is not a trader account")
    require_market_allowed(counterparty, market_id)
    if not is_liquidatable(account, state):
        raise Rejection(ResultCode.NOT_LIQUIDATABLE,
                        f"{account_id} is at or above maintenance margin")  # LIQ-INV-5
    position = account.position(market_id)
    if position == 0:
        raise Rejection(ResultCode.NO_POSITION, f"{account_id} has no position in {market_id}")
    allowed = liquidation_size_lots(account, market_id, state)
    size = allowed if lots is None else lots
    if size > allowed:
        raise Rejection(ResultCode.SIZE_EXCEEDS_POLICY,
                        f"the policy lets one step close {allowed} lots, not {size}")
    return size


@implements("LIQ-EXEC-2")
def liquidate(state: State, account_id: str, market_id: str, counterparty_id: str,
              fill_price_ticks: int, lots: int | None = None) -> Receipt:
    """One liquidation step: close ``lots`` (default: the policy's size) of the account's position
    in ``market_id`` against ``counterparty_id`` at ``fill_price_ticks``, charge the fee, and
    settle any deficit left on a flat account."""
    size = check_liquidate(state, account_id, market_id, counterparty_id, fill_price_ticks, lots)
    account, counterparty = state.account(account_id), state.account(counterparty_id)
    market = state.market(market_id)
    position = account.position(market_id)
    bankruptcy = bankruptcy_price(account, market_id, state.marks, state.profile).exact
    per_fill = state.profile.fee_policy == FeePolicy.PER_FILL
    fund_delta = insurance_fund_delta_quote(account, market_id, size, fill_price_ticks,
                                            state) if per_fill else 0
    two_fees = state.profile.fee_policy == FeePolicy.LIQUIDATOR_AND_FUND
    rates = None
    if two_fees:  # LIQ-FEE-4: the rates of the shortage before the step
        rates = shortage_rates(account, market_id, state, margin_shortage_quote(account, state))
    first = len(state.journal)
    with atomic(state):
        amount = checked(size * fill_price_ticks * market.value_per_lot_tick, "fill notional")
        buyer, seller = (counterparty_id, account_id) if position > 0 else (account_id,
                                                                           counterparty_id)
        before = margin_before(state, counterparty_id, market_id)
        fill(state, market_id, buyer, seller, size, amount, fill_price_ticks, "LIQ-EXEC-2")
        reward = liquidator_fee_quote(amount, market.liquidator_fee_ppm) if two_fees else 0
        if reward > 0:  # the counterparty's margin is checked with its reward (as Drift does)
            transfer(state, account_id, counterparty_id, reward, "LIQ-FEE-3")
        if counterparty.role == TRADER:  # only traders are margined
            check_margin_after_trade(state, counterparty_id, market_id, before)
        surplus = equity_quote(account, state.marks, state.profile)
        if per_fill:
            fee = max(fund_delta, 0)
        elif rates is not None:
            fee = fund_fee_quote(amount, rates, surplus)
        else:
            fee = liquidation_fee_quote(state, market_id, 1 if position > 0 else -1, size,
                                        fill_price_ticks, bankruptcy, surplus)
        if fee > 0:
            transfer(state, account_id, INSURANCE_FUND, fee,
                     "LIQ-FEE-4" if two_fees else "LIQ-FEE-1")
        # per_fill: the fund pays a negative delta at once, at most its balance (LIQ-INV-3)
        covered = min(-fund_delta, state.holders[INSURANCE_FUND]) if fund_delta < 0 else 0
        if covered > 0:
            transfer(state, INSURANCE_FUND, account_id, covered, "LIQ-INSURANCE-1")
        settled = settle_deficit(state, account) if account.is_flat() and account.quote < 0 else {}
    extra = {"fund_delta": fund_delta, "fund_covered": covered} if per_fill else {}
    if two_fees:
        extra["liquidator_fee"] = reward
    return receipt(state, first, lots=size, fee=fee, surplus=surplus, **extra, **settled)


@implements("LIQ-BACKSTOP-1", "LIQ-SHARE-2")
def check_vault_takeover(state: State, account_id: str, vault_id: str) -> Account:
    """The checks a vault's takeover starts with (LIQ-BACKSTOP-1, LIQ-SHARE-2), in order: the
    accounts, the same account, the trader, the vault's role. Returns the trader's account."""
    account, vault = accounts(state, account_id, vault_id)
    if account_id == vault_id:
        raise Rejection(ResultCode.SAME_ACCOUNT, "an account cannot be its own backstop")
    if account.role != TRADER:
        raise Rejection(ResultCode.ACCOUNT_NOT_TRADER, f"{account_id} is not a trader account")
    if vault.role != BACKSTOP:
        raise Rejection(ResultCode.POLICY_FORBIDS, f"{vault_id} is not a backstop vault")
    return account


@implements("LIQ-BACKSTOP-1")
def check_backstop_liquidate(state: State, account_id: str, vault_id: str) -> None:
    """The checks of :func:`backstop_liquidate`, in its order (the accounts, the same account,
    the role, the vault, the policy, the vault's markets, the backstop trigger); pure."""
    account = check_vault_takeover(state, account_id, vault_id)
    vault = state.account(vault_id)
    if state.profile.backstop_ratio is None:
        raise Rejection(ResultCode.POLICY_FORBIDS, f"{state.profile.name} has no backstop")
    for market_id in sorted(account.positions):
        require_market_allowed(vault, market_id)
    if not is_below_backstop(account, state):
        raise Rejection(ResultCode.NOT_LIQUIDATABLE,
                        f"{account_id} is at or above the backstop threshold")


@implements("LIQ-BACKSTOP-1")
def backstop_liquidate(state: State, account_id: str, vault_id: str) -> Receipt:
    """Hyperliquid's backstop: below the backstop threshold, the vault takes over every position
    at the mark and the account's remaining equity with it (or covers its negative equity)."""
    check_backstop_liquidate(state, account_id, vault_id)
    account = state.account(account_id)
    first = len(state.journal)
    with atomic(state):
        for market_id, lots in sorted(account.positions.items()):
            mark, market = state.marks[market_id], state.market(market_id)
            amount = checked(abs(lots) * mark * market.value_per_lot_tick, "takeover notional")
            buyer, seller = (vault_id, account_id) if lots > 0 else (account_id, vault_id)
            fill(state, market_id, buyer, seller, abs(lots), amount, mark, "LIQ-BACKSTOP-1")
        remaining = account.quote
        if remaining > 0:
            transfer(state, account_id, vault_id, remaining, "LIQ-BACKSTOP-1")
        elif remaining < 0:
            transfer(state, vault_id, account_id, -remaining, "LIQ-BACKSTOP-1")
    return receipt(state, first, taken_quote=remaining)
