"""The venues' published worked examples, reproduced by the reference model (LIQ-PROFILE-1).

Each test cites its source (a URL, or a repository path and commit for dYdX's Go test vectors), the
rule it checks, and states the example's inputs in the venue's own units; the expected figures are
the published ones, or hand arithmetic shown in a comment. Equality is exact. Where a venue prints a
rounded figure, the test asserts both the exact rational value the model gives and that rounding it
the documented way gives the printed string (:func:`display`); the rounding mode is recorded per
example, because the venues are not consistent:

* Binance: B-1 (11,383.99) and B-4 (26,316.89) fit half-up, half-even and truncation alike; B-2
  (190.29) fits all three with exact intermediates (the page's own formula line uses rounded
  intermediates and then only truncation fits, hence its "difference due to rounding off"); B-3
  (1,153.26) needs round-to-nearest (truncation gives .25); the cost example (462.66 from 462.665)
  needs truncation or half-even (half-up gives .67). Intermediates: 71,200.81144 and 356,512.508 are
  exact at the printed places; -56,354.57 and -448,192.89 are nearest (truncation gives .56/.88).
* Bybit: Y-3 (36,380.25) fits every mode; the other linear figures are exact.
* dYdX: the docs' liquidation prices (3174.60, 3380.95, $476.2) are nearest at 2 / 1 places.

Inverse (coin-margined) examples are in tests/test_inverse.py (LIQ-INVERSE-*): the BitMEX XBTUSD
perpetual example (20 XBT, 0.05 XBT, 1.25 and 1.2 XBT), Binance COIN-M's 0.0016 BTC and Bybit's
isolated UTA inverse formula. Not reproduced there: Bybit's cross example 5,718.57 / 5,739.50
(it adds the fee to close), and, not yet read in full, BitMEX's risk-limit examples (180 XBT ->
0.90 XBT), its XBT-margined isolated-margin example (liq 97, 6 XBT loss), Bybit's ADL bankruptcy
price 7,735.50, its UTA inverse short (66,333.333) and its 7,000 / 6,950 insurance-fund example.

Not expressible (the model has no such quantity; listed so their absence is deliberate):

* dYdX fillable price, subtick conversion and the "subticks = 1" insurance-fund case (the model
  takes the fill price as an input in ticks), funding-index deltas (625, 312 truncated, ...),
  funding clamps (GetMaxAbsFundingClampPpm), MaxUint64 notionals (outside the int64 domain), and
  the 100% / 100% margin case (the model requires a maintenance rate below 100%).
* Binance open loss / order cost and the mark-price example; Bybit order cost (5,052.25,
  214.85) and the fee to close; Hyperliquid's funding (premium, clamp). (A user-chosen leverage
  is expressible: LIQ-LEVERAGE-*, with the Bybit 50x and Binance 20x examples in
  tests/test_leverage.py.)

Deliberate differences (the tests check what the model does reproduce and say what it does not):

* Bybit's UTA isolated formula adds an estimated fee to close and scales extra margin by
  1/(1 - taker fee), which the model leaves out; it takes the maintenance margin at the
  liquidation price, which is the ``mark`` basis (the ``bybit`` profile's ``entry`` basis is the
  Standard account's, whose liquidation prices 19,700 / 23,300 / 19,900 and 9,850 / 8,160 it
  reproduces exactly).
* BitMEX's $99.50 liquidation price is bankruptcy plus 0.5% of the *entry* value; the model's exact
  root is 99.4975 and its tick, rounded toward the venue, is 99.50.
* dYdX rounds the maintenance requirement twice (ceil of ceil); the model rounds once. Every cited
  dYdX vector is exact under both. (The fee is dYdX's own, floored, under ``per_fill``.)
* Binance displays liquidation prices rounded to the nearest cent; the model's tick for a long
  rounds up (LIQ-PRICE-3), so B-2 and B-4 ticks are 190.30 and 26,316.90 while the exact values
  display as 190.29 and 26,316.89.
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from types import SimpleNamespace


import pytest

import liqspec.fast as fast
import liqspec.reference as reference

from liqspec.reference import (FEE_SINK, INSURANCE_FUND, Account, MalformedState, Market, Profile,
                               Rejection, ResultCode, Tier, adl_allocation, adl_receive_quote,
                               deposit, funding_owed_quote, initial_margin_at_leverage_quote,
                               initial_margin_quote, insurance_fund_delta_quote,
                               liquidation_size_lots, maintenance_margin_quote,
                               margin_shortage_quote, new_state, notional_quote, open_account,
                               open_account_at, position_value_quote, quote_per_lot_tick,
                               shortage_rates, tier_for, to_units, unrealized_pnl_quote)
from liqspec.reference.book import BookShape, build_book
from liqspec.reference.deleveraging import (score_pnl_leverage, score_pnl_margin_ratio,
                                            score_price_ratio_leverage)
from liqspec.reference.margin import oi_scaled_initial_margin_ppm
from liqspec.reference.prices import display_price, round_for_display, round_toward_venue
from liqspec.reference.profile import LiquidationSize, OpenInterestScaling, validate_market
from liqspec.reference.provenance import BASES, profile_parameters, provenance_of
from liqspec.reference.profiles import (PROFILES, continuity_deductions,
                                        dydx_maintenance_margin_ppm, dydx_tier, get_profile,
                                        gmx_market,
                                        hyperliquid_rate_scale, hyperliquid_tiers,
                                        percent_ppm, profile_summary, quote_amount, venue_tiers)
from liqspec.reference.state import LIQUIDITY, State

PPM = 1_000_000
MAKER = "maker"  # a well-funded account that takes the other side of every opening trade


# -- helpers ------------------------------------------------------------------------------------

def usd(text: str) -> int:
    """A USDT/USDC amount in quote quantums (1e-6), exactly."""
    return quote_amount(text)


def ticks(market: Market, text: str) -> int:
    return to_units(text.replace(",", ""), market.price_decimals)


def lots(market: Market, text: str) -> int:
    return to_units(text.replace(",", ""), market.base_decimals)


def price_of(threshold_exact: Fraction, market: Market) -> Fraction:
    """A threshold in ticks as a price in quote units per base unit."""
    return threshold_exact / 10**market.price_decimals


def display(value: Fraction, places: int, mode: str) -> str:
    """``value`` rounded to ``places`` decimals the way a venue prints it (LIQ-PRICE-4)."""
    return round_for_display(value, places, mode)


def venue(impl, profile: Profile, marks: dict[str, str]) -> State:
    """A fresh venue under ``profile`` with marks given as decimal prices (markets not named are
    marked at one tick and not used), and the maker funded with 1e9 quote units."""
    state = new_state(profile, {m: ticks(market, marks[m]) if m in marks else 1
                                for m, market in profile.markets.items()})
    impl.open_account(state, MAKER)
    impl.deposit(state, MAKER, usd("1,000,000,000"))
    return state


def set_marks(impl, state: State, marks: dict[str, str]) -> None:
    for market_id, price in marks.items():
        impl.set_mark(state, market_id, ticks(state.market(market_id), price))


def new_account(impl, state: State, account_id: str, deposit_text: str | None = None,
                isolated_market: str | None = None) -> None:
    impl.open_account(state, account_id, isolated_market=isolated_market)
    if deposit_text is not None:
        impl.deposit(state, account_id, usd(deposit_text))


def open_position(impl, state: State, account_id: str, market_id: str, size: str, price: str, *,
                  mark_during: str | None = None, counterparty: str = MAKER) -> None:
    """``account_id`` buys (size > 0) or sells (size < 0) at ``price`` from ``counterparty``.

    The mark is set to ``mark_during`` (default: the trade price) for the trade's initial-margin
    checks and left there; each test then sets the example's marks. A mark away from the price is
    used only where the example's state (a negative or tiny quote balance) could not pass the
    initial-margin check at its own mark; it changes nothing but the check."""
    market = state.market(market_id)
    impl.set_mark(state, market_id, ticks(market, mark_during or price))
    size_lots = lots(market, size)
    if size_lots > 0:
        impl.trade(state, account_id, counterparty, market_id, size_lots, ticks(market, price))
    else:
        impl.trade(state, counterparty, account_id, market_id, -size_lots, ticks(market, price))


def account_with(impl, state: State, account_id: str, quote: str,
                 positions: list[tuple[str, str, str, str]], counterparty: str = MAKER) -> None:
    """Open ``account_id`` holding ``positions`` [(market, size, trade price, mark during)] with a
    quote balance of exactly ``quote``: it deposits ``quote`` plus the cost of the positions."""
    cost = sum(lots(state.market(m), size) * ticks(state.market(m), price)
               * state.market(m).value_per_lot_tick for m, size, price, _ in positions)
    amount = usd(quote) + cost
    assert amount > 0, "choose trade prices that need a positive deposit"
    impl.open_account(state, account_id)
    impl.deposit(state, account_id, amount)
    for market_id, size, price, mark_during in positions:
        open_position(impl, state, account_id, market_id, size, price, mark_during=mark_during,
                      counterparty=counterparty)
    assert state.account(account_id).quote == usd(quote)


def bare_market(market_id: str, base_decimals: int, price_decimals: int,
                tiers: tuple[Tier, ...], fee_ppm: int = 0,
                oi_scaling: OpenInterestScaling | None = None) -> Market:
    """A validated market outside any profile (6 quote decimals), for rule-level vectors."""
    market = Market(market_id, base_decimals, price_decimals, tiers, fee_ppm, 0, oi_scaling,
                    quote_per_lot_tick(6, base_decimals, price_decimals))
    validate_market(market)
    return market


def with_markets(profile: Profile, name: str, *markets: Market, **changes) -> Profile:
    """``profile``'s policies over other markets (and any other field changes)."""
    return replace(profile, name=name, markets={m.market_id: m for m in markets}, **changes)


# -- the profiles themselves (LIQ-PROFILE-1) ---------------------------------------------------

@pytest.mark.rule("LIQ-PROFILE-1")
def test_profiles_cover_the_venues_with_btc_and_eth_LIQ_PROFILE_1():
    """Every named profile exists, has a BTC and an ETH linear market (OKX: BTC only, its ETH
    tiers past the first were not found), 6 quote decimals, sources, and the policies its venue
    documents (see reference/profiles.py for each citation); the three inverse profiles, one
    BTC market each in the coin (tests/test_inverse.py). Rule: LIQ-PROFILE-1."""
    expected = {
        # name: (markets, sizing, fee policy, ADL ranking, ADL price, backstop)
        "binance_usdm": ({"BTCUSDT", "ETHUSDT"}, "tier_step", "rate", "pnl_margin_ratio",
                         "bankruptcy", None),
        "bitmex": ({"XBTUSDT", "ETHUSDT"}, "tier_step", "all_surplus", "pnl_leverage",
                   "bankruptcy", None),
        "bybit": ({"BTCUSDT", "ETHUSDT"}, "tier_step", "all_surplus", "pnl_leverage",
                  "bankruptcy", None),
        "dydx_v4": ({"BTC-USD", "ETH-USD"}, "portion", "per_fill", "seeded", "bankruptcy", None),
        "hyperliquid": ({"BTC", "ETH"}, "portion", "rate", "price_ratio_leverage", "mark", (2, 3)),
        "paradex": ({"BTC-USD-PERP", "ETH-USD-PERP"}, "account_share", "maintenance_share",
                    "pnl_leverage", "mark", None),
        "gmx_v2": ({"BTC-USD", "ETH-USD"}, "full", "rate", "pnl_leverage", "mark", None),
        "drift_v2": ({"BTC-PERP", "ETH-PERP"}, "cover_shortage", "liquidator_and_fund",
                     "pnl_leverage", "mark", None),
        "okx": ({"BTC-USDT-SWAP"}, "two_tier_step", "rate", "pnl_leverage", "bankruptcy", None),
    }
    inverse = {
        "bitmex_inverse": ({"XBTUSD"}, "tier_step", "all_surplus", "pnl_leverage", "bankruptcy",
                           None),
        "binance_coinm": ({"BTCUSD_PERP"}, "tier_step", "rate", "pnl_margin_ratio",
                          "bankruptcy", None),
        "bybit_inverse": ({"BTCUSD"}, "tier_step", "all_surplus", "pnl_leverage", "bankruptcy",
                          None),
    }
    assert set(PROFILES) == set(expected) | set(inverse)
    for name, (markets, sizing, fee, ranking, adl_price, backstop) in inverse.items():
        profile = get_profile(name)
        assert set(profile.markets) == markets and profile.sources and profile.description
        assert (profile.liquidation_size, profile.fee_policy, profile.adl_ranking,
                profile.adl_price, profile.backstop_ratio) == (sizing, fee, ranking, adl_price,
                                                               backstop)
        assert all(m.kind == "inverse" for m in profile.markets.values())
    for name, (markets, sizing, fee, ranking, adl_price, backstop) in expected.items():
        profile = get_profile(name)
        assert profile is PROFILES[name]
        assert set(profile.markets) == markets
        assert (profile.liquidation_size, profile.fee_policy, profile.adl_ranking,
                profile.adl_price, profile.backstop_ratio) == (sizing, fee, ranking, adl_price,
                                                               backstop)
        assert profile.quote_decimals == 6 and profile.sources and profile.description
        usdc = ("drift_v2", "dydx_v4", "gmx_v2", "hyperliquid", "paradex")
        assert profile.quote_asset == ("USDC" if name in usdc else "USDT")
    # Hyperliquid: 20% of positions above 100k USDC; dYdX: 10% above 1,000 USDC (mainnet genesis).
    assert (PROFILES["hyperliquid"].portion_ppm, PROFILES["hyperliquid"].portion_threshold_quote) \
        == (200_000, usd("100,000"))
    assert (PROFILES["dydx_v4"].portion_ppm, PROFILES["dydx_v4"].portion_threshold_quote) \
        == (100_000, usd("1,000"))


@pytest.mark.rule("LIQ-PROFILE-1")
def test_unknown_profile_names_the_known_ones_LIQ_PROFILE_1():
    """An unknown name is a domain error that lists every known profile. Rule: LIQ-PROFILE-1."""
    with pytest.raises(MalformedState) as raised:
        get_profile("ftx")
    assert raised.value.code == ResultCode.MALFORMED_STATE
    for name in PROFILES:
        assert name in str(raised.value)


@pytest.mark.rule("LIQ-PROFILE-1")
def test_profile_summary_is_plain_exact_data_LIQ_PROFILE_1():
    """The summary prints the venue's table back in its own units. Rule: LIQ-PROFILE-1."""
    summary = profile_summary(get_profile("binance_usdm"))
    btc = summary["markets"]["BTCUSDT"]
    assert btc["tiers"][3] == {"floor": "1000000", "maintenance_rate": "2.5%",
                               "maintenance_deduction": "16300", "initial_rate": "5%",
                               "initial_deduction": "32600"}  # 50k*0.2% + 250k*1% + 1M*3%
    assert btc["tiers"][7]["initial_rate"] == "33.3%"  # printed "33.30%", not 1/3
    assert btc["liquidation_fee"] == "1.25%" and btc["lot"] == "0.001" and btc["tick"] == "0.01"
    assert summary["policies"]["liquidation_size"] == "tier_step"
    hyperliquid = profile_summary(get_profile("hyperliquid"))
    assert hyperliquid["policies"]["backstop_below"] == "2/3 of maintenance margin"
    assert hyperliquid["policies"]["portion"] == "20%"

    def plain(value) -> bool:
        if isinstance(value, dict):
            return all(isinstance(k, str) and plain(v) for k, v in value.items())
        if isinstance(value, list):
            return all(plain(v) for v in value)
        return value is None or isinstance(value, (str, int))

    for profile in PROFILES.values():
        assert plain(profile_summary(profile))


@pytest.mark.rule("LIQ-PROFILE-1")
def test_every_parameter_of_a_named_profile_has_its_source_and_read_date_LIQ_PROFILE_1():
    """Each named profile records, for every parameter (per market too), a basis, sources among
    the profile's own and the day they were read; published, derived and assumed values cite a
    source; the summary (the profiles page, ``liqspec profiles``) carries it. Rule:
    LIQ-PROFILE-1."""
    for profile in PROFILES.values():
        rows = provenance_of(profile)
        assert [row.parameter for row in rows] == list(profile_parameters(profile))
        # cover_shortage adds the buffer and each market's liquidator fee (LIQ-SHORTAGE-1)
        shortage = profile.liquidation_size == LiquidationSize.COVER_SHORTAGE
        assert len(rows) == 10 + 5 * len(profile.markets) + (
            1 + len(profile.markets) if shortage else 0)
        for row in rows:
            assert row.basis in BASES and set(row.sources) <= set(profile.sources)
            assert row.sources or row.basis in ("model", "absent")
            assert "2026-11-01" <= row.read <= "2026-12-31" and row.note
            assert row.sources == tuple(profile.sources[n - 1] for n in row.source_numbers)
        summary_rows = profile_summary(profile)["provenance"]
        assert [r["parameter"] for r in summary_rows] == [row.parameter for row in rows]
        assert [r["source_numbers"] for r in summary_rows] == [list(row.source_numbers)
                                                               for row in rows]
    binance = {row.parameter: row for row in provenance_of(get_profile("binance_usdm"))}
    assert binance["ETHUSDT.tiers"].basis == "assumption"  # no maintenance column published
    assert binance["BTCUSDT.tiers"].basis == "published"
    assert "86cf9aa472574b8cb2e05bb751c2a9a6" in binance["BTCUSDT.tiers"].sources[0]
    bybit = {row.parameter: row for row in provenance_of(get_profile("bybit"))}
    assert (bybit["maintenance_basis"].basis, bybit["maintenance_basis"].read) == (
        "published", "2026-12-04")


@pytest.mark.rule("LIQ-PROFILE-1")
def test_a_profile_changed_by_hand_claims_no_provenance_LIQ_PROFILE_1():
    """A profile built by hand, even one with a named profile's name and a changed parameter,
    has no recorded provenance: the summary says None rather than the named profile's sources,
    and asking for it is MALFORMED_STATE. Rule: LIQ-PROFILE-1."""
    named = get_profile("binance_usdm")
    assert profile_summary(replace(named))["provenance"]  # an equal copy is the named profile
    changed = replace(named, fee_policy="all_surplus")
    assert profile_summary(changed)["provenance"] is None
    for profile in (changed, replace(named, name="my_venue")):
        with pytest.raises(MalformedState, match="no recorded provenance"):
            provenance_of(profile)


# -- Binance USD-M -----------------------------------------------------------------------------

@pytest.mark.rule("LIQ-TIER-2")
def test_binance_maintenance_amount_examples_LIQ_TIER_2():
    """Binance FAQ "How to Calculate Liquidation Price of USD-M Futures Contracts":
    "Maintenance Amount on Level 3 = 250,000 * (1% - 0.5%) + 50 USDT = 1,300 USDT"; "if the position
    size ... is 264,000 USDT, then the maintenance margin rate would be 1%"; "if the position size
    ... is 500,000 USDT, then the maintenance amount would be 1,300 USDT". Older copy of the zendesk
    "Liquidation" article: "Maintenance Amount on Level 5 = 5,000,000 USDT * (5% - 2.5%) + 16,300
    USDT = 141,300 USDT" (an older table, applied with the same recursion).
    Sources: https://www.binance.com/en-NG/support/faq/b3c689c1f50a44cabb3a84e663b81d93 ;
    https://binance.zendesk.com/hc/en-us/articles/360033525271-Liquidation (copy in
    bradkyle/Qenv logic/binance.md). Rule: LIQ-TIER-2 (maintenance = notional x rate - amount)."""
    btc = get_profile("binance_usdm").market("BTCUSDT")
    floors = [usd("0"), usd("50,000"), usd("250,000")]
    rates = [percent_ppm("0.4%"), percent_ppm("0.5%"), percent_ppm("1%")]
    assert continuity_deductions(floors, rates)[2] == usd("1,300")
    assert btc.tiers[2].maint_deduction_quote == usd("1,300")
    assert tier_for(btc, usd("264,000")).maint_margin_ppm == percent_ppm("1%")
    assert tier_for(btc, usd("500,000")).maint_deduction_quote == usd("1,300")
    # 500,000 * 1% - 1,300 = 3,700
    assert maintenance_margin_quote(btc, usd("500,000")) == usd("3,700")
    # The old level 5: the recursion's step from level 4 to level 5, plus level 4's 16,300.
    step = continuity_deductions([0, usd("5,000,000")], [percent_ppm("2.5%"), percent_ppm("5%")])
    assert step[1] + usd("16,300") == usd("141,300")


