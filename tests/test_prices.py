"""Bankruptcy and liquidation prices (LIQ-PRICE-1/2/3).

The decisive property: the closed-form threshold agrees with the trigger itself (LIQ-TRIGGER-1,
equity < maintenance) at every tick, including across tier boundaries and in cross margin.
"""

from fractions import Fraction

from hypothesis import assume, given
from hypothesis import strategies as st

from liqspec.reference import Account
from liqspec.reference.prices import round_toward_venue
from liqspec.testing import EXAMPLE_MARKS, example_profile, usdt, venue

PROFILE = example_profile()


def account(quote, positions, costs=None):
    return Account("a", quote=quote, positions=dict(positions), cost_quote=dict(costs or {}))


def liquidatable_at(impl, acct, market_id, mark, base_marks=EXAMPLE_MARKS):
    state = venue(marks=dict(base_marks, **{market_id: mark}))
    state.accounts["a"] = acct
    return impl.is_liquidatable(acct, state)


def test_isolated_long_liquidation_price_by_hand_LIQ_PRICE_2(impl):
    # long 1 BTC with 1,000 USDT of margin: quote = 1,000 - 50,000 = -49,000.
    # Tier 1 (0.4%): P - 49,000 = 0.004 P  ->  P = 49,000 / 0.996 = 49,196.787...
    acct = account(-usdt("49000"), {"BTC": 1000})
    price = impl.liquidation_price(acct, "BTC", EXAMPLE_MARKS, PROFILE)
    assert price.exact == Fraction(490_000 * 1000, 996)  # 49,000 / 0.996 USDT in 0.1-USDT ticks
    assert price.ticks == 491_968  # 49,196.8 rounded up for a long
    assert liquidatable_at(impl, acct, "BTC", 491_967)
    assert not liquidatable_at(impl, acct, "BTC", 491_968)


def test_short_liquidation_price_by_hand_LIQ_PRICE_2(impl):
    # short 1 BTC with 1,000 USDT: quote = 51,000. Above 50,000 the notional is in tier 2
    # (0.5% - 50): 51,000 - P = 0.005 P - 50 -> P = 51,050 / 1.005 = 50,796.019...
    acct = account(usdt("51000"), {"BTC": -1000})
    price = impl.liquidation_price(acct, "BTC", EXAMPLE_MARKS, PROFILE)
    assert price.exact == Fraction(510_500 * 1000, 1005)
    assert price.ticks == 507_960  # 50,796.0 rounded down for a short
    assert liquidatable_at(impl, acct, "BTC", 507_961)
    assert not liquidatable_at(impl, acct, "BTC", 507_960)


def test_liquidation_price_switches_tier_LIQ_PRICE_2(impl):
    # long 6 BTC with 6,000 USDT: quote = 6,000 - 300,000 = -294,000.
    # Tier 3 (1%, deduction 1,300): 6P - 294,000 = 0.06P - 1,300 -> P = 292,700 / 5.94 = 49,276.09,
    # notional 295,656: inside tier 3. The tier-2 root (6P - 294,000 = 0.03P - 50 -> P = 49,237.9,
    # notional 295,427) lies outside tier 2's bracket, so it is not the answer.
    acct = account(-usdt("294000"), {"BTC": 6000})
    price = impl.liquidation_price(acct, "BTC", EXAMPLE_MARKS, PROFILE)
    assert price.exact == Fraction(2_927_000 * 100, 594)  # 292,700 / 5.94 USDT in 0.1-USDT ticks
    assert 6 * price.exact / 10 >= 250_000  # the notional at the root is in tier 3
    assert liquidatable_at(impl, acct, "BTC", price.ticks - 1)
    assert not liquidatable_at(impl, acct, "BTC", price.ticks)


def test_bankruptcy_price_long_and_short_LIQ_PRICE_1(impl):
    long = account(-usdt("49000"), {"BTC": 1000})
    assert impl.bankruptcy_price(long, "BTC", EXAMPLE_MARKS, PROFILE).exact == 490_000  # 49,000.0
    short = account(usdt("50500.05"), {"BTC": -1000})
    bp = impl.bankruptcy_price(short, "BTC", EXAMPLE_MARKS, PROFILE)
    assert bp.exact == Fraction(505_000_5, 10) and bp.ticks == 505_000  # 50,500.05 floors


def test_no_threshold_reports_zero_LIQ_PRICE_1_LIQ_PRICE_2(impl):
    # a fully funded long is never liquidated nor bankrupt at a positive price
    long = account(usdt("1"), {"BTC": 1000})
    assert impl.liquidation_price(long, "BTC", EXAMPLE_MARKS, PROFILE).ticks == 0
    assert impl.bankruptcy_price(long, "BTC", EXAMPLE_MARKS, PROFILE).ticks == 0
    assert not impl.liquidation_price(long, "BTC", EXAMPLE_MARKS, PROFILE).crossed(1)
    # a short with a negative balance is liquidated (and bankrupt) at every positive price
    short = account(-1, {"BTC": -1000})
    assert impl.liquidation_price(short, "BTC", EXAMPLE_MARKS, PROFILE).crossed(1)
    assert impl.bankruptcy_price(short, "BTC", EXAMPLE_MARKS, PROFILE).crossed(1)


