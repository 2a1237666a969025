"""Notional, equity, PnL, cost basis, tiers and requirements (LIQ-MARGIN-*, LIQ-TIER-*).

The example venue EX (liqspec.testing): one BTC lot (0.001 BTC) at one tick (0.1 USDT) is worth
100 quote quantums; BTC tiers: [0, 50k) 0.4%/0.8%, [50k, 250k) 0.5%/1% (maintenance deduction 50
USDT), [250k, 1M) 1%/2% (deduction 50 + 250,000 * 0.5% = 1,300 USDT: Binance's published cum
rule), [1M, ...) 2.5%/5% (deduction 16,300 USDT).
"""

import pytest

from liqspec.reference import (MalformedState, Market, OpenInterestScaling, Tier,
                               initial_margin_quote, maintenance_margin_quote, notional_quote,
                               position_value_quote, tier_for, unrealized_pnl_quote)
from liqspec.reference.margin import oi_scaled_initial_margin_ppm
from liqspec.reference.profile import validate_market
from liqspec.testing import USDT, open_long, example_profile, usdt, venue

PROFILE = example_profile()
BTC = PROFILE.markets["BTC"]
ETH = PROFILE.markets["ETH"]


def test_position_value_is_exact_and_signed_LIQ_MARGIN_1():
    # 1 BTC = 1000 lots at 50,000.0 USDT = 500,000 ticks: 1000 * 500000 * 100 = 5e10 = 50,000 USDT
    assert position_value_quote(1000, 500_000, BTC) == usdt("50000")
    assert position_value_quote(-1000, 500_000, BTC) == -usdt("50000")
    assert notional_quote(-1000, 500_000, BTC) == usdt("50000")


def test_equity_sums_quote_and_every_position_LIQ_MARGIN_2(impl):
    state = venue(deposits={"alice": usdt("10000"), "bob": usdt("100000")})
    open_long(state, "alice", "bob", "BTC", 100)  # 0.1 BTC at 50,000: alice pays 5,000
    open_long(state, "bob", "alice", "ETH", 100)  # alice short 1 ETH at 3,000: receives 3,000
    alice = state.account("alice")
    assert alice.quote == usdt("8000")  # 10,000 - 5,000 + 3,000
    impl.set_mark(state, "BTC", 510_000)  # +1,000 USDT/BTC on 0.1 BTC: +100
    impl.set_mark(state, "ETH", 290_000)  # -100 USDT/ETH on a 1 ETH short: +100
    # 8,000 + 0.1 * 51,000 - 1 * 2,900 = 10,200
    assert impl.equity_quote(alice, state.marks, state.profile) == usdt("10200")


def test_unrealized_pnl_long_and_short_LIQ_MARGIN_3(impl):
    state = venue(deposits={"alice": usdt("10000"), "bob": usdt("100000")})
    open_long(state, "alice", "bob", "BTC", 1000)
    impl.set_mark(state, "BTC", 490_000)
    # long 1 BTC from 50,000 to 49,000: -1,000; the short gains it
    assert unrealized_pnl_quote(state.account("alice"), "BTC", 490_000, BTC) == -usdt("1000")
    assert unrealized_pnl_quote(state.account("bob"), "BTC", 490_000, BTC) == usdt("1000")


def test_cost_basis_add_reduce_flip_LIQ_MARGIN_4():
    state = venue(deposits={"alice": usdt("50000"), "bob": usdt("500000")})
    open_long(state, "alice", "bob", "BTC", 1000, 500_000)  # 1 BTC at 50,000
    open_long(state, "alice", "bob", "BTC", 1000, 520_000)  # 1 BTC at 52,000
    alice = state.account("alice")
    assert alice.cost_quote["BTC"] == usdt("102000")  # average entry 51,000
    open_long(state, "bob", "alice", "BTC", 1000, 530_000)  # sell 1: keeps half the cost
    assert alice.cost_quote["BTC"] == usdt("51000")
    bob = state.account("bob")
    assert bob.cost_quote["BTC"] == -usdt("51000")  # short 1 BTC of the 2 sold at 51,000 average
    open_long(state, "bob", "alice", "BTC", 2000, 530_000)  # sell 2: now short 1 at 53,000
    assert alice.positions["BTC"] == -1000
    assert alice.cost_quote["BTC"] == -usdt("53000")
    assert bob.positions["BTC"] == 1000 and bob.cost_quote["BTC"] == usdt("53000")
    open_long(state, "alice", "bob", "BTC", 1000, 530_000)  # flat: no cost left
    assert "BTC" not in alice.cost_quote and alice.is_flat()


def test_cost_basis_of_a_flip_rounds_down_LIQ_MARGIN_4():
    """A flip whose cash is not a whole number of ticks (an exact value, as at a bankruptcy
    price): alice long 1 lot sells 3 lots for 100 quantums, so s = 1, delta = -3, s' = -2 and
    t = -100 (she was paid 100): c' = floor(-100 x 2 / 3) = floor(-66.67) = -67. bob, short 1
    lot, buys them: t = +100, c' = floor(100 x 2 / 3) = 66."""
    from liqspec.reference.ledger import fill
    from liqspec.reference.state import atomic
    state = venue(deposits={"alice": usdt("1000"), "bob": usdt("1000")})
    open_long(state, "alice", "bob", "BTC", 1)
    with atomic(state):
        fill(state, "BTC", "bob", "alice", 3, 100, None, "LIQ-LEDGER-2")
    assert state.account("alice").positions == {"BTC": -2}
    assert state.account("alice").cost_quote == {"BTC": -67}
    assert state.account("bob").positions == {"BTC": 2}
    assert state.account("bob").cost_quote == {"BTC": 66}