def _binance_2020_profile() -> Profile:
    """Binance USD-M with ETHUSDT's bracket as the 2020 example used it: MMR 0.65% (75x, IM 1.3%)
    at small notional. The example predates the 100x first bracket of the current table."""
    binance = get_profile("binance_usdm")
    eth_2020 = replace(binance.market("ETHUSDT"),
                       tiers=venue_tiers((("0", "0.65%", "0", "1.30%"),)))
    return with_markets(binance, "binance_usdm_2020", binance.market("BTCUSDT"), eth_2020)


@pytest.mark.rule("LIQ-PRICE-2")
def test_binance_cross_liquidation_prices_2020_example_LIQ_PRICE_2(impl):
    """Binance zendesk "Liquidation", section "About Liquidation Price" (2020): one cross account,
    WB 10.72 USDT, ETHUSDT long 1 @ 199.53 (mark 200, so UPNL 0.47 and TMM 200*1*0.65% = 1.3) and
    BTCUSDT short 0.005 @ 9,451.53 (mark 9,462.81, TMM 9,462.81*0.005*0.4% = 0.19, UPNL -0.06).

    B-1: "=[10.72 - 1.3 + 0.47 + 0 -(-1*0.005*9,451.53)]/[(0.005*0.004) - (-1*0.005)] = 11,383.99
    USDT". B-2: "=[10.72 - 0.19 - 0.06 + 0 -(1*1*199.53)]/[(1*0.0065) - (1*1)] = 190.29 USDT
    (difference due to rounding off)".

    Display rounding: 2 places. B-1's exact 11,383.994 gives .99 under every mode. B-2: with the
    exact intermediates the model uses (TMM 0.189257, the BTC requirement rounded up to a quantum,
    and UPNL -0.0564) the exact value 190.29256 gives .29 under every mode; the page's printed line
    (rounded 0.19 / -0.06) evaluates to 190.2969, which only truncation brings to .29.
    Sources: https://binance.zendesk.com/hc/en-us/articles/360033525271-Liquidation (text copy in
    github.com/bradkyle/Qenv/blob/bf999d43d5dc3794ead63314f292a40df1120cfe/logic/binance.md).
    Rules: LIQ-PRICE-2 (cross, other positions held at their marks), LIQ-PRICE-3 (ticks)."""
    state = venue(impl, _binance_2020_profile(), {})
    new_account(impl, state, "trader", "10.72")
    open_position(impl, state, "trader", "ETHUSDT", "1", "199.53")
    open_position(impl, state, "trader", "BTCUSDT", "-0.005", "9451.53")
    set_marks(impl, state, {"ETHUSDT": "200", "BTCUSDT": "9462.81"})
    trader, profile = state.account("trader"), state.profile
    btc, eth = profile.market("BTCUSDT"), profile.market("ETHUSDT")
    assert maintenance_margin_quote(eth, usd("200")) == usd("1.3")  # TMM1 of B-1

    short_btc = impl.liquidation_price(trader, "BTCUSDT", state.marks, profile)
    # C = 10.72 - 199.53 + 47.25765 + 200 = 58.44765; 58.44765 - 0.005P = 1.3 + 0.004*0.005P
    assert price_of(short_btc.exact, btc) == Fraction(5714765, 502)
    assert display(price_of(short_btc.exact, btc), 2, "half_up") == "11383.99"
    assert short_btc.ticks == ticks(btc, "11383.99")  # a short's tick rounds down

    long_eth = impl.liquidation_price(trader, "ETHUSDT", state.marks, profile)
    # BTC requirement ceil(47.31405 * 0.4%) = 0.189257; C = 10.72 - 199.53 + 47.25765 - 47.31405
    # = -188.8664; -188.8664 + P = 0.189257 + 0.0065P  =>  P = 189.055657 / 0.9935
    assert price_of(long_eth.exact, eth) == Fraction(189_055_657, 993_500)
    for mode in ("half_up", "half_even", "down"):
        assert display(price_of(long_eth.exact, eth), 2, mode) == "190.29"
    # the page's printed line: (10.72 - 0.19 - 0.06 - 199.53) / (0.0065 - 1) = 190.2969...
    printed_line = (Fraction("10.72") - Fraction("0.19") - Fraction("0.06") - Fraction("199.53")) \
        / (Fraction("0.0065") - 1)
    assert display(printed_line, 2, "down") == "190.29"
    assert display(printed_line, 2, "half_up") == "190.30"
    assert long_eth.ticks == ticks(eth, "190.30")  # a long's tick rounds up, toward the venue


@pytest.mark.rule("LIQ-PRICE-2")
def test_binance_cross_liquidation_prices_multi_asset_example_LIQ_PRICE_2(impl):
    """Binance FAQ b3c689c1 worked example (rendered as an image; figures as transcribed by
    freqtrade tests/exchange/test_binance.py "From calc example" and a jesse strategy comment):
    cross WB 1,535,443.01; BTCUSDT long 109.488 @ 32,481.98, mark 31,967.27, MMR 2.5%, cum 16,300;
    ETHUSDT long 3,683.979 @ 1,456.84, mark 1,335.18, MMR 10%, cum 135,365.
    Printed: BTC MM 71,200.81144; ETH MM 356,512.508; BTC uPnL -56,354.57; ETH uPnL -448,192.89;
    ETH liquidation price 1,153.26 (B-3); BTC liquidation price 26,316.89 (B-4).

    Display rounding: B-3 needs round-to-nearest (1,153.2565; truncation gives .25); B-4
    (26,316.8933) fits every mode; the MMs are exact at the printed places; the uPnLs are nearest
    (truncation would print -56,354.56 / -448,192.88). Both liquidation prices fall in the
    brackets the example uses (ETH 4.25M: 2M-5M, 10%; BTC 2.88M: 1M-10M, 2.5%).
    Source: https://www.binance.com/en/support/faq/how-to-calculate-liquidation-price-of-usd%E2%93%A2-m-futures-contracts-b3c689c1f50a44cabb3a84e663b81d93 .
    Rules: LIQ-TIER-2, LIQ-MARGIN-3, LIQ-PRICE-2, LIQ-PRICE-3."""
    state = venue(impl, get_profile("binance_usdm"), {})
    new_account(impl, state, "trader", "1535443.01")
    open_position(impl, state, "trader", "BTCUSDT", "109.488", "32481.98")
    open_position(impl, state, "trader", "ETHUSDT", "3683.979", "1456.84")
    set_marks(impl, state, {"BTCUSDT": "31967.27", "ETHUSDT": "1335.18"})
    trader, profile = state.account("trader"), state.profile
    btc, eth = profile.market("BTCUSDT"), profile.market("ETHUSDT")

    btc_mm = maintenance_margin_quote(btc, notional_quote(trader.position("BTCUSDT"),
                                                          state.marks["BTCUSDT"], btc))
    eth_mm = maintenance_margin_quote(eth, notional_quote(trader.position("ETHUSDT"),
                                                          state.marks["ETHUSDT"], eth))
    # 109.488 * 31,967.27 * 2.5% - 16,300 and 3,683.979 * 1,335.18 * 10% - 135,365, exact
    assert btc_mm == 71_200_811_444 and eth_mm == 356_512_508_122
    assert display(Fraction(btc_mm, 10**6), 5, "half_up") == "71200.81144"
    assert display(Fraction(eth_mm, 10**6), 3, "half_up") == "356512.508"
    btc_pnl = unrealized_pnl_quote(trader, "BTCUSDT", state.marks["BTCUSDT"], btc)
    eth_pnl = unrealized_pnl_quote(trader, "ETHUSDT", state.marks["ETHUSDT"], eth)
    assert (btc_pnl, eth_pnl) == (-56_354_568_480, -448_192_885_140)  # 109.488 * -514.71 etc.
    assert display(Fraction(btc_pnl, 10**6), 2, "half_up") == "-56354.57"
    assert display(Fraction(eth_pnl, 10**6), 2, "half_up") == "-448192.89"
    assert display(Fraction(btc_pnl, 10**6), 2, "down") == "-56354.56"  # so not truncation

    long_eth = impl.liquidation_price(trader, "ETHUSDT", state.marks, profile)
    # P = (71,200.811444 - 135,365 - C) / (3,683.979 * 0.9), C = WB - costs + BTC value at mark
    assert price_of(long_eth.exact, eth) == Fraction(955_928_834_071, 828_895_275)
    assert display(price_of(long_eth.exact, eth), 2, "half_up") == "1153.26"
    assert display(price_of(long_eth.exact, eth), 2, "down") == "1153.25"  # so not truncation
    assert long_eth.ticks == ticks(eth, "1153.26")

    long_btc = impl.liquidation_price(trader, "BTCUSDT", state.marks, profile)
    # P = (356,512.508122 - 16,300 - C) / (109.488 * 0.975), C = WB - costs + ETH value at mark
    assert price_of(long_btc.exact, btc) == Fraction(1_404_674_704_751, 53_375_400)
    assert display(price_of(long_btc.exact, btc), 2, "half_up") == "26316.89"
    assert long_btc.ticks == ticks(btc, "26316.90")  # up, toward the venue; Binance shows .89
    # the binance_usdm profile prints both as Binance does (LIQ-PRICE-4, half-even)
    assert display_price(long_eth.exact, eth, profile) == "1153.26"
    assert display_price(long_btc.exact, btc, profile) == "26316.89"


@pytest.mark.rule("LIQ-TIER-3")
def test_binance_initial_margin_cost_example_LIQ_TIER_3():
    """Binance "How to Calculate Cost Required to Open a Position in Perpetual Futures Contracts"
    (2020-07-08): "Initial Margin = Notional Value / Leverage = (9,253.30 * 1 BTC) / 20 = 462.66".
    Binance's leverage is the user's choice; here the example is reproduced on a one-bracket
    BTCUSDT whose initial rate is 1/20 = 5%, and at a chosen 20x on the profile's BTCUSDT (LIQ-
    LEVERAGE-2/3) in tests/test_leverage.py.
    Display rounding: 462.665 is printed 462.66, so truncation or half-even, not half-up.
    Source: https://www.binance.com/en/support/faq/87fa7ee33b574f7084d42bd2ce2e463b .
    Rule: LIQ-TIER-3."""
    btc_20x = bare_market("BTCUSDT", 3, 2, venue_tiers((("0", "0.40%", "0", "5%"),)))
    margin = initial_margin_quote(btc_20x, notional_quote(lots(btc_20x, "1"),
                                                          ticks(btc_20x, "9253.30"), btc_20x))
    assert margin == usd("462.665")  # exact: no rounding was needed
    assert display(Fraction(margin, 10**6), 2, "down") == "462.66"
    assert display(Fraction(margin, 10**6), 2, "half_even") == "462.66"
    assert display(Fraction(margin, 10**6), 2, "half_up") == "462.67"  # so not half-up


@pytest.mark.rule("LIQ-ADL-2")
def test_binance_adl_ranking_formula_LIQ_ADL_2(impl):
    """Binance "Counterparty Liquidation" / ADL FAQ: "Pnl Percent = max(0, Unrealized Profit) /
    max(1, Wallet Balance); Margin Ratio = Maintenance Margin / (Wallet Balance + Unrealized
    Profit); Leverage Pnl = Pnl Percent x Margin Ratio". No numeric example is published; this
    checks the formula on a long 1 BTC @ 30,000, WB 5,000, mark 33,000: PnL% = 3,000 / 5,000,
    MM = 33,000 * 0.4% = 132, margin ratio = 132 / 8,000, Leverage Pnl = 0.6 * 0.0165 = 0.0099.
    Sources: https://www.binance.com/hi/amp/support/faq/360033525471 ; dev.binance.vision/t/17801.
    Rule: LIQ-ADL-2."""
    state = venue(impl, get_profile("binance_usdm"), {})
    new_account(impl, state, "trader", "5000")
    open_position(impl, state, "trader", "BTCUSDT", "1", "30000")
    set_marks(impl, state, {"BTCUSDT": "33000"})
    assert score_pnl_margin_ratio(state.account("trader"), "BTCUSDT", state) == Fraction(99, 10_000)


# -- Bybit USDT perpetual ------------------------------------------------------------------------

@pytest.mark.rule("LIQ-TIER-2")
def test_bybit_tiered_maintenance_margin_illustration_LIQ_TIER_2():
    """Bybit "Maintenance Margin (USDT Contract)": XYZUSDT tiers 0-1,000 2%, >1,000-2,000 2.5%,
    >2,000-3,000 3%, >3,000-4,000 3.5%, >4,000-5,000 4%; a long of 100 contracts at 35 USDT has
    position value 3,500 and MM = 1,000(2% + 2.5% + 3%) + 500(3.5%) = 92.5, i.e. 3,500 * 3.5% - 30
    (the deduction). The worked numbers after "Initial Margin = Position Value / ..." come from a
    public notebook that cites the page.
    Source: https://www.bybit.com/en/help-center/article/Maintenance-Margin-USDT-Contract (mirror
    https://www.fourbit.net/en/help-center/article/Maintenance-Margin-USDT-Contract).
    Rule: LIQ-TIER-2 (the deduction form equals the marginal, bracket-by-bracket sum)."""
    rates = ("2%", "2.5%", "3%", "3.5%", "4%")
    xyz = bare_market("XYZUSDT", 0, 2, venue_tiers(tuple(
        (floor_text, rate, None, rate) for floor_text, rate in
        zip(("0", "1,000", "2,000", "3,000", "4,000"), rates, strict=True))))
    notional = notional_quote(100, ticks(xyz, "35"), xyz)
    assert notional == usd("3,500")
    assert tier_for(xyz, notional).maint_deduction_quote == usd("30")
    assert maintenance_margin_quote(xyz, notional) == usd("92.5")
    marginal = sum(Fraction(usd("1,000")) * percent_ppm(r) / PPM for r in rates[:3]) \
        + Fraction(usd("500")) * percent_ppm("3.5%") / PPM
    assert marginal == usd("92.5")


@pytest.mark.rule("LIQ-TIER-2")
def test_bybit_btcusdt_risk_limit_tiers_LIQ_TIER_2():
    """Bybit help centre: "when you open a BTCUSDT position with a position value of 2,000,000 USDT
    or below, the maintenance margin rate ... is 0.5% ... If the position value increases to
    2,600,000 USDT, the MMR required will also increase to 0.56%". The API's mmDeduction column
    ("the maintenance margin deduction value when risk limit tier changed") is used as published in
    the profile; here it is recomputed by the recursion, all 35 rows, and must agree.
    A value equal to a cap is in the lower tier at Bybit and in the upper tier in the model; the
    deductions make the requirement the same either way (2,000,000: 10,000; 2,600,000: 13,360).
    Sources: https://www.bybit.com/en/help-center/article/Maintenance-Margin-USDT-Contract ;
    https://bybit-exchange.github.io/docs/v5/market/risk-limit (snapshot of
    /v5/market/risk-limit?category=linear&symbol=BTCUSDT, 2026-08-05, as transcribed in public
    code). Rule: LIQ-TIER-2."""
    btc = get_profile("bybit").market("BTCUSDT")
    assert len(btc.tiers) == 35
    recomputed = continuity_deductions([t.floor_notional_quote for t in btc.tiers],
                                       [t.maint_margin_ppm for t in btc.tiers])
    assert recomputed == tuple(t.maint_deduction_quote for t in btc.tiers)
    assert btc.tiers[-1].maint_deduction_quote == usd("226,382,000")
    assert tier_for(btc, usd("2,000,000") - 1).maint_margin_ppm == percent_ppm("0.5%")
    assert tier_for(btc, usd("2,000,000")).maint_margin_ppm == percent_ppm("0.56%")  # model: upper
    assert tier_for(btc, usd("2,599,999")).maint_margin_ppm == percent_ppm("0.56%")
    assert maintenance_margin_quote(btc, usd("2,000,000")) == usd("10,000")  # 2M * 0.5%
    assert maintenance_margin_quote(btc, usd("2,600,000")) == usd("13,360")  # 2.6M * 0.56% - 1,200


@pytest.mark.rule("LIQ-PRICE-1")
def test_bybit_bankruptcy_price_examples_LIQ_PRICE_1(impl):
    """Bybit "Bankruptcy Price (USDT Contract)": "1BTC Long position with an entry price at
    10,000USDT, leverage is 50x. Bankruptcy Price = 10,000 x (1 - 2%) = 9,800 USDT"; newer page:
    "entry price at 60,000 USDT, leverage is 50x. Bankruptcy Price = 60,000 x [1 - (1 / 50)] =
    58,800 USDT". The model holds 50x as an isolated margin of 1/50 of the entry value.
    Also Bybit ADL page as paraphrased by a third party (https://wuyelx.com/6291.html, not verified on
    bybit.com): ABCUSDT long 100 @ 500, position margin 1,000, wallet balance 100 ->
    "[(500x100)-1,000-100]/100 = $489" (BTCUSDT's market stands in for ABCUSDT).
    Sources: https://www.bybitx.global/fil-PH/help-center/search-result?page=46&pageSize=10&query=trade ;
    https://www.bybit.com/en/help-center/article/Bankruptcy-Price-Perpetual-and-Expiry-Contracts .
    Rule: LIQ-PRICE-1 (equity is zero at the bankruptcy price)."""
    state = venue(impl, get_profile("bybit"), {})
    btc = state.market("BTCUSDT")
    for account_id, margin, entry, expected in (("a", "200", "10000", "9800"),
                                                ("b", "1200", "60000", "58800")):
        new_account(impl, state, account_id, margin, isolated_market="BTCUSDT")
        open_position(impl, state, account_id, "BTCUSDT", "1", entry)
        threshold = impl.bankruptcy_price(state.account(account_id), "BTCUSDT", state.marks,
                                     state.profile)
        assert threshold.exact == ticks(btc, expected)
    new_account(impl, state, "abc", "1100")  # position margin 1,000 + wallet balance 100, cross
    open_position(impl, state, "abc", "BTCUSDT", "100", "500")
    threshold = impl.bankruptcy_price(state.account("abc"), "BTCUSDT", state.marks, state.profile)
    assert threshold.exact == ticks(btc, "489")


def _bybit_uta_long_liquidation_price(entry: Fraction, size: Fraction, leverage: int,
                                      extra: Fraction, taker: Fraction, mmr: Fraction,
                                      deduction: Fraction) -> Fraction:
    """Bybit UTA isolated USDT perpetual, as published: "Liquidation Price (Long) = [(Entry Price x
    Position Size) - (Entry Price x Position Size / Leverage) - (Extra Margin Added / (1 - Taker Fee
    Rate)) - MM Deduction] / [Position Size - (Position Size x MM Rate)]"."""
    return ((entry * size - entry * size / leverage - extra / (1 - taker) - deduction)
            / (size - size * mmr))


