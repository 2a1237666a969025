"""Inverse (coin-margined) markets: the venues' published examples and the rules that carry them
(LIQ-INVERSE-1, LIQ-INVERSE-2, LIQ-INVERSE-3).

An inverse market is the linear market priced in coin quantums per lot, the venue's position
negated (:mod:`liqspec.reference.inverse`). Each example states its inputs in the venue's units
(contracts, USD prices, BTC), converts them by the rules under test, and runs the model on both
implementations (``impl``). Where a venue prints a rounded figure the test asserts the model's
exact value and that it prints as the venue's figure.
"""

from __future__ import annotations

import random
from fractions import Fraction

import pytest

from liqspec.reference import (MalformedState, Market, Tier, new_state, notional_quote,
                               position_value_quote, to_units)
from liqspec.reference.errors import InvalidPrice
from liqspec.reference.inverse import (VenueThreshold, display_venue_price, face_numerator,
                                       lot_value_quanta, model_funding_rate, model_lots,
                                       order_tick_price, venue_lots, venue_threshold)
from liqspec.reference.prices import Threshold, round_for_display
from liqspec.reference.profile import MarketKind, Profile
from liqspec.reference.profiles import get_profile, inverse_market, percent_ppm

MAKER = "maker"


def coin(profile: Profile, text: str) -> int:
    """A coin amount (XBT, BTC) in the profile's quantums, exactly."""
    return to_units(text.replace(",", ""), profile.quote_decimals)


def venue_ticks(profile: Profile, market_id: str, text: str) -> int:
    """A venue price (USD) in the market's venue ticks, exactly."""
    return to_units(text.replace(",", ""), profile.market(market_id).venue_price_decimals)


def model_price(profile: Profile, market_id: str, usd: str) -> int:
    return lot_value_quanta(profile, market_id, venue_ticks(profile, market_id, usd))


def inverse_venue(impl, profile: Profile, market_id: str, usd: str):
    state = new_state(profile, {market_id: model_price(profile, market_id, usd)})
    impl.open_account(state, MAKER)
    impl.deposit(state, MAKER, coin(profile, "1,000,000"))
    return state


def open_contracts(impl, state, account_id: str, market_id: str, lots: int, usd: str) -> None:
    """``account_id`` goes long (``lots`` > 0) or short ``lots`` venue lots at ``usd`` from the
    maker: the model trade of ``model_lots(lots)`` at the lot's coin value."""
    price = model_price(state.profile, market_id, usd)
    impl.set_mark(state, market_id, price)
    position = model_lots(lots)
    if position > 0:
        impl.trade(state, account_id, MAKER, market_id, position, price)
    else:
        impl.trade(state, MAKER, account_id, market_id, -position, price)


def trader_in(impl, name: str, market_id: str, usd: str, deposit: str, contracts: int,
              isolated: bool = False):
    """A venue of profile ``name`` marked at ``usd`` with the account "trader", which deposits
    ``deposit`` coin and goes long (``contracts`` > 0) or short that many venue lots at ``usd``."""
    profile = get_profile(name)
    state = inverse_venue(impl, profile, market_id, usd)
    impl.open_account(state, "trader", isolated_market=market_id if isolated else None)
    impl.deposit(state, "trader", coin(profile, deposit))
    open_contracts(impl, state, "trader", market_id, contracts, usd)
    return state


# -- LIQ-INVERSE-1: a lot's coin value, per lot, to the nearest quantum ---------------------------

@pytest.mark.rule("LIQ-INVERSE-1")
def test_bitmex_values_each_lot_to_the_nearest_satoshi_ties_up_LIQ_INVERSE_1():
    """BitMEX, "The Technical Details of Our Lot Size Change" (2021): "the value credited or
    debited to your account for each Lot needs to be rounded to the nearest Satoshi" (round half
    up in the Chinese original). XBTUSD's lot is 100 contracts of 1 USD, so at 750 USD a lot is
    worth 10^10 / 750 = 13,333,333.33 satoshi, credited as 13,333,333; at 409.6 USD it is exactly
    24,414,062.5, credited as 24,414,063 (the tie goes up); at 800 USD it is 12,500,000
    exactly. Rule: LIQ-INVERSE-1."""
    bitmex = get_profile("bitmex_inverse")
    assert face_numerator(bitmex, "XBTUSD") == 100 * 10**10  # 100 USD x 10^(8 + 2)
    assert model_price(bitmex, "XBTUSD", "750") == 13_333_333
    assert model_price(bitmex, "XBTUSD", "409.6") == 24_414_063
    assert model_price(bitmex, "XBTUSD", "800") == 12_500_000
    # the value is odd in the lots: a buyer's and a seller's legs cancel to the satoshi
    market = bitmex.market("XBTUSD")
    assert position_value_quote(model_lots(150), 13_333_333, market) == -1_999_999_950
    assert position_value_quote(model_lots(-150), 13_333_333, market) == 1_999_999_950


