"""Parameter domains the theorems quantify over: every venue profile, and a generic one.

A venue profile's domain is its own parameters, exactly (its tier tables, fee rates, units and
policies), turned into z3 constants by :func:`profile_params`. The ``generic`` domains leave the
numbers symbolic (two tiers per market with any floors, rates in 1..999_999 ppm, deductions that
keep the requirement continuous, any positive value per lot per tick, any minimum requirement,
any drawdown share of LIQ-ADL-5 where a domain has that rule), under each combination of the
policies the reference offers, so a theorem proved there holds for profiles nobody has written
yet. The constraints are those of ``validate_market`` (LIQ-DOMAIN-2) and ``validate_profile``,
so a counterexample found there is a valid profile.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import z3

from liqspec.reference.arithmetic import PPM
from liqspec.reference.profiles import PROFILES
from liqspec.reference.profile import (AdlPrice, BadDebtPolicy, FeePolicy, LiquidationSize, Market,
                                       MarketKind, Profile, TierBasis, Trigger)

from .encodings import MarketParams, Params, TierParams, val

#: the two markets of every domain, in the order the symbolic state uses
MARKET_SLOTS = ("m0", "m1")


def _market_params(slot: str, market: Market) -> MarketParams:
    tiers = tuple(TierParams(val(t.floor_notional_quote), val(t.maint_margin_ppm),
                             val(t.maint_deduction_quote), val(t.init_margin_ppm),
                             val(t.init_deduction_quote), val(t.floor_lots))
                  for t in market.tiers)
    caps = None
    if market.oi_scaling is not None:
        caps = (val(market.oi_scaling.lower_cap_quote), val(market.oi_scaling.upper_cap_quote))
    return MarketParams(slot, val(market.value_per_lot_tick), tiers,
                        val(market.liquidation_fee_ppm), val(market.min_maint_margin_quote), caps,
                        market.rate_scale, val(market.liquidator_fee_ppm),
                        market.tier_basis == TierBasis.SIZE, market.kind == MarketKind.INVERSE)


def proof_profile(profile: Profile) -> Profile:
    """The profile a venue's domain is about: the profile itself, or, for a venue of one market,
    the profile with a second market equal to its one (the ID suffixed ``#2``), so that the
    domain's two market slots are two markets. A theorem proved over two copies of the market
    holds of states that use one of them, which are the venue's."""
    if len(profile.markets) >= len(MARKET_SLOTS):
        return profile
    (market_id, market), = profile.markets.items()
    twin = f"{market_id}#2"
    return replace(profile, markets={market_id: market,
                                     twin: replace(market, market_id=twin)})


def profile_params(profile: Profile) -> Params:
    """A venue profile's own parameters; its markets fill the slots in market-ID order (a venue
    of one market: it and its twin, :func:`proof_profile`)."""
    profile = proof_profile(profile)
    markets = sorted(profile.markets)[: len(MARKET_SLOTS)]
    return Params(
        name=profile.name,
        markets={slot: _market_params(slot, profile.markets[m])
                 for slot, m in zip(MARKET_SLOTS, markets)},
        liquidation_size=profile.liquidation_size,
        portion_ppm=val(profile.portion_ppm),
        portion_threshold_quote=val(profile.portion_threshold_quote),
        fee_policy=profile.fee_policy,
        backstop_ratio=profile.backstop_ratio,
        bad_debt_policy=profile.bad_debt_policy,
        adl_price=profile.adl_price,
        share_target_ppm=profile.share_target_ppm,
        liquidation_buffer_ppm=val(profile.liquidation_buffer_ppm),
        # LIQ-TRIGGER-3, read off the policy itself: were it read off the reference's
        # trigger_equity_quote, a reference that ignored the policy would be mirrored, not caught
        trigger_slack=int(profile.trigger == Trigger.AT_OR_BELOW),
        adl_drawdown_ppm=val(profile.adl_drawdown_ppm),  # LIQ-ADL-5 (okx: 300,000)
    )


def slot_market_ids(profile: Profile) -> dict[str, str]:
    """Slot name -> the market ID of the profile a domain is about (:func:`proof_profile`; the
    inverse of :func:`profile_params`)."""
    markets = sorted(proof_profile(profile).markets)
    return dict(zip(MARKET_SLOTS, markets))


@dataclass(frozen=True)
class Policies:
    liquidation_size: str = LiquidationSize.FULL
    fee_policy: str = FeePolicy.RATE
    backstop_ratio: tuple[int, int] | None = None
    bad_debt_policy: str = BadDebtPolicy.ADL
    adl_price: str = AdlPrice.BANKRUPTCY
    #: LIQ-ADL-5: deleveraging on the fund's drawdown, at a symbolic share in 1..10^6 ppm
    drawdown: bool = False

    @property
    def name(self) -> str:
        backstop = "" if self.backstop_ratio is None else f",backstop{self.backstop_ratio[0]}/" \
                                                         f"{self.backstop_ratio[1]}"
        drawdown = ",drawdown" if self.drawdown else ""
        return (f"generic[{self.liquidation_size},{self.fee_policy},{self.bad_debt_policy},"
                f"{self.adl_price}{backstop}{drawdown}]")


#: the share step and target of an account_share generic domain (Paradex's)
SHARE_STEP_PPM, SHARE_TARGET_PPM = 200_000, 900_000


def generic_params(policies: Policies, tiers_per_market: int = 2) -> Params:
    """Symbolic parameters under ``policies``: every number a z3 constant constrained to the
    domain ``validate_market`` accepts."""
    assumptions = []
    markets = {}
    # cover_shortage's parameters (LIQ-SHORTAGE-1, LIQ-FEE-3) are symbols only where they are
    # read: elsewhere a constant 0, so the other domains' obligations are as they were
    shortage = policies.liquidation_size == LiquidationSize.COVER_SHORTAGE
    for slot in MARKET_SLOTS:
        p = f"par_{slot}_"
        v = z3.Int(p + "value_per_lot_tick")
        fee = z3.Int(p + "liquidation_fee_ppm")
        minimum = z3.Int(p + "min_maint_margin_quote")
        assumptions += [v > 0, fee >= 0, fee <= PPM, minimum >= 0]
        reward: z3.ArithRef = val(0)
        if shortage:
            reward = z3.Int(p + "liquidator_fee_ppm")
            assumptions += [reward >= 0, reward <= PPM]
        tiers: list[TierParams] = []
        for i in range(tiers_per_market):
            t = TierParams(*(z3.Int(f"{p}t{i}_{name}") for name in (
                "floor_notional_quote", "maint_margin_ppm", "maint_deduction_quote",
                "init_margin_ppm", "init_deduction_quote")))
            assumptions += [t.maint_margin_ppm > 0, t.maint_margin_ppm < PPM,
                            t.maint_margin_ppm <= t.init_margin_ppm, t.init_margin_ppm <= PPM]
            if i == 0:
                assumptions += [t.floor_notional_quote == 0, t.maint_deduction_quote == 0,
                                t.init_deduction_quote == 0]
            else:
                prev = tiers[-1]
                assumptions += [
                    t.floor_notional_quote > prev.floor_notional_quote,
                    t.maint_margin_ppm >= prev.maint_margin_ppm,
                    # continuity at the floor (validate_market)
                    t.maint_deduction_quote * PPM == prev.maint_deduction_quote * PPM
                    + t.floor_notional_quote * (t.maint_margin_ppm - prev.maint_margin_ppm),
                    t.init_deduction_quote * PPM == prev.init_deduction_quote * PPM
                    + t.floor_notional_quote * (t.init_margin_ppm - prev.init_margin_ppm),
                ]
            tiers.append(t)
        markets[slot] = MarketParams(slot, v, tuple(tiers), fee, minimum, None, 1, reward)
    threshold = z3.Int("par_portion_threshold_quote")
    assumptions.append(threshold >= 0)
    if policies.liquidation_size == LiquidationSize.ACCOUNT_SHARE:
        # the shares tried are a list, so the step is concrete (and so the target, which
        # multiplies the equity): Paradex's 20% and 90%; tiers, fees and units stay symbolic
        portion: z3.ArithRef = val(SHARE_STEP_PPM)
        target = SHARE_TARGET_PPM
    else:
        portion, target = z3.Int("par_portion_ppm"), PPM
        assumptions += [portion > 0, portion <= PPM]
    buffer: z3.ArithRef = val(0)
    if shortage:
        buffer = z3.Int("par_liquidation_buffer_ppm")
        assumptions += [buffer >= 0, buffer <= PPM]
    drawdown: z3.ArithRef = val(0)
    if policies.drawdown:  # LIQ-ADL-5 (validate_profile: 1..10^6, only under adl)
        drawdown = z3.Int("par_adl_drawdown_ppm")
        assumptions += [drawdown >= 1, drawdown <= PPM]
    return Params(policies.name, markets, policies.liquidation_size, portion, threshold,
                  policies.fee_policy, policies.backstop_ratio, policies.bad_debt_policy,
                  policies.adl_price, tuple(assumptions), target, buffer,
                  adl_drawdown_ppm=drawdown)


def venue_domains() -> list[Params]:
    """Every venue profile, as its own parameter domain."""
    return [profile_params(PROFILES[name]) for name in sorted(PROFILES)]


#: generic policy combinations: every sizing x fee policy, every bad-debt policy, both ADL
#: prices and a backstop; then deleveraging on the fund's drawdown (LIQ-ADL-5) at either ADL
#: price, on sizing, fee and backstop combinations listed before, so that only the theorems that
#: read the rule (the deleveraging theorems) gain domains
GENERIC_POLICIES = tuple(
    Policies(size, fee, backstop, debt, adl_price)
    for size, fee, backstop, debt, adl_price in (
        (LiquidationSize.FULL, FeePolicy.RATE, None, BadDebtPolicy.ADL, AdlPrice.BANKRUPTCY),
        (LiquidationSize.PORTION, FeePolicy.RATE, (2, 3), BadDebtPolicy.ADL, AdlPrice.MARK),
        (LiquidationSize.TIER_STEP, FeePolicy.ALL_SURPLUS, None, BadDebtPolicy.SOCIALIZE,
         AdlPrice.BANKRUPTCY),
        (LiquidationSize.FULL, FeePolicy.ALL_SURPLUS, (1, 2), BadDebtPolicy.ADL, AdlPrice.MARK),
        (LiquidationSize.PORTION, FeePolicy.ALL_SURPLUS, None, BadDebtPolicy.SOCIALIZE,
         AdlPrice.BANKRUPTCY),
        (LiquidationSize.TIER_STEP, FeePolicy.RATE, (2, 3), BadDebtPolicy.ADL, AdlPrice.BANKRUPTCY),
        (LiquidationSize.FULL, FeePolicy.PER_FILL, None, BadDebtPolicy.SOCIALIZE_BOTH_SIDES,
         AdlPrice.MARK),
        (LiquidationSize.PORTION, FeePolicy.PER_FILL, None, BadDebtPolicy.ADL, AdlPrice.BANKRUPTCY),
        (LiquidationSize.TIER_STEP, FeePolicy.PER_FILL, (2, 3), BadDebtPolicy.ADL, AdlPrice.MARK),
        (LiquidationSize.TWO_TIER_STEP, FeePolicy.ALL_SURPLUS, None, BadDebtPolicy.SOCIALIZE,
         AdlPrice.MARK),
        (LiquidationSize.ACCOUNT_SHARE, FeePolicy.MAINTENANCE_SHARE, None,
         BadDebtPolicy.SOCIALIZE, AdlPrice.MARK),
        (LiquidationSize.COVER_SHORTAGE, FeePolicy.LIQUIDATOR_AND_FUND, None,
         BadDebtPolicy.SOCIALIZE_BOTH_SIDES, AdlPrice.BANKRUPTCY),
    )
) + (
    Policies(LiquidationSize.FULL, FeePolicy.RATE, None, BadDebtPolicy.ADL, AdlPrice.BANKRUPTCY,
             drawdown=True),
    Policies(LiquidationSize.PORTION, FeePolicy.RATE, (2, 3), BadDebtPolicy.ADL, AdlPrice.MARK,
             drawdown=True),
)


def generic_domains() -> list[Params]:
    # two_tier_step steps only from a third tier (LIQ-EXEC-3): its domain has three per market
    return [generic_params(p, 3 if p.liquidation_size == LiquidationSize.TWO_TIER_STEP else 2)
            for p in GENERIC_POLICIES]