@pytest.mark.rule("LIQ-PRICE-2")
def test_bybit_uta_isolated_liquidation_price_LIQ_PRICE_2(impl):
    """Bybit "Trading Rules: Liquidation Process (Unified Trading Account)": 1 BTC long @ 40,000,
    50x, extra margin 3,000 USDT, MMR 0.5%, taker 0.055%, deduction 0: "Maintenance Margin =
    (40,000 x 0.5%) - 0 + 21.56 = 221.56 USDT", liquidation price 36,380.25.

    Difference: Bybit adds the estimated fee to close (40,000 * (1 - 1/50) * 0.055% = 21.56) to IM
    and MM and scales the extra margin by 1/(1 - taker); the model has no fee to close. What the
    model reproduces: the MM without the fee term (200), and the published formula with the taker
    rate set to 0 is exactly the model's root (MM taken at the liquidation price, as in the model).
    Display rounding: 36,380.2503 -> 36,380.25 under every mode. The figures reach us through a
    verbatim quotation in public code (not read on bybit.com). The UTA takes the maintenance
    margin where the price is, so the test uses the profile with the ``mark`` basis
    (LIQ-TIER-6); the ``bybit`` profile's ``entry`` basis is the Standard account's.
    Source: https://www.bybit.com/en/help-center/article/UTA-Trading-Rules .
    Rules: LIQ-TIER-2, LIQ-TIER-6, LIQ-PRICE-2."""
    state = venue(impl, replace(get_profile("bybit"), maintenance_basis="mark"), {})
    btc = state.market("BTCUSDT")
    # 800 at 50x + 3,000 extra
    new_account(impl, state, "trader", "3800", isolated_market="BTCUSDT")
    open_position(impl, state, "trader", "BTCUSDT", "1", "40000")
    fee_to_close = Fraction(40_000) * (1 - Fraction(1, 50)) * Fraction(55, 100_000)
    assert fee_to_close == Fraction("21.56")
    assert maintenance_margin_quote(btc, usd("40,000")) == usd("200")
    assert usd("200") + fee_to_close * 10**6 == usd("221.56")

    published = _bybit_uta_long_liquidation_price(Fraction(40_000), Fraction(1), 50,
                                                  Fraction(3_000), Fraction(55, 100_000),
                                                  Fraction(5, 1000), Fraction(0))
    assert published == Fraction(48_237_920_000, 1_325_937)
    assert display(published, 2, "half_up") == "36380.25"
    without_fee = _bybit_uta_long_liquidation_price(Fraction(40_000), Fraction(1), 50,
                                                    Fraction(3_000), Fraction(0),
                                                    Fraction(5, 1000), Fraction(0))
    model = impl.liquidation_price(state.account("trader"), "BTCUSDT", state.marks, state.profile)
    assert price_of(model.exact, btc) == without_fee == Fraction(7_240_000, 199)  # 36,200 / 0.995


@pytest.mark.rule("LIQ-PRICE-2")
@pytest.mark.rule("LIQ-TIER-6")
@pytest.mark.parametrize("case", [
    # (name, margin incl. extra, side, entry, funding paid, Bybit's published price)
    ("Y-1 ex 1: long 50x", "400", "1", "20000", None, "19700"),
    ("Y-1 ex 2: short 50x + 3,000", "3400", "-1", "20000", None, "23300"),
    ("Y-1 ex 3: long 50x, -200 funding", "400", "1", "20000", "200", "19900"),
    ("Y-2 long 50x (old page)", "200", "1", "10000", None, "9850"),
    ("Y-2 short 40x (old page)", "200", "-1", "8000", None, "8160"),
], ids=lambda case: case[0])
def test_bybit_standard_isolated_liquidation_price_LIQ_PRICE_2(impl, case):
    """Bybit "Liquidation Price (USDT Contract)", Standard account, isolated: "LP (Long) = Entry
    Price - [(Initial Margin - Maintenance Margin)/Position Size] - (Extra Margin Added/Position
    Size)" with MM = position value at entry x MMR (0.5%): 1 BTC @ 20,000, 50x: "IM = 400, MM = 100,
    LP = 19,700"; short + 3,000 extra: 23,300; long after 200 USDT of funding: 19,900. Old page:
    "10,000 USDT * (1 - 2% + 0.5%) = 9,850"; short 8,000 @ 40x: "8,000 * (1 + 2.5% - 0.5%) = 8160".

    Exact: the ``bybit`` profile takes an isolated position's maintenance on its entry value
    (LIQ-TIER-6), so the root is linear, margin + side*(P - entry) = 0.5% * entry, and the
    published price is the model's, exactly and in ticks. The trigger reads the same requirement:
    liquidatable one tick past the price (19,699.9 for the first long) and not at it. Funding moves
    quote only, so the entry value, and the requirement, stay where they were.
    Sources (read 2026-12-04):
    https://testnet.bybit.com/en-US/help-center/s/article/Liquidation-Price-USDT-Contract
    (examples 2 and 3 via a verbatim third-party copy) ;
    https://help.bybit.com/hc/en-us/articles/900000181046-Liquidation-Price-USDT-Contract- .
    Rules: LIQ-TIER-2, LIQ-TIER-6, LIQ-PRICE-2, LIQ-TRIGGER-1."""
    _, margin, side, entry, funding, published = case
    state = venue(impl, get_profile("bybit"), {})
    btc = state.market("BTCUSDT")
    new_account(impl, state, "trader", margin, isolated_market="BTCUSDT")
    open_position(impl, state, "trader", "BTCUSDT", side, entry)
    if funding is not None:  # the long pays 200 = 20,000 * 1% of funding
        impl.apply_funding(state, "BTCUSDT", percent_ppm("1%"))
        assert state.account("trader").quote == usd(margin) - usd(entry) - usd(funding)
    trader = state.account("trader")
    entry_mm = maintenance_margin_quote(btc, usd(entry))
    assert entry_mm == usd(entry) * 5 // 1000  # 100 at 20,000; 50 at 10,000; 40 at 8,000
    assert impl.account_maintenance_margin_quote(trader, state.marks, state.profile) == entry_mm
    # Bybit's figure: equity at the published price equals the entry-value MM
    equity_at_published = (usd(margin) - (usd(funding) if funding else 0)
                           + int(side) * (usd(published) - usd(entry)))
    assert equity_at_published == entry_mm
    model = impl.liquidation_price(trader, "BTCUSDT", state.marks, state.profile)
    assert price_of(model.exact, btc) == int(published)
    assert model.ticks == ticks(btc, published)
    # the trigger: at the price the requirement is met; one tick past it, it is not
    past = ticks(btc, published) - int(side)
    for mark, liquidatable in ((ticks(btc, published), False), (past, True)):
        impl.set_mark(state, "BTCUSDT", mark)
        assert impl.account_maintenance_margin_quote(trader, state.marks, state.profile) == entry_mm
        assert impl.is_liquidatable(trader, state) is liquidatable


@pytest.mark.rule("LIQ-TIER-6")
def test_bybit_cross_account_maintenance_at_the_mark_LIQ_TIER_6(impl):
    """The entry basis is for isolated accounts; a cross account of the same profile takes its
    requirement at the mark (LIQ-TIER-6): the same 1 BTC long from 20,000, marked at 19,700,
    needs 0.5% x 19,700 = 98.5 USDT, and its liquidation price is the root at the mark,
    19,600 / 0.995 (Bybit's UTA formula, see the UTA test above)."""
    state = venue(impl, get_profile("bybit"), {})
    btc = state.market("BTCUSDT")
    new_account(impl, state, "cross", "400")
    open_position(impl, state, "cross", "BTCUSDT", "1", "20000")
    impl.set_mark(state, "BTCUSDT", ticks(btc, "19700"))
    cross = state.account("cross")
    assert impl.account_maintenance_margin_quote(cross, state.marks, state.profile) == usd("98.5")
    model = impl.liquidation_price(cross, "BTCUSDT", state.marks, state.profile)
    assert price_of(model.exact, btc) == Fraction(19_600 * 1000, 995)
    assert not impl.is_liquidatable(cross, state)


@pytest.mark.rule("LIQ-TIER-6")
@pytest.mark.rule("LIQ-EXEC-1")
def test_bybit_isolated_tier_step_reads_the_entry_value_LIQ_EXEC_1(impl):
    """Tier-step sizing takes the tier of the entry value (LIQ-TIER-6): an isolated long of
    40 BTC from 50,000 (entry value 2,000,000 USDT, BTCUSDT's second tier from 2,000,000 at 0.56%)
    marked down to 49,000 (1,960,000 at the mark: the first tier) must shed the lots whose entry
    value reaches the tier floor: keep the most k with floor(2,000,000 * k / 40,000) below
    2,000,000 USDT, k = 39,999 lots, so one step closes 1 lot (0.001 BTC). At the mark it would be
    in the first tier and close the whole position."""
    bybit = get_profile("bybit")
    btc = bybit.market("BTCUSDT")
    assert tier_for(btc, usd("2,000,000")).floor_notional_quote == usd("2,000,000")
    assert tier_for(btc, usd("1,960,000")).floor_notional_quote == 0
    state = venue(impl, bybit, {})
    new_account(impl, state, "whale", "1,000,000", isolated_market="BTCUSDT")
    open_position(impl, state, "whale", "BTCUSDT", "40", "50000")
    impl.set_mark(state, "BTCUSDT", ticks(btc, "49000"))
    assert liquidation_size_lots(state.account("whale"), "BTCUSDT", state) == 1
    at_mark = venue(impl, replace(bybit, maintenance_basis="mark"), {})
    new_account(impl, at_mark, "whale", "1,000,000", isolated_market="BTCUSDT")
    open_position(impl, at_mark, "whale", "BTCUSDT", "40", "50000")
    impl.set_mark(at_mark, "BTCUSDT", ticks(btc, "49000"))
    assert liquidation_size_lots(at_mark.account("whale"), "BTCUSDT", at_mark) == 40_000


@pytest.mark.rule("LIQ-FEE-1")
def test_bybit_insurance_fund_example_LIQ_FEE_1(impl):
    """Bybit "Insurance Fund": "a trader with a long position on BTCUSDT in isolated margin mode.
    The liquidation price is 65,000 USDT and the bankruptcy price is 64,000 USDT"; executed at
    64,980 the surplus goes to the fund, at 63,950 the fund covers the gap. For 1 BTC that is +980
    and -50 USDT (the quantity and the continuation come from a third-party notebook citing the
    page). The page's 65,000 liquidation price implies an MMR it does not state; with the profile's
    0.5% of the entry value (330, LIQ-TIER-6) the model liquidates below 64,330, so the mark is
    set to 64,300. The fund flows do not
    depend on it. Source: https://bybit.nl/nl-NL/help-center/article/Insurance-Fund .
    Rules: LIQ-FEE-1 (all_surplus), LIQ-INSURANCE-1."""
    state = venue(impl, get_profile("bybit"), {})
    btc = state.market("BTCUSDT")
    new_account(impl, state, "liquidity", "1,000,000")
    for account_id in ("better", "worse"):
        new_account(impl, state, account_id, "2000", isolated_market="BTCUSDT")
        open_position(impl, state, account_id, "BTCUSDT", "1", "66000")  # 2,000 - 66,000 = -64,000
        assert impl.bankruptcy_price(state.account(account_id), "BTCUSDT", state.marks,
                                state.profile).exact == ticks(btc, "64000")
    set_marks(impl, state, {"BTCUSDT": "64300"})
    first = impl.liquidate(state, "better", "BTCUSDT", "liquidity", ticks(btc, "64980"))
    assert first.amounts["fee"] == usd("980")
    assert state.holders[INSURANCE_FUND] == usd("980")
    second = impl.liquidate(state, "worse", "BTCUSDT", "liquidity", ticks(btc, "63950"))
    assert second.amounts["fee"] == 0 and second.amounts["fund_paid"] == usd("50")
    assert state.holders[INSURANCE_FUND] == usd("930")
    assert state.account("worse").quote == 0


@pytest.mark.rule("LIQ-FUNDING-1")
def test_bybit_funding_fee_example_LIQ_FUNDING_1(impl):
    """Bybit funding: "Funding Fee = Position Value x Funding Rate"; example relayed by a third
    party (https://pastorq.com/10809.html, not verified on bybit.com): "Position: 10 BTC ... Mark
    Price: 16,000 USDT; Funding Rate: 0.0001% ... 160,000 x 0.0001% = 0.16 USDT". Exact, so the
    model's rounding (payer up, receiver down) does not show and nothing is left in the pool.
    Source: https://bybit.com/ro-RO/help-center/article/Funding-fee-calculationDerivatives_Trading_Mechanism_UTA .
    Rule: LIQ-FUNDING-1."""
    assert funding_owed_quote(usd("160,000"), percent_ppm("0.0001%")) == usd("0.16")
    state = venue(impl, get_profile("bybit"), {})
    new_account(impl, state, "long", "100,000")
    open_position(impl, state, "long", "BTCUSDT", "10", "16000")
    before = {a: state.account(a).quote for a in ("long", MAKER)}
    result = impl.apply_funding(state, "BTCUSDT", percent_ppm("0.0001%"))
    assert state.account("long").quote == before["long"] - usd("0.16")
    assert state.account(MAKER).quote == before[MAKER] + usd("0.16")
    assert result.amounts["residual"] == 0


# -- BitMEX linear --------------------------------------------------------------------------------

@pytest.mark.rule("LIQ-INSURANCE-1")
def test_bitmex_liquidation_and_insurance_fund_example_LIQ_INSURANCE_1(impl):
    """BitMEX "Liquidation Examples": "A trader goes long 1 contract at $100.00, with a liquidation
    price of $99.50 and a bankruptcy price of $99.00. The trader is liquidated and the trading
    engine places a limit sell order with a limit price of $99.00"; it fills at $99.25 and the
    extra $0.25 goes to the Insurance Fund; a second trader's order fills at $98.75, the fund's
    $0.25 covers the shortfall, ADL is avoided and the fund is left with $0 (continuation read in a
    paraphrase at doc.sat.is). One contract is read as one unit of a linear contract (MM 0.5%,
    IM 1%).

    Difference: BitMEX's $99.50 is the bankruptcy price plus 0.5% of the entry value; the model
    takes 0.5% of the notional at the liquidation price, so its exact root is 99 / 0.995 =
    99.4975; its tick, rounded up for a long (LIQ-PRICE-3), is 99.50.
    Sources: https://testnet.bitmex.com/app/liquidationExamples ; https://www.bitmex.com/app/liquidation .
    Rules: LIQ-PRICE-1, LIQ-PRICE-2, LIQ-FEE-1 (all_surplus), LIQ-INSURANCE-1."""
    example = bare_market("EXAMPLE", 0, 2, venue_tiers((("0", "0.5%", "0", "1%"),)))
    state = venue(impl, with_markets(get_profile("bitmex"), "bitmex_example", example), {})
    new_account(impl, state, "liquidity", "10,000")
    for account_id in ("first", "second"):
        new_account(impl, state, account_id, "1.00", isolated_market="EXAMPLE")
        open_position(impl, state, account_id, "EXAMPLE", "1", "100.00")
    first = state.account("first")
    assert impl.bankruptcy_price(first, "EXAMPLE", state.marks, state.profile).exact \
        == ticks(example, "99.00")
    liq = impl.liquidation_price(first, "EXAMPLE", state.marks, state.profile)
    assert price_of(liq.exact, example) == Fraction(19_800, 199)  # 99 / 0.995
    assert liq.ticks == ticks(example, "99.50")

    set_marks(impl, state, {"EXAMPLE": "99.49"})
    assert impl.is_liquidatable(first, state)
    result = impl.liquidate(state, "first", "EXAMPLE", "liquidity", ticks(example, "99.25"))
    assert result.amounts["fee"] == usd("0.25")  # 99.25 - 99.00, all to the fund
    assert state.holders[INSURANCE_FUND] == usd("0.25")
    result = impl.liquidate(state, "second", "EXAMPLE", "liquidity", ticks(example, "98.75"))
    assert result.amounts["fund_paid"] == usd("0.25") and result.amounts["written_off"] == 0
    assert state.holders[INSURANCE_FUND] == 0


@pytest.mark.rule("LIQ-ADL-2")
def test_bitmex_auto_deleveraging_queue_example_LIQ_ADL_2(impl):
    """BitMEX "Auto-Deleveraging Examples": six longs (account, quantity, PNL ranking) 1: 10, 3;
    2: 10, 6; 3: 20, 1; 4: 30, 4; 5: 20, 5; 6: 10, 2. "Let's consider a short position that has been
    liquidated with size 20 and bankruptcy price of USD 650. Accounts 2 and 5 will be deleveraged at
    the bankruptcy price of USD 650. Account 2 will have their entire position of 10 contracts
    closed, while the remaining 10 contracts ... will be assigned to account 5. Account 5 will thus
    have 10 contracts remaining (from 20)."

    The page gives rankings, not positions; the longs here are built so that "PNL Percentage *
    Effective Leverage" orders them as published (mark 660; entry, equity -> PnL%, leverage, score):
    2: 600, 1,100 -> 10%, 6, 0.6; 5: 550, 5,280 -> 20%, 2.5, 0.5; 4: 600, 4,950 -> 10%, 4, 0.4;
    1: 600, 2,200 -> 10%, 3, 0.3; 6: 600, 3,300 -> 10%, 2, 0.2; 3: 600, 8,800 -> 10%, 1.5, 0.15.
    Ranking by leverage alone (2, 4, 1, 5, ...) or by PnL% alone (5 first) would not give it.
    One contract is read as 1 ETH of ETHUSDT.
    Sources: https://testnet.bitmex.com/app/autoDeleveragingExamples ;
    https://bitmex.com/app/autoDeleveraging . Rules: LIQ-ADL-2, LIQ-ADL-3, LIQ-ADL-4."""
    state = venue(impl, get_profile("bitmex"), {})
    longs = {"1": ("10", "600", "1600"), "2": ("10", "600", "500"), "3": ("20", "600", "7600"),
             "4": ("30", "600", "3150"), "5": ("20", "550", "3080"), "6": ("10", "600", "2700")}
    for account_id, (size, entry, margin) in longs.items():
        new_account(impl, state, account_id, margin)
        open_position(impl, state, account_id, "ETHUSDT", size, entry)
    new_account(impl, state, "bankrupt", "1000")
    open_position(impl, state, "bankrupt", "ETHUSDT", "-20", "600")  # quote 13,000: bankrupt at 650
    set_marks(impl, state, {"ETHUSDT": "660"})
    eth = state.market("ETHUSDT")
    bankrupt = state.account("bankrupt")
    assert impl.bankruptcy_price(bankrupt, "ETHUSDT", state.marks, state.profile).exact \
        == ticks(eth, "650")
    ranked = sorted(longs, key=lambda a: -score_pnl_leverage(state.account(a), "ETHUSDT", state))
    assert ranked == ["2", "5", "4", "1", "6", "3"]
    assert score_pnl_leverage(state.account("2"), "ETHUSDT", state) == Fraction(6, 10)

    assert adl_allocation(state, bankrupt, "ETHUSDT") == [("2", lots(eth, "10")),
                                                          ("5", lots(eth, "10"))]
    before = {a: state.account(a).quote for a in ("2", "5")}
    impl.deleverage(state, "bankrupt", "ETHUSDT")
    for account_id in ("2", "5"):  # each sold 10 at the bankruptcy price: 10 * 650
        assert state.account(account_id).quote - before[account_id] == usd("6,500")
    assert state.account("2").position("ETHUSDT") == 0
    assert state.account("5").position("ETHUSDT") == lots(eth, "10")
    assert bankrupt.is_flat() and bankrupt.quote == 0