@pytest.mark.rule("LIQ-INVERSE-1")
@pytest.mark.rule("LIQ-INVERSE-2")
@pytest.mark.rule("LIQ-FUNDING-1")
def test_bitmex_xbtusd_perpetual_example_LIQ_INVERSE_1(impl):
    """BitMEX "Perpetual Contracts Guide Examples": "A trader goes long 15,000 XBTUSD contracts at
    a price of 750 USD. XBT Entry Value = 15,000 Contracts * 1 USD * 1/750 = 20 XBT"; at the
    funding time "Funding Amount = Mark Value * Funding Rate = 20 XBT * 0.25% = 0.05 XBT ... since
    he is long the trader pays"; he closes at 800 USD: "PNL = 15,000 * 1 USD * (1/750 - 1/800) =
    1.25 XBT ... the trader's total profit is 1.2 XBT".

    The page's figures are exact rationals; BitMEX credits each lot of 100 contracts to the
    nearest satoshi (LIQ-INVERSE-1), so the entry value is 150 x 13,333,333 = 19.9999995 XBT and
    the profit 1.2499995 XBT: each prints as the page's figure at the 4 places BitMEX shows. The
    funding is exact: 0.25% of 1,999,999,950 satoshi is 4,999,999.875, owed rounded up, 0.05 XBT.
    Sources: https://bitmex.com/app/perpetualContractsGuideExamples ,
    https://blog.bitmex.com/the-technical-details-of-our-lot-size-change/ (read 2026-12-07).
    Rules: LIQ-INVERSE-1, LIQ-INVERSE-2, LIQ-FUNDING-1."""
    bitmex = get_profile("bitmex_inverse")
    market = bitmex.market("XBTUSD")
    state = trader_in(impl, "bitmex_inverse", "XBTUSD", "750", "10", 150)  # 15,000 contracts
    trader = state.account("trader")
    assert venue_lots(trader.position("XBTUSD")) == 150
    entry_value = notional_quote(trader.position("XBTUSD"), state.marks["XBTUSD"], market)
    assert entry_value == 1_999_999_950
    assert round_for_display(Fraction(entry_value, 10**8), 4, "half_up") == "20.0000"

    before = state.account("trader").quote
    impl.apply_funding(state, "XBTUSD", percent_ppm("0.25%"))  # the venue's rate: longs pay
    assert before - state.account("trader").quote == coin(bitmex, "0.05")

    open_contracts(impl, state, "trader", "XBTUSD", -150, "800")  # sells 15,000 contracts
    trader = state.account("trader")
    assert trader.position("XBTUSD") == 0
    profit = trader.quote - coin(bitmex, "10")
    assert profit == 150 * (13_333_333 - 12_500_000) - coin(bitmex, "0.05") == 119_999_950
    assert round_for_display(Fraction(profit + coin(bitmex, "0.05"), 10**8), 4,
                             "half_up") == "1.2500"
    assert round_for_display(Fraction(profit, 10**8), 4, "half_up") == "1.2000"


@pytest.mark.rule("LIQ-INVERSE-1")
def test_binance_coinm_maintenance_margin_example_LIQ_INVERSE_1(impl):
    """Binance FAQ on maintenance margin, COIN-M: "100 * 100 / 25,000 = 0.4 BTC ... Maintenance
    Margin = 100 * 100 / 25,000 * 0.4% - 0 = 0.0016 BTC": 100 BTCUSD contracts of 100 USD at a
    mark of 25,000. Exact: a contract is worth 10^10 / 25,000 = 400,000 satoshi.
    Source: https://www.binance.com/en/support/faq/360033162192 (read 2026-12-07).
    Rule: LIQ-INVERSE-1 (with LIQ-TIER-2)."""
    binance = get_profile("binance_coinm")
    state = trader_in(impl, "binance_coinm", "BTCUSD_PERP", "25000", "1", 100)
    trader = state.account("trader")
    market = binance.market("BTCUSD_PERP")
    assert state.marks["BTCUSD_PERP"] == 400_000
    assert notional_quote(trader.position("BTCUSD_PERP"), 400_000, market) == coin(binance, "0.4")
    assert impl.account_maintenance_margin_quote(trader, state.marks, binance) == \
        coin(binance, "0.0016")


# -- LIQ-INVERSE-3: the venue's liquidation price -------------------------------------------------

@pytest.mark.rule("LIQ-INVERSE-3")
@pytest.mark.rule("LIQ-PRICE-2")
@pytest.mark.rule("LIQ-TIER-6")
@pytest.mark.parametrize("side", [1, -1], ids=["long", "short"])
def test_bybit_uta_isolated_inverse_liquidation_price_LIQ_INVERSE_3(impl, side):
    """Bybit "Liquidation Price Calculation under Isolated Mode (Unified Trading Account)",
    inverse contracts (version of 2024-09-10): "Liquidation Price (Long) = Contract Quantity /
    [Position Value + (Initial Margin - Maintenance Margin)]", "(Short) = Contract Quantity /
    [Position Value - (Initial Margin - Maintenance Margin)]", with "Position Value = Contract
    Quantity / Average Entry Price", "Initial Margin = Position Value / Leverage", "Maintenance
    Margin = (Position Value x MMR) - Maintenance Margin Deduction". Its example: 60,000 USD of
    BTCUSD at 50,000 USD, 10x, MMR 0.5%: "Position Value = 60,000 / 50,000 = 1.2 BTC", "Initial
    Margin = 1.2 / 10 = 0.12 BTC", maintenance 0.006 BTC. The page's printed prices were not
    read (the copy ends there); by its formula they are 60,000 / 1.086 = 55,248.618... (short)
    and 60,000 / 1.314 = 45,662.100... (long), hand arithmetic.

    The model gives exactly these: the ``bybit_inverse`` profile takes an isolated position's
    maintenance on its entry value (LIQ-TIER-6), and the model's root in coin per contract maps
    to the venue price K / x (LIQ-INVERSE-3). The venue tick of the threshold is exact under the
    per-contract rounding: the trigger flips between it and the next tick.
    Sources: https://bybit.nl/nl-NL/help-center/article/Liquidation-Price-Calculation-under-Isolated-Mode-Unified-Trading-Account
    (read 2026-12-07). Rules: LIQ-INVERSE-1, LIQ-INVERSE-3, LIQ-PRICE-2, LIQ-TIER-6."""
    bybit = get_profile("bybit_inverse")
    # the initial margin at 10x, 0.12 BTC, isolated
    state = trader_in(impl, "bybit_inverse", "BTCUSD", "50000", "0.12", side * 60_000,
                      isolated=True)
    trader = state.account("trader")
    assert notional_quote(trader.position("BTCUSD"), state.marks["BTCUSD"],
                          bybit.market("BTCUSD")) == coin(bybit, "1.2")
    assert impl.account_maintenance_margin_quote(trader, state.marks, bybit) == \
        coin(bybit, "0.006")
    model = impl.liquidation_price(trader, "BTCUSD", state.marks, bybit)
    venue = venue_threshold(bybit, model)
    formula = Fraction(60_000) / (Fraction("1.2") + side * (Fraction("0.12") - Fraction("0.006")))
    assert venue.side == side
    assert venue.exact == formula * 10  # venue ticks of 0.1 USD
    assert display_venue_price(bybit, "BTCUSD", venue.exact) == \
        {1: "45662.1", -1: "55248.6"}[side]
    # the trigger, at the venue's threshold tick and one tick past it
    for usd_ticks, liquidatable in ((venue.ticks, False), (venue.ticks - side, True)):
        impl.set_mark(state, "BTCUSD", lot_value_quanta(bybit, "BTCUSD", usd_ticks))
        assert impl.is_liquidatable(state.account("trader"), state) is liquidatable
        assert venue.crossed(usd_ticks) is liquidatable