def test_rounding_toward_the_venue_LIQ_PRICE_3():
    assert round_toward_venue(Fraction(7, 2), 1) == 4  # long: up
    assert round_toward_venue(Fraction(7, 2), -1) == 3  # short: down
    assert round_toward_venue(Fraction(4), 1) == round_toward_venue(Fraction(4), -1) == 4


positions = st.integers(1, 20_000).flatmap(lambda n: st.sampled_from([n, -n]))


@given(lots=positions, margin=st.integers(0, usdt("100000")),
       entry=st.integers(100_000, 1_000_000), eth_lots=st.integers(-500, 500))
def test_liquidation_price_agrees_with_trigger_at_every_tick_LIQ_PRICE_2(impl, lots, margin, entry,
                                                                          eth_lots):
    """Cross account: BTC position plus an ETH position held at its mark."""
    btc_cost = lots * entry * 100
    eth_cost = eth_lots * EXAMPLE_MARKS["ETH"] * 100
    positions_ = {"BTC": lots}
    if eth_lots:
        positions_["ETH"] = eth_lots
    acct = account(margin - btc_cost - eth_cost, positions_)
    price = impl.liquidation_price(acct, "BTC", EXAMPLE_MARKS, PROFILE)
    for mark in {price.ticks - 1, price.ticks, price.ticks + 1, entry}:
        if mark > 0:
            assert liquidatable_at(impl, acct, "BTC", mark) == price.crossed(mark), mark


@given(lots=positions, margin=st.integers(-usdt("1000"), usdt("100000")),
       entry=st.integers(100_000, 1_000_000))
def test_bankruptcy_price_agrees_with_equity_sign_LIQ_PRICE_1(impl, lots, margin, entry):
    acct = account(margin - lots * entry * 100, {"BTC": lots})
    price = impl.bankruptcy_price(acct, "BTC", EXAMPLE_MARKS, PROFILE)
    assume(price.ticks > 1)
    for mark in (price.ticks - 1, price.ticks, price.ticks + 1):
        equity = impl.equity_quote(acct, dict(EXAMPLE_MARKS, BTC=mark), PROFILE)
        assert (equity < 0) == price.crossed(mark), mark


def test_display_rounding_modes_LIQ_PRICE_4():
    from liqspec.reference.prices import round_for_display
    half = Fraction(4626650, 10_000)  # 462.665
    assert round_for_display(half, 2, "half_up") == "462.67"
    assert round_for_display(half, 2, "half_even") == "462.66"
    assert round_for_display(half, 2, "down") == "462.66"
    assert round_for_display(-half, 2, "half_up") == "-462.67"
    assert round_for_display(Fraction(-1, 3), 2, "down") == "-0.33"
    assert round_for_display(Fraction(7), 0, "half_up") == "7"


def test_display_price_uses_the_profiles_rounding_and_market_decimals_LIQ_PRICE_4():
    from liqspec.reference.prices import display_price
    # a BTC threshold of 491,967.5 ticks is 49,196.75 USDT; BTC prints 1 decimal
    exact = Fraction(983_935, 2)
    assert display_price(exact, PROFILE.markets["BTC"], PROFILE) == "49196.8"  # half_up default
    even = example_profile(display_rounding="half_even")
    assert display_price(exact, even.markets["BTC"], even) == "49196.8"  # .75 -> .8 (8 is even)
    down = example_profile(display_rounding="down")
    assert display_price(exact, down.markets["BTC"], down) == "49196.7"


def test_liquidation_price_on_the_minimum_requirement_LIQ_PRICE_2(impl):
    """BTC with a 5 USDT minimum maintenance requirement. Long 1 lot (0.001 BTC) from 50,000
    with 10 USDT: quote 10 - 50 = -40 USDT. The tiered requirement, 0.4% x 0.001 P, stays below
    5 USDT at any price near here, so the minimum piece decides: -40 + 0.001 P = 5 ->
    P = 45,000.0 USDT = 450,000 ticks (exact). At 449,999 ticks equity is -40,000,000 +
    449,999 x 100 = 4,999,900 < 5,000,000: liquidatable; at 450,000 it is 5,000,000: not."""
    from dataclasses import replace

    from liqspec.reference import Profile, is_liquidatable
    base = example_profile()
    markets = dict(base.markets, BTC=replace(base.markets["BTC"],
                                             min_maint_margin_quote=usdt("5")))
    profile = Profile(name="toy_minimum", quote_decimals=6, markets=markets)
    acct = account(-usdt("40"), {"BTC": 1})
    price = impl.liquidation_price(acct, "BTC", EXAMPLE_MARKS, profile)
    assert price.exact == 450_000 and price.ticks == 450_000
    state = venue(profile, marks=dict(EXAMPLE_MARKS, BTC=449_999))
    state.accounts["a"] = acct
    assert impl.is_liquidatable(acct, state)
    state = venue(profile, marks=dict(EXAMPLE_MARKS, BTC=450_000))
    state.accounts["a"] = acct
    assert not impl.is_liquidatable(acct, state)