@pytest.mark.rule("LIQ-TIER-3")
def test_bitmex_linear_margin_examples_LIQ_TIER_3(impl):
    """BitMEX "Isolated and Cross Margin Examples": "Karen's BitMEX account wallet has 10,000 USDT.
    She buys 20 contracts of ETHUSDT at the price of $1,000 at 50x Cross Margin. The required
    initial margin is 2% = 400 USDT, and the maintenance margin is 1% = 200 USDT" (1 contract read
    as 1 ETH, as the 400 = 2% of 20,000 implies).
    BitMEX "Linear Perpetuals Guide": multiplier 0.000001 USDT; long 1,000,000 USDT of COINUSDT at
    5,000.00 at 50x needs 20,000 USDT margin; "The trader must buy 200,000,000 contracts: 1,000,000
    USDT / (5,000 USDT * 0.000001)". Here the multiplier is a lot of 1e-6 COIN, and 50x a 2% initial
    rate on a one-tier COINUSDT.
    Sources: https://bitmex.com/app/isolatedMarginExamples ;
    https://www.bitmex.com/app/linearPerpetualsGuide . Rules: LIQ-TIER-3, LIQ-TIER-5, LIQ-UNIT-1."""
    state = venue(impl, get_profile("bitmex"), {})
    new_account(impl, state, "karen", "10,000")
    open_position(impl, state, "karen", "ETHUSDT", "20", "1000")
    karen = state.account("karen")
    assert impl.account_initial_margin_quote(karen, state.marks, state.profile) == usd("400")
    assert impl.account_maintenance_margin_quote(karen, state.marks, state.profile) == usd("200")

    coin = bare_market("COINUSDT", 6, 0, venue_tiers((("0", "1%", "0", "2%"),)))
    contracts = 200_000_000
    assert contracts == lots(coin, "200")  # 200 COIN in contracts of 0.000001
    notional = notional_quote(contracts, ticks(coin, "5000.00"), coin)
    assert notional == usd("1,000,000")
    assert initial_margin_quote(coin, notional) == usd("20,000")


# -- dYdX v4 --------------------------------------------------------------------------------------

@pytest.mark.rule("LIQ-TIER-2")
@pytest.mark.parametrize("initial_ppm, fraction_ppm, expected", [
    (150_000, 800_000, 120_000),
    (450_000, 770_000, 346_500),
    (637_239, 289_284, 184_343),  # 184_343.44 floored
    (1_000_000, 1_000_000, 1_000_000),
    (0, 1_000_000, 0),
    (0, 0, 0),
    (1_000_000, 0, 0),
])
def test_dydx_maintenance_margin_ppm_LIQ_TIER_2(initial_ppm, fraction_ppm, expected):
    """dYdX ``TestLiquidityTierGetMaintenanceMarginPpm``: maintenance margin ppm =
    floor(initial margin ppm x maintenance fraction ppm / 1e6).
    Source: dydxprotocol/v4-chain protocol/x/perpetuals/types/liquidity_tier_test.go
    @01a48f236c5640df172482db21cd26b8f28ff781. Rule: LIQ-TIER-2 (the profile's MMF)."""
    assert dydx_maintenance_margin_ppm(initial_ppm, fraction_ppm) == expected


@pytest.mark.rule("LIQ-TIER-4")
def test_dydx_open_interest_scaled_initial_margin_LIQ_TIER_4():
    """dYdX ``TestGetInitialMarginQuoteQuantums`` and ``TestGetAdjustedInitialMarginPpm``: IM =
    ceil(notional x IMF'), IMF' = IMF below the lower cap, 100% at or above the upper cap and
    floor((1e6 - IMF) x (OI - lower) / (upper - lower)) + IMF between; no caps, no scaling.
    The vectors fix only the initial fraction; the maintenance rate is 1 ppm so that the model's
    floor max(IM, MM) never binds.
    Source: dydxprotocol/v4-chain protocol/x/perpetuals/types/liquidity_tier_test.go
    @01a48f236c5640df172482db21cd26b8f28ff781 (current rounding: liquidity_tier.go
    @6c82ba15379ac9bb14b745c7757cf6605c1767f7, the IMF' ppm floored before the ceil).
    Rules: LIQ-TIER-3, LIQ-TIER-4."""
    def market(initial_ppm: int, lower: int = 0, upper: int = 0) -> Market:
        scaling = OpenInterestScaling(lower, upper) if upper else None
        return bare_market("M", 0, 0, (Tier(0, 1, 0, initial_ppm, 0),), 0, scaling)

    # TestGetInitialMarginQuoteQuantums: (IMF ppm, caps, OI, notional) -> IM quote quantums
    for initial_ppm, lower, upper, oi, notional, expected in (
        (200_000, 0, 0, 0, 500_000, 100_000),
        (500_000, 0, 0, 0, 1_000_000, 500_000),
        (100_000, 0, 0, 0, 1, 1),  # 0.1 rounds up to 1
        (567_243, 0, 0, 0, 123_456, 70_030),  # 70,029.55 rounds up
        (200_000, 0, 0, 1_500_000_000_000, 500_000, 100_000),  # no caps: no OIMF
        (200_000, 1_000_000_000_000, 2_000_000_000_000, 1_500_000_000_000, 500_000, 300_000),
        (200_000, 25_000_000_000_000, 50_000_000_000_000, 80_000_000_000_000, 500_000, 500_000),
        (200_000, 25_000_000_000_000, 50_000_000_000_000, 25_000_000_000_000, 500_000, 100_000),
        (200_000, 25_000_000_000_000, 60_000_000_000_000, 28_123_456_789_123, 500_000, 135_697),
    ):
        assert initial_margin_quote(market(initial_ppm, lower, upper), notional, oi) == expected
    # TestGetAdjustedInitialMarginPpm: IMF 20%, caps 1,000,000 .. 2,000,000
    scaled = market(200_000, 1_000_000, 2_000_000)
    for oi, expected in ((0, 200_000), (1_500_000, 600_000), (1_234_567, 387_653),
                         (1_000_000, 200_000), (2_000_000, 1_000_000), (2_500_000, 1_000_000)):
        assert oi_scaled_initial_margin_ppm(scaled, scaled.tiers[0], oi) == expected


def _dydx_units(quantums: int, atomic: int, price: int, exponent: int, base_decimals: int,
                price_decimals: int) -> tuple[int, int]:
    """dYdX base quantums (10^atomic coin) and price (x 10^exponent) in the model's lots and ticks,
    exactly: the same coin amount and the same price, in coarser units where dYdX's would not fit
    the 6 quote decimals."""
    size = Fraction(quantums) * Fraction(10) ** (atomic + base_decimals)
    tick_count = Fraction(price) * Fraction(10) ** (exponent + price_decimals)
    assert size.denominator == 1 and tick_count.denominator == 1
    return int(size), int(tick_count)


@pytest.mark.rule("LIQ-TIER-2")
@pytest.mark.parametrize("row", [
    # price, exponent, atomic, quantums, IMF ppm, MF ppm, IM, MM, (base, price decimals)
    (5_555, 2, -8, 7_000, 200, 500_000, 7_777, 3_889, (5, -2)),  # MM 3,888.5 rounds up
    (5_555, 0, -4, 7_000, 10_000, 500_000, 38_885_000, 19_442_500, (1, 0)),
    (42, 5, 0, 88, 10_000, 500_000, 3_696_000_000_000, 1_848_000_000_000, (0, -5)),
    (42_000_000, -2, -6, -5_000, 10_000, 500_000, 21_000_000, 10_500_000, (3, -4)),
    (5_555, 0, -6, 7_000, 10_000, 1_000_000, 388_850, 388_850, (3, 0)),
    (5_555, 3, -6, -7_000, 2, 500_000, 77_770, 38_885, (3, -3)),
])
def test_dydx_margin_requirements_LIQ_TIER_2(row):
    """dYdX ``TestGetMarginRequirements_Success`` (non-adjusted cases): notional = quantums x price
    x 10^(exponent + atomic + 6); IM = ceil(notional x IMF); MM = ceil(IM x MF). With MF = 1/2 (or
    1) the model's single ceil(notional x floor(IMF x MF)) is equal (ceil(ceil(x)/2) = ceil(x/2)).
    Not expressible: the 100% / 100% case (the model requires a maintenance rate below 100%).
    Source: dydxprotocol/v4-chain protocol/x/perpetuals/keeper/perpetual_test.go, an older version
    than @ad3295c0dafafbae314ad1b5573b753334debe20 (stored copy without a recorded commit).
    Rules: LIQ-MARGIN-1, LIQ-TIER-2, LIQ-TIER-3."""
    price, exponent, atomic, quantums, initial_ppm, fraction_ppm, im, mm, (base, pdec) = row
    market = bare_market("M", base, pdec, dydx_tier(initial_ppm, fraction_ppm))
    size, tick_count = _dydx_units(quantums, atomic, price, exponent, base, pdec)
    notional = notional_quote(size, tick_count, market)
    assert initial_margin_quote(market, notional) == im
    assert maintenance_margin_quote(market, notional) == mm


@pytest.mark.rule("LIQ-MARGIN-1")
@pytest.mark.parametrize("row", [
    # price, exponent, atomic, quantums, expected net notional, (base, price decimals)
    (5_555, -2, -6, 7_000, 388_850, (3, 2)),
    (5_555, -2, -6, -7_000, -388_850, (3, 2)),
    (5_555, -2, -4, 7_000, 38_885_000, (1, 2)),
    (5_555, -2, 0, 7_000, 388_850_000_000, (0, 2)),
])
def test_dydx_net_notional_LIQ_MARGIN_1(row):
    """dYdX ``TestGetNetNotional_Success``: signed net notional in quote quantums.
    Not expressible: the MaxUint64 case (outside the int64 value domain).
    Source: dydxprotocol/v4-chain protocol/x/perpetuals/keeper/perpetual_test.go
    @ad3295c0dafafbae314ad1b5573b753334debe20. Rule: LIQ-MARGIN-1."""
    price, exponent, atomic, quantums, expected, (base, pdec) = row
    market = bare_market("M", base, pdec, dydx_tier(200_000, 500_000))
    size, tick_count = _dydx_units(quantums, atomic, price, exponent, base, pdec)
    assert position_value_quote(size, tick_count, market) == expected


def _dydx_testutil(base_decimals: int = 4, price_decimals: int = 0, fee: str = "0.5%",
                   imf_ppm: int = 200_000, mf_ppm: int = 500_000) -> Profile:
    """dYdX's test perpetuals BtcUsd_20PercentInitial_10PercentMaintenance and EthUsd_... (IMF 20%,
    MF 50%, so MMF 10%) under the dydx_v4 policies, with LiquidationsConfig_Default's full-position
    liquidation and the given maximum liquidation fee. BTC is $50,000 and ETH $3,000 there."""
    tiers = dydx_tier(imf_ppm, mf_ppm)
    markets = (Market("BTC-USD", base_decimals, price_decimals, tiers, percent_ppm(fee)),
               Market("ETH-USD", 4, 0, tiers, percent_ppm(fee)))
    return with_markets(get_profile("dydx_v4"), "dydx_v4_testutil", *markets,
                        liquidation_size=LiquidationSize.FULL)


DYDX_MARKS = {"BTC-USD": "50000", "ETH-USD": "3000"}


@pytest.mark.rule("LIQ-ADL-4")
@pytest.mark.parametrize("case", [
    # name, quote, positions [(market, size, trade price, mark during)], market, closed, expected
    ("long slightly below MM, close all", "-4501", [("BTC-USD", "0.1", "50000", "100000")],
     "BTC-USD", "0.1", 4_501_000_000),
    ("short slightly below MM, close all", "5499", [("BTC-USD", "-0.1", "50000", "25000")],
     "BTC-USD", "0.1", -5_499_000_000),
    ("long at bankruptcy, close all", "-5000", [("BTC-USD", "0.1", "60000", "120000")],
     "BTC-USD", "0.1", 5_000_000_000),
    ("long at bankruptcy, close half", "-5000", [("BTC-USD", "0.1", "60000", "120000")],
     "BTC-USD", "0.05", 2_500_000_000),
    ("short at bankruptcy, close half", "5000", [("BTC-USD", "-0.1", "40000", "20000")],
     "BTC-USD", "0.05", -2_500_000_000),
    ("short at bankruptcy, close all", "5000", [("BTC-USD", "-0.1", "40000", "20000")],
     "BTC-USD", "0.1", -5_000_000_000),
    ("long below bankruptcy", "-5100", [("BTC-USD", "0.1", "60000", "120000")],
     "BTC-USD", "0.1", 5_100_000_000),
    ("short below bankruptcy", "4900", [("BTC-USD", "-0.1", "40000", "20000")],
     "BTC-USD", "0.1", -4_900_000_000),
    ("two longs, close ETH", "-490", [("BTC-USD", "0.004", "50000", "100000"),
                                      ("ETH-USD", "0.1", "3000", "6000")],
     "ETH-USD", "0.1", 294_000_000),
    ("two shorts, close ETH", "510", [("BTC-USD", "-0.004", "50000", "25000"),
                                      ("ETH-USD", "-0.1", "3000", "1500")],
     "ETH-USD", "0.1", -306_000_000),
    ("long BTC, short ETH, close ETH", "110", [("BTC-USD", "0.004", "50000", "100000"),
                                               ("ETH-USD", "-0.1", "3000", "1500")],
     "ETH-USD", "0.1", -306_000_000),
    ("long cannot be liquidated at a loss", "1", [("BTC-USD", "1", "50000", "50000")],
     "BTC-USD", "1", -1_000_000),
], ids=lambda case: case[0])
def test_dydx_bankruptcy_quote_LIQ_ADL_4(impl, case):
    """dYdX ``TestGetBankruptcyPriceInQuoteQuantums``: the quote quantums the liquidated subaccount
    receives for closing ``delta`` at its bankruptcy price, -DNNV - floor(TNC x |DMMR| / TMMR)
    (negative: it pays). Positions and USDC balances are the test's; the entry prices are not part
    of the vector and are chosen so that the opening deposit is positive.
    Source: dydxprotocol/v4-chain protocol/x/clob/keeper/liquidations_test.go
    @56b4b49d3ceaa2930d5ac9d602808beb379bdecd. Rule: LIQ-ADL-4 (adl_receive_quote)."""
    _, quote, positions, market_id, closed, expected = case
    state = venue(impl, _dydx_testutil(), DYDX_MARKS)
    account_with(impl, state, "subaccount", quote, positions)
    set_marks(impl, state, DYDX_MARKS)
    market = state.market(market_id)
    assert adl_receive_quote(state.account("subaccount"), market_id, lots(market, closed),
                             state) == expected


@pytest.mark.rule("LIQ-ADL-4")
def test_dydx_bankruptcy_quote_rounds_toward_positive_infinity_LIQ_ADL_4(impl):
    """dYdX ``TestGetBankruptcyPriceInQuoteQuantums``, the two rounding cases: 1 BTC long, USDC -13,
    closing 21,347 quantums (0.00021347 BTC) -> 2,776 ("rounded up from 2,775.11 quote quantums");
    1 BTC short, USDC +13 -> -2,775 ("rounded down from 2,775.11" in magnitude, i.e. toward +inf).
    Hand arithmetic (short): TNC = 13 - 50,000 = -49,987 USDC, TMMR = 5,000 USDC, DMMR =
    5,000,000,000 - ceil(49,989,326,500 * 10%) = 1,067,350; -DNNV = -21,347 * 500 = -10,673,500;
    floor(-49,987e6 * 1,067,350 / 5e9) = floor(-10,670,724.89) = -10,670,725; -10,673,500 +
    10,670,725 = -2,775.
    0.00021347 BTC needs 1e-8 BTC lots and so $100 ticks (6 quote decimals). The short's USDC +13
    is not reachable through a margin-checked trade at $100 ticks (its equity is negative at every
    tick), so it is reached the way such accounts arise: a short of 2 BTC whose second BTC is
    liquidated at a fill far above the mark.
    Source: dydxprotocol/v4-chain protocol/x/clob/keeper/liquidations_test.go
    @56b4b49d3ceaa2930d5ac9d602808beb379bdecd. Rules: LIQ-ADL-4, LIQ-ROUND-1."""
    state = venue(impl, _dydx_testutil(base_decimals=8, price_decimals=-2, fee="0%"), DYDX_MARKS)
    btc = state.market("BTC-USD")
    account_with(impl, state, "long", "-13", [("BTC-USD", "1", "50000", "50000")])
    assert adl_receive_quote(state.account("long"), "BTC-USD", 21_347, state) == 2_776

    new_account(impl, state, "short", "13")
    open_position(impl, state, "short", "BTC-USD", "-2", "50000", mark_during="20000")
    set_marks(impl, state, DYDX_MARKS)
    new_account(impl, state, "liquidator", "1,000,000")
    impl.liquidate(state, "short", "BTC-USD", "liquidator", ticks(btc, "100000"), lots(btc, "1"))
    short = state.account("short")
    assert (short.position("BTC-USD"), short.quote) == (-lots(btc, "1"), usd("13"))
    assert adl_receive_quote(short, "BTC-USD", 21_347, state) == -2_775


@pytest.mark.rule("LIQ-ADL-3")
def test_dydx_process_deleveraging_LIQ_ADL_3(impl):
    """dYdX ``TestProcessDeleveraging``: Carl short 1 BTC is deleveraged against Dave long 1 BTC
    with USDC 50,000 at Carl's bankruptcy price. Carl's USDC 54,999 (TNC 4,999) -> Dave receives
    54,999,000,000; 50,000 (TNC 0) -> 50,000,000,000; 49,999 (TNC -1) -> 49,999,000,000, Dave ends
    with 50,000e6 + 49,999e6; partial 0.1 BTC with 54,999 -> 5,499,900,000; Carl short 1 BTC and
    10 ETH with USDC 80,800 (TNC 800, MMR 5,000 + 3,000), closing BTC -> 50,500,000,000.
    The model's deleverage step needs negative equity and closes the whole position, so it runs for
    the TNC -1 case; the others are the same bankruptcy quote, checked with adl_receive_quote.
    Source: dydxprotocol/v4-chain protocol/x/clob/keeper/deleveraging_test.go
    @ad3295c0dafafbae314ad1b5573b753334debe20. Rules: LIQ-ADL-1, LIQ-ADL-3, LIQ-ADL-4."""
    for carl_usdc, trade_price, closed, dave_receives in (
            ("54999", "50000", "1", 54_999_000_000),
            ("50000", "40000", "1", 50_000_000_000),
            ("54999", "50000", "0.1", 5_499_900_000)):
        state = venue(impl, _dydx_testutil(), DYDX_MARKS)
        account_with(impl, state, "carl", carl_usdc, [("BTC-USD", "-1", trade_price, "25000")])
        set_marks(impl, state, DYDX_MARKS)
        btc = state.market("BTC-USD")
        assert adl_receive_quote(state.account("carl"), "BTC-USD", lots(btc, closed),
                                 state) == -dave_receives

    state = venue(impl, _dydx_testutil(), DYDX_MARKS)
    account_with(impl, state, "carl", "80800", [("BTC-USD", "-1", "50000", "25000"),
                                          ("ETH-USD", "-10", "3000", "1500")])
    set_marks(impl, state, DYDX_MARKS)
    assert adl_receive_quote(state.account("carl"), "BTC-USD", lots(state.market("BTC-USD"), "1"),
                             state) == -50_500_000_000

    state = venue(impl, _dydx_testutil(), DYDX_MARKS)
    new_account(impl, state, "dave", "90000")  # 90,000 - 40,000 paid for Carl's BTC = 50,000
    account_with(impl, state, "carl", "49999", [("BTC-USD", "-1", "40000", "20000")],
                 counterparty="dave")
    set_marks(impl, state, DYDX_MARKS)
    assert state.account("dave").quote == usd("50,000")
    assert impl.equity_quote(state.account("carl"), state.marks, state.profile) == -usd("1")
    impl.deleverage(state, "carl", "BTC-USD")
    assert state.account("dave").quote == 50_000_000_000 + 49_999_000_000
    assert state.account("dave").is_flat() and state.account("carl").is_flat()
    assert state.account("carl").quote == 0


