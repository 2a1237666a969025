"""Venue profiles: named parameter-and-policy sets, one per venue (LIQ-PROFILE-1).

A profile is the data that makes the one spec behave like one venue: each market's tier table,
liquidation fee rate and units, and the named policies for sizing, fees, the backstop, bad debt and
auto-deleveraging. The tables below are written as the venues publish them (decimal strings, rates
in percent) and converted exactly with :func:`~.units.to_units`; nothing is rounded on the way in
except where a comment says so and why.

Deductions (Binance "maintenance amount" / ``cum``, Bybit ``mmDeduction``, Hyperliquid
"maintenance deduction") are written as published where the venue publishes them;
:func:`~.profile.validate_market` then checks that they make the requirement continuous at every
tier floor. Where a venue publishes no deduction (every initial-margin column, and Hyperliquid's
maintenance column) it is derived by the venues' own recursion, :func:`continuity_deductions`.

Every profile uses 6 quote decimals (1e-6 USDT or USDC). Lot and tick sizes are the model's units,
chosen so that every published example is expressible; they are not a claim about the venue's
current order-entry increments.

Notional brackets: venues write brackets as ``floor < notional <= cap``; the model puts a notional
equal to a floor in the upper tier. Because the deductions make the requirement continuous, the
requirement at a floor is the same either way; only the displayed rate differs at that one point.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from fractions import Fraction
from math import lcm
from types import MappingProxyType

from .arithmetic import PPM, div_floor
from .errors import MalformedState
from .rules import implements
from .profile import (AdlPrice, AdlRanking, BadDebtPolicy, DisplayRounding, FeePolicy,
                      LiquidationSize, MaintenanceBasis, Market, MarketKind, OpenInterestScaling,
                      Profile, Tier, TierBasis, Trigger)
from .provenance import is_recorded, provenance_of
from .units import from_units, to_units

#: quote decimals of every profile: 1 quantum = 1e-6 USDT / USDC
QUOTE_DECIMALS = 6

#: ppm per percentage point: "0.56%" is 5_600 ppm
_PERCENT_DECIMALS = 4


# -- exact conversion of the venues' human tables ---------------------------------------------

def percent_ppm(text: str) -> int:
    """A published rate such as ``"0.56%"`` in ppm, exactly (``"33.30%"`` -> 333_000)."""
    return to_units(text.strip().removesuffix("%"), _PERCENT_DECIMALS, f"rate {text!r}")


def quote_amount(text: str) -> int:
    """A published USDT/USDC amount such as ``"1,266,300"`` in quote quantums, exactly."""
    return to_units(text.replace(",", ""), QUOTE_DECIMALS, f"amount {text!r}")


def continuity_deductions(floors_quote: Sequence[int], rates_ppm: Sequence[int]) -> tuple[int, ...]:
    """The deduction of each tier that makes ``notional * rate - deduction`` continuous.

    This is the recursion the venues publish: Binance's maintenance amount ("floor of level n x
    (rate n - rate n-1) + amount of level n-1"), Bybit's ``mmDeduction`` and Hyperliquid's
    maintenance deduction. It is exact or it fails: a deduction that is not a whole quantum raises.
    """
    deductions = [0]
    for index in range(1, len(floors_quote)):
        step = floors_quote[index] * (rates_ppm[index] - rates_ppm[index - 1])
        if step % PPM:
            raise MalformedState(f"tier {index + 1}: deduction is not a whole quote quantum")
        deductions.append(deductions[-1] + step // PPM)
    return tuple(deductions)


def venue_tiers(rows: Sequence[tuple[str, str, str | None, str]]) -> tuple[Tier, ...]:
    """Tiers from a venue table of ``(floor notional, maintenance rate, maintenance deduction,
    initial rate)`` strings. A ``None`` maintenance deduction is derived; the initial deduction
    (which no venue publishes) is always derived."""
    floors = [quote_amount(floor) for floor, _, _, _ in rows]
    maint = [percent_ppm(rate) for _, rate, _, _ in rows]
    init = [percent_ppm(rate) for _, _, _, rate in rows]
    derived_maint = continuity_deductions(floors, maint)
    maint_ded = [derived if published is None else quote_amount(published)
                 for (_, _, published, _), derived in zip(rows, derived_maint, strict=True)]
    init_ded = continuity_deductions(floors, init)
    return tuple(Tier(f, m, md, i, idd)
                 for f, m, md, i, idd in zip(floors, maint, maint_ded, init, init_ded, strict=True))


def hyperliquid_rate_scale(max_leverages: Sequence[int]) -> int:
    """The least rate_scale (LIQ-TIER-7) in which every rate of a Hyperliquid table, 1 / max
    leverage and 1 / (2 x max leverage), is a whole number: 1 for 40x, 25x and 20x; 3 for 15x
    (1/30 = 100_000 / 3 ppm) and 3x (1/6)."""
    scale = 1
    for leverage in max_leverages:
        scale = lcm(scale, Fraction(PPM, 2 * leverage).denominator)
    return scale


def hyperliquid_tiers(rows: Sequence[tuple[str, int]]) -> tuple[tuple[Tier, ...], int]:
    """Tiers from Hyperliquid's margin-tier table of ``(lower bound notional, max leverage)``,
    and their rate_scale: initial rate 1/max leverage and maintenance rate half of that, both
    exact, the deductions by the published recursion (exact in the same scale)."""
    scale = hyperliquid_rate_scale([lev for _, lev in rows])
    floors = [quote_amount(floor) for floor, _ in rows]
    maint = [PPM * scale // (2 * lev) for _, lev in rows]
    init = [PPM * scale // lev for _, lev in rows]
    return tuple(Tier(f, m, md, i, idd) for f, m, md, i, idd in
                 zip(floors, maint, continuity_deductions(floors, maint), init,
                     continuity_deductions(floors, init), strict=True)), scale


def dydx_maintenance_margin_ppm(initial_margin_ppm: int, maintenance_fraction_ppm: int) -> int:
    """dYdX v4 ``LiquidityTier.GetMaintenanceMarginPpm``: floor(IMF x MF / 1e6).

    dYdX itself computes the maintenance requirement as ceil(ceil(N x IMF) x MF) (a double round
    up); the model rounds once, ceil(N x this rate). The two agree whenever MF = 1/2 and IMF is
    even (ceil(ceil(x)/2) = ceil(x/2)), which covers every dYdX test vector. For other fractions
    (Large-Cap's 60% among them) dYdX's requirement can be one quantum higher (N = 21 quantums:
    ceil(ceil(1.05) x 0.6) = 2, ceil(0.63) = 1), and where IMF x MF is not a whole ppm the
    floored rate makes the model's requirement lower still. A deliberate difference, not fudged.
    """
    return div_floor(initial_margin_ppm * maintenance_fraction_ppm, PPM)


def dydx_tier(initial_margin_ppm: int, maintenance_fraction_ppm: int) -> tuple[Tier, ...]:
    """A dYdX liquidity tier as the model's one-tier table (dYdX has no notional brackets)."""
    return (Tier(0, dydx_maintenance_margin_ppm(initial_margin_ppm, maintenance_fraction_ppm), 0,
                 initial_margin_ppm, 0),)


def _market(market_id: str, base_decimals: int, price_decimals: int, tiers: tuple[Tier, ...],
            liquidation_fee: str = "0%", oi_scaling: OpenInterestScaling | None = None,
            rate_scale: int = 1, liquidator_fee: str = "0%") -> Market:
    return Market(market_id=market_id, base_decimals=base_decimals, price_decimals=price_decimals,
                  tiers=tiers, liquidation_fee_ppm=percent_ppm(liquidation_fee),
                  oi_scaling=oi_scaling, rate_scale=rate_scale,
                  liquidator_fee_ppm=percent_ppm(liquidator_fee))


def hyperliquid_market(market_id: str, base_decimals: int, price_decimals: int,
                       rows: Sequence[tuple[str, int]]) -> Market:
    """A Hyperliquid market (no liquidation fee) on its margin-tier table, rates exact."""
    tiers, scale = hyperliquid_tiers(rows)
    return _market(market_id, base_decimals, price_decimals, tiers, rate_scale=scale)


def _markets(*markets: Market) -> dict[str, Market]:
    # a plain dict, like every other Profile's: states and profiles stay deep-copyable and picklable
    return {m.market_id: m for m in markets}


# -- Binance USD-M futures ----------------------------------------------------------------------

#: BTCUSDT notional brackets, announcement of 2021-03-18 (Position, Maintenance Margin, Initial
#: Margin). The maintenance amount (``cum``) is not printed there; these are the values of the
#: FAQ's recursion, which agree with its own examples (level 3: 1,300) and with the 16,300 of the
#: liquidation-price example. "33.30%" is the initial rate as printed (not 1/3).
BINANCE_BTCUSDT = (
    # floor notional, MMR,  maintenance amount (cum), IMR
    ("0",           "0.40%",  "0",           "0.80%"),
    ("50,000",      "0.50%",  "50",          "1.00%"),
    ("250,000",     "1.00%",  "1,300",       "2.00%"),
    ("1,000,000",   "2.50%",  "16,300",      "5.00%"),
    ("10,000,000",  "5.00%",  "266,300",     "10.00%"),
    ("20,000,000",  "10.00%", "1,266,300",   "20.00%"),
    ("50,000,000",  "12.50%", "2,516,300",   "25.00%"),
    ("100,000,000", "15.00%", "5,016,300",   "33.30%"),
    ("200,000,000", "25.00%", "25,016,300",  "50.00%"),
    ("300,000,000", "50.00%", "100,016,300", "100.00%"),
)

#: ETHUSDT brackets. Binance publishes the brackets and initial rates in text (FAQ 360033162192)
#: but no maintenance column; the maintenance rate here is half the initial rate, which with the
#: published recursion gives exactly the 10% / 135,365 that the liquidation-price FAQ's worked
#: example uses for the 2M-5M bracket. The table stops at the 5M bracket (4x, 25%): the upper
#: brackets' maintenance rates are not pinned by any published figure, so larger positions are
#: margined at 12.5% here, which is below Binance's requirement for them.
BINANCE_ETHUSDT = (
    ("0",         "0.50%",  "0",       "1.00%"),
    ("10,000",    "0.65%",  "15",      "1.30%"),
    ("100,000",   "1.00%",  "365",     "2.00%"),
    ("500,000",   "2.00%",  "5,365",   "4.00%"),
    ("1,000,000", "5.00%",  "35,365",  "10.00%"),
    ("2,000,000", "10.00%", "135,365", "20.00%"),
    ("5,000,000", "12.50%", "260,365", "25.00%"),
)

BINANCE_USDM = Profile(
    name="binance_usdm",
    quote_decimals=QUOTE_DECIMALS,
    quote_asset="USDT",
    # Printed liquidation prices and margins round to nearest, ties to even: 1,153.2565 prints
    # 1,153.26 (so not truncation) and 462.665 prints 462.66 (so not ties away from zero).
    display_rounding=DisplayRounding.HALF_EVEN,
    markets=_markets(
        # Liquidation fee: the per-symbol exchangeInfo field ``liquidationFee`` (BTCUSDT 0.012500
        # in captured API responses); no ETHUSDT value was found, so it takes the BTCUSDT rate.
        _market("BTCUSDT", 3, 2, venue_tiers(BINANCE_BTCUSDT), "1.25%"),
        _market("ETHUSDT", 3, 2, venue_tiers(BINANCE_ETHUSDT), "1.25%"),
    ),
    # "reduce the user's margin limit with one large Immediate or Cancel order without fully
    # liquidating the user": step down the brackets.
    liquidation_size=LiquidationSize.TIER_STEP,
    fee_policy=FeePolicy.RATE,
    bad_debt_policy=BadDebtPolicy.ADL,
    adl_ranking=AdlRanking.PNL_MARGIN_RATIO,  # Leverage Pnl = Pnl Percent x Margin Ratio
    # "closed out at the bankruptcy price of the initial liquidated order"
    adl_price=AdlPrice.BANKRUPTCY,
    description=("Binance USD-M perpetuals: notional brackets with maintenance amount (cum), "
                 "bracket-by-bracket partial liquidation, a liquidation fee to the insurance fund, "
                 "ADL by PnL% x margin ratio at the bankruptcy price."),
    sources=(
        "https://www.binance.com/en/support/faq/how-to-calculate-liquidation-price-of-usd%E2%93%A2-m-futures-contracts-b3c689c1f50a44cabb3a84e663b81d93",
        "https://www.binance.com/tr/support/announcement/86cf9aa472574b8cb2e05bb751c2a9a6",
        "https://www.binance.com/en/support/faq/360033162192",
        "https://binance.zendesk.com/hc/en-us/articles/360033525271-Liquidation",
        "https://www.binance.com/en/support/articles/360033525371-Insurance-Fund",
        "https://www.binance.com/hi/amp/support/faq/360033525471",
        "https://developers.binance.com/docs/derivatives/usds-margined-futures/market-data/rest-api/Exchange-Information",
        "https://www.binance.com/en/support/faq/87fa7ee33b574f7084d42bd2ce2e463b",
    ),
)


# -- Bybit USDT perpetual -------------------------------------------------------------------------

#: BTCUSDT risk-limit tiers: GET /v5/market/risk-limit?category=linear&symbol=BTCUSDT (snapshot
#: 2026-08-05 transcribed in public code; its first two rows are the help centre's "2,000,000 ...
#: 0.5%" and "2,600,000 ... 0.56%"). ``riskLimitValue`` is a tier's cap, so a tier's floor is the
#: previous cap. mmDeduction is published; the IMR column is Bybit's rounded display of
#: 1/max leverage (1.11% for 90x) and is used as printed.
BYBIT_BTCUSDT = (
    ("0",           "0.50%", "0",           "1.00%"),
    ("2,000,000",   "0.56%", "1,200",       "1.11%"),
    ("2,600,000",   "0.63%", "3,020",       "1.25%"),
    ("3,200,000",   "0.67%", "4,300",       "1.33%"),
    ("3,800,000",   "0.71%", "5,820",       "1.43%"),
    ("4,400,000",   "0.77%", "8,460",       "1.54%"),
    ("5,000,000",   "0.91%", "15,460",      "1.82%"),
    ("5,600,000",   "1.0%",  "20,500",      "2.0%"),
    ("8,500,000",   "1.3%",  "46,000",      "2.22%"),
    ("10,000,000",  "1.5%",  "66,000",      "2.5%"),
    ("14,000,000",  "1.6%",  "80,000",      "2.86%"),
    ("20,000,000",  "2.0%",  "160,000",     "3.33%"),
    ("28,000,000",  "2.5%",  "300,000",     "4.0%"),
    ("38,000,000",  "2.9%",  "452,000",     "5.0%"),
    ("50,000,000",  "3.0%",  "502,000",     "5.26%"),
    ("55,000,000",  "3.5%",  "777,000",     "5.56%"),
    ("60,000,000",  "3.6%",  "837,000",     "5.88%"),
    ("65,000,000",  "3.8%",  "967,000",     "6.25%"),
    ("70,000,000",  "4.0%",  "1,107,000",   "6.67%"),
    ("75,000,000",  "4.5%",  "1,482,000",   "7.14%"),
    ("80,000,000",  "5.0%",  "1,882,000",   "7.69%"),
    ("85,000,000",  "5.5%",  "2,307,000",   "8.33%"),
    ("90,000,000",  "6.0%",  "2,757,000",   "9.09%"),
    ("95,000,000",  "6.5%",  "3,232,000",   "10%"),
    ("100,000,000", "7.0%",  "3,732,000",   "11.11%"),
    ("105,000,000", "8.5%",  "5,307,000",   "12.5%"),
    ("110,000,000", "9.5%",  "6,407,000",   "14.29%"),
    ("115,000,000", "10%",   "6,982,000",   "16.67%"),
    ("120,000,000", "12%",   "9,382,000",   "20%"),
    ("150,000,000", "14%",   "12,382,000",  "25%"),
    ("200,000,000", "18%",   "20,382,000",  "33.33%"),
    ("250,000,000", "30%",   "50,382,000",  "50%"),
    ("400,000,000", "42%",   "98,382,000",  "69.93%"),
    ("600,000,000", "50%",   "146,382,000", "78.13%"),
    ("800,000,000", "60%",   "226,382,000", "100%"),
)

#: ETHUSDT: no Bybit ETHUSDT risk-limit table was found in the stored sources. ASSUMPTION: the
#: base tier of Bybit's 100x USDT contracts (MMR 0.5%, IMR 1%, as BTCUSDT tier 1), one tier only.
BYBIT_ETHUSDT = (
    ("0", "0.50%", "0", "1.00%"),
)

BYBIT = Profile(
    name="bybit",
    quote_decimals=QUOTE_DECIMALS,
    quote_asset="USDT",
    markets=_markets(
        # No separate liquidation fee: the position is closed at the bankruptcy price and
        # everything above it goes to the insurance fund (FeePolicy.ALL_SURPLUS).
        _market("BTCUSDT", 3, 1, venue_tiers(BYBIT_BTCUSDT)),
        _market("ETHUSDT", 2, 2, venue_tiers(BYBIT_ETHUSDT)),
    ),
    # "Submit a FillOrKill order of the difference between the current position value and the
    # lower margin tier value"; at the lowest tier the whole position is closed.
    liquidation_size=LiquidationSize.TIER_STEP,
    fee_policy=FeePolicy.ALL_SURPLUS,
    # Standard account, isolated margin: "MM = position value at entry x MMR" (LIQ-TIER-6);
    # cross accounts (Bybit's UTA cross margin) take it at the mark.
    maintenance_basis=MaintenanceBasis.ENTRY,
    bad_debt_policy=BadDebtPolicy.ADL,
    adl_ranking=AdlRanking.PNL_LEVERAGE,  # "in order of highest profit and effective leverage use"
    adl_price=AdlPrice.BANKRUPTCY,
    description=("Bybit USDT perpetuals: risk-limit tiers with MM deduction, tier-by-tier "
                 "partial liquidation, settlement at the bankruptcy price with the surplus to the "
                 "insurance fund, ADL by profit and effective leverage at the bankruptcy price; "
                 "isolated maintenance on the entry value (Standard account). "
                 "The model leaves out the estimated fee to close that Bybit adds to IM and MM."),
    sources=(
        "https://www.bybit.com/en/help-center/article/Maintenance-Margin-USDT-Contract",
        "https://bybit-exchange.github.io/docs/v5/market/risk-limit",
        "https://testnet.bybit.com/en-US/help-center/s/article/Liquidation-Price-USDT-Contract",
        "https://www.bybit.com/en/help-center/article/UTA-Trading-Rules",
        "https://www.bybit.com/en/help-center/article/Bankruptcy-Price-Perpetual-and-Expiry-Contracts",
        "https://bybit.nl/nl-NL/help-center/article/Insurance-Fund",
        "https://help.bybit.com/hc/en-us/articles/900000167723-Liquidation-Process-USDT-Contract-",
        "https://help.bybit.com/hc/en-us/articles/900000031623-What-is-Auto-Deleveraging-ADL-",
    ),
)


# -- BitMEX linear (USDT) perpetual ---------------------------------------------------------------

# BitMEX risk limits are steps, not brackets with a deduction: each step above the base risk limit
# raises the maintenance and initial rate by the base maintenance rate *on the whole position*
# ("maintenance margin = 0.50% + (# of Steps * 0.50%)"). That requirement jumps at every step, so it
# is not continuous and validate_market rejects it; no deduction would make it exact. The stored
# sources also give no USDT step size for XBTUSDT or ETHUSDT. The profile therefore carries the
# base tier only, which is exact for positions below the base risk limit and understates BitMEX's
# requirement above it.
BITMEX_XBTUSDT = (
    # base MM 0.50% / IM 1.00%: the XBT-family base rates of the Risk Limits Examples page (XBTUSD);
    # ASSUMPTION that XBTUSDT has the same base rates.
    ("0", "0.50%", "0", "1.00%"),
)
BITMEX_ETHUSDT = (
    # "The required initial margin is 2% ... and the maintenance margin is 1%" (ETHUSDT,
    # Isolated and Cross Margin Examples).
    ("0", "1.00%", "0", "2.00%"),
)

BITMEX = Profile(
    name="bitmex",
    quote_decimals=QUOTE_DECIMALS,
    quote_asset="USDT",
    markets=_markets(
        _market("XBTUSDT", 5, 1, venue_tiers(BITMEX_XBTUSDT)),
        _market("ETHUSDT", 3, 2, venue_tiers(BITMEX_ETHUSDT)),
    ),
    # Lowest risk limit: the engine takes over the whole position; higher risk limits: a
    # FillOrKill order "sized to bring the position below a lower tier".
    liquidation_size=LiquidationSize.TIER_STEP,
    # "If BitMEX is able to liquidate the position at better than the bankruptcy price, the
    # additional funds will be added to the Insurance Fund."
    fee_policy=FeePolicy.ALL_SURPLUS,
    bad_debt_policy=BadDebtPolicy.ADL,
    adl_ranking=AdlRanking.PNL_LEVERAGE,  # PNL% x effective leverage (/ when PNL% < 0)
    adl_price=AdlPrice.BANKRUPTCY,  # "the Bankruptcy Price of the initial liquidated order"
    description=("BitMEX linear perpetuals: base risk-limit tier, takeover at the bankruptcy price "
                 "with everything better than it to the insurance fund, ADL by PnL% x effective "
                 "leverage at the bankruptcy price."),
    sources=(
        "https://www.bitmex.com/app/liquidation",
        "https://testnet.bitmex.com/app/liquidationExamples",
        "https://bitmex.com/app/riskLimitsExamples",
        "https://bitmex.com/app/autoDeleveraging",
        "https://testnet.bitmex.com/app/autoDeleveragingExamples",
        "https://bitmex.com/app/isolatedMarginExamples",
        "https://www.bitmex.com/app/linearPerpetualsGuide",
    ),
)


# -- dYdX v4 --------------------------------------------------------------------------------------

_V4 = "https://github.com/dydxprotocol/v4-chain/blob"

#: Liquidity tiers as set by the v5.0.0 upgrade (initialize OIMF caps) and the genesis tier
#: parameters: name -> (initial margin ppm, maintenance fraction ppm, OI lower cap, OI upper cap),
#: caps in quote quantums. Large-Cap has no open-interest scaling (both caps 0).
DYDX_LIQUIDITY_TIERS = MappingProxyType({
    "Large-Cap": (50_000, 600_000, 0, 0),
    "Mid-Cap": (100_000, 500_000, 20_000_000_000_000, 50_000_000_000_000),  # "Small-Cap" in genesis
    "Long-Tail": (200_000, 500_000, 5_000_000_000_000, 10_000_000_000_000),
})


def dydx_market(market_id: str, base_decimals: int, price_decimals: int, liquidity_tier: str,
                liquidation_fee: str) -> Market:
    """A dYdX market in one of :data:`DYDX_LIQUIDITY_TIERS`, with its OI scaling if it has caps."""
    imf, mf, lower, upper = DYDX_LIQUIDITY_TIERS[liquidity_tier]
    scaling = OpenInterestScaling(lower, upper) if upper else None
    return _market(market_id, base_decimals, price_decimals, dydx_tier(imf, mf), liquidation_fee,
                   scaling)


DYDX_V4 = Profile(
    name="dydx_v4",
    quote_decimals=QUOTE_DECIMALS,
    quote_asset="USDC",
    markets=_markets(
        # Maximum liquidation fee 15_000 ppm (mainnet genesis max_liquidation_fee_ppm; "Maximum
        # Liquidation Penalty of 1.5%"), rounded down as dYdX's BigIntMulPpm does (LIQ-FEE-2).
        dydx_market("BTC-USD", 4, 0, "Large-Cap", "1.5%"),
        dydx_market("ETH-USD", 3, 1, "Large-Cap", "1.5%"),
    ),
    # Mainnet genesis: max_position_portion_liquidated_ppm 100_000 (10%) with
    # min_position_notional_liquidated 1_000 USDC. dYdX closes max(min(1_000 USDC, notional),
    # 10% of notional); the model closes the whole position up to 1_000 USDC and 10% (rounded up
    # to a lot) above it, so between 1_000 and 10_000 USDC it closes less per step than dYdX.
    liquidation_size=LiquidationSize.PORTION,
    portion_ppm=100_000,
    portion_threshold_quote=quote_amount("1,000"),
    # GetLiquidationInsuranceFundDelta: per fill, fee = min(floor(rate x |fill quote|), fill quote
    # less the closed lots' bankruptcy value) when positive; the fund pays at once when negative
    fee_policy=FeePolicy.PER_FILL,
    bad_debt_policy=BadDebtPolicy.ADL,
    # a pseudo-random start, then every candidate in turn; no ranking in code
    adl_ranking=AdlRanking.SEEDED,
    adl_price=AdlPrice.BANKRUPTCY,  # GetBankruptcyPriceInQuoteQuantums of the liquidated subaccount
    adl_seed=0,
    description=("dYdX v4: one liquidity tier per market (IMF, MMF = IMF x maintenance fraction, "
                 "open-interest-scaled IMF), the fill's insurance fund delta as fee or fund "
                 "payment, deleveraging from a "
                 "pseudo-random start at the bankruptcy price."),
    sources=(
        "https://docs.dydx.xyz/concepts/trading/margin",
        f"{_V4}/b89003d18db472ca12851e4caf61275146a52fec/protocol/x/perpetuals/lib/lib.go",
        f"{_V4}/6c82ba15379ac9bb14b745c7757cf6605c1767f7/protocol/x/perpetuals/types/liquidity_tier.go",
        f"{_V4}/0ca035939573f6899e3b2c3c353c28b6f5fa5a46/protocol/app/upgrades/v5.0.0/upgrade.go",
        f"{_V4}/146bc6575b63d90d4ee792e96e6ed6b02a2afe49/protocol/x/clob/keeper/liquidations.go",
        f"{_V4}/84d4664bae71e3a077adaac67fb77ad19cd28d30/protocol/x/clob/keeper/liquidations.go",
        f"{_V4}/9c72ab5f2e5840e1931674e4e647e20f42bbaaec/protocol/x/clob/keeper/deleveraging.go",
        "https://github.com/dydxprotocol/v4-documentation/blob/df2cc995218196355dacc139d6695536947c0e7e/docs/pages/concepts/trading/liquidations.mdx",
    ),
)


# -- Hyperliquid ---------------------------------------------------------------------------------

#: Mainnet margin tiers (lower bound of position notional, max leverage). Hyperliquid publishes
#: the maintenance rate (half the initial rate at max leverage) and the deduction recursion; 15x
#: gives a maintenance rate of 1/30 and an initial rate of 1/15, neither a whole ppm, so ETH's
#: market has rate_scale 3 and both are exact, as is its deduction at 100,000,000 USDC,
#: 100,000,000 x (1/30 - 1/50) = 1,333,333.33... USDC (LIQ-TIER-7).
HYPERLIQUID_BTC = (("0", 40), ("150,000,000", 20))
HYPERLIQUID_ETH = (("0", 25), ("100,000,000", 15))

HYPERLIQUID = Profile(
    name="hyperliquid",
    quote_decimals=QUOTE_DECIMALS,
    quote_asset="USDC",
    markets=_markets(
        # "Unlike CEXs there is no clearance fee on liquidations."
        hyperliquid_market("BTC", 5, 1, HYPERLIQUID_BTC),
        hyperliquid_market("ETH", 4, 2, HYPERLIQUID_ETH),
    ),
    # "For liquidatable positions larger than 100k USDC ... only 20% of the position will be sent
    # as a market liquidation order to the book."
    liquidation_size=LiquidationSize.PORTION,
    portion_ppm=200_000,
    portion_threshold_quote=quote_amount("100,000"),
    fee_policy=FeePolicy.RATE,
    # "If the account equity drops below 2/3 of the maintenance margin ... a backstop liquidation
    # happens through the liquidator vault."
    backstop_ratio=(2, 3),
    bad_debt_policy=BadDebtPolicy.ADL,
    # (mark_price / entry_price) * (notional / account_value)
    adl_ranking=AdlRanking.PRICE_RATIO_LEVERAGE,
    # "closed at the previous mark price" (newer docs; older: oracle price)
    adl_price=AdlPrice.MARK,
    description=("Hyperliquid: margin tiers with MM = half the IM at max leverage and a "
                 "maintenance deduction, 20% partial liquidation above 100k USDC, backstop vault "
                 "below 2/3 MM, no liquidation fee, ADL by price ratio x leverage at the mark."),
    sources=(
        "https://hyperliquid.gitbook.io/hyperliquid-docs/trading/liquidations",
        "https://hyperliquid.gitbook.io/hyperliquid-docs/trading/margin-tiers",
        "https://hyperliquid.gitbook.io/hyperliquid-docs/trading/auto-deleveraging",
        "https://hyperliquid.gitbook.io/hyperliquid-docs/trading/entry-price-and-pnl",
    ),
)


# -- Paradex -------------------------------------------------------------------------------------

#: the docs' source repository at the commit read (its pages are docs.paradex.trade's)
_PARADEX_DOCS = ("https://github.com/tradeparadex/paradex-docs/blob/"
                 "9b82a75a0353dc3769504508207844d1e5a89d3e/fern/pages")


def paradex_market(market_id: str, base_decimals: int, price_decimals: int, base_imf: str,
                   mmf_factor: str, liquidation_fee: str) -> Market:
    """A Paradex perpetual: one bracket, the initial fraction its Base IMF and the maintenance
    fraction ``MMF factor x IMF`` (exact: 50% of 2% is 1%). The IMF factor and shift that once
    raised the IMF with size are 0 on every market today."""
    imf = percent_ppm(base_imf)
    mmf = imf * percent_ppm(mmf_factor)
    if mmf % PPM:
        raise MalformedState(f"{market_id}: MMF {base_imf} x {mmf_factor} is not a whole ppm")
    return _market(market_id, base_decimals, price_decimals, (Tier(0, mmf // PPM, 0, imf, 0),),
                   liquidation_fee)


PARADEX = Profile(
    name="paradex",
    quote_decimals=QUOTE_DECIMALS,
    quote_asset="USDC",
    markets=_markets(
        # "The Liquidation Fee is set to 70%": the penalty's share of maintenance (LIQ-SHARE-1)
        paradex_market("BTC-USD-PERP", 5, 1, "2%", "50%", "70%"),
        paradex_market("ETH-USD-PERP", 4, 2, "2%", "50%", "70%"),
    ),
    # "All positions are reduced by the same fraction called Liquidation Share ... pre-calculated
    # such that the Margin Ratio is reduced below 90% ... a multiple of 20%."
    liquidation_size=LiquidationSize.ACCOUNT_SHARE,
    portion_ppm=200_000,
    share_target_ppm=900_000,
    # "Liquidation Penalty = Liquidation Share * Liquidation Fee * MMR"
    fee_policy=FeePolicy.MAINTENANCE_SHARE,
    # "No ADL ... Socialized loss": Paradex charges the loss on withdrawals while the fund is
    # short; the model charges it to the other side's holders when the cascade's round ends
    # (LIQ-SOCIAL-2, LIQ-CASCADE-2)
    bad_debt_policy=BadDebtPolicy.SOCIALIZE,
    adl_ranking=AdlRanking.PNL_LEVERAGE,
    adl_price=AdlPrice.MARK,
    description=("Paradex: cross margin with MMF = 50% of the IMF, every position of a "
                 "liquidatable account reduced by the smallest multiple of 20% that brings its "
                 "margin ratio below 90%, taken by the insurance fund at the mark with a penalty "
                 "of 70% of the maintenance requirement per whole share; no ADL, losses "
                 "socialized."),
    sources=(
        f"{_PARADEX_DOCS}/risk-system/liquidations.mdx",
        f"{_PARADEX_DOCS}/risk-system/cross-margin-requirement.mdx",
        f"{_PARADEX_DOCS}/instruments-guide/futures/tier-1/btc-usd-perp.mdx",
        f"{_PARADEX_DOCS}/instruments-guide/futures/tier-1/eth-usd-perp.mdx",
        f"{_PARADEX_DOCS}/risk-system/socialized-losses.mdx",
        f"{_PARADEX_DOCS}/what-is-paradex.mdx",
    ),
)


# -- GMX v2 ---------------------------------------------------------------------------------------

#: gmx-synthetics at the commit read (its contracts and its deployment configuration)
_GMX_REPO = ("https://github.com/gmx-io/gmx-synthetics/blob/"
             "a5c0c8835182cbd84e47dca04b971239311d2f1d")


def gmx_market(market_id: str, base_decimals: int, price_decimals: int,
               min_collateral_factor: str, position_fee_factor: str, liquidation_fee_factor: str,
               min_collateral_usd: str) -> Market:
    """A GMX v2 perpetual whose positions hold the stablecoin as collateral.

    GMX liquidates a position when its remaining collateral (collateral + PnL - the fee to close
    the whole position, ``position fee factor x size at open``) is below ``min collateral factor
    x size at open`` or below the minimum collateral (``PositionUtils.isPositionLiquidatable``).
    Both terms are proportional to the size at open (its entry value), so the model's requirement
    is ``(min collateral factor + position fee factor) x entry value`` under the entry basis
    (LIQ-TIER-6), at least ``min_collateral_usd``; the liquidation takes the closing fee and the
    liquidation fee together at the market's fee rate (LIQ-FEE-1). The requirement to open is
    the same rate (GMX checks only the collateral factor when a position opens)."""
    requirement_ppm = percent_ppm(min_collateral_factor) + percent_ppm(position_fee_factor)
    return Market(market_id=market_id, base_decimals=base_decimals, price_decimals=price_decimals,
                  tiers=(Tier(0, requirement_ppm, 0, requirement_ppm, 0),),
                  liquidation_fee_ppm=(percent_ppm(position_fee_factor)
                                       + percent_ppm(liquidation_fee_factor)),
                  min_maint_margin_quote=quote_amount(min_collateral_usd))


GMX_V2 = Profile(
    name="gmx_v2",
    quote_decimals=QUOTE_DECIMALS,
    quote_asset="USDC",
    markets=_markets(
        # Arbitrum BTC/USD [WBTC.e-USDC] and ETH/USD [WETH-USDC]: "minCollateralFactor:
        # percentageToFloat("0.5%"), // 200x leverage"; the base config's 0.06% position fee for
        # a close that worsens the balance (0.04% when it improves it: the larger is taken) and
        # 0.20% liquidation fee; minCollateralUsd 1
        gmx_market("BTC-USD", 5, 1, "0.5%", "0.06%", "0.20%", "1"),
        gmx_market("ETH-USD", 4, 2, "0.5%", "0.06%", "0.20%", "1"),
    ),
    # "sizeDeltaUsd = position.sizeInUsd()": a liquidation order closes the whole position
    liquidation_size=LiquidationSize.FULL,
    fee_policy=FeePolicy.RATE,
    # the collateral factor and the closing fee are applied to sizeInUsd, the size at open
    maintenance_basis=MaintenanceBasis.ENTRY,
    # the GM pool takes what the collateral cannot pay ("InsolventClose"); the model's insurance
    # fund stands for the pool, and deleveraging for a loss beyond it, which GMX has no rule for
    bad_debt_policy=BadDebtPolicy.ADL,
    adl_ranking=AdlRanking.PNL_LEVERAGE,
    adl_price=AdlPrice.MARK,
    description=("GMX v2 (gmx-synthetics), stablecoin collateral: isolated positions "
                 "liquidated whole when collateral + PnL falls below 0.5% of the size at open "
                 "plus the fee to close it (0.06%), or below 1 USDC; the closing and liquidation "
                 "fees (0.26%) to the pool, which the model's insurance fund stands for."),
    sources=(
        f"{_GMX_REPO}/contracts/position/PositionUtils.sol",
        f"{_GMX_REPO}/contracts/pricing/PositionPricingUtils.sol",
        f"{_GMX_REPO}/contracts/position/DecreasePositionCollateralUtils.sol",
        f"{_GMX_REPO}/config/markets.ts",
        f"{_GMX_REPO}/config/general.ts",
        f"{_GMX_REPO}/contracts/liquidation/LiquidationUtils.sol",
        f"{_GMX_REPO}/contracts/adl/AdlUtils.sol",
        f"{_GMX_REPO}/test/guardian/testFees.ts",
    ),
)


# -- Drift v2 -------------------------------------------------------------------------------------

#: drift-labs/protocol-v2 at the commit read (the program and its tests)
_DRIFT_REPO = ("https://github.com/drift-labs/protocol-v2/blob/"
               "0ae3e3b1db782a6765c3525b3dec38ad4d9d3a62")


def drift_market(market_id: str, base_decimals: int, price_decimals: int, maintenance: str,
                 initial: str, liquidator_fee: str, if_liquidation_fee: str) -> Market:
    """A Drift v2 perpetual: one margin ratio each for maintenance and initial (the IMF factor
    that raises them for large positions is 0 here), the liquidator's fee (LIQ-FEE-3) and the
    insurance fund's largest fee (``if_liquidation_fee``, LIQ-FEE-4)."""
    return _market(market_id, base_decimals, price_decimals,
                   (Tier(0, percent_ppm(maintenance), 0, percent_ppm(initial), 0),),
                   if_liquidation_fee, liquidator_fee=liquidator_fee)


DRIFT_V2 = Profile(
    name="drift_v2",
    quote_decimals=QUOTE_DECIMALS,
    quote_asset="USDC",
    markets=_markets(
        # the program's liquidation tests' market: margin_ratio_maintenance 500 and
        # margin_ratio_initial 1000 (of MARGIN_PRECISION 10,000), liquidator_fee and
        # if_liquidation_fee LIQUIDATION_FEE_PRECISION / 100; mainnet's are set on chain
        drift_market("BTC-PERP", 4, 2, "5%", "10%", "1%", "1%"),
        drift_market("ETH-PERP", 3, 3, "5%", "10%", "1%", "1%"),
    ),
    # "base_asset_amount_to_cover_margin_shortage": the fewest lots whose transfer at the oracle
    # price, less the fees, covers the shortage; "if position is less than $50, liquidator can
    # liq all of it"
    liquidation_size=LiquidationSize.COVER_SHORTAGE,
    portion_threshold_quote=quote_amount("50"),
    # DEFAULT_LIQUIDATION_MARGIN_BUFFER_RATIO = MARGIN_PRECISION / 50: 2%
    liquidation_buffer_ppm=percent_ppm("2%"),
    fee_policy=FeePolicy.LIQUIDATOR_AND_FUND,
    maintenance_basis=MaintenanceBasis.MARK,
    # resolve_perp_bankruptcy: the fund pays what it can, the rest moves both sides' cumulative
    # funding rates (LIQ-SOCIAL-2 side 0); no deleveraging
    bad_debt_policy=BadDebtPolicy.SOCIALIZE_BOTH_SIDES,
    adl_ranking=AdlRanking.PNL_LEVERAGE,
    adl_price=AdlPrice.MARK,
    description=("Drift v2 (protocol-v2): cross margin at the oracle price, liquidated when "
                 "total collateral is below maintenance, by the fewest lots that bring it back to "
                 "maintenance plus a 2% buffer after a 1% liquidator's fee and an insurance fund "
                 "fee of at most 1%; no ADL, a loss beyond the fund charged to both sides."),
    sources=(
        f"{_DRIFT_REPO}/programs/drift/src/controller/liquidation.rs",
        f"{_DRIFT_REPO}/programs/drift/src/math/liquidation.rs",
        f"{_DRIFT_REPO}/programs/drift/src/state/margin_calculation.rs",
        f"{_DRIFT_REPO}/programs/drift/src/math/constants.rs",
        f"{_DRIFT_REPO}/programs/drift/src/controller/liquidation/tests.rs",
    ),
)


# -- OKX USDT-margined perpetual swaps ------------------------------------------------------------

#: OKX's taker fee at the regular level (Lv1) for perpetual swaps, in the margin ratio's
#: denominator ("maintenance margin + liquidation fees", the fee at the taker rate)
OKX_TAKER_FEE = "0.05%"


def okx_tiers(contracts_per_lot: int) -> tuple[Tier, ...]:
    """BTC-USDT-SWAP's isolated position tiers, keyed by size (LIQ-TIER-8): tier 1 up to 1,000
    contracts at 0.4% (100x), tier 2 to 5,000 at 0.5% (66.66x), tier 3 to 20,000 at 0.75% (50x),
    then 20,000 contracts more and 0.5% more per tier, to tier 99 (1,940,000 contracts, 48.75%,
    2x). A tier starts one lot above the previous tier's maximum (OKX's ranges are closed:
    "1000.01" is tier 2 at a lot of 0.01 contract). The initial rate is 1 / the maximum
    leverage (66.66x prints 1 / 1.5%). The maintenance rate includes the taker fee, which OKX
    adds to maintenance in the margin ratio's denominator."""
    rows = [(1_000, percent_ppm("0.4%"), percent_ppm("1%")),
            (5_000, percent_ppm("0.5%"), percent_ppm("1.5%")),
            (20_000, percent_ppm("0.75%"), percent_ppm("2%"))]
    step = percent_ppm("0.5%")  # tier 4 on: "Increase by 0.5% from the previous tier"
    for k in range(4, 100):
        rows.append((20_000 * (k - 2), rows[2][1] + step * (k - 3), rows[2][2] + step * (k - 3)))
    tiers, floor, fee = [], 0, percent_ppm(OKX_TAKER_FEE)
    for max_contracts, mmr_ppm, imr_ppm in rows:
        tiers.append(Tier(0, mmr_ppm + fee, 0, imr_ppm, 0, floor_lots=floor))
        floor = max_contracts * contracts_per_lot + 1
    return tuple(tiers)


OKX = Profile(
    name="okx",
    quote_decimals=QUOTE_DECIMALS,
    quote_asset="USDT",
    markets=_markets(
        # BTC-USDT-SWAP: ctVal 0.01 BTC, tickSz 0.1, lotSz 0.01 contracts; a lot is 0.0001 BTC
        # (100 lots a contract); the liquidation fee at the taker rate
        Market("BTC-USDT-SWAP", 4, 1, okx_tiers(100),
               liquidation_fee_ppm=percent_ppm(OKX_TAKER_FEE), tier_basis=TierBasis.SIZE),
    ),
    # forced partial liquidation from tier 3, "the number of contracts needed to reduce the
    # position by two tiers", whole in tiers 1-2 or below the lowest tier's ratio (LIQ-EXEC-3)
    liquidation_size=LiquidationSize.TWO_TIER_STEP,
    fee_policy=FeePolicy.RATE,
    maintenance_basis=MaintenanceBasis.MARK,
    # "account equity is equal to or less than the required maintenance margin plus any
    # applicable liquidation fees" (LIQ-TRIGGER-3)
    trigger=Trigger.AT_OR_BELOW,
    bad_debt_policy=BadDebtPolicy.ADL,
    adl_ranking=AdlRanking.PNL_LEVERAGE,
    adl_price=AdlPrice.BANKRUPTCY,
    # "a straight-line decrease of 30% from the peak value of the risk reserve within 8 hours"
    # sends liquidated positions to ADL "at the current Mark Price" (LIQ-ADL-5)
    adl_drawdown_ppm=300_000,
    adl_drawdown_window_s=8 * 3600,
    description=("OKX USDT-margined perpetual swaps (BTC-USDT-SWAP): tiers keyed by the number "
                 "of contracts (LIQ-TIER-8), liquidated when equity is at or below maintenance "
                 "plus the taker fee on the position's value (LIQ-TRIGGER-3), stepped down two "
                 "tiers at a time from tier 3, whole in tiers 1-2 or past the trigger at the "
                 "first tier's rate (LIQ-EXEC-3), the fee at the taker rate to the insurance "
                 "fund, ADL beyond it, and ADL at the mark instead of the book while the fund "
                 "is 30% or more below its peak of the last 8 hours (LIQ-ADL-5)."),
    sources=(
        "https://github.com/LeandroColombo111/okx-perp-backtest/blob/"
        "57a7fa5ae692136e26ef445345472184277844ee/src/okx_perp_backtest/friction/"
        "okx_tiers_snapshot.py",
        "https://github.com/nautechsystems/nautilus_trader/blob/"
        "3d0c60e0fd7a48b0683ad1418febd308c43fd86a/crates/adapters/okx/test_data/"
        "http_get_instruments_swap.json",
        "https://www.okx.com/help/v-tiered-maintenance-margin-ratio-rules",
        "https://tr.okx.com/help/tier",
        "https://www.okex.com/academy/en/i-okex-usdt-margined-perpetual-swap-introduction",
        "https://www.okex.com/academy/en/vii-usdt-delivery-contracts-margin",
        "https://www.okx.com/help/trading-fee-rules-faq",
        "https://www.okx.com/help/what-is-the-mechanism-for-the-strong-level-in-advance-what-is-"
        "the-use",
    ),
)


# -- inverse (coin-margined) perpetuals -----------------------------------------------------------

def inverse_market(market_id: str, quote_decimals: int, face_per_lot: int,
                   venue_price_decimals: int, maintenance: str, initial: str,
                   liquidation_fee: str = "0%", order_tick: int = 1) -> Market:
    """An inverse market (LIQ-INVERSE-1) on one tier, in the model's units: whole lots and coin
    quantums per lot. The rates are the venue's base tier; a tier's floor would be a notional in
    the coin, and none is carried above the base (see each profile)."""
    linear = _market(market_id, 0, quote_decimals,
                     (Tier(0, percent_ppm(maintenance), 0, percent_ppm(initial), 0),),
                     liquidation_fee)
    return replace(linear, kind=MarketKind.INVERSE, face_per_lot=face_per_lot,
                   venue_price_decimals=venue_price_decimals, order_tick=order_tick)


#: XBt: BitMEX accounts in satoshi
SATOSHI_DECIMALS = 8

BITMEX_INVERSE = Profile(
    name="bitmex_inverse",
    quote_decimals=SATOSHI_DECIMALS,
    quote_asset="XBT",
    markets=_markets(
        # XBTUSD: 1 USD a contract, a lot of 100 contracts valued per lot to the nearest satoshi;
        # prices in 0.01 USD (the mark's; orders are on a 0.1 tick); base risk limit (200 XBT)
        # MM 0.50% / IM 1.00%, its 150 XBT steps not carried, as the linear profile's
        inverse_market("XBTUSD", SATOSHI_DECIMALS, 100, 2, "0.50%", "1.00%"),
    ),
    liquidation_size=LiquidationSize.TIER_STEP,
    fee_policy=FeePolicy.ALL_SURPLUS,
    bad_debt_policy=BadDebtPolicy.ADL,
    adl_ranking=AdlRanking.PNL_LEVERAGE,
    adl_price=AdlPrice.BANKRUPTCY,
    description=("BitMEX XBTUSD inverse perpetual, margined in XBT: a lot of 100 contracts of "
                 "1 USD valued at its price rounded to the nearest satoshi (LIQ-INVERSE-1), base "
                 "risk limit, takeover at the bankruptcy price with everything better to the "
                 "insurance fund, ADL by PnL% x effective leverage."),
    sources=(
        "https://www.bitmex.com/app/inversePerpetualsGuide",
        "https://bitmex.com/app/perpetualContractsGuideExamples",
        "https://blog.bitmex.com/the-technical-details-of-our-lot-size-change/",
        "https://bitmex.com/app/riskLimitsExamples",
        "https://www.bitmex.com/app/liquidation",
        "https://bitmex.com/app/autoDeleveraging",
        "https://github.com/nautechsystems/nautilus_trader/blob/"
        "4b670146d44680575f1ac911b319fd3f7e18c4c5/crates/adapters/bitmex/test_data/"
        "http_get_instrument_xbtusd.json",
    ),
)

BINANCE_COINM = Profile(
    name="binance_coinm",
    quote_decimals=SATOSHI_DECIMALS,
    quote_asset="BTC",
    display_rounding=DisplayRounding.HALF_EVEN,
    markets=_markets(
        # BTCUSD_PERP: 100 USD a contract, tick 0.1 USD; the first bracket (125x: IM 0.80%, up to
        # 5 BTC) and the FAQ's maintenance rate 0.40%; the liquidation fee of USD-M
        inverse_market("BTCUSD_PERP", SATOSHI_DECIMALS, 100, 1, "0.40%", "0.80%", "1.25%"),
    ),
    liquidation_size=LiquidationSize.TIER_STEP,
    fee_policy=FeePolicy.RATE,
    bad_debt_policy=BadDebtPolicy.ADL,
    adl_ranking=AdlRanking.PNL_MARGIN_RATIO,
    adl_price=AdlPrice.BANKRUPTCY,
    description=("Binance COIN-M BTCUSD perpetual, margined in BTC: contracts of 100 USD, the "
                 "first notional bracket, a liquidation fee to the insurance fund, ADL by PnL% x "
                 "margin ratio at the bankruptcy price, as USD-M."),
    sources=(
        "https://www.binance.com/en/support/faq/be2c7d9d95b04a7e8044ed02dd7dfe5c",
        "https://www.binance.com/en/support/faq/360033162192",
        "https://binance.zendesk.com/hc/en-us/articles/360033525271-Liquidation",
        "https://developers.binance.com/docs/derivatives/coin-margined-futures/market-data/"
        "rest-api/Exchange-Information",
    ),
)

#: Bybit publishes no rounding of a contract's coin value; 1e-10 BTC keeps the model's
#: per-contract rounding (half a quantum, 5e-11 BTC) at 0.005 satoshi
BYBIT_INVERSE_DECIMALS = 10

BYBIT_INVERSE = Profile(
    name="bybit_inverse",
    quote_decimals=BYBIT_INVERSE_DECIMALS,
    quote_asset="BTC",
    markets=_markets(
        # BTCUSD: 1 USD a contract, venue prices in 0.1 USD and an order tick of 0.5 USD (5 of
        # them), at which Bybit prints a threshold; base risk limit MM 0.50% / IM 1.00%
        inverse_market("BTCUSD", BYBIT_INVERSE_DECIMALS, 1, 1, "0.50%", "1.00%", order_tick=5),
    ),
    liquidation_size=LiquidationSize.TIER_STEP,
    fee_policy=FeePolicy.ALL_SURPLUS,
    maintenance_basis=MaintenanceBasis.ENTRY,
    bad_debt_policy=BadDebtPolicy.ADL,
    adl_ranking=AdlRanking.PNL_LEVERAGE,
    adl_price=AdlPrice.BANKRUPTCY,
    description=("Bybit BTCUSD inverse perpetual, margined in BTC: contracts of 1 USD, base risk "
                 "limit, isolated maintenance on the entry value (the UTA isolated inverse "
                 "formula), settlement at the bankruptcy price with the surplus to the insurance "
                 "fund, ADL by profit and effective leverage. The model leaves out the "
                 "estimated fee to close."),
    sources=(
        "https://bybit.nl/nl-NL/help-center/article/"
        "Liquidation-Price-Calculation-under-Isolated-Mode-Unified-Trading-Account",
        "https://help.bybit.com/hc/en-us/articles/"
        "360039261334-How-to-calculate-Liquidation-Price-Inverse-Contract-",
        "https://help.bybit.com/hc/en-us/sections/900000040766-Bybit-Perpetual-Contract-Inverse-",
        "https://bybit-exchange.github.io/docs/v5/market/instrument",
        "https://help.bybit.com/hc/en-us/articles/900000031623-What-is-Auto-Deleveraging-ADL-",
    ),
)


# -- look-up and display -------------------------------------------------------------------------

#: every named profile, by name
PROFILES: Mapping[str, Profile] = MappingProxyType({
    p.name: p for p in (BINANCE_COINM, BINANCE_USDM, BITMEX, BITMEX_INVERSE, BYBIT,
                         BYBIT_INVERSE, DRIFT_V2, DYDX_V4, GMX_V2, HYPERLIQUID, OKX, PARADEX)
})


@implements("LIQ-PROFILE-1")
def get_profile(name: str) -> Profile:
    """The venue profile called ``name``; an unknown name raises ``MalformedState`` listing the
    known ones."""
    try:
        return PROFILES[name]
    except (KeyError, TypeError):
        known = ", ".join(sorted(PROFILES))
        raise MalformedState(f"unknown profile {name!r}; known profiles: {known}") from None


def _percent(ppm: int) -> str:
    return from_units(ppm, _PERCENT_DECIMALS) + "%"


def _quote(amount: int, profile: Profile) -> str:
    return from_units(amount, profile.quote_decimals)


def tier_rate_text(scaled_ppm: int, rate_scale: int) -> str:
    """A tier rate in its market's unit (LIQ-TIER-7) as a venue writes it: a percentage
    (``"0.4%"``), or the exact fraction where it is no whole ppm (``"1/30"``)."""
    if scaled_ppm % rate_scale == 0:
        return _percent(scaled_ppm // rate_scale)
    exact = Fraction(scaled_ppm, PPM * rate_scale)
    return f"{exact.numerator}/{exact.denominator}"


def tier_deduction_text(scaled_quote: int, rate_scale: int, amount: Callable[[int], str]) -> str:
    """A tier deduction in quote quantums / rate_scale (LIQ-TIER-7): ``amount`` of the whole
    quantums, or ``amount(scaled)/rate_scale`` where it is a fraction of one (``"4000000/3"``)."""
    whole, rest = divmod(scaled_quote, rate_scale)
    return amount(whole) if rest == 0 else f"{amount(scaled_quote)}/{rate_scale}"


def profile_summary(profile: Profile) -> dict:
    """A profile as plain data (strings, numbers, lists, dicts) for docs and the CLI to print side
    by side: amounts in quote units, rates in percent, all exact; for a named profile, each
    parameter's provenance (:mod:`.provenance`), else ``provenance`` None."""

    def amount(quantums: int) -> str:
        return _quote(quantums, profile)

    markets = {}
    for market_id, market in profile.markets.items():
        markets[market_id] = {
            "lot": from_units(1, market.base_decimals),
            "tier_basis": market.tier_basis,
            "tick": from_units(1, market.price_decimals),
            # LIQ-INVERSE-1: an inverse market's lot, tick in coin per lot, and venue tick
            **({"kind": market.kind, "face_per_lot": str(market.face_per_lot),
                "venue_tick": from_units(1, market.venue_price_decimals)}
               if market.kind == MarketKind.INVERSE else {}),
            "liquidation_fee": _percent(market.liquidation_fee_ppm),
            "liquidator_fee": (_percent(market.liquidator_fee_ppm)
                               if market.liquidator_fee_ppm else None),
            "min_maintenance_margin": _quote(market.min_maint_margin_quote, profile),
            "open_interest_scaling": None if market.oi_scaling is None else {
                "lower_cap": _quote(market.oi_scaling.lower_cap_quote, profile),
                "upper_cap": _quote(market.oi_scaling.upper_cap_quote, profile),
            },
            "tiers": [
                {
                    # a notional, or a size in base units (LIQ-TIER-8)
                    "floor": (from_units(tier.floor_lots, market.base_decimals)
                              if market.tier_basis == TierBasis.SIZE
                              else _quote(tier.floor_notional_quote, profile)),
                    "maintenance_rate": tier_rate_text(tier.maint_margin_ppm, market.rate_scale),
                    "maintenance_deduction": tier_deduction_text(
                        tier.maint_deduction_quote, market.rate_scale, amount),
                    "initial_rate": tier_rate_text(tier.init_margin_ppm, market.rate_scale),
                    "initial_deduction": tier_deduction_text(
                        tier.init_deduction_quote, market.rate_scale, amount),
                }
                for tier in market.tiers
            ],
        }
    shortage = profile.liquidation_size == LiquidationSize.COVER_SHORTAGE
    policies = {
        "liquidation_size": profile.liquidation_size,
        "portion": (_percent(profile.portion_ppm)
                    if profile.liquidation_size == LiquidationSize.PORTION else None),
        "portion_above_notional": _quote(profile.portion_threshold_quote, profile)
        if profile.liquidation_size == LiquidationSize.PORTION else None,
        "share_step": (_percent(profile.portion_ppm)
                       if profile.liquidation_size == LiquidationSize.ACCOUNT_SHARE else None),
        "share_target_margin_ratio": (_percent(profile.share_target_ppm)
                                      if profile.liquidation_size == LiquidationSize.ACCOUNT_SHARE
                                      else None),
        "shortage_buffer": (_percent(profile.liquidation_buffer_ppm) if shortage else None),
        "closed_whole_at_or_below": (_quote(profile.portion_threshold_quote, profile)
                                     if shortage else None),
        "fee_policy": profile.fee_policy,
        "maintenance_basis": profile.maintenance_basis,
        "trigger": profile.trigger,
        "backstop_below": None if profile.backstop_ratio is None
        else f"{profile.backstop_ratio[0]}/{profile.backstop_ratio[1]} of maintenance margin",
        "bad_debt_policy": profile.bad_debt_policy,
        "adl_ranking": profile.adl_ranking,
        "adl_price": profile.adl_price,
    }
    return {
        "name": profile.name,
        "description": profile.description,
        "quote_asset": profile.quote_asset,
        "quote_decimals": profile.quote_decimals,
        "policies": policies,
        "markets": markets,
        "sources": list(profile.sources),
        "provenance": [
            {"parameter": row.parameter, "basis": row.basis, "read": row.read,
             "sources": list(row.sources), "source_numbers": list(row.source_numbers),
             "note": row.note}
            for row in provenance_of(profile)
        ] if is_recorded(profile) else None,
    }


__all__ = [
    "BINANCE_USDM", "BITMEX", "BYBIT", "DYDX_LIQUIDITY_TIERS", "DYDX_V4", "HYPERLIQUID", "OKX",
    "PARADEX", "PROFILES", "QUOTE_DECIMALS", "continuity_deductions",
    "dydx_maintenance_margin_ppm", "dydx_market", "dydx_tier", "get_profile", "hyperliquid_market",
    "hyperliquid_rate_scale", "hyperliquid_tiers", "paradex_market", "percent_ppm",
    "profile_summary", "quote_amount", "tier_deduction_text", "tier_rate_text", "venue_tiers",
]
