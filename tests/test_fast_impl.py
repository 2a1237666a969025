"""Every test here runs twice, on liqspec.reference and on liqspec.fast (the ``impl`` fixture, as
CPython's test_decimal runs each test on the C and the Python decimal), comparing results and
the exception types and result codes.

The example venue EX (liqspec.testing): a BTC lot at a BTC tick is worth 100 quote quantums
(1e-6 USDT); BTC tiers [0, 50k) 0.4% / 0.8%, [50k, 250k) 0.5% - 50 / 1% - 100, [250k, 1M) 1% -
1,300 / 2% - 2,600, [1M, ...) 2.5% - 16,300 / 5% - 32,600; ETH one tier 0.5% / 1%. Marks: BTC
50,000.0 (500,000 ticks), ETH 3,000.00 (300,000).
Expected values are hand arithmetic, shown beside each assertion.
"""

import importlib.machinery
from fractions import Fraction

import pytest

import liqspec.fast
from liqspec.reference import (Account, Market, OpenInterestScaling, Overflow, Profile,
                               Rejection, ResultCode, Tier)
from liqspec.reference.arithmetic import INT64_MAX, INT64_MIN
from liqspec.testing import EXAMPLE_MARKS, example_profile, usdt, venue

PROFILE = example_profile()


def account(quote, positions):
    return Account("a", quote=quote, positions=dict(positions))


def state_with(acct, profile=PROFILE, marks=EXAMPLE_MARKS):
    state = venue(profile=profile, marks=marks)
    state.accounts[acct.account_id] = acct
    return state


# -- the extension itself ------------------------------------------------------------------------

def test_fast_is_the_compiled_extension_not_a_fallback():
    """Rule: the design's "no pure-Python fallback" for liqspec.fast."""
    kernels = liqspec.fast._kernels
    assert kernels.__file__.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))
    for name in liqspec.fast.KERNELS:
        function = getattr(liqspec.fast, name)
        assert type(function).__name__ == "cython_function_or_method", name
        assert function is getattr(kernels, name)


# -- equity and requirements (LIQ-MARGIN-2, LIQ-TIER-*) -------------------------------------------

def test_equity_sums_quote_and_every_position_LIQ_MARGIN_2(impl):
    # 8,000 USDT + 0.1 BTC at 51,000 - 1 ETH at 2,900 = 8,000 + 5,100 - 2,900 = 10,200 USDT
    acct = account(usdt("8000"), {"BTC": 100, "ETH": -100})
    marks = {"BTC": 510_000, "ETH": 290_000}
    assert impl.equity_quote(acct, marks, PROFILE) == usdt("10200")


def test_maintenance_at_a_tier_floor_is_continuous_LIQ_TIER_1_LIQ_TIER_2(impl):
    # 1 BTC at 50,000 is exactly tier 2's floor: 0.5% x 50,000 - 50 = 200 (= 0.4% x 50,000)
    assert impl.account_maintenance_margin_quote(account(0, {"BTC": 1000}), EXAMPLE_MARKS,
                                                 PROFILE) == usdt("200")
    # one tick below the floor (49,999.9 USDT) stays in tier 1: 0.4% x 49,999.9 = 199.9996
    below = {"BTC": 499_999, "ETH": 300_000}
    assert impl.account_maintenance_margin_quote(account(0, {"BTC": 1000}), below,
                                                 PROFILE) == 199_999_600
    # 6 BTC = 300,000 USDT, tier 3: 1% x 300,000 - 1,300 = 1,700; plus 1 ETH short, 3,000 in
    # tier 1: 0.5% x 3,000 = 15: 1,715 in all (cross margin sums the positions, LIQ-TIER-5)
    assert impl.account_maintenance_margin_quote(account(0, {"BTC": 6000, "ETH": -100}),
                                                 EXAMPLE_MARKS, PROFILE) == usdt("1715")


def test_half_way_requirement_rounds_up_LIQ_ROUND_1(impl):
    # 1 ETH lot at 1 tick is worth 100 quantums; 0.5% of it is 0.5 quantum, owed: 1
    marks = {"BTC": 1, "ETH": 1}
    assert impl.account_maintenance_margin_quote(account(0, {"ETH": -1}), marks, PROFILE) == 1
    # 3 ticks: 1.5 quantums -> 2
    marks = {"BTC": 1, "ETH": 3}
    assert impl.account_maintenance_margin_quote(account(0, {"ETH": 1}), marks, PROFILE) == 2


def test_initial_margin_with_deduction_LIQ_TIER_3(impl):
    # 1 BTC at 50,000, tier 2: 1% x 50,000 - 100 = 400 (= 0.8% x 50,000: continuous)
    assert impl.account_initial_margin_quote(account(0, {"BTC": 1000}), EXAMPLE_MARKS,
                                             PROFILE) == usdt("400")