@pytest.mark.rule("LIQ-FEE-1")
@pytest.mark.parametrize("case", [
    # name, side, fee, fill price, insurance-fund delta
    ("long, 10% above bankruptcy, 0.5% fee", "0.1", "0.5%", "56100", 28_050_000),
    ("long, 10% above bankruptcy, 2.5% fee", "0.1", "2.5%", "56100", 140_250_000),
    ("long, 10% above bankruptcy, 100% fee", "0.1", "100%", "56100", 510_000_000),
    ("short, 10% better, 0.5% fee", "-0.1", "0.5%", "44100", 22_050_000),
    ("short, 10% better, 2.5% fee", "-0.1", "2.5%", "44100", 110_250_000),
    ("short, 10% better, 100% fee", "-0.1", "100%", "44100", 490_000_000),
    ("long, 0.1% above bankruptcy", "0.1", "0.5%", "51051", 5_100_000),
    ("short, 0.1% better", "-0.1", "0.5%", "48951", 4_900_000),
    ("long at bankruptcy", "0.1", "0.5%", "51000", 0),
    ("short at bankruptcy", "-0.1", "0.5%", "49000", 0),
    ("long 1% below bankruptcy", "0.1", "0.5%", "50490", -51_000_000),
    ("short 1% worse", "-0.1", "0.5%", "49490", -49_000_000),
], ids=lambda case: case[0])
def test_dydx_liquidation_insurance_fund_delta_LIQ_FEE_1(impl, case):
    """dYdX ``TestGetLiquidationInsuranceFundDelta``: 0.1 BTC long with USDC -5,100 (bankruptcy
    5,100,000,000) or short with USDC 4,900 (bankruptcy -4,900,000,000), closed in full at a fill
    price; the fund receives min(fee rate x |fill quote|, what is left above bankruptcy) or pays the
    shortfall. Subticks 56,100,000,000 at quantum conversion exponent -8 is $56,100 per BTC.
    The fees are exact, so dYdX's rounding down and the model's rounding up agree.
    Not expressible: the "subticks = 1" case (a fill below one model tick).
    Source: dydxprotocol/v4-chain protocol/x/clob/keeper/liquidations_test.go
    @56b4b49d3ceaa2930d5ac9d602808beb379bdecd. Rules: LIQ-FEE-1, LIQ-INSURANCE-1, LIQ-EXEC-2."""
    _, side, fee, fill, fund_delta = case
    state = venue(impl, _dydx_testutil(fee=fee), DYDX_MARKS)
    btc = state.market("BTC-USD")
    if side == "0.1":
        account_with(impl, state, "subaccount", "-5100", [("BTC-USD", "0.1", "60000", "120000")])
    else:
        account_with(impl, state, "subaccount", "4900", [("BTC-USD", "-0.1", "40000", "20000")])
    set_marks(impl, state, DYDX_MARKS)
    new_account(impl, state, "liquidator", "1,000,000")
    if fund_delta < 0:
        impl.fund_insurance(state, -fund_delta)
    fund_before = state.holders[INSURANCE_FUND]
    result = impl.liquidate(state, "subaccount", "BTC-USD", "liquidator", ticks(btc, fill))
    assert state.holders[INSURANCE_FUND] - fund_before == fund_delta
    assert result.amounts["fee"] == max(fund_delta, 0)
    # what is left above bankruptcy (0.1 BTC x the fill's distance from $51,000 / $49,000) less
    # the fee stays with the subaccount; below bankruptcy the fund brings it back to zero
    bankruptcy = "51000" if side == "0.1" else "49000"
    leftover = abs(usd(fill) - usd(bankruptcy)) // 10 if fund_delta >= 0 else 0
    subaccount = state.account("subaccount")
    assert subaccount.is_flat() and subaccount.quote == leftover - max(fund_delta, 0)


@pytest.mark.rule("LIQ-FEE-2")
@pytest.mark.parametrize("case", [
    # name, side, max fee, fill price, GetLiquidationInsuranceFundDelta
    ("long, 10% above bankruptcy, 0.5% fee", "0.1", "0.5%", "56100", 28_050_000),
    ("long, 10% above bankruptcy, 2.5% fee", "0.1", "2.5%", "56100", 140_250_000),
    ("long, 10% above bankruptcy, 100% fee", "0.1", "100%", "56100", 510_000_000),
    ("short, 10% better, 0.5% fee", "-0.1", "0.5%", "44100", 22_050_000),
    ("short, 10% better, 2.5% fee", "-0.1", "2.5%", "44100", 110_250_000),
    ("short, 10% better, 100% fee", "-0.1", "100%", "44100", 490_000_000),
    ("long, 0.1% above bankruptcy", "0.1", "0.5%", "51051", 5_100_000),
    ("short, 0.1% better", "-0.1", "0.5%", "48951", 4_900_000),
    ("long at bankruptcy", "0.1", "0.5%", "51000", 0),
    ("short at bankruptcy", "-0.1", "0.5%", "49000", 0),
    ("long 1% below bankruptcy", "0.1", "0.5%", "50490", -51_000_000),
    ("short 1% worse", "-0.1", "0.5%", "49490", -49_000_000),
], ids=lambda case: case[0])
def test_dydx_insurance_fund_delta_function_LIQ_FEE_2(impl, case):
    """dYdX ``TestGetLiquidationInsuranceFundDelta``, the function itself: the signed delta
    (positive: the fee the subaccount pays; negative: what the fund pays) before the fill.
    Source: dydxprotocol/v4-chain protocol/x/clob/keeper/liquidations_test.go
    @84d4664bae71e3a077adaac67fb77ad19cd28d30 (read 2026-12-04). Rule: LIQ-FEE-2."""
    _, side, fee, fill, expected = case
    state = venue(impl, _dydx_testutil(fee=fee), DYDX_MARKS)
    btc = state.market("BTC-USD")
    if side == "0.1":
        account_with(impl, state, "subaccount", "-5100", [("BTC-USD", "0.1", "60000", "120000")])
    else:
        account_with(impl, state, "subaccount", "4900", [("BTC-USD", "-0.1", "40000", "20000")])
    set_marks(impl, state, DYDX_MARKS)
    assert insurance_fund_delta_quote(state.account("subaccount"), "BTC-USD", lots(btc, "0.1"),
                                      ticks(btc, fill), state) == expected


@pytest.mark.rule("LIQ-FEE-2")
@pytest.mark.parametrize("case", [
    # name, Carl's USDC, fills [(BTC, price)], fund flow per fill (+ paid to it, - paid by it),
    # Carl's USDC after the fills
    ("completely filled", "54999", [("1", "50000")], [250_000_000], 4_749_000_000),
    ("multiple partial fills", "54999", [("0.25", "50000"), ("0.25", "50000")],
     [62_500_000, 62_500_000], 29_874_000_000),
    ("completely filled, negative delta", "50499", [("1", "50500")], [-1_000_000], 0),
    ("multiple partial fills, negative delta", "50499", [("0.25", "50500"), ("0.25", "50500")],
     [-250_000, -250_000], 25_249_500_000),
    ("positive then negative delta", "50499", [("0.75", "50498"), ("0.25", "50500")],
     [750_000, -250_000], 0),
], ids=lambda case: case[0])
def test_dydx_liquidation_fills_pay_the_fund_per_fill_LIQ_FEE_2(impl, case):
    """dYdX ``TestProcessProposerMatches_Liquidation_Success``: Carl, short 1 BTC at an oracle
    price of $50,000, is liquidated against Dave's sell orders, fill by fill; each fill's insurance
    fund delta moves at once (the test's SendCoins to / from the insurance fund module), and
    Carl's USDC ends as the test expects. Hand arithmetic, two 0.25 BTC fills at $50,500 with USDC
    50,499 (TNC 499): the first fill's bankruptcy value is -12,500 - floor(499 x 1/4) = -12,624.75,
    its quote -12,625, delta -0.25: the fund pays $0.25 although Carl's equity after the fill is
    still 374 (a cap by the whole account's equity would have charged him a fee); the second, with
    TNC 374.25 over three quarters, is -0.25 again. 0.75 BTC at $50,498: delta -37,873.5 +
    37,874.25 = +0.75, below the 0.5% cap of $189.37, so Carl pays $0.75; the last 0.25 at
    $50,500 then costs the fund $0.25 and leaves Carl at 0.
    dYdX's test perpetual (BtcUsd_100PercentMarginRequirement) has a 100% maintenance
    requirement, which the model's domain excludes; a one-tier linear requirement shares out TNC
    by the closed fraction of the position whatever its rate, so a 99% requirement gives the same
    figures and keeps Carl below maintenance between the fills, as dYdX's does. Liquidation
    orders pay no taker fee; the 0.5% maximum fee is LiquidationsConfig_Default's.
    Source: dydxprotocol/v4-chain protocol/x/clob/keeper/process_operations_liquidations_test.go
    @84d4664bae71e3a077adaac67fb77ad19cd28d30 (read 2026-12-04). Rules: LIQ-FEE-2, LIQ-FEE-1,
    LIQ-INSURANCE-1."""
    _, usdc, fills, flows, carl_after = case
    state = venue(impl, _dydx_testutil(imf_ppm=PPM, mf_ppm=990_000), DYDX_MARKS)
    btc = state.market("BTC-USD")
    account_with(impl, state, "carl", usdc, [("BTC-USD", "-1", "50000", "20000")])
    set_marks(impl, state, DYDX_MARKS)
    new_account(impl, state, "dave", "1,000,000")
    impl.fund_insurance(state, usd("1,000"))
    for (size, price), flow in zip(fills, flows):
        fund_before = state.holders[INSURANCE_FUND]
        receipt = impl.liquidate(state, "carl", "BTC-USD", "dave", ticks(btc, price),
                                 lots(btc, size))
        assert state.holders[INSURANCE_FUND] - fund_before == flow
        assert (receipt.amounts["fund_delta"], receipt.amounts["fee"],
                receipt.amounts["fund_covered"]) == (flow, max(flow, 0), max(-flow, 0))
    assert state.account("carl").quote == carl_after


@pytest.mark.rule("LIQ-FEE-2")
def test_dydx_fund_pays_what_it_holds_and_the_rest_stays_on_the_account_LIQ_FEE_2(impl):
    """The fund pays a negative delta only up to its balance (LIQ-INV-3); the rest stays on the
    account, settled as any deficit once the account is flat (LIQ-INSURANCE-1, LIQ-SOCIAL-1).
    Carl (USDC 50,499, short 1 BTC) with $0.10 in the fund: a 0.25 BTC fill at $50,500 (delta
    -0.25) takes the fund's 0.10 and leaves TNC 374.10; the last 0.75 at $50,500 has delta
    -37,875 + 37,500 + 374.10 = -0.90, which the empty fund cannot pay: Carl is flat at -$0.90,
    written off to the socialized-loss holder (this profile deleverages only when asked)."""
    state = venue(impl, _dydx_testutil(imf_ppm=PPM, mf_ppm=990_000), DYDX_MARKS)
    btc = state.market("BTC-USD")
    account_with(impl, state, "carl", "50499", [("BTC-USD", "-1", "50000", "20000")])
    set_marks(impl, state, DYDX_MARKS)
    new_account(impl, state, "dave", "1,000,000")
    impl.fund_insurance(state, usd("0.1"))
    first = impl.liquidate(state, "carl", "BTC-USD", "dave", ticks(btc, "50500"), lots(btc, "0.25"))
    assert (first.amounts["fund_delta"], first.amounts["fund_covered"]) == (-250_000, 100_000)
    assert state.holders[INSURANCE_FUND] == 0
    last = impl.liquidate(state, "carl", "BTC-USD", "dave", ticks(btc, "50500"), lots(btc, "0.75"))
    assert last.amounts["fund_covered"] == 0
    assert last.amounts["written_off"] == 900_000 and state.account("carl").quote == 0


@pytest.mark.rule("LIQ-FEE-2")
def test_dydx_partial_fill_of_an_underwater_account_pays_the_fund_LIQ_FEE_2(impl):
    """A partial close of an account under water: the whole account's equity after the fill is
    negative, yet a fill above the closed lots' bankruptcy value pays a fee (dYdX charges per
    fill). Carl short 1 BTC with USDC 49,900 (TNC -100) at $50,000; a 0.5 BTC fill at $49,000:
    bankruptcy value -25,000 - floor(-100 x 1/2) = -24,950, fill quote -24,500, delta 450, fee
    min(floor(0.5% x 24,500), 450) = 122.5; equity after: -100 + 500 - 122.5 = 277.5."""
    state = venue(impl, _dydx_testutil(), DYDX_MARKS)
    btc = state.market("BTC-USD")
    account_with(impl, state, "carl", "49900", [("BTC-USD", "-1", "45000", "20000")])
    set_marks(impl, state, DYDX_MARKS)
    new_account(impl, state, "dave", "1,000,000")
    receipt = impl.liquidate(state, "carl", "BTC-USD", "dave", ticks(btc, "49000"),
                             lots(btc, "0.5"))
    assert receipt.amounts["fund_delta"] == receipt.amounts["fee"] == 122_500_000
    assert impl.equity_quote(state.account("carl"), state.marks, state.profile) == 277_500_000


@pytest.mark.rule("LIQ-FUNDING-1")
def test_dydx_funding_settlement_rounding_LIQ_FUNDING_1(impl):
    """dYdX ``GetSettlementPpm`` doc comment: "accounts A, B are to receive 102.5 quote quantums;
    account C is to pay 205 quote quantums. After settlement, accounts A, B are credited 102 quote
    quantum each; account C is debited 205 quote quantums." Reproduced with A and B short 0.1 and C
    long 0.2 of a market marked at 1,025 and a rate of 1 ppm (0.1 * 1,025 * 1e6 * 1e-6 = 102.5
    quantums); the model's residual quantum goes to the fee sink.
    Source: dydxprotocol/v4-chain protocol/x/perpetuals/keeper/perpetual.go, GetSettlementPpm
    (stored copy without a recorded commit). Rules: LIQ-FUNDING-1, LIQ-FUNDING-2, LIQ-ROUND-3."""
    fund = bare_market("FUND-USD", 1, 0, dydx_tier(200_000, 500_000))
    state = venue(impl, with_markets(get_profile("dydx_v4"), "dydx_funding", fund), {})
    for account_id in ("A", "B", "C"):
        new_account(impl, state, account_id, "1,000")
    open_position(impl, state, "A", "FUND-USD", "-0.1", "1025", counterparty="C")
    open_position(impl, state, "B", "FUND-USD", "-0.1", "1025", counterparty="C")
    before = {a: state.account(a).quote for a in ("A", "B", "C")}
    result = impl.apply_funding(state, "FUND-USD", 1)
    assert {a: state.account(a).quote - before[a] for a in before} == {"A": 102, "B": 102,
                                                                        "C": -205}
    assert result.amounts["residual"] == 1 and state.holders[FEE_SINK] == 1


@pytest.mark.rule("LIQ-TRIGGER-1")
def test_dydx_liquidation_is_strict_LIQ_TRIGGER_1(impl):
    """dYdX ``IsLiquidatable``: liquidatable iff MMR > 0 and MMR > NC, so NC == MMR is not.
    BTC-USD (Large-Cap, MMF 3%) long 1 BTC: at $50,000 the MMR is 1,500 and NC 1,500 (not
    liquidatable); at $49,999 the MMR is 1,499.97 and NC 1,499 (liquidatable).
    Source: dydxprotocol/v4-chain protocol/lib/margin/risk.go
    @3c7fd6dd4ace7daf66e5050e92bb4d24138b618e. Rule: LIQ-TRIGGER-1."""
    state = venue(impl, get_profile("dydx_v4"), {"BTC-USD": "50000"})
    new_account(impl, state, "trader", "1500")
    open_position(impl, state, "trader", "BTC-USD", "1", "50000", mark_during="100000")
    set_marks(impl, state, {"BTC-USD": "50000"})
    trader = state.account("trader")
    assert impl.account_maintenance_margin_quote(trader, state.marks, state.profile) == usd("1500")
    assert impl.equity_quote(trader, state.marks, state.profile) == usd("1500")
    assert not impl.is_liquidatable(trader, state)
    set_marks(impl, state, {"BTC-USD": "49999"})
    assert impl.is_liquidatable(trader, state)


def _dydx_docs_profile() -> Profile:
    """The docs' example markets: ETH with MMF 5% and STRK with MMF 10% (IMF set to twice that,
    MF 50%; the docs give only the MMF)."""
    eth = bare_market("ETH-USD", 1, 0, dydx_tier(100_000, 500_000))
    strk = bare_market("STRK-USD", 0, 2, dydx_tier(200_000, 500_000))
    return with_markets(get_profile("dydx_v4"), "dydx_docs", eth, strk)


@pytest.mark.rule("LIQ-PRICE-2")
def test_dydx_docs_liquidation_price_examples_LIQ_PRICE_2(impl):
    """dYdX docs "Liquidations": isolated "p' = (e - s*p) / (|s|*MMF - s)" with e = 1000, s = -3,
    p = 3000, MMF 0.05: "10000/3.15 ~= 3174.60", equity at p' "$476.2"; cross "p' = (e - s*p -
    MMR_o)/(|s|*MMF - s)" with ETH short 1.5 @ 3000 (MMF 5%) and STRK 1000 @ 1.75 (MMF 10%): MMR_o =
    175, "~= 3380.95". Display rounding: nearest, 2 places (1 for $476.2).
    Source: dydxprotocol/v4-documentation docs/pages/concepts/trading/liquidations.mdx
    @df2cc995218196355dacc139d6695536947c0e7e (https://docs.dydx.xyz/concepts/trading/liquidations).
    Rules: LIQ-PRICE-2, LIQ-TIER-5."""
    state = venue(impl, _dydx_docs_profile(), {"ETH-USD": "3000", "STRK-USD": "1.75"})
    eth = state.market("ETH-USD")
    account_with(impl, state, "isolated", "10000", [("ETH-USD", "-3", "3000", "3000")])
    isolated = state.account("isolated")
    assert impl.equity_quote(isolated, state.marks, state.profile) == usd("1000")  # e
    liq = impl.liquidation_price(isolated, "ETH-USD", state.marks, state.profile)
    assert price_of(liq.exact, eth) == Fraction(10_000) / Fraction("3.15")
    assert display(price_of(liq.exact, eth), 2, "half_up") == "3174.60"
    equity_at_liq = Fraction(10_000) - 3 * price_of(liq.exact, eth)  # = 3 * p' * 5%
    assert display(equity_at_liq, 1, "half_up") == "476.2"

    account_with(impl, state, "cross", "3750", [("ETH-USD", "-1.5", "3000", "3000"),
                                          ("STRK-USD", "1000", "1.75", "1.75")])
    cross = state.account("cross")
    assert impl.equity_quote(cross, state.marks, state.profile) == usd("1000")
    liq = impl.liquidation_price(cross, "ETH-USD", state.marks, state.profile)
    assert price_of(liq.exact, eth) == Fraction(5_325) / Fraction("1.575")  # (1000+4500-175)/1.575
    assert display(price_of(liq.exact, eth), 2, "half_up") == "3380.95"


