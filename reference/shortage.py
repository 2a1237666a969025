"""Liquidation to cover the margin shortage (LIQ-SHORTAGE-1, LIQ-EXEC-1's ``cover_shortage``,
LIQ-FEE-3, LIQ-FEE-4): Drift v2's partial liquidation.

Drift does not close a fixed part of a position: it measures how far the account is below its
maintenance requirement plus a buffer (the margin shortage) and closes the fewest lots whose
close at the mark, after the fees it pays, brings the account back up to that level. The
liquidated account pays two fees on the fill: the liquidator's (a fixed rate, to the
counterparty, charged even when it leaves the account in deficit) and the insurance fund's, at
the lower of the market's rate and 19/20 of the rate the shortage leaves room for, so that the
fund's fee does not push the account into bankruptcy.

Every rate here is in 1 / (10^6 x the market's rate_scale), the unit of its tiers (LIQ-TIER-7).
"""

from __future__ import annotations

from dataclasses import dataclass

from .arithmetic import PPM, checked, div_ceil, mul_ppm_floor
from .margin import (account_maintenance_margin_quote, equity_quote, maintenance_notional_quote,
                     notional_quote, tier_for)
from .rules import implements
from .state import Account, State

#: Drift keeps 19/20 of the implied fund fee "to avoid situation where fee leads to deposits ==
#: negative pnl leading to bankruptcy" (math/liquidation.rs, calculate_perp_if_fee)
IMPLIED_FEE_KEPT = (19, 20)


@dataclass(frozen=True)
class ShortageRates:
    """The rates one cover-the-shortage step is sized with, in 1 / ``whole``."""

    whole: int  # 100%: 10^6 x the market's rate_scale
    margin_rate: int  # the position's maintenance rate plus the buffer
    liquidator_rate: int  # the liquidator's fee
    fund_rate: int  # the insurance fund's fee: min(the market's rate, the implied rate)


@implements("LIQ-SHORTAGE-1")
def margin_shortage_quote(account: Account, state: State) -> int:
    """How far the account's equity is below its maintenance requirement plus the buffer:
    ``MM + ceil(buffer * sum |notional at the mark|) - equity``, never below 0. The buffer is a
    requirement, so it rounds up."""
    profile, marks = state.profile, state.marks
    notional = sum(notional_quote(lots, marks[m], profile.markets[m])
                   for m, lots in account.positions.items())
    buffer_quote = div_ceil(notional * profile.liquidation_buffer_ppm, PPM)
    requirement = account_maintenance_margin_quote(account, marks, profile) + buffer_quote
    return max(checked(requirement - equity_quote(account, marks, profile), "margin shortage"), 0)


@implements("LIQ-FEE-4")
def shortage_rates(account: Account, market_id: str, state: State,
                   shortage_quote: int) -> ShortageRates:
    """The rates of a step in ``market_id`` for an account ``shortage_quote`` short: its
    maintenance rate (the tier of its position, LIQ-TIER-6) plus the buffer, the liquidator's
    fee, and the fund's fee, the lower of the market's ``liquidation_fee_ppm`` and
    ``floor(19/20 * max(margin_rate - liquidator_rate - floor(shortage * whole / V), 0))``, where
    ``V`` is the whole position's notional at the mark (Drift's ``calculate_perp_if_fee``)."""
    profile = state.profile
    market = profile.markets[market_id]
    scale = market.rate_scale
    whole = PPM * scale
    basis = maintenance_notional_quote(account, market_id, state.marks, profile)
    margin_rate = (tier_for(market, basis, account.position(market_id)).maint_margin_ppm
                   + profile.liquidation_buffer_ppm * scale)
    liquidator_rate = market.liquidator_fee_ppm * scale
    value = notional_quote(account.position(market_id), state.marks[market_id], market)
    shortage_rate = shortage_quote * whole // value  # floor: Drift truncates it
    kept, of = IMPLIED_FEE_KEPT
    implied = max(margin_rate - liquidator_rate - shortage_rate, 0) * kept // of
    return ShortageRates(whole, margin_rate, liquidator_rate,
                         min(market.liquidation_fee_ppm * scale, implied))


@implements("LIQ-EXEC-1", "LIQ-SHORTAGE-1")
def cover_shortage_lots(account: Account, market_id: str, state: State) -> int:
    """``cover_shortage``: the fewest lots ``k`` whose close at the mark frees the shortage,
    ``k * mark * m * (margin_rate - liquidator_rate - fund_rate) >= shortage``, rounded up to a
    whole lot and at most the position; the whole position when that rate difference is not
    positive or the position is worth at most ``portion_threshold_quote`` (Drift closes a
    position of $50 or less whole)."""
    lots = abs(account.position(market_id))
    market, mark = state.market(market_id), state.marks[market_id]
    if lots == 0 or notional_quote(lots, mark, market) <= state.profile.portion_threshold_quote:
        return lots
    shortage = margin_shortage_quote(account, state)
    rates = shortage_rates(account, market_id, state, shortage)
    freed_rate = rates.margin_rate - rates.liquidator_rate - rates.fund_rate
    if freed_rate <= 0:
        return lots
    needed = div_ceil(shortage * rates.whole, mark * market.value_per_lot_tick * freed_rate)
    return min(lots, max(needed, 1))


@implements("LIQ-FEE-3")
def liquidator_fee_quote(fill_notional_quote: int, liquidator_fee_ppm: int) -> int:
    """The liquidator's fee: ``floor(fill notional * liquidator_fee_ppm)``, paid by the
    liquidated account to the counterparty whatever its equity (Drift truncates it, and charges
    it even when it leaves the account bankrupt)."""
    return mul_ppm_floor(fill_notional_quote, liquidator_fee_ppm)


@implements("LIQ-FEE-4")
def fund_fee_quote(fill_notional_quote: int, rates: ShortageRates, surplus_quote: int) -> int:
    """The insurance fund's fee: ``floor(fill notional * fund_rate)``, at most the surplus left
    after the fill and the liquidator's fee (LIQ-INV-7). Drift's 19/20 is meant to keep the fee
    below that surplus at a fill at the oracle; the cap keeps it there at any fill price."""
    return min(fill_notional_quote * rates.fund_rate // rates.whole, max(surplus_quote, 0))