@pytest.mark.rule("LIQ-INVERSE-3")
def test_the_venue_threshold_is_exact_under_the_per_lot_rounding_LIQ_INVERSE_3():
    """For every model threshold and face, the venue tick from the closed form agrees with a
    search over every venue price of whether the rounded lot value is past the model's tick:
    a contract long (the model's short, past iff v > T) is past iff p < ticks, a contract short
    (past iff v < T) iff p > ticks. Faces and thresholds small enough to search exhaustively,
    with every tie of the half-up rounding. Rule: LIQ-INVERSE-3."""
    rng = random.Random(20261207)
    for _ in range(400):
        face, decimals = rng.randint(1, 9), rng.randint(0, 2)
        market = inverse_market("X", 0, face, decimals, "1%", "2%")
        profile = Profile(name="inverse", quote_decimals=0, markets={"X": market})
        numerator = face_numerator(profile, "X")
        prices = range(1, 2 * numerator + 1)  # above 2K a lot is worth nothing
        model_side = rng.choice((1, -1))
        target = rng.randint(0 if model_side < 0 else 1, numerator + 1)
        threshold = Threshold("X", model_side, Fraction(target), target)
        venue = venue_threshold(profile, threshold)
        for p in prices:
            value = lot_value_quanta(profile, "X", p)
            past_model = value > target if model_side < 0 else value < target
            assert venue.crossed(p) is past_model, (face, decimals, target, model_side, p)


@pytest.mark.rule("LIQ-INVERSE-3")
def test_a_contract_short_that_no_price_liquidates_has_no_venue_price_LIQ_INVERSE_3():
    """A model long whose threshold tick is 0 or 1 (a coin value below it is below one quantum,
    which no price gives) is a contract short no venue price liquidates: no tick, never crossed.
    A model short whose root is 0 (past at every coin value) is a contract long past at every
    venue price a lot has a value at, up to 2K: no finite exact price, but a tick."""
    bitmex = get_profile("bitmex_inverse")
    numerator = face_numerator(bitmex, "XBTUSD")
    venue = venue_threshold(bitmex, Threshold("XBTUSD", 1, Fraction(0), 0))
    assert venue == VenueThreshold("XBTUSD", -1, None, None)
    assert not venue.crossed(10**12)
    half = venue_threshold(bitmex, Threshold("XBTUSD", 1, Fraction(1, 2), 1))
    assert half == VenueThreshold("XBTUSD", -1, Fraction(2 * numerator), None)
    long = venue_threshold(bitmex, Threshold("XBTUSD", -1, Fraction(0), 0))
    assert long == VenueThreshold("XBTUSD", 1, None, 2 * numerator + 1)
    assert long.crossed(2 * numerator) and long.crossed(1)


@pytest.mark.rule("LIQ-INVERSE-1")
def test_bitmex_xbtusd_open_value_is_its_lots_at_the_per_lot_value_LIQ_INVERSE_1():
    """BitMEX's XBTUSD instrument record of 2024-11-24T23:33:19Z, as captured in an open-source
    client's test data: "lotSize": 100, "multiplier": -100000000, "settlCurrency": "XBt",
    "openInterest": 411647400 (contracts), "markPrice": 97849.76, "openValue": 420691293378
    (XBt). The open interest is 4,116,474 lots; at the mark a lot is worth 10^12 / 9,784,976
    = 102,197.49 satoshi, held at 102,197 (LIQ-INVERSE-1), and 4,116,474 x 102,197 is BitMEX's
    open value to the satoshi. (Rounding the whole open interest at once would give
    420,693,315,957, and a rounding per contract, 1,022 satoshi each, 420,703,642,800: BitMEX's
    figure is the per-lot one.) Source: https://github.com/nautechsystems/nautilus_trader/blob/4b670146d44680575f1ac911b319fd3f7e18c4c5/crates/adapters/bitmex/test_data/http_get_instrument_xbtusd.json
    (read 2026-12-07). Rule: LIQ-INVERSE-1."""
    bitmex = get_profile("bitmex_inverse")
    lots = 411_647_400 // 100
    value = model_price(bitmex, "XBTUSD", "97849.76")
    assert value == 102_197
    assert notional_quote(model_lots(lots), value, bitmex.market("XBTUSD")) == 420_691_293_378
    whole = Fraction(411_647_400 * 10**8) / Fraction("97849.76")
    per_contract = round(Fraction(10**8) / Fraction("97849.76"))
    assert (round(whole), per_contract * 411_647_400) == (420_693_315_957, 420_703_642_800)