@pytest.mark.parametrize("notional_usdt, tier_index", [
    ("0", 0), ("49999.999999", 0), ("50000", 1), ("249999.999999", 1), ("250000", 2),
    ("999999.999999", 2), ("1000000", 3), ("1e9", 3)])
def test_tier_selected_by_floor_LIQ_TIER_1(notional_usdt, tier_index):
    assert tier_for(BTC, usdt(notional_usdt)) is BTC.tiers[tier_index]


@pytest.mark.parametrize("notional_usdt, maintenance_usdt", [
    ("10000", "40"),  # 0.4% of 10,000
    ("50000", "200"),  # tier 2 floor: 0.5% * 50,000 - 50 = 200 = 0.4% * 50,000 (continuous)
    ("100000", "450"),  # 0.5% * 100,000 - 50
    ("250000", "1200"),  # tier 3 floor: 1% * 250,000 - 1,300 = 1,200 = 0.5% * 250,000 - 50
    ("300000", "1700"),  # 1% * 300,000 - 1,300
])
def test_maintenance_margin_with_deduction_LIQ_TIER_2(notional_usdt, maintenance_usdt):
    assert maintenance_margin_quote(BTC, usdt(notional_usdt)) == usdt(maintenance_usdt)


def test_maintenance_margin_rounds_up_and_respects_minimum_LIQ_TIER_2():
    assert maintenance_margin_quote(BTC, 1) == 1  # ceil(0.004)
    assert maintenance_margin_quote(BTC, 251) == 2  # ceil(1.004)
    assert maintenance_margin_quote(BTC, 0) == 0
    floored = Market("X", 3, 1, BTC.tiers, min_maint_margin_quote=usdt("5"))
    example_profile(markets={"X": floored})  # fills in value_per_lot_tick and validates
    assert maintenance_margin_quote(floored, usdt("100")) == usdt("5")  # 0.4 < 5
    assert maintenance_margin_quote(floored, usdt("10000")) == usdt("40")


def test_initial_margin_with_deduction_LIQ_TIER_3():
    assert initial_margin_quote(BTC, usdt("10000")) == usdt("80")  # 0.8%
    # 1% * 100,000 - 50,000 * (1% - 0.8%) = 1,000 - 100 = 900
    assert initial_margin_quote(BTC, usdt("100000")) == usdt("900")
    assert initial_margin_quote(BTC, 0) == 0


def test_oi_scaled_initial_margin_LIQ_TIER_4():
    tier = Tier(0, 50_000, 0, 200_000)
    market = Market("S", 3, 1, (tier,), oi_scaling=OpenInterestScaling(usdt("1000000"),
                                                                       usdt("2000000")))
    example_profile(markets={"S": market})
    assert oi_scaled_initial_margin_ppm(market, tier, usdt("1000000")) == 200_000  # at lower cap
    assert oi_scaled_initial_margin_ppm(market, tier, usdt("2000000")) == 1_000_000  # at upper cap
    # a quarter of the way: 20% + 80% / 4 = 40%
    assert oi_scaled_initial_margin_ppm(market, tier, usdt("1250000")) == 400_000
    # 20% + 80% * 1/3 = 46.6666..% floored to 466,666 ppm (a rate, floored; the amount rounds up)
    third = usdt("1000000") + usdt("1000000") // 3
    assert oi_scaled_initial_margin_ppm(market, tier, third) == 466_666
    # 10,000 notional at 466,666 ppm: 4,666.66 USDT, exact
    assert initial_margin_quote(market, usdt("10000"), third) == usdt("4666.66")


def test_account_requirements_sum_positions_LIQ_TIER_5(impl):
    state = venue(deposits={"alice": usdt("10000"), "bob": usdt("1000000")})
    open_long(state, "alice", "bob", "BTC", 1000)  # 50,000 notional: MM 200, IM 400 (1% - 100)
    open_long(state, "bob", "alice", "ETH", 100)  # 3,000 notional: MM 15, IM 30
    alice = state.account("alice")
    assert impl.account_maintenance_margin_quote(alice, state.marks, state.profile) == usdt("215")
    assert impl.account_initial_margin_quote(alice, state.marks, state.profile) == usdt("430")


def test_free_collateral_is_equity_less_initial_LIQ_MARGIN_5(impl):
    state = venue(deposits={"alice": usdt("10000"), "bob": usdt("1000000")})
    open_long(state, "alice", "bob", "BTC", 1000)
    assert impl.free_collateral_quote(state, state.account("alice")) == usdt("10000") - usdt("400")


@pytest.mark.parametrize("tiers, message", [
    ((), "first tier"),
    ((Tier(1, 4000, 0, 8000),), "first tier"),
    ((Tier(0, 4000, 0, 8000), Tier(usdt("50000"), 5000, usdt("49"), 10000, usdt("100"))),
     "continuous"),
    ((Tier(0, 4000, 0, 8000), Tier(0, 5000, 0, 10000)), "increase"),
    ((Tier(0, 0, 0, 8000),), "maint_margin_ppm"),
    ((Tier(0, 5000, 0, 4000),), "init_margin_ppm"),
])
def test_malformed_tier_tables_are_rejected_LIQ_DOMAIN_2(tiers, message):
    with pytest.raises(MalformedState, match=message):
        validate_market(Market("X", 3, 1, tiers))


def test_usdt_helper_matches_quote_decimals():
    assert USDT == usdt("1") == 10**6