# -- Hyperliquid ---------------------------------------------------------------------------------

@pytest.mark.rule("LIQ-TIER-2")
@pytest.mark.rule("LIQ-TIER-7")
def test_hyperliquid_maintenance_rates_are_exact_LIQ_TIER_2_LIQ_TIER_7():
    """Hyperliquid "Liquidations": "the maintenance margin, which is half of the initial margin at
    max leverage, varying from 3-50x ... between 1% (for 50x max leverage assets) and 16.7% (for 3x
    max leverage assets)"; mirrors quote 1.25% for 40x; "Margin tiers": 20x -> 2.5%.
    16.7% is the display of 1/6 (nearest, 1 place): the model keeps 1/6 exactly, in a market of
    rate_scale 3 (LIQ-TIER-7), as it keeps 15x's 1/30.
    Sources: https://hyperliquid.gitbook.io/hyperliquid-docs/trading/liquidations ;
    https://hyperliquid.gitbook.io/hyperliquid-docs/trading/margin-tiers . Rule: LIQ-TIER-2."""
    def maintenance_rate(max_leverage: int) -> Fraction:
        tiers, scale = hyperliquid_tiers((("0", max_leverage),))
        return Fraction(tiers[0].maint_margin_ppm, 10**6 * scale)

    assert maintenance_rate(50) == Fraction(1, 100)
    assert maintenance_rate(40) == Fraction(125, 10_000)
    assert maintenance_rate(20) == Fraction(25, 1000)
    assert maintenance_rate(3) == Fraction(1, 6) and maintenance_rate(15) == Fraction(1, 30)
    assert hyperliquid_rate_scale([40, 20]) == 1 and hyperliquid_rate_scale([25, 15]) == 3
    assert display(Fraction(1, 6) * 100, 1, "half_up") == "16.7"
    hyperliquid = get_profile("hyperliquid")
    assert hyperliquid.market("BTC").rate_scale == 1
    assert hyperliquid.market("BTC").tiers[0].maint_margin_ppm == percent_ppm("1.25%")  # 40x
    eth = hyperliquid.market("ETH")
    assert eth.rate_scale == 3
    assert Fraction(eth.tiers[0].maint_margin_ppm, 3 * 10**6) == Fraction(1, 50)  # 25x: 2%
    assert Fraction(eth.tiers[1].maint_margin_ppm, 3 * 10**6) == Fraction(1, 30)  # 15x


@pytest.mark.rule("LIQ-TIER-7")
def test_hyperliquid_15x_requirement_is_not_overstated_LIQ_TIER_7(impl):
    """ETH, 15x above 100,000,000 USDC: maintenance 1/30, deduction 100,000,000 x (1/30 - 1/50) =
    1,333,333.33... USDC. At 200,000,000 USDC of notional the requirement is 200,000,000 / 30 -
    1,333,333.33... = 5,333,333.33..., rounded up to 5,333,333.333334 USDC; the initial one
    200,000,000 / 15 - 2,666,666.66... = 10,666,666.666667 (rounded up). The rate rounded up to
    33,334 ppm (liqspec before LIQ-TIER-7) gave 5,333,400, 66.67 USDC too much. Both
    implementations read the requirement of a 50,000 ETH short at 4,000 USDC."""
    eth = get_profile("hyperliquid").market("ETH")
    assert maintenance_margin_quote(eth, usd("200,000,000")) == 5_333_333_333_334
    assert initial_margin_quote(eth, usd("200,000,000")) == 10_666_666_666_667
    assert usd("200,000,000") * 33_334 // 10**6 - usd("1,333,400") - 5_333_333_333_334 \
        == 66_666_666  # the overstatement of the rounded rate, in quantums
    state = venue(impl, get_profile("hyperliquid"), {"ETH": "4000"})
    impl.open_account(state, "whale")
    impl.deposit(state, "whale", usd("20,000,000"))
    impl.trade(state, MAKER, "whale", "ETH", 500_000_000, 400_000)  # 50,000 ETH at 4,000.00
    whale = state.account("whale")
    assert impl.account_maintenance_margin_quote(whale, state.marks, state.profile) \
        == 5_333_333_333_334


@pytest.mark.rule("LIQ-TIER-2")
def test_hyperliquid_maintenance_deduction_LIQ_TIER_2():
    """Hyperliquid "Margin tiers": "maintenance_deduction(tier = n) = maintenance_deduction(tier =
    n - 1) + notional_position_lower_bound(tier = n) * (maintenance_margin_rate(tier = n) -
    maintenance_margin_rate(tier = n - 1))", so that the maintenance margin is "a continuous
    function of position size". BTC: 0-150M 40x, >150M 20x: 150M * (2.5% - 1.25%) = 1,875,000.
    Community wiki example (secondary, https://hyperliquid-co.gitbook.io/wiki/architecture/hypercore/dex/clearinghouse/margin-management):
    a $10,000 position on a 20x asset has MM $250 and IM $500 at 20x.
    Source: https://hyperliquid.gitbook.io/hyperliquid-docs/trading/margin-tiers . Rule: LIQ-TIER-2."""
    btc = get_profile("hyperliquid").market("BTC")
    assert btc.tiers[1].floor_notional_quote == usd("150,000,000")
    assert btc.tiers[1].maint_deduction_quote == usd("1,875,000")
    at_floor = usd("150,000,000")
    # continuous at the floor: 150M * 1.25% == 150M * 2.5% - 1,875,000
    assert maintenance_margin_quote(btc, at_floor - 1) <= maintenance_margin_quote(btc, at_floor)
    assert maintenance_margin_quote(btc, at_floor) == usd("1,875,000")
    twenty_x = bare_market("ALT", 2, 4, hyperliquid_tiers((("0", 20),))[0])
    assert maintenance_margin_quote(twenty_x, usd("10,000")) == usd("250")
    assert initial_margin_quote(twenty_x, usd("10,000")) == usd("500")


def _hyperliquid_formula(impl, state: State, account_id: str, market_id: str) -> Fraction:
    """Hyperliquid's published liquidation price, in quote per base unit:
    "liq_price = price - side * margin_available / position_size / (1 - l * side)", l = 1 /
    MAINTENANCE_LEVERAGE of the tier at the liquidation price, margin_available = account value
    (or isolated margin) - maintenance margin required. The tier is the one the model's root lies
    in; the other positions' requirement is the model's (integer) one."""
    account, profile = state.account(account_id), state.profile
    market = profile.market(market_id)
    root = impl.liquidation_price(account, market_id, state.marks, profile).exact
    size = abs(account.position(market_id))
    side = 1 if account.position(market_id) > 0 else -1
    tier = tier_for(market, root * size * market.value_per_lot_tick)
    rate = Fraction(tier.maint_margin_ppm, PPM * market.rate_scale)  # exact (LIQ-TIER-7)
    unit = Fraction(10**6)  # quote quantums per quote unit
    price = Fraction(state.marks[market_id], 10**market.price_decimals)
    position_size = Fraction(size, 10**market.base_decimals)
    others = sum(maintenance_margin_quote(profile.market(m), notional_quote(
        lots_held, state.marks[m], profile.market(m)))
        for m, lots_held in account.positions.items() if m != market_id)
    required = Fraction(others) / unit + position_size * price * rate \
        - Fraction(tier.maint_deduction_quote, market.rate_scale) / unit
    margin_available = Fraction(impl.equity_quote(account, state.marks, profile)) / unit - required
    return price - side * margin_available / position_size / (1 - rate * side)


@pytest.mark.rule("LIQ-PRICE-2")
def test_hyperliquid_liquidation_price_formula_LIQ_PRICE_2(impl):
    """Hyperliquid "Liquidations": the published liquidation-price formula equals the model's exact
    root, isolated and cross, long and short, and across the BTC tier boundary (150M). No numeric
    example is published; the isolated long 1 BTC @ 100,000 at 10x (l = 1/80) gives 7,200,000 / 79.
    Source: https://hyperliquid.gitbook.io/hyperliquid-docs/trading/liquidations .
    Rules: LIQ-PRICE-2, LIQ-TIER-2."""
    state = venue(impl, get_profile("hyperliquid"), {"BTC": "100000", "ETH": "4000"})
    new_account(impl, state, "iso_long", "10,000", isolated_market="BTC")
    open_position(impl, state, "iso_long", "BTC", "1", "100000")
    new_account(impl, state, "iso_short", "4,000", isolated_market="ETH")
    open_position(impl, state, "iso_short", "ETH", "-10", "4000")
    new_account(impl, state, "cross", "20,000")
    open_position(impl, state, "cross", "BTC", "1", "100000")
    open_position(impl, state, "cross", "ETH", "-10", "4000")
    new_account(impl, state, "large", "20,000,000", isolated_market="BTC")  # 200M notional, tier 2
    open_position(impl, state, "large", "BTC", "2000", "100000")
    set_marks(impl, state, {"BTC": "100000", "ETH": "4000"})
    btc = state.market("BTC")

    for account_id, market_id in (("iso_long", "BTC"), ("iso_short", "ETH"), ("cross", "BTC"),
                                  ("cross", "ETH"), ("large", "BTC")):
        market = state.market(market_id)
        model = impl.liquidation_price(state.account(account_id), market_id, state.marks,
                                       state.profile)
        formula = _hyperliquid_formula(impl, state, account_id, market_id)
        assert price_of(model.exact, market) == formula
    iso_long = impl.liquidation_price(state.account("iso_long"), "BTC", state.marks, state.profile)
    assert price_of(iso_long.exact, btc) == Fraction(7_200_000, 79)
    large = impl.liquidation_price(state.account("large"), "BTC", state.marks, state.profile)
    # 20M + 2000(P - 100,000) = 2000P/40 - 1,875,000  =>  P = 178,125,000 / 1,950
    assert price_of(large.exact, btc) == Fraction(178_125_000, 1_950)
    assert tier_for(btc, large.exact * lots(btc, "2000") * btc.value_per_lot_tick) is btc.tiers[1]


@pytest.mark.rule("LIQ-EXEC-1")
def test_hyperliquid_partial_liquidation_and_backstop_thresholds_LIQ_EXEC_1(impl):
    """Hyperliquid "Liquidations": "For liquidatable positions larger than 100k USDC ..., only 20%
    of the position will be sent as a market liquidation order to the book"; "If the account equity
    drops below 2/3 of the maintenance margin without successful liquidation through the book, a
    backstop liquidation happens". Long 1 BTC @ 100,000 with 10,000: at mark 91,000 equity 1,000 <
    MM 1,137.5 but > 2/3 MM = 758.33 (book liquidation); at 90,700 equity 700 < 2/3 * 1,133.75.
    Source: https://hyperliquid.gitbook.io/hyperliquid-docs/trading/liquidations .
    Rules: LIQ-EXEC-1, LIQ-TRIGGER-1, LIQ-TRIGGER-2."""
    state = venue(impl, get_profile("hyperliquid"), {"BTC": "100000"})
    btc = state.market("BTC")
    new_account(impl, state, "at_threshold", "10,000")
    open_position(impl, state, "at_threshold", "BTC", "1", "100000")  # 100,000 USDC: not larger
    new_account(impl, state, "above", "10,000")
    open_position(impl, state, "above", "BTC", "1.00001", "100000")  # 100,001 USDC
    set_marks(impl, state, {"BTC": "100000"})
    assert liquidation_size_lots(state.account("at_threshold"), "BTC", state) == lots(btc, "1")
    # 20% of 100,001 lots = 20,000.2, rounded up to whole lots (close more, not less)
    assert liquidation_size_lots(state.account("above"), "BTC", state) == 20_001

    account = state.account("at_threshold")
    set_marks(impl, state, {"BTC": "91000"})
    assert impl.is_liquidatable(account, state) and not impl.is_below_backstop(account, state)
    set_marks(impl, state, {"BTC": "90700"})
    assert impl.is_liquidatable(account, state) and impl.is_below_backstop(account, state)


# -- Paradex (LIQ-SHARE-1, LIQ-SHARE-2) --------------------------------------------------------
#
# Source: https://docs.paradex.trade/risk/liquidations (the page's text, as in
# tradeparadex/paradex-docs at 9b82a75a, fern/pages/risk-system/liquidations.mdx): long 0.1
# BTC-USD-PERP from 60,000, short 1 ETH-USD-PERP from 3,000, 1,000 USDC collateral, MMF 1% on
# both; marks 54,800 and 3,400. The page's table is computed with a liquidation fee of 50% (its
# text says 70%: at 70% the 20% row's penalty would be 12.432, not 8.88).

PARADEX_TABLE = (  # share, new MMR, liquidation penalty, new account value (USDC)
    ("20%", "71.04", "8.88", "71.12"),
    ("40%", "53.28", "17.76", "62.24"),
    ("60%", "35.52", "26.64", "53.36"),
    ("80%", "17.76", "35.52", "44.48"),
)


def paradex_alice(impl, fee: str | None = None) -> State:
    """The page's Alice at the example's marks, her fund vault open, under the paradex profile
    (with every market's liquidation fee set to ``fee`` where given)."""
    profile = get_profile("paradex")
    if fee is not None:
        profile = replace(profile, markets={m: replace(market, liquidation_fee_ppm=percent_ppm(fee))
                                            for m, market in profile.markets.items()})
    state = venue(impl, profile, {"BTC-USD-PERP": "60000", "ETH-USD-PERP": "3000"})
    impl.open_account(state, "fund", role="backstop")
    btc, eth = state.market("BTC-USD-PERP"), state.market("ETH-USD-PERP")
    open_account_at(state, "alice", usd("1,000"), {  # the example's start (LIQ-LEVERAGE-3)
        "BTC-USD-PERP": (lots(btc, "0.1"), ticks(btc, "60000")),
        "ETH-USD-PERP": (lots(eth, "-1"), ticks(eth, "3000"))}, MAKER)
    set_marks(impl, state, {"BTC-USD-PERP": "54800", "ETH-USD-PERP": "3400"})
    return state


@pytest.mark.rule("LIQ-SHARE-1")
def test_paradex_liquidation_share_table_LIQ_SHARE_1(impl):
    """Every row of the page's table: the penalty of each share (share x 50% x 88.8), the
    requirement of the positions kept and the account value left; and the share chosen, 40%,
    the first whose margin ratio (53.28 / 62.24 = 85.6%) is below 90%. Rules: LIQ-SHARE-1,
    LIQ-TIER-5."""
    from liqspec.reference import liquidation_share, share_penalty_quote
    from liqspec.reference.share_liquidation import share_lots
    state = paradex_alice(impl, fee="50%")
    alice = state.account("alice")
    assert impl.equity_quote(alice, state.marks, state.profile) == usd("80")
    assert impl.account_maintenance_margin_quote(alice, state.marks, state.profile) == usd("88.8")
    assert impl.is_liquidatable(alice, state)
    for share, kept, penalty, value in PARADEX_TABLE:
        share_ppm = percent_ppm(share)
        assert share_penalty_quote(alice, state, share_ppm) == usd(penalty)
        reduced = {m: lots - (1 if lots > 0 else -1) * share_lots(lots, share_ppm)
                   for m, lots in alice.positions.items()}
        kept_mm = sum(maintenance_margin_quote(state.market(m), notional_quote(
            n, state.marks[m], state.market(m))) for m, n in reduced.items())
        assert kept_mm == usd(kept)
        assert usd("80") - usd(penalty) == usd(value)
    plan = liquidation_share(alice, state)
    assert (plan.share_ppm, plan.penalty_quote, plan.maintenance_after_quote,
            plan.equity_after_quote) == (400_000, usd("17.76"), usd("53.28"), usd("62.24"))
    assert plan.closed_lots == {"BTC-USD-PERP": lots(state.market("BTC-USD-PERP"), "0.04"),
                                "ETH-USD-PERP": lots(state.market("ETH-USD-PERP"), "0.4")}


@pytest.mark.rule("LIQ-SHARE-2")
def test_paradex_liquidation_example_LIQ_SHARE_2(impl):
    """The page's outcome: "the insurance fund will liquidate 40% of the user's positions ... and
    will receive 17.76 USDC as a liquidation penalty"; "Alice realized a loss of 40% * 920 = 368
    USD and is left with 1,000 - 368 - 17.76 = 614.24 USDC collateral"; "left with a long 0.06
    BTC-USD-PERP and a short 0.6 ETH-USD-PERP"; "The margin ratio of Alice is now 85.6%". The
    fund takes the shares at the marks. Rules: LIQ-SHARE-2, LIQ-SHARE-1."""
    state = paradex_alice(impl, fee="50%")
    receipt = impl.share_liquidate(state, "alice", "fund")
    assert receipt.amounts == {"share_ppm": 400_000, "fee": usd("17.76")}
    alice, fund = state.account("alice"), state.account("fund")
    btc, eth = state.market("BTC-USD-PERP"), state.market("ETH-USD-PERP")
    assert alice.positions == {"BTC-USD-PERP": lots(btc, "0.06"), "ETH-USD-PERP": lots(eth, "-0.6")}
    assert fund.positions == {"BTC-USD-PERP": lots(btc, "0.04"), "ETH-USD-PERP": lots(eth, "-0.4")}
    # collateral = the quote balance plus the cost of the positions kept (their entry value)
    assert alice.quote + sum(alice.cost_quote.values()) == usd("614.24")
    assert usd("1,000") - usd("368") - usd("17.76") == usd("614.24")
    assert state.holders[INSURANCE_FUND] == usd("17.76")
    equity = impl.equity_quote(alice, state.marks, state.profile)
    maintenance = impl.account_maintenance_margin_quote(alice, state.marks, state.profile)
    assert (equity, maintenance) == (usd("62.24"), usd("53.28"))
    assert display(Fraction(maintenance * 100, equity), 1, "half_up") == "85.6"
    assert not impl.is_liquidatable(alice, state)
    # the fills are at the marks, by the fund's vault, under rule LIQ-SHARE-2; the penalty's
    # transfer under LIQ-SHARE-1
    fills = [e for e in receipt.entries if hasattr(e, "lots")]
    assert [(f.market_id, f.lots, f.price_ticks, f.rule_id) for f in fills] == [
        ("BTC-USD-PERP", lots(btc, "0.04"), ticks(btc, "54800"), "LIQ-SHARE-2"),
        ("ETH-USD-PERP", lots(eth, "0.4"), ticks(eth, "3400"), "LIQ-SHARE-2")]
    assert receipt.entries[-1].rule_id == "LIQ-SHARE-1"


@pytest.mark.rule("LIQ-SHARE-1")
def test_paradex_profile_fee_of_70_percent_takes_a_larger_share_LIQ_SHARE_1(impl):
    """At the fee the page states (70%), the 40% share's penalty is 0.4 x 0.7 x 88.8 = 24.864
    and leaves 53.28 / 55.136 = 96.6%, above 90%; 60% costs 37.296 and leaves 35.52 / 42.704 =
    83.2%: the share is 60%. Rule: LIQ-SHARE-1."""
    state = paradex_alice(impl)
    receipt = impl.share_liquidate(state, "alice", "fund")
    assert receipt.amounts == {"share_ppm": 600_000, "fee": usd("37.296")}
    alice = state.account("alice")
    assert (impl.equity_quote(alice, state.marks, state.profile),
            impl.account_maintenance_margin_quote(alice, state.marks, state.profile)) == (
        usd("42.704"), usd("35.52"))