# -- LIQ-INVERSE-2: funding -----------------------------------------------------------------------

@pytest.mark.rule("LIQ-INVERSE-2")
def test_the_venue_rate_enters_an_inverse_market_negated_LIQ_INVERSE_2(impl):
    """At a positive rate the contract long pays and the short receives, as on the venue; a
    linear market's rate is the model's as it is. Rule: LIQ-INVERSE-2."""
    bybit = get_profile("bybit_inverse")
    assert model_funding_rate(bybit.market("BTCUSD"), 100) == -100
    assert model_funding_rate(get_profile("bybit").market("BTCUSDT"), 100) == 100
    state = inverse_venue(impl, bybit, "BTCUSD", "40000")
    for account_id, contracts in (("long", 40_000), ("short", -40_000)):
        impl.open_account(state, account_id)
        impl.deposit(state, account_id, coin(bybit, "1"))
        open_contracts(impl, state, account_id, "BTCUSD", contracts, "40000")
    before = {a: state.account(a).quote for a in ("long", "short")}
    impl.apply_funding(state, "BTCUSD", percent_ppm("0.01%"))  # 1 BTC of value: 0.0001 BTC
    assert before["long"] - state.account("long").quote == coin(bybit, "0.0001")
    assert state.account("short").quote - before["short"] == coin(bybit, "0.0001")


# -- the domain ------------------------------------------------------------------------------------

@pytest.mark.rule("LIQ-INVERSE-1")
@pytest.mark.parametrize("change, message", [
    (dict(face_per_lot=0), "face_per_lot >= 1"),
    (dict(venue_price_decimals=9), "venue_price_decimals must be in 0..8"),
    (dict(base_decimals=2), "model units are whole lots"),
    (dict(price_decimals=6), "model units are whole lots"),
    (dict(face_per_lot=10**11), "must fit in int64"),
    (dict(kind="quanto"), "unknown XBTUSD.kind"),
    (dict(order_tick=0), "order_tick must be in 1..1_000_000_000"),
    (dict(order_tick=10**9 + 1), "order_tick must be in 1..1_000_000_000"),
])
def test_a_malformed_inverse_market_is_refused_LIQ_INVERSE_1(change, message):
    """An inverse market in the wrong model units, without a face, or past the domain is
    ``MALFORMED_STATE``, naming the field; so is a linear market that sets inverse fields."""
    from dataclasses import replace
    bitmex = get_profile("bitmex_inverse")
    market = replace(bitmex.market("XBTUSD"), **change)
    with pytest.raises(MalformedState, match=message):
        replace(bitmex, markets={"XBTUSD": market})
    for inverse_field in (dict(face_per_lot=1), dict(order_tick=5)):
        linear = Market("L", 3, 1, (Tier(0, 5_000, 0, 10_000, 0),), **inverse_field)
        with pytest.raises(MalformedState, match="read only for an inverse market"):
            Profile(name="x", quote_decimals=6, markets={"L": linear})


@pytest.mark.rule("LIQ-INVERSE-1")
def test_a_price_with_no_lot_value_is_refused_LIQ_INVERSE_1():
    """A lot worth less than half a quantum at the venue price, or a price not above 0, has no
    model price: ``INVALID_PRICE``; a linear market has no lot value to ask for."""
    bitmex = get_profile("bitmex_inverse")
    numerator = face_numerator(bitmex, "XBTUSD")
    assert lot_value_quanta(bitmex, "XBTUSD", 2 * numerator) == 1  # exactly half: up to 1
    for price in (2 * numerator + 1, 0, -5):
        with pytest.raises(InvalidPrice):
            lot_value_quanta(bitmex, "XBTUSD", price)
    with pytest.raises(MalformedState, match="not inverse"):
        lot_value_quanta(get_profile("bitmex"), "XBTUSDT", 100)


def test_every_inverse_profile_prices_in_coin_per_lot_LIQ_INVERSE_1():
    """The three inverse profiles: one lot at one tick is one coin quantum; the kinds."""
    for name, market_id, asset in (("bitmex_inverse", "XBTUSD", "XBT"),
                                   ("binance_coinm", "BTCUSD_PERP", "BTC"),
                                   ("bybit_inverse", "BTCUSD", "BTC")):
        profile = get_profile(name)
        market = profile.market(market_id)
        assert market.kind == MarketKind.INVERSE and market.value_per_lot_tick == 1
        assert profile.quote_asset == asset


# -- the state file: an inverse market in the venue's units ---------------------------------------