def test_open_interest_scaled_initial_margin_LIQ_TIER_4(impl):
    market = Market("BTC", 3, 1, (Tier(0, 4_000, 0, 10_000, 0),),
                    oi_scaling=OpenInterestScaling(0, usdt("1000000")))
    profile = Profile("oi", 6, {"BTC": market})
    # OI half way between the caps: 1% + (100% - 1%) / 2 = 50.5%; x 50,000 = 25,250 USDT
    oi = {"BTC": usdt("500000")}
    assert impl.account_initial_margin_quote(account(0, {"BTC": 1000}), {"BTC": 500_000},
                                             profile, oi) == usdt("25250")


@pytest.mark.parametrize("value", [INT64_MAX - 10**6 - 1, INT64_MAX - 10**6, INT64_MAX - 10**6 + 1,
                                   INT64_MAX - 10**6 + 5, INT64_MAX])
def test_requirement_rounding_near_int64_max_LIQ_ROUND_1(impl, value):
    """A 1-ppm tier and one lot worth one quantum per tick: the requirement is ceil(value / 10^6),
    computed in 64 bits below INT64_MAX - 10^6 and in 128 bits above; both must round up."""
    market = Market("X", 0, 0, (Tier(0, 1, 0, 1, 0),))
    profile = Profile("edge", 0, {"X": market})
    # ceil(v / 10^6) = v // 10^6 + 1, since no v in the list is a multiple of 10^6
    assert value % 10**6 != 0
    assert impl.account_maintenance_margin_quote(account(0, {"X": 1}), {"X": value},
                                                 profile) == value // 10**6 + 1


def test_equity_at_the_int64_limits_LIQ_DOMAIN_1(impl):
    # one lot at INT64_MAX // 100 ticks is worth 9,223,372,036,854,775,800 quantums
    top = INT64_MAX // 100
    marks = {"BTC": top, "ETH": 1}
    assert impl.equity_quote(account(7, {"BTC": 1}), marks, PROFILE) == INT64_MAX
    assert impl.equity_quote(account(-8, {"BTC": -1}), marks, PROFILE) == INT64_MIN
    with pytest.raises(Overflow):  # the total leaves int64 by one
        impl.equity_quote(account(8, {"BTC": 1}), marks, PROFILE)
    with pytest.raises(Overflow):
        impl.equity_quote(account(-9, {"BTC": -1}), marks, PROFILE)
    with pytest.raises(Overflow):  # the position value itself leaves int64
        impl.equity_quote(account(0, {"BTC": 1}), {"BTC": top + 1, "ETH": 1}, PROFILE)
    with pytest.raises(Overflow):
        impl.account_maintenance_margin_quote(account(0, {"BTC": 1}), {"BTC": top + 1,
                                                                       "ETH": 1}, PROFILE)


# -- triggers (LIQ-TRIGGER-1/2) --------------------------------------------------------------------

def test_liquidation_is_strict_LIQ_TRIGGER_1(impl):
    # 1 BTC at 50,000 needs 200 USDT of maintenance; equity = quote + 50,000
    at = account(-usdt("49800"), {"BTC": 1000})  # equity 200 = MM: not liquidatable
    below = account(-usdt("49800") - 1, {"BTC": 1000})  # one quantum short of MM
    assert not impl.is_liquidatable(at, state_with(at))
    assert impl.is_liquidatable(below, state_with(below))
    flat = account(-5, {})  # no requirement, nothing to liquidate, even with negative equity
    assert not impl.is_liquidatable(flat, state_with(flat))


def test_backstop_threshold_two_thirds_LIQ_TRIGGER_2(impl):
    profile = example_profile(backstop_ratio=(2, 3))
    # MM 200 USDT; below the backstop iff 3 x equity < 2 x 200,000,000 = 400,000,000 quantums
    below = account(133_333_333 - usdt("50000"), {"BTC": 1000})  # 399,999,999 < 400,000,000
    above = account(133_333_334 - usdt("50000"), {"BTC": 1000})  # 400,000,002
    assert impl.is_below_backstop(below, state_with(below, profile))
    assert not impl.is_below_backstop(above, state_with(above, profile))
    assert not impl.is_below_backstop(below, state_with(below))  # no backstop in the profile


# -- prices (LIQ-PRICE-1/2/3) ----------------------------------------------------------------------

def test_isolated_long_liquidation_price_by_hand_LIQ_PRICE_2(impl):
    # long 1 BTC, quote -49,000: P - 49,000 = 0.004 P -> P = 49,000 / 0.996 = 49,196.787...
    price = impl.liquidation_price(account(-usdt("49000"), {"BTC": 1000}), "BTC", EXAMPLE_MARKS,
                                   PROFILE)
    assert price.exact == Fraction(490_000 * 1000, 996)
    assert price.ticks == 491_968  # rounded up for a long (LIQ-PRICE-3)