@pytest.mark.rule("LIQ-SHARE-1")
def test_paradex_full_liquidation_when_the_penalty_cannot_be_paid_LIQ_SHARE_1(impl):
    """"this process can result in a full liquidation in the event where the remaining
    collateral after a 100% liquidation of positions is not sufficient to pay the liquidation
    penalty": at BTC 54,100, Alice's account value is 10 USDC against 88.1 of maintenance; no
    partial share leaves a ratio below 90%, so everything goes, and the penalty (70% of 88.1 =
    61.67) is capped at the 10 USDC she has. Rules: LIQ-SHARE-1, LIQ-SHARE-2."""
    state = paradex_alice(impl)
    set_marks(impl, state, {"BTC-USD-PERP": "54100"})
    alice = state.account("alice")
    assert impl.equity_quote(alice, state.marks, state.profile) == usd("10")
    receipt = impl.share_liquidate(state, "alice", "fund")
    assert receipt.amounts == {"share_ppm": PPM, "fee": usd("10")}
    assert alice.positions == {} and alice.quote == 0


@pytest.mark.rule("LIQ-SHARE-2")
def test_paradex_share_liquidation_settles_an_account_under_water_LIQ_SHARE_2(impl):
    """Under water (equity -20 USDC): the whole account goes to the vault at the marks, no
    penalty (nothing is left to pay it), the fund pays what it holds and the rest is written off
    (LIQ-INSURANCE-1, LIQ-SOCIAL-1). Rules: LIQ-SHARE-2, LIQ-SHARE-1."""
    state = paradex_alice(impl)
    impl.fund_insurance(state, usd("5"))
    set_marks(impl, state, {"BTC-USD-PERP": "53800"})
    alice = state.account("alice")
    assert impl.equity_quote(alice, state.marks, state.profile) == usd("-20")
    receipt = impl.share_liquidate(state, "alice", "fund")
    assert receipt.amounts == {"share_ppm": PPM, "fee": 0, "fund_paid": usd("5"),
                               "written_off": usd("15")}
    assert alice.positions == {} and alice.quote == 0


@pytest.mark.rule("LIQ-SHARE-2")
def test_paradex_refuses_a_step_of_one_market_and_a_healthy_account_LIQ_SHARE_2(impl):
    """Under account_share there is no step of one market: liquidate and market_liquidate (and
    the LIQ-EXEC-1 size) are POLICY_FORBIDS; a share liquidation of a healthy account is
    NOT_LIQUIDATABLE, one by a trader instead of a vault POLICY_FORBIDS, and another profile
    refuses share liquidation; each leaves the state unchanged. Rules: LIQ-SHARE-2,
    LIQ-EXEC-1."""
    state = paradex_alice(impl)
    impl.open_account(state, "lp", role="liquidity")
    impl.replace_book(state, "BTC-USD-PERP", BookShape(3, 1_000, 10_000), "lp")
    before = state.snapshot()
    alice = state.account("alice")
    with pytest.raises(Rejection) as refused:
        liquidation_size_lots(alice, "BTC-USD-PERP", state)
    assert refused.value.code == ResultCode.POLICY_FORBIDS
    for call in (lambda: impl.liquidate(state, "alice", "BTC-USD-PERP", MAKER,
                                        ticks(state.market("BTC-USD-PERP"), "54800")),
                 lambda: impl.market_liquidate(state, "alice", "BTC-USD-PERP"),
                 lambda: impl.share_liquidate(state, "alice", MAKER)):
        with pytest.raises(Rejection) as refused:
            call()
        assert refused.value.code == ResultCode.POLICY_FORBIDS
    with pytest.raises(Rejection) as refused:
        impl.share_liquidate(state, MAKER, "fund")
    assert refused.value.code == ResultCode.NOT_LIQUIDATABLE
    assert state.snapshot() == before
    other = venue(impl, get_profile("hyperliquid"), {"BTC": "100000"})
    impl.open_account(other, "vault", role="backstop")
    new_account(impl, other, "bob", "10,000")
    open_position(impl, other, "bob", "BTC", "1", "100000")
    set_marks(impl, other, {"BTC": "91000"})
    with pytest.raises(Rejection) as refused:
        impl.share_liquidate(other, "bob", "vault")
    assert refused.value.code == ResultCode.POLICY_FORBIDS


@pytest.mark.rule("LIQ-PROFILE-1")
def test_paradex_profile_parameters_LIQ_PROFILE_1():
    """Base IMF 2% and MMF factor 50% on BTC-USD-PERP and ETH-USD-PERP (maintenance 1%), size
    increments 0.00001 BTC and 0.0001 ETH, ticks 0.1 and 0.01 USD, liquidation fee 70%, shares
    of 20% until the margin ratio is below 90%; a profile with account_share sizing but another
    fee policy (or the reverse) is refused. Sources: the tier-1 instrument pages and the
    liquidations page (tradeparadex/paradex-docs at 9b82a75a). Rule: LIQ-PROFILE-1."""
    profile = get_profile("paradex")
    for market_id, base, price in (("BTC-USD-PERP", 5, 1), ("ETH-USD-PERP", 4, 2)):
        market = profile.market(market_id)
        assert (market.base_decimals, market.price_decimals) == (base, price)
        assert [(t.floor_notional_quote, t.maint_margin_ppm, t.init_margin_ppm)
                for t in market.tiers] == [(0, 10_000, 20_000)]
        assert market.liquidation_fee_ppm == 700_000
    assert (profile.portion_ppm, profile.share_target_ppm) == (200_000, 900_000)
    assert profile.bad_debt_policy == "socialize" and profile.backstop_ratio is None
    for changes in ({"fee_policy": "rate"}, {"liquidation_size": "full"}):
        with pytest.raises(MalformedState):
            replace(profile, **changes)
    with pytest.raises(MalformedState):
        replace(profile, share_target_ppm=0)


@pytest.mark.rule("LIQ-ADL-2")
def test_hyperliquid_adl_sorting_index_LIQ_ADL_2(impl):
    """Hyperliquid "Auto-deleveraging": "The specific sorting index to determine the affected users
    in profit is (mark_price / entry_price) * (notional_position / account_value)". Long 1 BTC @
    100,000 with 10,000, mark 110,000: (110,000 / 100,000) * (110,000 / 20,000) = 6.05.
    Source: https://hyperliquid.gitbook.io/hyperliquid-docs/trading/auto-deleveraging .
    Rule: LIQ-ADL-2."""
    state = venue(impl, get_profile("hyperliquid"), {})
    new_account(impl, state, "trader", "10,000")
    open_position(impl, state, "trader", "BTC", "1", "100000")
    set_marks(impl, state, {"BTC": "110000"})
    assert score_price_ratio_leverage(state.account("trader"), "BTC", state) == Fraction(605, 100)


@pytest.mark.rule("LIQ-TRADE-2")
def test_opening_helper_goes_through_the_margin_check_LIQ_TRADE_2(impl):
    """The helper that opens positions goes through the model's margin check: an opening that the
    example's own mark cannot support is rejected, which is why some dYdX states are opened with
    the mark moved (see open_position). Rule: LIQ-TRADE-2."""
    state = venue(impl, _dydx_testutil(), DYDX_MARKS)
    new_account(impl, state, "thin", "499")
    with pytest.raises(Rejection) as raised:
        open_position(impl, state, "thin", "BTC-USD", "0.1", "50000")  # IM 1,000 > equity 499
    assert raised.value.code == ResultCode.INSUFFICIENT_INITIAL_MARGIN


# -- GMX v2 ---------------------------------------------------------------------------------------

def gmx_hardhat_profile() -> Profile:
    """gmx_v2's policies over the ETH/USD market of gmx-synthetics' test configuration
    (``hardhatBaseMarketConfig``: "minCollateralFactorForLiquidation: percentageToFloat("1%")";
    minCollateralUsd 1), with the position fee of testFees.ts's "Positive & negative impact fees"
    case (0.05% for a close that improves the balance, as this one does) and no liquidation fee
    (no test sets one)."""
    return with_markets(get_profile("gmx_v2"), "gmx_v2_test_config",
                        gmx_market("ETH-USD", 4, 2, "1%", "0.05%", "0%", "1"))


@pytest.mark.rule("LIQ-TRIGGER-1")
@pytest.mark.rule("LIQ-TIER-6")
@pytest.mark.rule("LIQ-PRICE-2")
def test_gmx_short_liquidated_between_7000_and_7041_LIQ_TRIGGER_1(impl):
    """gmx-synthetics test/guardian/testFees.ts, "Positive & negative impact fees for
    positions": a short of 5 ETH, $25,000 at open, with 10,450 USDC - 1 wei of collateral. At ETH
    7,000 the liquidation reverts ``PositionShouldNotBeLiquidated``; at 7,041 it executes: "PnL =
    $25,000 - $35,205 = -$10,205 ... min collateral necessary is ~250 USDC ... Collateral is down
    to 10,450 - 10,205 = 245 ... Extra $12.5 fee" (0.05% of 25,000).

    GMX's test (isPositionLiquidatable): remaining = collateral + PnL - 12.5 against
    floor(1% x 25,000) = 250: 437.499999 >= 250 at 7,000, 232.499999 < 250 at 7,041. The model:
    equity = collateral + PnL against (1% + 0.05%) x the entry value = 262.5, the same
    inequality; the positive price impact GMX zeroes in the test and the pending impact
    (8.80125) that adds to the payout are not modelled. The boundary: liquidatable above
    35,187.499999 / 5 = 7,037.4999998, so at the tick 7,037.50 (remaining 249.999999 < 250) and
    not at 7,037.49 (250.049999), the liquidation price in ticks (a short's, rounded down,
    LIQ-PRICE-3).
    Source: https://github.com/gmx-io/gmx-synthetics/blob/a5c0c8835182cbd84e47dca04b971239311d2f1d/test/guardian/testFees.ts
    (read 2026-12-06). Rules: LIQ-TIER-2, LIQ-TIER-6, LIQ-TRIGGER-1, LIQ-PRICE-2, LIQ-PRICE-3."""
    state = venue(impl, gmx_hardhat_profile(), {})
    eth = state.market("ETH-USD")
    new_account(impl, state, "trader", "10,449.999999", isolated_market="ETH-USD")
    open_position(impl, state, "trader", "ETH-USD", "-5", "5000")
    trader = state.account("trader")
    gmx_min_collateral, gmx_close_fee = usd("250"), usd("12.5")
    assert impl.account_maintenance_margin_quote(trader, state.marks, state.profile) \
        == gmx_min_collateral + gmx_close_fee
    for price, liquidatable in (("7000", False), ("7041", True), ("7037.49", False),
                                ("7037.50", True)):
        set_marks(impl, state, {"ETH-USD": price})
        gmx_remaining = (usd("10,449.999999") + usd("25,000") - 5 * usd(price)) - gmx_close_fee
        assert (gmx_remaining < gmx_min_collateral) is liquidatable  # GMX's own inequality
        assert impl.account_maintenance_margin_quote(trader, state.marks, state.profile) \
            == usd("262.5")  # on the size at open, whatever the mark
        assert impl.is_liquidatable(trader, state) is liquidatable, price
    model = impl.liquidation_price(trader, "ETH-USD", state.marks, state.profile)
    assert price_of(model.exact, eth) == Fraction("7037.4999998")
    assert model.ticks == ticks(eth, "7037.49")  # a short's, rounded down: liquidatable above


@pytest.mark.rule("LIQ-EXEC-1")
@pytest.mark.rule("LIQ-FEE-1")
@pytest.mark.rule("LIQ-INSURANCE-1")
def test_gmx_liquidation_closes_the_whole_position_LIQ_EXEC_1(impl):
    """The mainnet gmx_v2 profile (ETH/USD: 0.5% + the 0.06% closing fee, 0.26% of fees to the
    pool at a liquidation). A long of 1 ETH from 3,000.00 with 20 USDC (150x) needs
    0.56% x 3,000 = 16.8 USDC: liquidatable below 2,996.80. Liquidated whole at 2,996.79 against
    the pool: 0.26% x 2,996.79 = 7.791654 of fees from its 16.79 of equity, 8.998346 left to the
    trader (GMX takes the fees on the size at open, 7.80, leaving 8.99: the model's fee is on the
    fill's notional, LIQ-FEE-1). A second long whose collateral the loss exceeds ("Liquidate
    someone with more losses than collateral ... Pool gets all the collateral & user gets
    nothing", test/guardian/testLiquidation.ts): the pool, the model's insurance fund, pays the
    2.80 USDC shortfall and takes no fee; the trader ends flat with nothing.
    Rules: LIQ-TIER-6, LIQ-EXEC-1 (full), LIQ-FEE-1, LIQ-INSURANCE-1."""
    state = venue(impl, get_profile("gmx_v2"), {})
    eth = state.market("ETH-USD")
    new_account(impl, state, "pool", "1,000,000")
    for account_id in ("trader", "deep"):
        new_account(impl, state, account_id, "20", isolated_market="ETH-USD")
        open_position(impl, state, account_id, "ETH-USD", "1", "3000.00")
    trader = state.account("trader")
    liq = impl.liquidation_price(trader, "ETH-USD", state.marks, state.profile)
    assert liq.ticks == ticks(eth, "2996.80")
    set_marks(impl, state, {"ETH-USD": "2996.80"})
    assert not impl.is_liquidatable(trader, state)
    set_marks(impl, state, {"ETH-USD": "2996.79"})
    assert impl.is_liquidatable(trader, state)
    fund_before = state.holders[INSURANCE_FUND]
    result = impl.liquidate(state, "trader", "ETH-USD", "pool", ticks(eth, "2996.79"))
    assert result.amounts["fee"] == usd("7.791654")
    assert state.holders[INSURANCE_FUND] - fund_before == usd("7.791654")
    trader = state.account("trader")
    assert trader.position("ETH-USD") == 0 and trader.quote == usd("8.998346")

    set_marks(impl, state, {"ETH-USD": "2977.20"})  # 20 - 22.80: 2.80 short of zero
    fund_before = state.holders[INSURANCE_FUND]
    result = impl.liquidate(state, "deep", "ETH-USD", "pool", ticks(eth, "2977.20"))
    assert result.amounts["fee"] == 0 and result.amounts["fund_paid"] == usd("2.80")
    assert state.holders[INSURANCE_FUND] == fund_before - usd("2.80")
    deep = state.account("deep")
    assert deep.position("ETH-USD") == 0 and deep.quote == 0


# -- Drift v2 ------------------------------------------------------------------------------------

_DRIFT_TESTS = ("https://github.com/drift-labs/protocol-v2/blob/"
                "0ae3e3b1db782a6765c3525b3dec38ad4d9d3a62/programs/drift/src/controller/"
                "liquidation/tests.rs")


def drift_venue(buffer: str = "2%") -> State:
    """The drift_v2 profile (the program's liquidation tests' market: maintenance 5%, liquidator's
    fee 1%, fund fee at most 1%) with ETH-PERP in the tests' units (order step 0.01, price
    precision 1e-4 here) at 100, the tests' price, the buffer of the test, a liquidator with
    50 USDC (every test's) and an outside counterparty to open the user's position against."""
    drift = get_profile("drift_v2")
    test_market = replace(drift.market("ETH-PERP"), base_decimals=2, price_decimals=4)
    profile = replace(drift, liquidation_buffer_ppm=percent_ppm(buffer),
                      markets={**drift.markets, "ETH-PERP": test_market})
    state = venue(SimpleNamespace(open_account=open_account, deposit=deposit), profile,
                  {"ETH-PERP": "100"})
    open_account(state, "liquidator")
    deposit(state, "liquidator", usd("50"))
    return state


def drift_user(state: State, collateral: str, base: str, quote: str) -> None:
    """Drift's user: a USDC deposit of ``collateral`` and a perp position of ``base`` ETH with
    ``quote`` as its quote_asset_amount (entry price |quote / base|)."""
    market = state.market("ETH-PERP")
    entry = ticks(market, str(abs(Fraction(quote) / Fraction(base))))
    open_account_at(state, "user", usd(collateral), {"ETH-PERP": (lots(market, base), entry)},
                    MAKER)


@pytest.mark.rule("LIQ-SHORTAGE-1")
@pytest.mark.rule("LIQ-FEE-3")
@pytest.mark.rule("LIQ-FEE-4")
def test_drift_liquidation_to_cover_margin_shortage_LIQ_SHORTAGE_1(impl):
    """Drift v2 ``successful_liquidation_to_cover_margin_shortage``: a user long 2 ETH with
    quote -200 and a 5 USDC deposit, at 100 (maintenance 5% of 200 = 10 > 5), buffer 2%: the
    liquidator takes 1.8 ETH; the user's quote becomes -23.6 (-18.6 with the deposit), the
    liquidator's -178.2 (-128.2 with its 50), the fund's fee 1.8; the user is left exactly at
    maintenance plus the buffer ("user out of liq territory", margin ratio 700 of 10,000).
    Source: ``_DRIFT_TESTS`` (read 2026-12-06). Rules: LIQ-SHORTAGE-1, LIQ-FEE-3, LIQ-FEE-4."""
    state = drift_venue("2%")
    drift_user(state, "5", "2", "-200")
    user = state.account("user")
    assert margin_shortage_quote(user, state) == usd("9")
    result = impl.liquidate(state, "user", "ETH-PERP", "liquidator", ticks(state.market(
        "ETH-PERP"), "100"))
    assert result.amounts == {"lots": 180, "fee": usd("1.8"), "surplus": usd("3.2"),
                              "liquidator_fee": usd("1.8")}
    user, liquidator = state.account("user"), state.account("liquidator")
    assert (user.position("ETH-PERP"), user.quote) == (20, usd("-23.6") + usd("5"))
    assert (liquidator.position("ETH-PERP"), liquidator.quote) == (180, usd("-178.2") + usd("50"))
    assert state.holders[INSURANCE_FUND] == usd("1.8")
    equity = impl.equity_quote(user, state.marks, state.profile)
    assert margin_shortage_quote(user, state) == 0
    assert equity * 10_000 // notional_quote(20, state.marks["ETH-PERP"],
                                             state.market("ETH-PERP")) == 700


@pytest.mark.rule("LIQ-FEE-4")
def test_drift_liquidation_half_of_if_fee_LIQ_FEE_4(impl):
    """Drift v2 ``successful_liquidation_half_of_if_fee``: a user short 1 ETH with quote 100 and
    1.5 USDC, at 100, a buffer of 0.1% (ratio 10): the fund's rate is 19/20 of 5.1% - 1% - 3.6%,
    0.475%, and "total_liquidation_fee" is 475,000 (0.475 USDC). The whole position is closed
    (3.6 / (4.1% - 0.475%) = 0.993 ETH, rounded up to the step). Source: ``_DRIFT_TESTS``
    (read 2026-12-06). Rules: LIQ-SHORTAGE-1, LIQ-FEE-3, LIQ-FEE-4."""
    state = drift_venue("0.1%")
    drift_user(state, "1.5", "-1", "100")
    user = state.account("user")
    assert liquidation_size_lots(user, "ETH-PERP", state) == 100
    result = impl.liquidate(state, "user", "ETH-PERP", "liquidator", 1_000_000)
    assert result.amounts["fee"] == 475_000 and result.amounts["liquidator_fee"] == usd("1")
    assert state.holders[INSURANCE_FUND] == 475_000
    assert state.account("user").quote == usd("0.025") and state.account("user").is_flat()


@pytest.mark.rule("LIQ-FEE-3")
@pytest.mark.rule("LIQ-INSURANCE-1")
@pytest.mark.parametrize("base, quote, liquidator_quote", [("1", "-150", "-99"),
                                                          ("-1", "50", "101")])