def test_a_state_file_gives_an_inverse_market_in_the_venues_units_LIQ_INVERSE_1():
    """A state file's marks and entry prices of an inverse market are the venue's (USD) and its
    sizes the venue's lots; the loader holds them by LIQ-INVERSE-1: BitMEX's trader long 150
    lots (15,000 contracts) at 750 USD is the model's short of 150 lots at 13,333,333 satoshi."""
    import json

    from liqspec.statefile import StateFileError, loads
    document = {"profile": "bitmex_inverse", "marks": {"XBTUSD": "750"},
                "insurance_fund": "0",
                "accounts": [{"id": "trader", "quote": "10",
                              "positions": {"XBTUSD": {"size": "150", "entry_price": "750"}}}]}
    state = loads(json.dumps(document)).state
    assert state.marks["XBTUSD"] == 13_333_333
    trader = state.account("trader")
    assert trader.position("XBTUSD") == -150 and venue_lots(trader.position("XBTUSD")) == 150
    assert trader.cost_quote["XBTUSD"] == -1_999_999_950
    # a venue price at which a lot is worth less than half a satoshi: refused, naming the field
    document["accounts"][0]["positions"]["XBTUSD"]["entry_price"] = "30000000000"
    with pytest.raises(StateFileError, match=r"accounts\[0\].positions.XBTUSD.entry_price"):
        loads(json.dumps(document))


def test_a_state_file_declares_an_inverse_market_LIQ_INVERSE_1():
    """A venue written out in a state file declares an inverse market by its kind, face and
    venue decimals (the model's units implied); without a face it is refused, naming it."""
    import json

    from liqspec.statefile import StateFileError, loads
    market = {"kind": "inverse", "face_per_lot": 100, "venue_price_decimals": 1,
              "tiers": [{"floor_notional": "0", "maint_margin_rate": "0.005",
                         "init_margin_rate": "0.01", "maint_deduction": "0",
                         "init_deduction": "0"}]}
    document = {"venue": {"name": "coin", "quote_decimals": 8, "markets": {"XBTUSD": market}},
                "marks": {"XBTUSD": "800"}, "insurance_fund": "0", "accounts": []}
    state = loads(json.dumps(document)).state
    xbtusd = state.market("XBTUSD")
    assert (xbtusd.kind, xbtusd.face_per_lot, xbtusd.price_decimals) == ("inverse", 100, 8)
    assert state.marks["XBTUSD"] == 12_500_000
    assert xbtusd.order_tick == 1  # the venue tick unless it says otherwise
    market["order_tick"] = 5
    assert loads(json.dumps(document)).state.market("XBTUSD").order_tick == 5
    market["order_tick"] = 0
    with pytest.raises(StateFileError, match="venue.markets.XBTUSD.order_tick"):
        loads(json.dumps(document))
    del market["order_tick"]
    del market["face_per_lot"]
    with pytest.raises(StateFileError, match="venue.markets.XBTUSD.face_per_lot"):
        loads(json.dumps(document))