def test_short_liquidation_price_in_the_next_tier_LIQ_PRICE_2(impl):
    # short 1 BTC, quote 51,000: tier 2 (0.5% - 50): 51,000 - P = 0.005 P - 50 -> 51,050 / 1.005
    price = impl.liquidation_price(account(usdt("51000"), {"BTC": -1000}), "BTC", EXAMPLE_MARKS,
                                   PROFILE)
    assert price.exact == Fraction(510_500 * 1000, 1005)
    assert price.ticks == 507_960  # 50,796.019... rounded down for a short


def test_liquidation_price_switches_tier_LIQ_PRICE_2(impl):
    # long 6 BTC, quote -294,000: tier 3 (1% - 1,300): 6P - 294,000 = 0.06P - 1,300
    # -> P = 292,700 / 5.94 = 49,276.09 (notional 295,656: inside tier 3)
    price = impl.liquidation_price(account(-usdt("294000"), {"BTC": 6000}), "BTC", EXAMPLE_MARKS,
                                   PROFILE)
    assert price.exact == Fraction(2_927_000 * 100, 594)


def test_liquidation_price_exactly_on_a_tier_floor_LIQ_PRICE_2(impl):
    # long 1 BTC whose threshold is exactly 50,000 (tier 2's floor): quote + 50,000 = 200
    price = impl.liquidation_price(account(-usdt("49800"), {"BTC": 1000}), "BTC", EXAMPLE_MARKS,
                                   PROFILE)
    assert price.exact == 500_000 and price.ticks == 500_000


def test_cross_liquidation_price_holds_other_markets_at_their_marks_LIQ_PRICE_2(impl):
    # long 0.1 BTC, short 1 ETH, quote 0: C = 0 - 3,000 = -3,000, M_o = 0.5% x 3,000 = 15.
    # 0.1 P - 3,000 = 15 + 0.0004 P -> P = 3,015 / 0.0996 = 30,271.08... (tier 1: 3,027 notional)
    price = impl.liquidation_price(account(0, {"BTC": 100, "ETH": -100}), "BTC", EXAMPLE_MARKS,
                                   PROFILE)
    assert price.exact == Fraction(30_150 * 10**4, 996)  # 3,015 / 0.0996 USDT in 0.1-USDT ticks
    assert price.ticks == 302_711


def test_bankruptcy_prices_and_no_threshold_LIQ_PRICE_1(impl):
    assert impl.bankruptcy_price(account(-usdt("49000"), {"BTC": 1000}), "BTC", EXAMPLE_MARKS,
                                 PROFILE).exact == 490_000
    short = impl.bankruptcy_price(account(usdt("50500.05"), {"BTC": -1000}), "BTC", EXAMPLE_MARKS,
                                  PROFILE)
    assert short.exact == Fraction(505_000_5, 10) and short.ticks == 505_000  # floors
    funded = account(usdt("1"), {"BTC": 1000})  # never bankrupt nor liquidated: 0
    assert impl.bankruptcy_price(funded, "BTC", EXAMPLE_MARKS, PROFILE).ticks == 0
    assert impl.liquidation_price(funded, "BTC", EXAMPLE_MARKS, PROFILE).exact == 0


def test_price_of_a_missing_position_is_rejected_LIQ_PRICE_1(impl):
    with pytest.raises(Rejection) as raised:
        impl.liquidation_price(account(0, {"ETH": 1}), "BTC", EXAMPLE_MARKS, PROFILE)
    assert raised.value.code == ResultCode.NO_POSITION


def test_price_overflow_in_another_market_LIQ_DOMAIN_1(impl):
    # the ETH position's value at the mark leaves int64: both raise Overflow
    huge = {"BTC": 500_000, "ETH": INT64_MAX}
    with pytest.raises(Overflow):
        impl.bankruptcy_price(account(0, {"BTC": 1, "ETH": 2}), "BTC", huge, PROFILE)


# -- funding (LIQ-FUNDING-1) -----------------------------------------------------------------------

def test_funding_owed_rounds_toward_the_venue_LIQ_FUNDING_1(impl):
    state = venue(marks={"BTC": 500_000, "ETH": 1})
    state.accounts["long"] = Account("long", positions={"BTC": 1000, "ETH": 1})
    state.accounts["short"] = Account("short", positions={"BTC": -1000, "ETH": -1})
    # 1 BTC at 50,000 at 0.01%: 5 USDT each way
    assert impl.funding_owed(state, "BTC", 100) == {"long": usdt("5"), "short": -usdt("5")}
    # 1 ETH lot at 1 tick = 100 quantums at 0.5%: 0.5 quantum; owing rounds up, being owed down
    assert impl.funding_owed(state, "ETH", 5_000) == {"long": 1, "short": 0}


def test_funding_rate_is_validated_first_LIQ_DOMAIN_3(impl):
    state = venue()
    with pytest.raises(Exception) as raised:
        impl.funding_owed(state, "BTC", 1_000_001)
    assert raised.value.code == ResultCode.INVALID_RATE