def test_drift_bankrupt_user_still_pays_the_liquidator_LIQ_FEE_3(impl, base, quote,
                                                                 liquidator_quote):
    """Drift v2 ``successful_liquidation_long_perp`` and ``..._short_perp``: a user with no
    collateral, 1 ETH long from quote -150 (or short from 50), at 100: equity -50. The whole
    position goes to the liquidator, the user still pays it 1% (1 USDC) and ends at quote -51;
    the fund takes no fee (the implied rate is 0); the liquidator's quote is -99 (or 101) beside
    its 50. The model settles the flat user's 51 USDC deficit at once: the fund has nothing, so it
    is written off (LIQ-SOCIAL-1). Source: ``_DRIFT_TESTS`` (read 2026-12-06)."""
    state = drift_venue("0.1%")
    drift_user(state, "0", base, quote)
    result = impl.liquidate(state, "user", "ETH-PERP", "liquidator", 1_000_000)
    assert result.amounts == {"lots": 100, "fee": 0, "surplus": usd("-51"),
                              "liquidator_fee": usd("1"), "fund_paid": 0,
                              "written_off": usd("51")}
    assert state.account("liquidator").quote == usd(liquidator_quote) + usd("50")
    assert state.account("user").quote == 0 and state.account("user").is_flat()


@pytest.mark.rule("LIQ-SHORTAGE-1")
def test_drift_positions_worth_50_usdc_or_less_close_whole_LIQ_SHORTAGE_1():
    """"if position is less than $50, liquidator can liq all of it": 0.5 ETH at 100 (50 USDC),
    one quantum below maintenance, closes whole (50 lots) where its shortage of 1.000001 USDC
    needs 21; 0.51 ETH (51 USDC) closes only the 21 lots (0.21 ETH) that cover its 1.020001: a
    lot of 1 USDC frees 7% - 1% - 1% of it."""
    for size, closed in (("0.5", 50), ("0.51", 21)):
        state = drift_venue("2%")
        market = state.market("ETH-PERP")
        # just below maintenance: equity = 5% of the notional less one quantum
        notional = notional_quote(lots(market, size), 1_000_000, market)
        open_account_at(state, "user", notional // 20 - 1, {"ETH-PERP": (lots(market, size),
                                                                          1_000_000)}, MAKER)
        assert liquidation_size_lots(state.account("user"), "ETH-PERP", state) == closed


@pytest.mark.rule("LIQ-SHORTAGE-1")
@pytest.mark.parametrize("size, collateral, price", [
    ("2", "5", "100"), ("7.31", "20", "97.5"), ("-3.5", "12", "104.25"), ("120", "300", "99.99"),
    ("-40", "150", "100.5")])
def test_cover_shortage_closes_the_fewest_lots_that_free_the_shortage_LIQ_SHORTAGE_1(
        size, collateral, price):
    """The size is the least whole number of lots whose close frees the shortage at the rates the
    step is sized with: ``k`` lots free at least it, ``k - 1`` do not (unless ``k`` is 1 or the
    whole position)."""
    state = drift_venue("2%")
    market = state.market("ETH-PERP")
    open_account_at(state, "user", usd(collateral), {"ETH-PERP": (lots(market, size),
                                                                  1_000_000)}, MAKER)
    state.marks["ETH-PERP"] = ticks(market, price)
    user = state.account("user")
    shortage = margin_shortage_quote(user, state)
    rates = shortage_rates(user, "ETH-PERP", state, shortage)
    freed_rate = rates.margin_rate - rates.liquidator_rate - rates.fund_rate
    k = liquidation_size_lots(user, "ETH-PERP", state)

    def frees(n: int) -> int:  # in quote quantums x whole
        return notional_quote(n, state.marks["ETH-PERP"], market) * freed_rate

    assert 1 <= k <= abs(user.position("ETH-PERP"))
    assert frees(k) >= shortage * rates.whole or k == abs(user.position("ETH-PERP"))
    assert k == 1 or frees(k - 1) < shortage * rates.whole


# -- OKX ------------------------------------------------------------------------------------------

def _okx_tier_number(size_contracts: str) -> int:
    market = get_profile("okx").market("BTC-USDT-SWAP")
    size = to_units(size_contracts, 2)  # a lot is 0.01 contract
    return market.tiers.index(tier_for(market, 1, size)) + 1


@pytest.mark.rule("LIQ-TIER-8")
def test_okx_tiers_are_keyed_by_contracts_LIQ_TIER_8():
    """OKX's BTC-USDT isolated position tiers (position-tiers API, 2026-09-18): tier 1 up to
    1,000 contracts (0.4%, 100x), tier 2 from 1,000.01 to 5,000 (0.5%, 66.66x), tier 3 to 20,000
    (0.75%, 50x), then +20,000 contracts and +0.5% a tier, tier 99 to 1,940,000 (48.75%, 2x). The
    ranges are closed, so 1,000 contracts is tier 1 and 1,000.01 (one lot of 0.01 contract more)
    tier 2. Each maintenance rate is OKX's plus the 0.05% taker fee its margin ratio adds. Keyed
    by size, a position keeps its tier at every price. Rules: LIQ-TIER-8, LIQ-TIER-2."""
    market = get_profile("okx").market("BTC-USDT-SWAP")
    assert market.tier_basis == "size" and len(market.tiers) == 99
    assert [_okx_tier_number(c) for c in ("0.01", "1000", "1000.01", "5000", "5000.01", "20000",
                                          "20000.01", "40000", "1940000", "3000000")] == \
        [1, 1, 2, 2, 3, 3, 4, 4, 99, 99]
    rates = [(t.maint_margin_ppm - percent_ppm("0.05%"), t.init_margin_ppm) for t in market.tiers]
    assert rates[:4] == [(percent_ppm("0.4%"), percent_ppm("1%")),
                         (percent_ppm("0.5%"), percent_ppm("1.5%")),
                         (percent_ppm("0.75%"), percent_ppm("2%")),
                         (percent_ppm("1.25%"), percent_ppm("2.5%"))]
    assert rates[-1] == (percent_ppm("48.75%"), percent_ppm("50%"))
    # the snapshot's maximum leverage is 1 / the initial rate, truncated to two decimals
    assert [PPM * 100 // imr / 100 for _, imr in rates[:6]] == [100, 66.66, 50, 40, 33.33, 28.57]
    # 2,000 contracts (20 BTC): tier 2 at 100,000 and at 30,000 USDT
    for price in ("100000", "30000"):
        notional = notional_quote(lots(market, "20"), ticks(market, price), market)
        assert maintenance_margin_quote(market, notional, lots(market, "20")) == \
            notional * 5_500 // PPM


@pytest.mark.rule("LIQ-TIER-8")
@pytest.mark.rule("LIQ-PRICE-2")
@pytest.mark.parametrize("case", [
    # (name, BTC (100 contracts each), entry, isolated margin, OKX's rate + taker fee)
    ("long 100 contracts, 100x", "1", "100000", "1000", "0.45%"),
    ("short 2,000 contracts (tier 2), 50x", "-20", "100000", "40000", "0.55%"),
    ("long 10,000 contracts (tier 3), 20x", "100", "50000", "250000", "0.8%"),
], ids=lambda case: case[0])
def test_okx_isolated_liquidation_price_from_its_margin_ratio_LIQ_PRICE_2(impl, case):
    """OKX's isolated margin ratio, "(Fixed Margin + UPL) / Position Value", liquidates "when the
    Margin Ratio drops below the Maintenance Margin Ratio + Liquidation fee rate" (OKEx Academy,
    USDT-margined contracts, 2020-02-25), the position value being "Face Value x Number of
    contracts x Latest Mark Price" and the rate that of the position's tier by contracts. Solved
    for the mark: long ``(margin - ct * ctVal * entry) / (ct * ctVal * (mmr + fee - 1))``, short
    ``(margin + ct * ctVal * entry) / (ct * ctVal * (mmr + fee + 1))``: the model's root,
    exactly, on both implementations, the tier fixed by the contracts at every price. OKX
    publishes no numeric example of it for swaps (none was found); the margin is the initial
    margin at the leverage named, as OKX's "Initial Margin = Face Value x Number of Contracts x
    Average Position Price / Leverage". Rules: LIQ-TIER-8, LIQ-TIER-2, LIQ-PRICE-2,
    LIQ-LEVERAGE-2."""
    _, size, entry, margin, rate = case
    state = venue(impl, get_profile("okx"), {})
    market = state.market("BTC-USDT-SWAP")
    new_account(impl, state, "trader", margin, isolated_market="BTC-USDT-SWAP")
    open_position(impl, state, "trader", "BTC-USDT-SWAP", size, entry)
    btc, r = Fraction(size), Fraction(rate.removesuffix("%")) / 100

    def okx_root(margin_usdt: Fraction) -> Fraction:
        if btc > 0:
            return (margin_usdt - btc * Fraction(entry)) / (btc * (r - 1))
        return (margin_usdt - btc * Fraction(entry)) / (-btc * (r + 1))

    model = impl.liquidation_price(state.account("trader"), "BTC-USDT-SWAP", state.marks,
                                   state.profile)
    # OKX liquidates at equality (LIQ-TRIGGER-3): with the requirement rounded up to the
    # quantum, equity <= requirement is equity - 1 quantum < the exact requirement, so the model's
    # exact threshold is OKX's root for a margin one quantum (10^-6 USDT) smaller
    assert price_of(model.exact, market) == okx_root(Fraction(margin) - Fraction(1, 10**6))
    assert model.ticks == round_toward_venue(okx_root(Fraction(margin)) * 10, model.side)


@pytest.mark.rule("LIQ-LEVERAGE-2")
def test_okx_initial_margin_at_a_chosen_leverage_LIQ_LEVERAGE_2():
    """OKEx Academy, "USDT Delivery Contracts: Margin" (2020-02-25): "If the current BTC price is
    USDT 10,000, and a user wants to open a 10x long position ... worth 1 BTC ... Initial Margin
    = Face Value x Number of Contracts x Average Position Price / Leverage = 0.0001 BTC x 10000 x
    10,000 USDT/BTC / 10 = 1000USDT". The contract was 0.0001 BTC then and is 0.01 BTC now (100
    contracts for 1 BTC); the margin is the same 1,000 USDT, above tier 1's own 1% (100 USDT).
    Rules: LIQ-LEVERAGE-2, LIQ-TIER-8."""
    market = get_profile("okx").market("BTC-USDT-SWAP")
    notional = notional_quote(lots(market, "1"), ticks(market, "10000"), market)
    assert initial_margin_at_leverage_quote(market, notional, 10, 0, lots(market, "1")) == \
        usd("1000")
    assert initial_margin_quote(market, notional, 0, lots(market, "1")) == usd("100")


@pytest.mark.rule("LIQ-TRIGGER-3")
def test_okx_liquidates_at_equality_LIQ_TRIGGER_3(impl):
    """OKX liquidates when "account equity is equal to or less than the required maintenance
    margin plus any applicable liquidation fees" (Tiered maintenance margin ratio rules, OKX Help
    Center): the okx profile's trigger is ``at_or_below``, so an account whose equity equals its
    requirement to the quantum is liquidated, one quantum more is not, and the provenance cites
    OKX's words. Rules: LIQ-TRIGGER-3, LIQ-TRIGGER-1."""
    assert get_profile("okx").trigger == "at_or_below"
    state = venue(impl, get_profile("okx"), {"BTC-USDT-SWAP": "100000"})
    market = state.market("BTC-USDT-SWAP")
    size = lots(market, "1")
    requirement = maintenance_margin_quote(market, usd("100000"), size)  # 450 USDT
    assert requirement == usd("450")
    for quote, liquidated in ((requirement - usd("100000") + 1, False),
                              (requirement - usd("100000"), True),
                              (requirement - usd("100000") - 1, True)):
        state.accounts["t"] = Account("t", quote=quote, positions={"BTC-USDT-SWAP": size})
        assert impl.is_liquidatable(state.accounts["t"], state) is liquidated
    row = {row.parameter: row for row in provenance_of(get_profile("okx"))}["trigger"]
    assert row.basis == "published" and "equal to or less than" in row.note
    # every other profile keeps LIQ-TRIGGER-1's strict trigger
    assert {name for name, profile in PROFILES.items() if profile.trigger != "below"} == {"okx"}


def _step_lots(impl, state: State) -> int:
    """LIQ-EXEC-1's size of trader ``t``'s BTC-USDT-SWAP position on ``impl`` (the compiled
    engine answers it as a query, liqspec.fast.liquidation_size_lots)."""
    size = reference.liquidation_size_lots if impl.name == "reference" else \
        fast.liquidation_size_lots
    return size(state.accounts["t"], "BTC-USDT-SWAP", state)


def _okx_long(impl, contracts: str, equity: str, mark: str = "100000") -> State:
    """An OKX venue at ``mark`` where trader ``t`` is long ``contracts`` BTC-USDT-SWAP contracts
    (0.01 BTC each) with account equity ``equity`` USDT."""
    state = venue(impl, get_profile("okx"), {"BTC-USDT-SWAP": mark})
    market = state.market("BTC-USDT-SWAP")
    size = to_units(contracts, 2)  # a lot is 0.01 contract
    value = size * state.marks["BTC-USDT-SWAP"] * market.value_per_lot_tick
    state.accounts["t"] = Account("t", quote=usd(equity) - value,
                                  positions={"BTC-USDT-SWAP": size})
    return state


@pytest.mark.parametrize("contracts, equity, closed", [
    ("30000", "200000", "25000"),          # tier 4 to tier 2: keeps 5,000, tier 2's most
    ("20000.01", "150000", "15000.01"),    # the first lot of tier 4: also to tier 2
    ("20000", "150000", "19000"),          # tier 3's most to tier 1: keeps 1,000
    ("15000", "100000", "14000"),
    ("1940000", "100000000", "40000"),     # tier 99 (48.80%) to tier 97's most, 1,900,000
    ("5000", "1", "5000"),                 # tier 2: whole
    ("1000", "1", "1000"),                 # tier 1: whole
])
def test_okx_steps_down_two_tiers_from_tier_3_LIQ_EXEC_3(impl, contracts, equity, closed):
    """OKX's forced partial liquidation: a position "at tier 3 or above" whose margin ratio is
    below its tier's requirement but above the lowest tier's is reduced by "the number of
    contracts needed to reduce the position by two tiers"; tiers 1 and 2 are liquidated whole
    (OKX Help Center, forced partial liquidation; the okx profile's tiers of LIQ-TIER-8). Each
    account is liquidatable and above the first tier's requirement: at 100,000 USDT, 30,000
    contracts require 390,000 USDT at tier 4's 1.30% and 135,000 at tier 1's 0.45%."""
    state = _okx_long(impl, contracts, equity)
    account = state.accounts["t"]
    assert impl.is_liquidatable(account, state)
    assert _step_lots(impl, state) == to_units(closed, 2)


def test_okx_liquidates_whole_at_the_first_tier_s_requirement_LIQ_EXEC_3(impl):
    """A tier-4 position whose equity is at or below its requirement at the first tier's rate
    (135,000 USDT for 30,000 contracts at 100,000) cannot be saved by stepping down: OKX
    liquidates it whole. One quantum more and the step is the partial one; at tier 4's own
    requirement plus a quantum the account is not liquidatable at all."""
    whole, partial = to_units("30000", 2), to_units("25000", 2)
    for equity, size in (("100000", whole), ("135000", whole), ("135000.000001", partial),
                         ("390000", partial)):
        state = _okx_long(impl, "30000", equity)
        assert impl.is_liquidatable(state.accounts["t"], state)
        assert _step_lots(impl, state) == size
    state = _okx_long(impl, "30000", "390000.000001")
    assert not impl.is_liquidatable(state.accounts["t"], state)


def test_okx_steps_again_while_short_and_then_closes_whole_LIQ_EXEC_3(impl):
    """OKX repeats the reduction while the margin ratio stays short. A long of 60,000 contracts
    (tier 5, 1.80%: 1,080,000 USDT at 100,000) with equity 300,000 USDT is above the first
    tier's 270,000: the first step sells 40,000 contracts, down to tier 3's most, at 99,500, a
    loss of 200,000 USDT and a fee of 0.05% x 39,800,000 = 19,900 USDT to the fund. Its
    20,000 contracts (tier 3, 160,000 USDT) are then backed by 80,100 USDT, below the first
    tier's 90,000: the second step closes them whole."""
    state = _okx_long(impl, "60000", "300000")
    market = state.market("BTC-USDT-SWAP")
    fund = state.holders[INSURANCE_FUND]
    impl.liquidate(state, "t", "BTC-USDT-SWAP", MAKER, ticks(market, "99500"))
    assert state.accounts["t"].position("BTC-USDT-SWAP") == to_units("20000", 2)
    assert state.holders[INSURANCE_FUND] - fund == usd("19900")
    assert impl.equity_quote(state.accounts["t"], state.marks, state.profile) == usd("80100")
    assert impl.is_liquidatable(state.accounts["t"], state)
    assert _step_lots(impl, state) == to_units("20000", 2)
    impl.liquidate(state, "t", "BTC-USDT-SWAP", MAKER, ticks(market, "100000"))
    assert state.accounts["t"].position("BTC-USDT-SWAP") == 0


def test_okx_deleverages_at_the_mark_once_the_fund_falls_30_percent_in_8_hours_LIQ_ADL_5(impl):
    """OKX: "a rapid drop is defined as a straight-line decrease of 30% from the peak value of
    the risk reserve within 8 hours"; liquidated positions are then matched "at the current Mark
    Price". The okx profile's fund of 70,000 USDT under a peak of 100,000 is in drawdown (a fall
    of exactly 30%); 70,000 under 99,999.999999 is not. A peak sampled 8 hours and one second ago
    has left the window. A long of 20,000 contracts at 100,000 (equity 80,100, past the first
    tier's 90,000) that the book and the fund could absorb is FUND_CAN_COVER outside a drawdown;
    in drawdown it is deleveraged at the mark against the short holding it, for 20,000,000 USDT,
    without the book and without a fee."""
    state = _okx_long(impl, "20000", "80100")
    market = state.market("BTC-USDT-SWAP")
    state.accounts["s"] = Account("s", quote=usd("40000000"),
                                  positions={"BTC-USDT-SWAP": -to_units("20000", 2)})
    state.holders[INSURANCE_FUND] = usd("70000")
    state.holders["outside"] -= usd("70000") + state.accounts["t"].quote + usd("40000000")
    assert state.profile.adl_drawdown_ppm == 300_000
    assert state.profile.adl_drawdown_window_s == 8 * 3600
    assert reference.fund_in_drawdown(state, usd("100000"))
    assert not reference.fund_in_drawdown(state, usd("100000") - 1)
    window = reference.FundWindow(state.profile.adl_drawdown_window_s)
    window.sample(0, usd("100000"))
    window.sample(3600, usd("70000"))
    assert window.peak(8 * 3600) == usd("100000") and window.peak(8 * 3600 + 1) == usd("70000")
    # a book deep enough to take the position 0.1% under the mark: the fund could cover it
    state.accounts["book"] = Account("book", role=LIQUIDITY)
    state.books["BTC-USDT-SWAP"] = build_book(BookShape(3, 1_000, to_units("100000", 2)),
                                              state.marks["BTC-USDT-SWAP"], "book")
    with pytest.raises(Rejection) as refused:
        impl.deleverage(state, "t", "BTC-USDT-SWAP", usd("100000") - 1)
    assert refused.value.code == ResultCode.FUND_CAN_COVER
    receipt = impl.deleverage(state, "t", "BTC-USDT-SWAP", usd("100000"))
    assert [(f.buyer, f.seller, f.lots, f.quote_amount, f.price_ticks)
            for f in receipt.entries if f.rule_id == "LIQ-ADL-3" and hasattr(f, "lots")] == [
        ("s", "t", to_units("20000", 2), usd("20000000"), ticks(market, "100000"))]
    assert state.accounts["t"].quote == usd("80100")
    assert state.holders[INSURANCE_FUND] == usd("70000")