@pytest.mark.rule("LIQ-INVERSE-1")
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_positions_file_gives_an_inverse_market_in_the_venues_units_LIQ_INVERSE_1(tmp_path,
                                                                                   suffix):
    """A positions file writes an inverse market as a state file does: the venue's lots
    (positive: long contracts) at the venue's USD price. BitMEX's trader long 150 lots at 750 USD
    is the model's short of 150 lots at 13,333,333 satoshi; a short of 20 lots at 409.6 USD is a
    model long at 24,414,063 (the tie rounds up). Both loaders read the same rows, CSV and
    Parquet alike; a price at which a lot is worth less than half a satoshi is INVALID_PRICE at
    its row and column on both, in a file of a thousand rows."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from liqspec.positions import PositionsError, load_positions
    from liqspec.positions_bulk import read_columns
    bitmex = get_profile("bitmex_inverse")

    def write(rows: list[tuple[str, str, str, str, str]]):
        table = pa.table({name: [r[k] for r in rows] for k, name in
                          enumerate(("account", "wallet", "market", "size", "entry_price"))})
        path = tmp_path / f"book{suffix}"
        if suffix == ".csv":
            pacsv.write_csv(table, path)
        else:
            pq.write_table(table, path)
        return path

    rows = [("t1", "1", "XBTUSD", "150", "750"), ("t2", "0.5", "XBTUSD", "-20", "409.6")]
    rows += [(f"x{k}", "1", "XBTUSD", str(k % 7 - 3), f"{60_000 + k}.25") for k in range(998)]
    path = write(rows)
    small = load_positions(path, bitmex)
    columns = read_columns(path, bitmex)
    assert [(r.account_id, r.size_lots, r.entry_price_ticks) for r in small[:2]] == \
        [("t1", -150, 13_333_333), ("t2", 20, 24_414_063)]
    assert [columns.position_row(i) for i in range(len(columns))] == small  # vectorized
    assert small[2].entry_price_ticks == model_price(bitmex, "XBTUSD", "60000.25")
    rows[700] = ("bad", "1", "XBTUSD", "1", "30000000000")  # 3e10 USD: under half a satoshi a lot
    path = write(rows)
    for read in (load_positions, read_columns):
        with pytest.raises(PositionsError, match="column entry_price") as error:
            read(path, bitmex)
        assert (error.value.row, error.value.code.name) == (701, "INVALID_PRICE")


@pytest.mark.rule("LIQ-INVERSE-3")
@pytest.mark.rule("LIQ-INVERSE-3")
def test_bybit_adl_example_prints_its_thresholds_at_the_half_dollar_tick_LIQ_INVERSE_3(impl):
    """Bybit "What is Auto-Deleveraging (ADL)?": "A trader buys 5,000 BTCUSD contracts at
    7,890.08 USD on 50x leverage, and the liquidation price is 7,773.50 USD ... Bankruptcy Price =
    Entry Price*Leverage/(Leverage+1) = (7,890.08 x 50) / (50+1) = 7,735.372549 USD ≈ 7,735.50
    USD". Isolated at 50x the trader posts a fiftieth of the entry value; with the maintenance on
    the entry value (0.5%) the exact prices are 7,890.08 / 1.015 = 7,773.478 and 7,890.08 / 1.02
    = 7,735.373, which Bybit prints up to its 0.5 USD tick (``order_tick`` 5 of 0.1 USD).

    The entry 7,890.08 is an average, finer than a venue tick, so the test opens the position
    at the coin value of a contract at that price (1e-10 BTC, rounded), not through a venue
    price. The model's exact prices are within 0.01 USD of Bybit's formula; printed, they are
    Bybit's. A contract short's thresholds round down (the side it moves toward them from).
    Source: https://help.bybit.com/hc/en-us/articles/900000031623-What-is-Auto-Deleveraging-ADL-
    (read 2026-12-08). Rules: LIQ-INVERSE-3, LIQ-PRICE-1, LIQ-PRICE-2, LIQ-TIER-6."""
    bybit = get_profile("bybit_inverse")
    assert bybit.market("BTCUSD").order_tick == 5
    contract = Fraction(10**11) / Fraction("78900.8")  # a contract at 7,890.08 USD, in 1e-10 BTC
    state = new_state(bybit, {"BTCUSD": round(contract)})
    impl.open_account(state, MAKER)
    impl.deposit(state, MAKER, coin(bybit, "1,000,000"))
    impl.open_account(state, "trader", isolated_market="BTCUSD")
    impl.deposit(state, "trader", round(5_000 * contract / 50))
    open_lots = model_lots(5_000)  # the contract long is the model's short
    impl.trade(state, MAKER, "trader", "BTCUSD", -open_lots, state.marks["BTCUSD"])
    trader = state.account("trader")
    assert venue_lots(trader.position("BTCUSD")) == 5_000
    printed = {}
    for name, threshold, formula in (
            ("liquidation", impl.liquidation_price, Fraction("7890.08") / Fraction("1.015")),
            ("bankruptcy", impl.bankruptcy_price, Fraction("7890.08") / Fraction("1.02"))):
        venue = venue_threshold(bybit, threshold(trader, "BTCUSD", state.marks, bybit))
        assert venue.side == +1
        assert abs(venue.exact / 10 - formula) < Fraction(1, 100)
        ticks = order_tick_price(bybit, venue)
        assert ticks % 5 == 0 and 0 <= ticks - venue.exact < 5  # up, within one 0.5 USD tick
        printed[name] = display_venue_price(bybit, "BTCUSD", Fraction(ticks))
    assert printed == {"liquidation": "7773.5", "bankruptcy": "7735.5"}
    # the contract short: down to the tick; no finite price: nothing printed
    short = VenueThreshold("BTCUSD", -1, Fraction(82_347, 1), 82_347)
    assert order_tick_price(bybit, short) == 82_345
    assert order_tick_price(bybit, VenueThreshold("BTCUSD", -1, None, None)) is None


def test_bybit_cross_inverse_example_differs_by_the_fee_to_close_LIQ_INVERSE_3(impl):
    """Bybit "How to calculate Liquidation Price (Inverse Contract)", cross margin: "Trader B has
    account balance of 0.5BTC and buy long 10000 contracts at 8,000 USD": "Bankruptcy Price =
    1.00075 x 10000 / (10000/8000 + (0.5 - 0)) = 5718.57", "Liquidation Price = 5739.50". Both
    add the fee to close at the bankruptcy price (0.075%), which the model does not have (as for
    Bybit's linear contracts), and the liquidation price takes the maintenance at the entry value
    and rounds up to 0.5 USD. A deliberate difference: the model's prices for that account are
    those of its rules without the fee, at the mark basis of a cross account (LIQ-TIER-6):
    10,000 / 1.75 = 5,714.29 (bankruptcy) and 10,000 x 1.005 / 1.75 = 5,742.86 (liquidation).
    Source: https://help.bybit.com/hc/en-us/articles/360039261334-How-to-calculate-Liquidation-Price-Inverse-Contract-
    (read 2026-12-07). Rules: LIQ-INVERSE-3, LIQ-PRICE-1, LIQ-PRICE-2."""
    bybit = get_profile("bybit_inverse")
    state = trader_in(impl, "bybit_inverse", "BTCUSD", "8000", "0.5", 10_000)
    trader = state.account("trader")
    bankrupt = venue_threshold(bybit, impl.bankruptcy_price(trader, "BTCUSD", state.marks, bybit))
    liquidated = venue_threshold(bybit, impl.liquidation_price(trader, "BTCUSD", state.marks,
                                                               bybit))
    assert bankrupt.exact == Fraction(10_000 * 10 * 4, 7)  # 10,000 / 1.75, in 0.1 USD ticks
    assert liquidated.exact == Fraction(10_050 * 10 * 4, 7)  # 10,050 / 1.75
    assert (display_venue_price(bybit, "BTCUSD", bankrupt.exact),
            display_venue_price(bybit, "BTCUSD", liquidated.exact)) == ("5714.3", "5742.9")
    bybit_bankruptcy = Fraction("1.00075") * 10_000 / (Fraction(10_000, 8_000) + Fraction("0.5"))
    assert round_for_display(bybit_bankruptcy, 2, "half_up") == "5718.57"  # the fee to close


COIN_CRASH = """
name = "coin-crash"
profile = "bitmex_inverse"
insurance_fund = "5"
[markets.XBTUSD]
start_price = "60000"
book = { levels = 40, spacing = "0.001", lots_per_level = 50 }
[path]
kind = "shock"
drop = "0.15"
steps = 20
step_seconds = 10
[synthetic]
seed = 3
accounts = 400
long_fraction = "0.8"
notional_median = "0.2"
"""


@pytest.mark.rule("LIQ-INVERSE-1")
def test_an_inverse_scenario_is_written_in_the_venues_terms_LIQ_INVERSE_1():
    """A scenario on an inverse market gives its start and path in the venue's USD and its book's
    long share in contract longs; the model holds each price as a lot's coin value, so a 15%
    fall of the USD price is a rise of the model's: XBTUSD from 60,000.00 to 51,000.00 USD is a
    lot (100 contracts) from 166,667 to 196,078 satoshi. 80% of the accounts are contract longs:
    the model's shorts."""
    from liqspec.scenario import loads_scenario
    bitmex = get_profile("bitmex_inverse")
    scenario = loads_scenario(COIN_CRASH)
    path = scenario.config.path.index_ticks["XBTUSD"]
    assert scenario.state.marks["XBTUSD"] == model_price(bitmex, "XBTUSD", "60000") == 166_667
    assert path[0] == 166_667 and path[-1] == model_price(bitmex, "XBTUSD", "51000") == 196_078
    assert all(a <= b for a, b in zip(path, path[1:]))  # the venue falls, the model rises
    traders = [a for a in scenario.state.accounts.values() if a.position("XBTUSD")
               and a.account_id != "book"]
    contract_longs = sum(venue_lots(a.position("XBTUSD")) > 0 for a in traders)
    assert len(traders) == 400 and 0.75 < contract_longs / 400 < 0.85
    # an explicit path in USD, each price through LIQ-INVERSE-1
    explicit = COIN_CRASH.replace('kind = "shock"\ndrop = "0.15"\nsteps = 20',
                                  'kind = "explicit"\nprices = { XBTUSD = ["60000", "409.6"] }')
    assert loads_scenario(explicit).config.path.index_ticks["XBTUSD"] == (166_667, 24_414_063)


@pytest.mark.rule("LIQ-INVERSE-1")
@pytest.mark.rule("LIQ-INVERSE-3")
def test_a_usd_crash_liquidates_contract_longs_on_both_engines_LIQ_INVERSE_1(tmp_path):
    """The coin crash run by ``simulate`` on each engine: the same bytes in every file; every
    account the run liquidates is a contract long (a model short: the USD price falls); the
    summary table shows the venue's lowest mark at a step's end, below 51,000 USD (the index's
    bottom, the mark following it within its band), and the price path is drawn in USD."""
    from liqspec.scenario import loads_scenario
    from liqspec.simulate import simulate
    scenario = loads_scenario(COIN_CRASH)
    runs = {engine: simulate(scenario, tmp_path / engine, progress=False, engine=engine)
            for engine in ("reference", "fast")}
    for name in ("events.jsonl", "steps.csv", "summary.json", "price_path.png",
                 "liquidation_map.png"):
        assert (tmp_path / "reference" / name).read_bytes() == \
            (tmp_path / "fast" / name).read_bytes(), name
    report = runs["reference"]
    liquidated = {e.account for e in report.result.events if e.kind == "liquidation_fill"}
    assert len(liquidated) > 50
    assert all(venue_lots(scenario.state.account(a).position("XBTUSD")) > 0 for a in liquidated)
    row = next(line for line in report.render().splitlines() if "XBTUSD" in line)
    assert row.startswith("lowest step-end mark XBTUSD") and "venue price" in row
    lowest_usd = float(row.split()[4].replace(",", ""))
    assert 50_000 < lowest_usd < 51_000
    import json
    units = json.loads((tmp_path / "fast" / "summary.json").read_text())["units"]
    assert units["markets"]["XBTUSD"]["face_per_lot"] == 100


@pytest.mark.rule("LIQ-INVERSE-1")
def test_an_inverse_positions_file_crashes_alike_on_the_small_and_the_bulk_path_LIQ_INVERSE_1(
        tmp_path):
    """A scenario reading an inverse positions file: the reference engine on the small loader and
    ``simulate_bulk`` (columns, the compiled engine) write the same bytes. 20 contract longs of
    100 lots (10,000 USD) at 60,000 USD with 0.01 XBT (about 17x) and 20 shorts with 0.05 XBT: a
    15% fall of the USD price liquidates every long and no short."""
    from liqspec.bulk import load_bulk_scenario
    from liqspec.scenario import load_scenario
    from liqspec.simulate import simulate, simulate_bulk
    lines = ["account,wallet,market,size,entry_price"]
    lines += [f"long{k},0.01,XBTUSD,100,60000" for k in range(20)]
    lines += [f"short{k},0.05,XBTUSD,-100,60000" for k in range(20)]
    (tmp_path / "book.csv").write_text("\n".join(lines) + "\n")
    text = COIN_CRASH.split("[synthetic]")[0] + '[positions]\nfile = "book.csv"\n'
    (tmp_path / "crash.toml").write_text(text)
    small = simulate(load_scenario(tmp_path / "crash.toml"), tmp_path / "small", progress=False)
    simulate_bulk(load_bulk_scenario(tmp_path / "crash.toml"), tmp_path / "bulk", progress=False)
    for name in ("events.jsonl", "steps.csv", "summary.json", "price_path.png"):
        assert (tmp_path / "small" / name).read_bytes() == (tmp_path / "bulk" / name).read_bytes()
    liquidated = {e.account for e in small.result.events if e.kind == "liquidation_fill"}
    assert liquidated == {f"long{k}" for k in range(20)}


def test_the_bulk_plots_read_each_steps_highest_mark_as_well_as_its_lowest_LIQ_INVERSE_1(
        tmp_path):
    """An inverse market's price path shows its highest model mark in a step as the venue's
    lowest price: the bulk path's reduced trace (``plot_events``) keeps, per step and market,
    both the lowest and the highest of the trace's mark events, as the whole trace has them."""
    import numpy as np

    from liqspec.bulk import parse_bulk_scenario, plot_events, run
    from liqspec.fast import _engine
    from liqspec.scenario import parse_toml
    crash = run(parse_bulk_scenario(parse_toml(COIN_CRASH)))
    trace = crash.arrays.trace
    marks = (trace["kind"] == list(_engine.EVENT_KIND_NAMES).index("mark")) \
        & (trace["has_price"] != 0) & (trace["market"] >= 0)
    expected: dict[int, list[int]] = {}
    for step, price in zip(trace["step"][marks].tolist(), trace["price"][marks].tolist()):
        expected.setdefault(step, []).append(price)
    reduced: dict[int, list[int]] = {}
    for event in plot_events(crash):
        if event.kind == "mark":
            reduced.setdefault(event.step, []).append(event.price_ticks)
    assert len(expected) > 5 and any(len(set(p)) > 1 for p in expected.values())
    assert {s: (min(p), max(p)) for s, p in reduced.items()} == \
        {s: (min(p), max(p)) for s, p in expected.items()}
    assert np.all(trace["price"][marks] > 0)


def test_a_sweep_over_an_inverse_profile_is_refused_where_it_is_named_LIQ_INVERSE_1():
    """A sweep's paths and metrics are in the linear price: a venue with an inverse market is
    refused, at the grid value that names it, before anything runs."""
    from liqspec.sweep_config import SweepError, loads_sweep
    text = """
name = "venues"
[grid]
profile = ["binance_usdm", "bybit_inverse"]
[paths.crash]
kind = "shock"
drop = ["0.1"]
steps = 5
step_seconds = 5
"""
    with pytest.raises(SweepError, match=r"bybit_inverse has an inverse market") as error:
        loads_sweep(text)
    assert error.value.path == "grid.profile[1]"


def test_explain_shows_an_inverse_position_in_the_venues_terms_LIQ_INVERSE_3():
    """``liqspec explain`` of an inverse position: the model's lines (coin per lot, the model's
    side) and the venue's terms: the contract side and lots, and the liquidation price in USD,
    exact to the tick at which the trigger flips. BitMEX's trader long 15,000 contracts at 750
    with 1 XBT: liquidated when 1 + 150 x (v(750) - v(p)) < 0.5% x 150 x v(p), v(p) about
    10^12 / p in satoshi: p = 10^12 x 150 x 1.005 / (10^8 + 150 x 13,333,333) = 71,785.7 ticks
    of 0.01 USD, 717.86 USD."""
    import json

    from liqspec.explain import explain_loaded, render_text
    from liqspec.statefile import loads
    document = {"profile": "bitmex_inverse", "marks": {"XBTUSD": "750"}, "insurance_fund": "1",
                "accounts": [{"id": "trader", "quote": "1",
                              "positions": {"XBTUSD": {"size": "150", "entry_price": "750"}}}]}
    report = explain_loaded(loads(json.dumps(document)))
    position = report["accounts"][0]["positions"][0]
    assert position["side"] == "short" and position["venue"]["side"] == "long"
    assert position["venue"]["liquidation_price"]["display"] == "717.86"
    assert position["venue"]["liquidation_price"]["past"] == "price < 717.86"
    text = render_text(report)
    assert "inverse, held as the coin market" in text
    assert "venue terms [LIQ-INVERSE-3]: long 150 lots, mark about 750.00; liquidation price " \
           "717.86 (" in text  # BitMEX prints at its venue tick: no second price
    assert position["venue"]["liquidation_price"]["at_order_tick"] == "717.86"


def test_explain_prints_bybits_thresholds_at_its_order_tick_LIQ_INVERSE_3():
    """On a market whose order tick is coarser than its venue tick (Bybit BTCUSD, 0.5 USD),
    ``explain`` gives a threshold exactly and as printed at the order tick, rounded up for a
    contract long: 10,000 contracts at 8,000 USD (1.25 BTC) with 0.1 BTC isolated go bankrupt
    at 10,000 / 1.35 = 7,407.407 USD, shown as 7407.4 at the venue's 0.1 and printed as 7407.5
    at its 0.5 USD tick."""
    import json

    from liqspec.explain import explain_loaded, render_text
    from liqspec.statefile import loads
    document = {"profile": "bybit_inverse", "marks": {"BTCUSD": "8000"}, "insurance_fund": "1",
                "accounts": [{"id": "trader", "quote": "0.1", "isolated_market": "BTCUSD",
                              "positions": {"BTCUSD": {"size": "10000",
                                                       "entry_price": "8000"}}}]}
    report = explain_loaded(loads(json.dumps(document)))
    terms = report["accounts"][0]["positions"][0]["venue"]
    assert terms["bankruptcy_price"]["display"] == "7407.4"
    assert terms["bankruptcy_price"]["at_order_tick"] == "7407.5"
    assert "bankruptcy price 7407.4, printed 7407.5 at the order tick" in render_text(report)
