"""Notional, equity, PnL, tiered margin requirements and free collateral (LIQ-MARGIN-*, LIQ-TIER-*).

Requirements are amounts the account owes the venue's solvency, so every division here rounds up
(LIQ-ROUND-1). Functions take an account and the marks rather than the whole state, so the same
code prices a hypothetical post-trade account when a rule needs one.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

from .arithmetic import PPM, checked, div_ceil, div_floor
from .errors import MalformedState
from .profile import MaintenanceBasis, Market, Profile, Tier, TierBasis, Trigger
from .rules import implements
from .state import Account, State



@implements("LIQ-MARGIN-1")
def position_value_quote(lots: int, price_ticks: int, market: Market) -> int:
    """Signed value of a position at a price: ``lots * price * value_per_lot_tick`` (exact)."""
    if market.value_per_lot_tick <= 0:
        raise MalformedState(f"market {market.market_id} is not bound to a profile; use "
                             f"profile.markets[{market.market_id!r}]")
    return checked(lots * price_ticks * market.value_per_lot_tick, f"value in {market.market_id}")


@implements("LIQ-MARGIN-1")
def notional_quote(lots: int, price_ticks: int, market: Market) -> int:
    """Unsigned notional of a position: the absolute position value."""
    return abs(position_value_quote(lots, price_ticks, market))


@implements("LIQ-MARGIN-2")
def equity_quote(account: Account, marks: Mapping[str, int], profile: Profile) -> int:
    """Equity (account value, net collateral): quote balance plus the value of every position."""
    total = account.quote
    for market_id, lots in account.positions.items():
        total += position_value_quote(lots, marks[market_id], profile.markets[market_id])
    return checked(total, f"equity of {account.account_id}")


@implements("LIQ-TRIGGER-3")
def trigger_equity_quote(equity: int, profile: Profile) -> int:
    """The equity the liquidation trigger compares with maintenance: the equity, or under the
    ``at_or_below`` trigger one quantum less, so that ``equity - 1 < MM`` is ``equity <= MM``
    in integers, and every rule built on the strict comparison (the trigger, the liquidation
    price's root) reads the inclusive one by this one shift."""
    return equity - 1 if profile.trigger == Trigger.AT_OR_BELOW else equity


@implements("LIQ-MARGIN-3")
def unrealized_pnl_quote(account: Account, market_id: str, mark_ticks: int, market: Market) -> int:
    """Unrealized PnL of one position: its value at the mark less its entry cost."""
    lots = account.position(market_id)
    value = position_value_quote(lots, mark_ticks, market)
    return checked(value - account.cost_quote.get(market_id, 0), "unrealized pnl")


@implements("LIQ-MARGIN-4")
def reduced_cost_quote(cost_quote: int, lots: int, kept_lots: int) -> int:
    """The cost basis the first ``kept_lots`` of a position of ``lots`` keep when it is reduced to
    them: the same average entry, ``floor(cost * |kept| / |lots|)``."""
    return div_floor(cost_quote * abs(kept_lots), abs(lots))


@implements("LIQ-TIER-1", "LIQ-TIER-8")
def tier_index(market: Market, notional: int | Fraction, lots: int | None = None) -> int:
    """The index (0 for the first) of the tier whose bracket holds the position: the last tier
    whose floor is at most its notional (LIQ-TIER-1) or, in a market keyed by size, at most its
    size ``|lots|`` (LIQ-TIER-8), which such a market needs."""
    key: int | Fraction = notional
    if market.tier_basis == TierBasis.SIZE:
        if lots is None:
            raise MalformedState(f"market {market.market_id} keys its tiers by size; "
                                 "the position's lots are needed (LIQ-TIER-8)")
        key = abs(lots)
    chosen = 0
    for index, floor in enumerate(market.tier_floors()):
        if floor <= key:
            chosen = index
    return chosen


@implements("LIQ-TIER-1", "LIQ-TIER-8")
def tier_for(market: Market, notional: int | Fraction, lots: int | None = None) -> Tier:
    """The tier whose bracket holds the position (:func:`tier_index`)."""
    return market.tiers[tier_index(market, notional, lots)]


# A notional is an integer of quote quantums, or an exact Fraction where a price is solved for.

@implements("LIQ-TIER-2", "LIQ-TIER-3", "LIQ-TIER-7")
def tiered_requirement_ppm(notional: int | Fraction, rate_ppm: int, deduction_quote: int,
                           rate_scale: int = 1) -> int | Fraction:
    """A tier's requirement before rounding, in millionths of a quote quantum:
    ``(notional * rate - deduction * 10^6) / rate_scale`` (the rate and the deduction in the
    market's scaled units, LIQ-TIER-7). Exact: a Fraction at a scale other than 1, or for a
    fractional notional, which is how :mod:`.prices` solves for the price where the requirement
    is met."""
    line = notional * rate_ppm - deduction_quote * PPM
    return line if rate_scale == 1 else Fraction(line, rate_scale)


@implements("LIQ-TIER-2")
def maintenance_requirement_ppm(market: Market, notional: int | Fraction,
                                lots: int | None = None,
                                tier: Tier | None = None) -> int | Fraction:
    """The maintenance requirement before rounding, in millionths of a quote quantum:
    ``max(notional * mmr - deduction, minimum)`` at the position's tier (of ``lots`` in a
    market keyed by size, LIQ-TIER-8), or at ``tier`` where one is given (LIQ-EXEC-3 asks for
    the first tier's)."""
    if tier is None:
        tier = tier_for(market, notional, lots)
    tiered = tiered_requirement_ppm(notional, tier.maint_margin_ppm, tier.maint_deduction_quote,
                                    market.rate_scale)
    return max(tiered, market.min_maint_margin_quote * PPM)


@implements("LIQ-TIER-2")
def maintenance_margin_quote(market: Market, notional: int, lots: int | None = None,
                             tier: Tier | None = None) -> int:
    """Maintenance requirement of a position: ``ceil(notional * mmr) - deduction``, at least the
    market minimum (:func:`maintenance_requirement_ppm` rounded up); zero for a flat position.
    ``lots``, the position's size, picks the tier in a market keyed by size (LIQ-TIER-8);
    ``tier``, where given, is taken instead of the position's."""
    if notional == 0:
        return 0
    return checked(div_ceil(maintenance_requirement_ppm(market, notional, lots, tier), PPM),
                   "maintenance margin")


@implements("LIQ-TIER-3")
def initial_margin_quote(market: Market, notional: int, open_interest_quote: int = 0,
                         lots: int | None = None) -> int:
    """Initial requirement: ``ceil(notional * imr) - deduction``, with the open-interest scaling of
    LIQ-TIER-4 where the market has it; never below the maintenance requirement. ``lots`` as in
    :func:`maintenance_margin_quote`."""
    if notional == 0:
        return 0
    tier = tier_for(market, notional, lots)
    rate_ppm = (tier.init_margin_ppm if market.oi_scaling is None
                else oi_scaled_initial_margin_ppm(market, tier, open_interest_quote))
    tiered = div_ceil(tiered_requirement_ppm(notional, rate_ppm, tier.init_deduction_quote,
                                             market.rate_scale), PPM)
    return checked(max(tiered, maintenance_margin_quote(market, notional, lots)),
                   "initial margin")


@implements("LIQ-TIER-4")
def oi_scaled_initial_margin_ppm(market: Market, tier: Tier, open_interest_quote: int) -> int:
    """dYdX v4 open-interest scaling: the initial fraction rises linearly from the tier's to 100% as
    open interest goes from the lower to the upper cap, floored to a whole ppm (of the market's
    rate unit, LIQ-TIER-7: the rate is a parameter, not an amount; the requirement built on it
    rounds up)."""
    scaling = market.oi_scaling
    assert scaling is not None
    whole = PPM * market.rate_scale  # 100%
    if open_interest_quote <= scaling.lower_cap_quote:
        return tier.init_margin_ppm
    if open_interest_quote >= scaling.upper_cap_quote:
        return whole
    span = scaling.upper_cap_quote - scaling.lower_cap_quote
    rise = div_floor((whole - tier.init_margin_ppm)
                     * (open_interest_quote - scaling.lower_cap_quote), span)
    return tier.init_margin_ppm + rise


def open_interest_quote(state: State, market_id: str) -> int:
    """Open interest of a market in quote: the long side's lots at the mark (LIQ-TIER-4)."""
    market = state.market(market_id)
    longs = sum(max(a.position(market_id), 0) for a in state.accounts.values())
    return position_value_quote(longs, state.marks[market_id], market)


@implements("LIQ-TIER-6")
def maintenance_at_entry(account: Account, profile: Profile) -> bool:
    """True when the account's requirements are taken on entry values: the profile's basis is
    ``entry`` and the account is isolated (cross accounts are always at the mark)."""
    at_entry = profile.maintenance_basis == MaintenanceBasis.ENTRY
    return at_entry and account.isolated_market is not None


@implements("LIQ-TIER-6")
def maintenance_notional_quote(account: Account, market_id: str, marks: Mapping[str, int],
                               profile: Profile, kept_lots: int | None = None) -> int:
    """The notional the maintenance requirement of the account's position in ``market_id`` is
    taken on: its notional at the mark, or under the entry basis its entry value (the absolute
    cost basis). ``kept_lots`` (at most the position's size; only its size is read) asks for the
    position reduced to that many lots: at the mark their notional, at entry the cost basis they
    would keep (LIQ-MARGIN-4)."""
    market = profile.markets[market_id]
    lots = account.position(market_id)
    kept = lots if kept_lots is None else kept_lots
    if kept == 0:
        return 0
    if not maintenance_at_entry(account, profile):
        return notional_quote(kept, marks[market_id], market)
    return abs(reduced_cost_quote(account.cost_quote.get(market_id, 0), lots, kept))


@implements("LIQ-TIER-6")
def position_maintenance_margin_quote(account: Account, market_id: str,
                                      marks: Mapping[str, int], profile: Profile,
                                      kept_lots: int | None = None) -> int:
    """Maintenance requirement of one position (LIQ-TIER-2) on its basis (LIQ-TIER-6)."""
    notional = maintenance_notional_quote(account, market_id, marks, profile, kept_lots)
    kept = account.position(market_id) if kept_lots is None else kept_lots
    return maintenance_margin_quote(profile.markets[market_id], notional, kept)


@implements("LIQ-TIER-5")
def account_maintenance_margin_quote(account: Account, marks: Mapping[str, int],
                                     profile: Profile) -> int:
    """Total maintenance requirement: the sum over the account's positions (cross margin; an
    isolated account has one position, so the same sum serves both)."""
    total = 0
    for market_id in account.positions:
        total += position_maintenance_margin_quote(account, market_id, marks, profile)
    return checked(total, f"maintenance margin of {account.account_id}")


@implements("LIQ-LEVERAGE-2")
def initial_margin_at_leverage_quote(market: Market, notional: int, leverage: int | None,
                                     open_interest_quote: int = 0,
                                     lots: int | None = None) -> int:
    """Initial requirement of a position at the trader's chosen leverage: ``ceil(notional /
    leverage)``, never below the venue's own (LIQ-TIER-3/4), which caps the leverage at what the
    position's tier allows; the venue's own where no leverage was chosen."""
    venue = initial_margin_quote(market, notional, open_interest_quote, lots)
    if leverage is None:
        return venue
    return checked(max(div_ceil(notional, leverage), venue), "initial margin at leverage")


@implements("LIQ-TIER-5")
def account_initial_margin_quote(account: Account, marks: Mapping[str, int], profile: Profile,
                                 open_interest: Mapping[str, int] | None = None) -> int:
    """Total initial requirement: the sum over the account's positions, each at the account's
    chosen leverage for its market where it has one (LIQ-LEVERAGE-2)."""
    total = 0
    for market_id, lots in account.positions.items():
        market = profile.markets[market_id]
        oi = (open_interest or {}).get(market_id, 0)
        total += initial_margin_at_leverage_quote(
            market, notional_quote(lots, marks[market_id], market),
            account.leverage.get(market_id), oi, lots)
    return checked(total, f"initial margin of {account.account_id}")


@implements("LIQ-TRIGGER-3")
def checked_initial_quote(account: Account, initial: int, marks: Mapping[str, int],
                          profile: Profile) -> int:
    """The equity the margin checks ask for (a trade's, LIQ-TRADE-2; a withdrawal's free
    collateral, LIQ-MARGIN-5): the initial requirement, and under the ``at_or_below`` trigger at
    least one quantum above a positive maintenance requirement. Initial is never below
    maintenance but may equal it (both rounded up, at a notional of a few quantums); an account
    that passed at equity = IM = MM would be liquidatable at once."""
    if profile.trigger != Trigger.AT_OR_BELOW:
        return initial
    maintenance = account_maintenance_margin_quote(account, marks, profile)
    return max(initial, maintenance + 1) if maintenance > 0 else initial


@implements("LIQ-MARGIN-5")
def free_collateral_quote(state: State, account: Account) -> int:
    """Free collateral: equity less the initial requirement (negative when under-collateralized),
    or of one quantum above maintenance where that is more, under the ``at_or_below`` trigger
    (LIQ-TRIGGER-3)."""
    oi = {m: open_interest_quote(state, m) for m in account.positions}
    equity = equity_quote(account, state.marks, state.profile)
    initial = account_initial_margin_quote(account, state.marks, state.profile, oi)
    return checked(equity - checked_initial_quote(account, initial, state.marks, state.profile),
                   f"free collateral of {account.account_id}")
