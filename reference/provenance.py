"""Where each venue profile's parameters come from, and when liqspec read them (LIQ-PROFILE-1).

A profile (:mod:`.profiles`) holds the values; this module holds, for each named profile and
each of its parameters, the basis of the value, the sources it was read from and the date it was
read. No rule reads it: it is for the auditor who asks "says who, and as of when?". The profiles
page and ``liqspec profiles`` print it beside the values.

A basis is one of:

* ``published``: the venue publishes the value (or the rule) and it is used as published;
* ``derived``: computed exactly from published values by the venue's own published method;
* ``assumption``: not published (or not found); the note says what was assumed and what it
  changes, and the sources are the nearest published ones;
* ``model``: the model's own unit or default, not a claim about the venue;
* ``absent``: the venue's rules have no such parameter; the profile holds the neutral value
  (no fee, no minimum, no scaling, no backstop).

The read date is the day the value was taken from its sources into liqspec (the day of the change
that put it here); a venue may have changed the value since. Sources are numbered as listed in
the profile's ``sources``, from 1.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from .errors import MalformedState
from .profile import LiquidationSize, Profile

#: the bases a parameter's value can have (see the module docstring)
BASES = ("published", "derived", "assumption", "model", "absent")

#: the profile-wide parameters, in display order; each market adds MARKET_PARAMETERS
PROFILE_PARAMETERS = ("quote", "display_rounding", "liquidation_size", "fee_policy",
                      "maintenance_basis", "trigger", "backstop_ratio", "bad_debt_policy",
                      "adl_ranking", "adl_price")
#: the parameters of each market, named "<market id>.<parameter>"
MARKET_PARAMETERS = ("units", "tiers", "liquidation_fee", "min_maintenance_margin",
                     "open_interest_scaling")

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Provenance:
    """One parameter's basis, sources (URLs from the profile's ``sources``, and their numbers
    there, from 1), read date (ISO 8601) and a note on what was read and how it departs from the
    venue, if it does."""

    parameter: str
    basis: str
    sources: tuple[str, ...]
    read: str
    note: str
    source_numbers: tuple[int, ...] = ()


#: the parameters only cover_shortage reads (LIQ-SHORTAGE-1, LIQ-FEE-3): the profile's buffer
#: and each market's liquidator fee, after the market's own
SHORTAGE_PARAMETERS = ("liquidation_buffer",)
SHORTAGE_MARKET_PARAMETERS = ("liquidator_fee",)


def profile_parameters(profile: Profile) -> tuple[str, ...]:
    """Every parameter of ``profile`` that needs a provenance, in display order."""
    shortage = profile.liquidation_size == LiquidationSize.COVER_SHORTAGE
    market_names = MARKET_PARAMETERS + (SHORTAGE_MARKET_PARAMETERS if shortage else ())
    return PROFILE_PARAMETERS[:2] + tuple(
        f"{market_id}.{name}" for market_id in profile.markets for name in market_names
    ) + PROFILE_PARAMETERS[2:] + (SHORTAGE_PARAMETERS if shortage else ())


def is_recorded(profile: Profile) -> bool:
    """Whether ``profile`` is a named profile as named (not one built or changed by hand, whose
    values no recorded source vouches for)."""
    from .profiles import PROFILES  # the named profiles import this module's records' reader

    return profile.name in _RECORDS and PROFILES.get(profile.name) == profile


def provenance_of(profile: Profile) -> tuple[Provenance, ...]:
    """The provenance of every parameter of a named profile, in :func:`profile_parameters`'
    order; ``MALFORMED_STATE`` for a profile without one (a profile built or changed by hand, or
    a named profile whose record is incomplete)."""
    if not is_recorded(profile):
        raise MalformedState(f"profile {profile.name!r} has no recorded provenance (not a named "
                             "profile as named)")
    rows = _RECORDS[profile.name]
    by_name: dict[str, Provenance] = {}
    for parameter, basis, numbers, read, note in rows:
        where = f"profile {profile.name!r}, parameter {parameter!r}"
        if parameter in by_name:
            raise MalformedState(f"{where}: recorded twice")
        if basis not in BASES:
            raise MalformedState(f"{where}: basis {basis!r} is not one of {', '.join(BASES)}")
        if not _DATE.fullmatch(read):
            raise MalformedState(f"{where}: read date {read!r} is not YYYY-MM-DD")
        if not all(1 <= n <= len(profile.sources) for n in numbers):
            raise MalformedState(f"{where}: sources {numbers} not among the profile's "
                                 f"{len(profile.sources)}")
        if not numbers and basis not in ("model", "absent"):
            raise MalformedState(f"{where}: a {basis} value needs a source")
        by_name[parameter] = Provenance(parameter, basis,
                                        tuple(profile.sources[n - 1] for n in numbers), read, note,
                                        tuple(numbers))
    expected = profile_parameters(profile)
    missing = [name for name in expected if name not in by_name]
    extra = [name for name in by_name if name not in expected]
    if missing or extra:
        raise MalformedState(f"profile {profile.name!r}: provenance missing for {missing}, "
                             f"recorded for unknown parameters {extra}")
    return tuple(by_name[name] for name in expected)


# -- the records ----------------------------------------------------------------------------------
#
# (parameter, basis, source numbers, read, note). 2026-11-24 is the day the five profiles were
# read from their sources; 2026-12-04 the day the maintenance basis (LIQ-TIER-6) and dYdX's
# per-fill fee (LIQ-FEE-2) were read; 2026-12-06 the day Paradex and GMX v2 were.

_UNITS = "the model's lot and tick, chosen so every published example is expressible"
_QUOTE = "6 decimals: the model's quantum, 1e-6 of the quote asset"
_NO_MODE = ("the default, ties away from zero; no published example read distinguishes the "
            "rounding modes")
_ABSENT_MIN = "no minimum maintenance requirement in the venue's rules"
_ABSENT_OI = "no open-interest scaling in the venue's rules"
_ABSENT_BACKSTOP = "no backstop vault: the liquidation order goes to the book"

_Row = tuple[str, str, tuple[int, ...], str, str]


def _absent_market(market_id: str, read: str) -> list[_Row]:
    return [(f"{market_id}.min_maintenance_margin", "absent", (), read, _ABSENT_MIN),
            (f"{market_id}.open_interest_scaling", "absent", (), read, _ABSENT_OI)]


_BINANCE: list[_Row] = [
    ("quote", "model", (), "2026-11-24", "USDT; " + _QUOTE),
    ("display_rounding", "derived", (1, 8), "2026-11-24",
     "half even: 1,153.2565 prints 1,153.26 (not truncation), 462.665 prints 462.66 (not ties "
     "away from zero)"),
    ("BTCUSDT.units", "model", (), "2026-11-24", _UNITS),
    ("BTCUSDT.tiers", "published", (2, 3, 1), "2026-11-24",
     "brackets, maintenance and initial rates of the 2021-03-18 announcement; maintenance "
     "amounts by the FAQ's recursion, agreeing with its examples (1,300) and the "
     "liquidation-price example's 16,300; 33.30% initial as printed"),
    ("BTCUSDT.liquidation_fee", "published", (7,), "2026-11-24",
     "exchangeInfo liquidationFee 0.012500 for BTCUSDT in captured API responses"),
    *_absent_market("BTCUSDT", "2026-11-24"),
    ("ETHUSDT.units", "model", (), "2026-11-24", _UNITS),
    ("ETHUSDT.tiers", "assumption", (3, 1), "2026-11-24",
     "brackets and initial rates as published; maintenance rate assumed half the initial rate "
     "(no maintenance column is published), which gives exactly the 10% / 135,365 of the "
     "liquidation-price example; stops at the 5M bracket, so larger positions are margined at "
     "12.5%, below Binance's requirement"),
    ("ETHUSDT.liquidation_fee", "assumption", (7,), "2026-11-24",
     "no ETHUSDT value found: BTCUSDT's 1.25%"),
    *_absent_market("ETHUSDT", "2026-11-24"),
    ("liquidation_size", "published", (4,), "2026-11-24",
     "tier_step: \"reduce the user's margin limit with one large Immediate or Cancel order "
     "without fully liquidating the user\""),
    ("fee_policy", "published", (4, 5), "2026-11-24",
     "rate: the liquidation fee goes to the insurance fund"),
    ("maintenance_basis", "published", (1,), "2026-12-04",
     "mark: the liquidation-price formulas take maintenance on the notional at the mark"),
    ("trigger", "assumption", (4,), "2026-12-07",
     "below: the Liquidation article says liquidation follows when collateral is less than the "
     "maintenance margin (strict); newer pages say \"when the margin ratio reaches 100%\", which "
     "reads inclusive. The model keeps strict"),
    ("backstop_ratio", "absent", (), "2026-11-24", _ABSENT_BACKSTOP),
    ("bad_debt_policy", "published", (5, 6), "2026-11-24",
     "adl: auto-deleveraging when the insurance fund cannot cover a bankrupt position"),
    ("adl_ranking", "published", (6,), "2026-11-24",
     "pnl_margin_ratio: \"Leverage Pnl = Pnl Percent x Margin Ratio\""),
    ("adl_price", "published", (6,), "2026-11-24",
     "bankruptcy: \"closed out at the bankruptcy price of the initial liquidated order\""),
]

_BYBIT: list[_Row] = [
    ("quote", "model", (), "2026-11-24", "USDT; " + _QUOTE),
    ("display_rounding", "model", (), "2026-11-24", _NO_MODE),
    ("BTCUSDT.units", "model", (), "2026-11-24", _UNITS),
    ("BTCUSDT.tiers", "published", (2, 1), "2026-11-24",
     "GET /v5/market/risk-limit (linear, BTCUSDT; a 2026-08-05 snapshot transcribed in public "
     "code), its first two rows as the help centre prints them; a tier's floor is the previous "
     "riskLimitValue; mmDeduction as published; IMR as printed (Bybit's rounded 1/max leverage)"),
    ("BTCUSDT.liquidation_fee", "published", (5, 6), "2026-11-24",
     "none: closed at the bankruptcy price, the surplus to the insurance fund (fee_policy)"),
    *_absent_market("BTCUSDT", "2026-11-24"),
    ("ETHUSDT.units", "model", (), "2026-11-24", _UNITS),
    ("ETHUSDT.tiers", "assumption", (1,), "2026-11-24",
     "no ETHUSDT risk-limit table found: the base tier of Bybit's 100x USDT contracts "
     "(0.5% / 1%, as BTCUSDT's first), one tier only"),
    ("ETHUSDT.liquidation_fee", "published", (5, 6), "2026-11-24", "none, as BTCUSDT"),
    *_absent_market("ETHUSDT", "2026-11-24"),
    ("liquidation_size", "published", (7,), "2026-11-24",
     "tier_step: \"a FillOrKill order of the difference between the current position value and "
     "the lower margin tier value\"; the whole position at the lowest tier"),
    ("fee_policy", "published", (5, 6), "2026-11-24",
     "all_surplus: the position closes at the bankruptcy price; the difference goes to the "
     "insurance fund"),
    ("maintenance_basis", "published", (3, 4), "2026-12-04",
     "entry: Standard account isolated, \"MM = position value at entry x MMR\"; cross (UTA) "
     "accounts at the mark. The model leaves out the estimated fee to close Bybit adds"),
    ("trigger", "assumption", (4, 7, 3), "2026-12-07",
     "below: Bybit's pages say both \"falls below\" and \"reaches\" the maintenance margin (margin"
     " rate 100%); the model keeps strict"),
    ("backstop_ratio", "absent", (), "2026-11-24", _ABSENT_BACKSTOP),
    ("bad_debt_policy", "published", (8, 6), "2026-11-24",
     "adl: when the insurance fund cannot absorb a bankrupt position"),
    ("adl_ranking", "published", (8,), "2026-11-24",
     "pnl_leverage: \"in order of highest profit and effective leverage use\""),
    ("adl_price", "published", (8,), "2026-11-24", "bankruptcy"),
]

_BITMEX: list[_Row] = [
    ("quote", "model", (), "2026-11-24", "USDT; " + _QUOTE),
    ("display_rounding", "model", (), "2026-11-24", _NO_MODE),
    ("XBTUSDT.units", "model", (), "2026-11-24", _UNITS),
    ("XBTUSDT.tiers", "assumption", (3,), "2026-11-24",
     "base MM 0.50% / IM 1.00% of the XBT family (XBTUSD in the Risk Limits Examples), "
     "assumed for XBTUSDT; base risk limit only: BitMEX's steps raise the rate on the whole "
     "position (not continuous) and no USDT step size was found, so the requirement above the "
     "base limit is understated"),
    ("XBTUSDT.liquidation_fee", "published", (1,), "2026-11-24",
     "none: taken over at the bankruptcy price, anything better to the insurance fund"),
    *_absent_market("XBTUSDT", "2026-11-24"),
    ("ETHUSDT.units", "model", (), "2026-11-24", _UNITS),
    ("ETHUSDT.tiers", "published", (6,), "2026-11-24",
     "\"The required initial margin is 2% ... and the maintenance margin is 1%\"; base risk "
     "limit only, as XBTUSDT"),
    ("ETHUSDT.liquidation_fee", "published", (1,), "2026-11-24", "none, as XBTUSDT"),
    *_absent_market("ETHUSDT", "2026-11-24"),
    ("liquidation_size", "published", (1, 3), "2026-11-24",
     "tier_step: the whole position at the lowest risk limit; above it a FillOrKill order "
     "\"sized to bring the position below a lower tier\""),
    ("fee_policy", "published", (1, 2), "2026-11-24",
     "all_surplus: \"If BitMEX is able to liquidate the position at better than the "
     "bankruptcy price, the additional funds will be added to the Insurance Fund.\""),
    ("maintenance_basis", "assumption", (6, 7), "2026-12-04",
     "mark: the margin examples value positions at the mark; no entry basis was found"),
    ("trigger", "assumption", (1, 2), "2026-12-07",
     "below: liquidation when the position \"can no longer fulfill\" its maintenance requirement; "
     "the case of equality is not stated"),
    ("backstop_ratio", "absent", (), "2026-11-24", _ABSENT_BACKSTOP),
    ("bad_debt_policy", "published", (4,), "2026-11-24",
     "adl: when the insurance fund cannot take over a bankrupt position"),
    ("adl_ranking", "published", (4, 5), "2026-11-24",
     "pnl_leverage: PNL% x effective leverage (PNL% / effective leverage when PNL% < 0)"),
    ("adl_price", "published", (4,), "2026-11-24",
     "bankruptcy: \"the Bankruptcy Price of the initial liquidated order\""),
]

_DYDX_TIERS = ("Large-Cap liquidity tier: IMF 5%, maintenance fraction 60%, MMF = "
               "floor(IMF x MF) as GetMaintenanceMarginPpm; dYdX rounds the requirement up "
               "twice, the model once (up to one quantum lower)")
_DYDX_FEE = ("max_liquidation_fee_ppm 15,000 of mainnet genesis (\"Maximum Liquidation "
             "Penalty of 1.5%\"), rounded down as BigIntMulPpm")
_DYDX_OI = "Large-Cap has no open-interest scaling (both caps 0 in the v5.0.0 upgrade)"

_DYDX: list[_Row] = [
    ("quote", "model", (), "2026-11-24", "USDC; " + _QUOTE + ", which is also dYdX's quantum"),
    ("display_rounding", "model", (), "2026-11-24", _NO_MODE),
    ("BTC-USD.units", "model", (), "2026-11-24", _UNITS),
    ("BTC-USD.tiers", "published", (1, 3, 4), "2026-11-24", _DYDX_TIERS),
    ("BTC-USD.liquidation_fee", "published", (8, 5), "2026-11-24", _DYDX_FEE),
    ("BTC-USD.min_maintenance_margin", "absent", (), "2026-11-24", _ABSENT_MIN),
    ("BTC-USD.open_interest_scaling", "published", (4,), "2026-11-24", _DYDX_OI),
    ("ETH-USD.units", "model", (), "2026-11-24", _UNITS),
    ("ETH-USD.tiers", "published", (1, 3, 4), "2026-11-24", _DYDX_TIERS),
    ("ETH-USD.liquidation_fee", "published", (8, 5), "2026-11-24", _DYDX_FEE),
    ("ETH-USD.min_maintenance_margin", "absent", (), "2026-11-24", _ABSENT_MIN),
    ("ETH-USD.open_interest_scaling", "published", (4,), "2026-11-24", _DYDX_OI),
    ("liquidation_size", "published", (8, 5), "2026-11-24",
     "portion: max_position_portion_liquidated_ppm 100,000 with min_position_notional_liquidated "
     "1,000 USDC (mainnet genesis). dYdX closes max(min(1,000, notional), 10%); the model closes "
     "the whole position up to 1,000 USDC and 10% above it, so less per step between 1,000 and "
     "10,000 USDC"),
    ("fee_policy", "published", (6,), "2026-12-04",
     "per_fill: GetLiquidationInsuranceFundDelta, the fee capped by the closed lots' surplus, "
     "the fund paying at once when negative"),
    ("maintenance_basis", "published", (2,), "2026-12-04",
     "mark: requirements on the position's value at the oracle price"),
    ("trigger", "published", (8, 1), "2026-12-07",
     "below: an account is liquidatable when its total collateral \"falls below\" its maintenance "
     "margin requirement (the protocol's IsLiquidatable: requirement > net collateral)"),
    ("backstop_ratio", "absent", (), "2026-11-24", _ABSENT_BACKSTOP),
    ("bad_debt_policy", "published", (7,), "2026-11-24",
     "adl: deleveraging when the insurance fund cannot cover the bankrupt subaccount"),
    ("adl_ranking", "published", (7,), "2026-11-24",
     "seeded: a pseudo-random start, then every candidate in turn (no ranking in code); "
     "adl_seed 0 is the model's default, dYdX seeds from the block"),
    ("adl_price", "published", (7,), "2026-11-24",
     "bankruptcy: GetBankruptcyPriceInQuoteQuantums of the liquidated subaccount"),
]

_HYPERLIQUID: list[_Row] = [
    ("quote", "model", (), "2026-11-24", "USDC; " + _QUOTE),
    ("display_rounding", "model", (), "2026-11-24", _NO_MODE),
    ("BTC.units", "model", (), "2026-11-24", _UNITS),
    ("BTC.tiers", "derived", (2, 1), "2026-11-24",
     "mainnet margin tiers 40x from 0 and 20x from 150M USDC; maintenance half the initial rate "
     "at max leverage, deductions by the published recursion"),
    ("BTC.liquidation_fee", "published", (1,), "2026-11-24",
     "none: \"there is no clearance fee on liquidations\""),
    *_absent_market("BTC", "2026-11-24"),
    ("ETH.units", "model", (), "2026-11-24", _UNITS),
    ("ETH.tiers", "derived", (2, 1), "2026-11-24",
     "mainnet margin tiers 25x from 0 and 15x from 100M USDC; 15x's maintenance rate 1/30 is "
     "held exactly (rate_scale 3, LIQ-TIER-7)"),
    ("ETH.liquidation_fee", "published", (1,), "2026-11-24", "none, as BTC"),
    *_absent_market("ETH", "2026-11-24"),
    ("liquidation_size", "published", (1,), "2026-11-24",
     "portion: \"For liquidatable positions larger than 100k USDC ... only 20% of the position "
     "will be sent as a market liquidation order to the book\""),
    ("fee_policy", "published", (1,), "2026-11-24", "rate, at the market's 0%"),
    ("maintenance_basis", "published", (1,), "2026-12-04",
     "mark: maintenance on the position's notional at the mark"),
    ("trigger", "published", (1,), "2026-12-07",
     "below: liquidation \"when the account equity ... falls below the maintenance margin\""),
    ("backstop_ratio", "published", (1,), "2026-11-24",
     "2/3: \"If the account equity drops below 2/3 of the maintenance margin ... a backstop "
     "liquidation happens through the liquidator vault\""),
    ("bad_debt_policy", "published", (3,), "2026-11-24", "adl"),
    ("adl_ranking", "published", (3,), "2026-11-24",
     "price_ratio_leverage: (mark_price / entry_price) x (notional / account_value)"),
    ("adl_price", "published", (3,), "2026-11-24",
     "mark: \"closed at the previous mark price\" (older docs: the oracle price)"),
]

_PARADEX_UNITS = ("the venue's order size increment ({}) and price tick ({}); the fee "
                  "provision Paradex adds to maintenance (taker fee x position value) is not "
                  "modelled")
_PARADEX: list[_Row] = [
    ("quote", "model", (), "2026-12-06", "USDC; " + _QUOTE),
    ("display_rounding", "model", (), "2026-12-06", _NO_MODE),
    ("BTC-USD-PERP.units", "published", (3,), "2026-12-06",
     _PARADEX_UNITS.format("0.00001 BTC", "0.1 USD")),
    ("BTC-USD-PERP.tiers", "derived", (3, 2), "2026-12-06",
     "Base IMF 2% and MMF factor 50%: initial 2%, maintenance 1% (\"Net MMR is half of the Net "
     "IMR\"); one bracket, the IMF factor and shift being 0 (removed 2025-03-20)"),
    ("BTC-USD-PERP.liquidation_fee", "published", (1,), "2026-12-06",
     "70% of maintenance per whole share: \"The Liquidation Fee is set to 70%\" (the page's "
     "worked table is computed at 50%)"),
    *_absent_market("BTC-USD-PERP", "2026-12-06"),
    ("ETH-USD-PERP.units", "published", (4,), "2026-12-06",
     _PARADEX_UNITS.format("0.0001 ETH", "0.01 USD")),
    ("ETH-USD-PERP.tiers", "derived", (4, 2), "2026-12-06", "as BTC-USD-PERP: 2% and 1%"),
    ("ETH-USD-PERP.liquidation_fee", "published", (1,), "2026-12-06", "70%, as BTC-USD-PERP"),
    *_absent_market("ETH-USD-PERP", "2026-12-06"),
    ("liquidation_size", "published", (1,), "2026-12-06",
     "account_share: every position by the smallest multiple of 20% after which the margin "
     "ratio (maintenance / account value) is below 90%; the insurance fund takes the shares "
     "(at the mark: the example's account value changes by the penalty alone)"),
    ("fee_policy", "published", (1,), "2026-12-06",
     "maintenance_share: \"Liquidation Penalty = Liquidation Share * Liquidation Fee * MMR\"; "
     "capped by the account value, which the page leaves unstated"),
    ("maintenance_basis", "published", (2,), "2026-12-06",
     "mark: the requirement on the position value at the mark"),
    ("trigger", "published", (1,), "2026-12-07",
     "below: liquidation when the margin ratio \"goes above 100%\" (requirement over account "
     "value), equality not liquidated"),
    ("backstop_ratio", "absent", (), "2026-12-06",
     "no backstop threshold: every liquidation is the share takeover"),
    ("bad_debt_policy", "assumption", (5, 6), "2026-12-06",
     "socialize: \"No ADL\"; Paradex charges the loss as a haircut on withdrawals while its "
     "fund is short, the model charges it to the other side's holders when the cascade's round "
     "ends (LIQ-SOCIAL-2, LIQ-CASCADE-2)"),
    ("adl_ranking", "absent", (), "2026-12-06", "no auto-deleveraging: the ranking is unused"),
    ("adl_price", "absent", (), "2026-12-06", "no auto-deleveraging: the price is unused"),
]

_GMX_TIERS = ("0.5% of the size at open (\"minCollateralFactorForLiquidation: "
              "percentageToFloat(\"0.5%\"), // 200x leverage\"), plus the 0.06% fee to close the "
              "whole position that isPositionLiquidatable subtracts from the collateral: 0.56% "
              "of the entry value (maintenance_basis entry), one bracket. GMX rounds each term "
              "down at 1e-30 USD, the model their sum up at 1e-6 USDC; GMX takes the 0.04% fee "
              "when the close improves the long/short balance, the model always the larger 0.06%; "
              "pending borrowing and funding fees and price impact (0% for liquidations) are not "
              "modelled; open interest's extra collateral factor applies to opening only, and the "
              "model opens at the same 0.56%")
_GMX_FEE = ("0.06% closing fee + 0.20% liquidation fee (liquidationFeeFactor of the base config), "
            "to the model's insurance fund; GMX takes both on the size at open and splits them "
            "between the pool and the fee receiver (37%), the model takes them on the fill's "
            "notional (LIQ-FEE-1)")
_GMX_MIN = ("minCollateralUsd 1 USD: GMX compares it with the collateral after the closing fee, "
            "the model with the equity, so below 200 USD of size (where 0.5% is under 1 USD) the "
            "model's requirement is lower by the closing fee, at most 0.12 USDC")
_GMX_OI = ("no open-interest scaling of maintenance (GMX's open-interest collateral factor "
           "applies when a position is opened or increased, not to liquidation)")

_GMX: list[_Row] = [
    ("quote", "model", (), "2026-12-06", "USDC; " + _QUOTE + ", the collateral token's own unit"),
    ("display_rounding", "model", (), "2026-12-06", _NO_MODE),
    ("BTC-USD.units", "model", (), "2026-12-06",
     _UNITS + " (GMX has no lot or tick: sizes are in token units and prices in 1e-30 USD)"),
    ("BTC-USD.tiers", "derived", (1, 2, 4), "2026-12-06", _GMX_TIERS),
    ("BTC-USD.liquidation_fee", "published", (2, 4), "2026-12-06", _GMX_FEE),
    ("BTC-USD.min_maintenance_margin", "published", (1, 5), "2026-12-06", _GMX_MIN),
    ("BTC-USD.open_interest_scaling", "absent", (), "2026-12-06", _GMX_OI),
    ("ETH-USD.units", "model", (), "2026-12-06", _UNITS + " (as BTC-USD)"),
    ("ETH-USD.tiers", "derived", (1, 2, 4), "2026-12-06", _GMX_TIERS),
    ("ETH-USD.liquidation_fee", "published", (2, 4), "2026-12-06", _GMX_FEE),
    ("ETH-USD.min_maintenance_margin", "published", (1, 5), "2026-12-06", _GMX_MIN),
    ("ETH-USD.open_interest_scaling", "absent", (), "2026-12-06", _GMX_OI),
    ("liquidation_size", "published", (6,), "2026-12-06",
     "full: the liquidation order's sizeDeltaUsd is position.sizeInUsd(), the whole position, "
     "at the oracle price with no acceptable-price limit"),
    ("fee_policy", "published", (2, 3), "2026-12-06",
     "rate: the closing and liquidation fees, paid from what the collateral has left; a fee "
     "the collateral cannot pay is not collected (InsolventClose)"),
    ("maintenance_basis", "published", (1,), "2026-12-06",
     "entry: Precision.applyFactor(position.sizeInUsd(), minCollateralFactor), sizeInUsd being "
     "the size at open; GMX positions are isolated (a cross account of this profile is margined "
     "at the mark, as every profile's)"),
    ("trigger", "published", (1,), "2026-12-07",
     "below: liquidatable when remainingCollateralUsd < minCollateralUsdForLeverage (strict)"),
    ("backstop_ratio", "absent", (), "2026-12-06",
     "no backstop threshold: the liquidation order closes against the pool"),
    ("bad_debt_policy", "assumption", (3, 7), "2026-12-06",
     "adl: a loss beyond the collateral stays with the GM pool (InsolventClose), which the "
     "model's insurance fund stands for; GMX has no rule for a loss beyond the pool, and its "
     "ADL reduces profitable positions when traders' profit exceeds 85% of the pool, not to "
     "cover a loss; the model's deleveraging is the nearest stand-in"),
    ("adl_ranking", "assumption", (7,), "2026-12-06",
     "pnl_leverage: GMX's keepers choose which profitable positions ADL reduces; no order is "
     "fixed on chain"),
    ("adl_price", "published", (7,), "2026-12-06",
     "mark: ADL orders execute at the oracle prices"),
]

_DRIFT_MARKET = ("the program's liquidation tests' market (margin_ratio_maintenance 500, "
                 "margin_ratio_initial 1000 of 10,000): Drift sets each market's ratios on "
                 "chain, and those accounts were not read; the IMF factor that raises both for "
                 "large positions is taken as 0")
_DRIFT_UNITS = ("the model's lot of {} and tick of {}, chosen within its quantum (a lot at a "
                "tick is a whole 1e-6 USDC): Drift holds positions in 1e-9 of the base and "
                "prices in 1e-6 USD, and sets each market's order step size on chain (not read); "
                "Drift's tests use a step of 0.01, which tests/test_venue_examples.py uses")
_DRIFT_LIQUIDATOR = ("1%: the tests' liquidator_fee LIQUIDATION_FEE_PRECISION / 100; Drift "
                     "raises it with the slots since the account was last active, up to the "
                     "market's max, which the model does not (it has no slots)")
_DRIFT_IF = ("1%: the tests' if_liquidation_fee, the largest rate; the rate charged is the "
             "lower of it and 19/20 of what the shortage leaves (calculate_perp_if_fee, "
             "LIQ-FEE-4)")


def _drift_market(market_id: str, units: tuple[str, str]) -> list[_Row]:
    return [
        (f"{market_id}.units", "model", (), "2026-12-06", _DRIFT_UNITS.format(*units)),
        (f"{market_id}.tiers", "assumption", (5,), "2026-12-06", _DRIFT_MARKET),
        (f"{market_id}.liquidation_fee", "assumption", (2, 5), "2026-12-06", _DRIFT_IF),
        *_absent_market(market_id, "2026-12-06"),
        (f"{market_id}.liquidator_fee", "assumption", (1, 5), "2026-12-06", _DRIFT_LIQUIDATOR),
    ]


_DRIFT: list[_Row] = [
    ("quote", "model", (), "2026-12-06", "USDC; " + _QUOTE + " (Drift's QUOTE_PRECISION)"),
    ("display_rounding", "model", (), "2026-12-06", _NO_MODE),
    *_drift_market("BTC-PERP", ("0.0001 BTC", "0.01 USD")),
    *_drift_market("ETH-PERP", ("0.001 ETH", "0.001 USD")),
    ("liquidation_size", "published", (1, 2), "2026-12-06",
     "cover_shortage: calculate_base_asset_amount_to_cover_margin_shortage, rounded up to the "
     "step size, the whole position when it is worth $50 or less. Not modelled: Drift's "
     "gradual liquidation (a share of the shortage freed per slot since the liquidation "
     "began, initial_pct_to_liquidate and liquidation_duration: the model frees it at once, as "
     "the tests' 100% does), its open orders (cancelled first) and the liquidator's maximum "
     "size"),
    ("fee_policy", "published", (1, 2), "2026-12-06",
     "liquidator_and_fund: the liquidator takes the lots at the oracle price and the account "
     "pays it liquidator_fee of their value (LIQ-FEE-3) and the fund the implied fee "
     "(LIQ-FEE-4), both truncated at 1e-6 USDC; the model caps the fund's fee by the surplus "
     "(LIQ-INV-7), which Drift's 19/20 keeps it under at a fill at the oracle"),
    ("maintenance_basis", "published", (3,), "2026-12-06",
     "mark: the requirement on the position's value at the oracle price"),
    ("trigger", "published", (3, 1), "2026-12-07",
     "below: an account meets its requirement when total_collateral >= margin_requirement, so "
     "equality is not liquidatable"),
    ("backstop_ratio", "absent", (), "2026-12-06",
     "no backstop threshold: liquidators take the positions"),
    ("bad_debt_policy", "published", (1, 2), "2026-12-06",
     "socialize_both_sides: resolve_perp_bankruptcy has the fund pay what it can and moves "
     "the longs' and the shorts' cumulative funding rates by the rest per base unit "
     "(LIQ-SOCIAL-2 side 0), which its margin checks read at once; the model charges a "
     "cascade round's write-offs when the round ends (LIQ-CASCADE-2); no deleveraging"),
    ("adl_ranking", "absent", (), "2026-12-06", "no auto-deleveraging: the ranking is unused"),
    ("adl_price", "absent", (), "2026-12-06", "no auto-deleveraging: the price is unused"),
    ("liquidation_buffer", "published", (4, 3), "2026-12-06",
     "2%: DEFAULT_LIQUIDATION_MARGIN_BUFFER_RATIO = MARGIN_PRECISION / 50, on each position's "
     "value at the oracle; Drift also adds it on negative unsettled PnL and borrows, which the "
     "model's one quote balance does not tell apart (its shortage can be smaller by 2% of "
     "them)"),
]

_OKX_TIERS = ("BTC-USDT-SWAP's isolated position tiers as OKX's position-tiers API returned them "
              "on 2026-09-18 (instType SWAP, tdMode isolated), read from a third-party snapshot "
              "that records them (source 1, 99 tiers: maximum size, leverage, maintenance "
              "rate; a second snapshot of 2026-09-17 gives tier 1 up to 2,000 contracts, "
              "unknown mode); keyed by the number of contracts, not by notional (source 4, "
              "LIQ-TIER-8). The maintenance rate includes the 0.05% taker fee, which OKX adds "
              "to maintenance in the margin ratio's denominator (\"equal to or less than the "
              "required maintenance margin plus any applicable liquidation fees\", source 3); "
              "the initial rate is 1 / the maximum leverage (66.66x is 1.5%). Cross-margin "
              "tiers (which count both directions' contracts together) were not read")
_OKX_FEE = ("0.05%: the regular (Lv1) taker rate for perpetual swaps, charged on a forced "
            "liquidation at the user's taker rate (OKX's fee rules, source 7; the rate itself "
            "confirmed only from secondary copies of okx.com/fees, whose swap tab was not read); "
            "a user at another fee level pays another rate, which the model does not have")

_OKX: list[_Row] = [
    ("quote", "model", (), "2026-12-07", "USDT; " + _QUOTE),
    ("display_rounding", "model", (), "2026-12-07", _NO_MODE),
    ("BTC-USDT-SWAP.units", "published", (2,), "2026-12-07",
     "a lot of 0.01 contract (lotSz) of 0.01 BTC (ctVal): 0.0001 BTC; a tick of 0.1 USDT "
     "(tickSz); older instrument data has lotSz 1 contract"),
    ("BTC-USDT-SWAP.tiers", "assumption", (1, 3, 4), "2026-12-07", _OKX_TIERS),
    ("BTC-USDT-SWAP.liquidation_fee", "assumption", (7,), "2026-12-07", _OKX_FEE),
    ("BTC-USDT-SWAP.min_maintenance_margin", "absent", (), "2026-12-07", _ABSENT_MIN),
    ("BTC-USDT-SWAP.open_interest_scaling", "absent", (), "2026-12-07", _ABSENT_OI),
    ("liquidation_size", "assumption", (8, 5, 3), "2026-12-07",
     "two_tier_step (LIQ-EXEC-3): a position in tier 3 or above whose margin ratio is below its "
     "tier's requirement but above the lowest tier's is reduced by \"the number of contracts "
     "needed to reduce the position by two tiers\", again while the ratio is short; one in "
     "tier 1 or 2, or below the lowest tier's requirement, is liquidated whole. Read from "
     "copies of OKX's help pages (source 8's and its forced partial liquidation page's), not "
     "from okx.com itself; source 5 (2020) reduced to tier 1 in one step. Equality with the "
     "lowest tier's requirement counts as below, as OKX's trigger does"),
    ("fee_policy", "assumption", (7,), "2026-12-07",
     "rate: the liquidation fee at the taker rate on the fill's notional, to the insurance "
     "fund, capped by the surplus (LIQ-FEE-1)"),
    ("maintenance_basis", "published", (3, 4), "2026-12-07",
     "mark: the requirement on the position's value at the mark price"),
    ("trigger", "published", (3,), "2026-12-07",
     "at_or_below: forced liquidation when \"account equity is equal to or less than the required "
     "maintenance margin plus any applicable liquidation fees\" (LIQ-TRIGGER-3)"),
    ("backstop_ratio", "absent", (), "2026-12-07", _ABSENT_BACKSTOP),
    ("bad_debt_policy", "published", (3, 8), "2026-12-07",
     "adl: a loss beyond the insurance fund is met by auto-deleveraging; and, while the fund is "
     "in \"a straight-line decrease of 30% from the peak value of the risk reserve within 8 "
     "hours\" (source 8), liquidated positions go to deleveraging instead of the book "
     "(adl_drawdown_ppm 300,000, adl_drawdown_window_s 28,800; LIQ-ADL-5). The model's peak "
     "is the largest balance a cascade sampled (at each step's start and after each round) "
     "within the window, from the run's start or from the fund's history given with the run: "
     "OKX's own sampling was not read, and a run given no history does not see a drawdown "
     "that began before it. A 30% fall counts, as \"30%\" reads; "
     "source 8 is a copy of okx.com's page, not okx.com itself"),
    ("adl_ranking", "assumption", (3,), "2026-12-07",
     "pnl_leverage: OKX's ranking formula was not read (source 3 is OKX's liquidation rules, "
     "the nearest read)"),
    ("adl_price", "assumption", (3, 8), "2026-12-07",
     "bankruptcy, and the mark in drawdown: OKX matches the positions its drawdown rule "
     "deleverages \"at the current Mark Price\" (source 8; LIQ-ADL-5); its price for a loss "
     "beyond the fund outside a drawdown was not read"),
]

_INVERSE_UNITS = ("the model's units of an inverse market (LIQ-INVERSE-1): whole lots and coin "
                  "quantums per lot")
_BASE_TIER = ("base risk limit only: the tiers above it are not carried, so the requirement of a "
              "position above the base limit is understated")

_BITMEX_INVERSE: list[_Row] = [
    ("quote", "published", (1,), "2026-12-07",
     "XBT, 8 decimals: BitMEX accounts in satoshi (XBt); margin and PnL in XBT"),
    ("display_rounding", "model", (), "2026-12-07", _NO_MODE),
    ("XBTUSD.units", "published", (1, 3, 7), "2026-12-07",
     "a contract of 1 USD (multiplier -100,000,000 XBt), a lot of 100 contracts, each lot's "
     "value rounded to the nearest satoshi (source 3); the instrument record of 2024-11-24 "
     "(source 7: lotSize 100, tickSize 0.1, markPrice 97849.76) prices the mark in 0.01 USD, so "
     "the model's venue price has 2 decimals; " + _INVERSE_UNITS),
    ("XBTUSD.tiers", "published", (4, 7), "2026-12-07",
     "maintMargin 0.005 and initMargin 0.01 up to the base risk limit (riskLimit 200 XBT, "
     "riskStep 150 XBT in source 7); " + _BASE_TIER
     + " (BitMEX's steps raise the rate on the whole position, which is not continuous)"),
    ("XBTUSD.liquidation_fee", "published", (5,), "2026-12-07",
     "none: taken over at the bankruptcy price, anything better to the insurance fund"),
    *_absent_market("XBTUSD", "2026-12-07"),
    ("liquidation_size", "published", (4, 5), "2026-12-07",
     "tier_step, as the linear profile's"),
    ("fee_policy", "published", (5,), "2026-12-07", "all_surplus, as the linear profile's"),
    ("maintenance_basis", "assumption", (2,), "2026-12-07",
     "mark: the examples value positions at the mark (\"Mark Value\"); no entry basis found"),
    ("trigger", "assumption", (5,), "2026-12-07", "below: equality is not stated"),
    ("backstop_ratio", "absent", (), "2026-12-07", _ABSENT_BACKSTOP),
    ("bad_debt_policy", "published", (6,), "2026-12-07", "adl"),
    ("adl_ranking", "published", (6,), "2026-12-07",
     "pnl_leverage: PNL% x effective leverage, as the linear profile's"),
    ("adl_price", "published", (6,), "2026-12-07", "bankruptcy"),
]

_BINANCE_COINM: list[_Row] = [
    ("quote", "published", (1,), "2026-12-07",
     "BTC, 8 decimals: the COIN-M wallet holds BTC; margin shared across BTC contracts"),
    ("display_rounding", "assumption", (2,), "2026-12-07",
     "half_even, as Binance USD-M's printed figures"),
    ("BTCUSD_PERP.units", "published", (2, 4), "2026-12-07",
     "a contract of 100 USD (\"100 * 100 / 25,000 = 0.4 BTC\"), tick 0.1 USD; Binance "
     "publishes no rounding of a contract's coin value, the model's is per contract to the "
     "satoshi, ties up (assumption); " + _INVERSE_UNITS),
    ("BTCUSD_PERP.tiers", "published", (1, 2), "2026-12-07",
     "maintenance 0.40% (the FAQ's example, \"* 0.4% - 0\") and initial 0.80% (125x, up to 5 "
     "BTC of notional); " + _BASE_TIER),
    ("BTCUSD_PERP.liquidation_fee", "assumption", (3,), "2026-12-07",
     "1.25%, USD-M's rate: no COIN-M rate was read"),
    *_absent_market("BTCUSD_PERP", "2026-12-07"),
    ("liquidation_size", "assumption", (3,), "2026-12-07", "tier_step, as USD-M"),
    ("fee_policy", "assumption", (3,), "2026-12-07", "rate, as USD-M"),
    ("maintenance_basis", "published", (2,), "2026-12-07",
     "mark: the FAQ's maintenance is taken on the notional at the mark"),
    ("trigger", "assumption", (3,), "2026-12-07", "below, as USD-M"),
    ("backstop_ratio", "absent", (), "2026-12-07", _ABSENT_BACKSTOP),
    ("bad_debt_policy", "assumption", (3,), "2026-12-07", "adl, as USD-M"),
    ("adl_ranking", "assumption", (3,), "2026-12-07", "pnl_margin_ratio, as USD-M"),
    ("adl_price", "assumption", (3,), "2026-12-07", "bankruptcy, as USD-M"),
]

_BYBIT_INVERSE: list[_Row] = [
    ("quote", "model", (), "2026-12-07",
     "BTC in 1e-10: Bybit publishes no rounding of a contract's coin value, so the model's "
     "quantum is finer than a satoshi and its per-contract rounding at most 5e-11 BTC"),
    ("display_rounding", "model", (), "2026-12-07", _NO_MODE),
    ("BTCUSD.units", "published", (1, 4, 5), "2026-12-08",
     "a contract of 1 USD (\"Position Value = Contract Quantity / Average Entry Price\"); "
     "venue prices in 0.1 USD and an order tick of 0.5 USD (order_tick 5), to which Bybit's "
     "ADL example rounds its thresholds (\"7,735.372549 USD ≈ 7,735.50 USD\"); "
     + _INVERSE_UNITS),
    ("BTCUSD.tiers", "published", (2,), "2026-12-07",
     "maintenance 0.50% (\"The minimum maintenance margin rate for perpetual contracts on "
     "Bybit is 0.5% for BTC\") and initial 1.00% (100x); " + _BASE_TIER),
    ("BTCUSD.liquidation_fee", "published", (2,), "2026-12-07",
     "none: settled at the bankruptcy price, the surplus to the insurance fund"),
    *_absent_market("BTCUSD", "2026-12-07"),
    ("liquidation_size", "assumption", (3,), "2026-12-07", "tier_step, as the USDT profile's"),
    ("fee_policy", "assumption", (2,), "2026-12-07", "all_surplus, as the USDT profile's"),
    ("maintenance_basis", "published", (1,), "2026-12-07",
     "entry: \"Maintenance Margin = (Position Value x MMR) ...\", the position value at the "
     "average entry price (isolated, UTA)"),
    ("trigger", "assumption", (2,), "2026-12-07", "below: equality is not stated"),
    ("backstop_ratio", "absent", (), "2026-12-07", _ABSENT_BACKSTOP),
    ("bad_debt_policy", "assumption", (3,), "2026-12-07", "adl, as the USDT profile's"),
    ("adl_ranking", "assumption", (3,), "2026-12-07", "pnl_leverage, as the USDT profile's"),
    ("adl_price", "assumption", (3,), "2026-12-07", "bankruptcy, as the USDT profile's"),
]

_RECORDS: Mapping[str, list[_Row]] = MappingProxyType({
    "binance_usdm": _BINANCE, "bybit": _BYBIT, "bitmex": _BITMEX, "dydx_v4": _DYDX,
    "hyperliquid": _HYPERLIQUID, "paradex": _PARADEX, "gmx_v2": _GMX, "drift_v2": _DRIFT,
    "okx": _OKX, "bitmex_inverse": _BITMEX_INVERSE, "binance_coinm": _BINANCE_COINM,
    "bybit_inverse": _BYBIT_INVERSE,
})

__all__ = ["BASES", "MARKET_PARAMETERS", "PROFILE_PARAMETERS", "Provenance", "is_recorded",
           "profile_parameters", "provenance_of"]
