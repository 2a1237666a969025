"""Trigger, sizing, execution, fee, insurance payout, write-off and backstop
(LIQ-TRIGGER-1/2, LIQ-EXEC-1/2, LIQ-FEE-1, LIQ-INSURANCE-1/2, LIQ-SOCIAL-1, LIQ-BACKSTOP-1,
LIQ-INV-5/6/7).

The running example: alice is long 1 BTC (1,000 lots) bought at 50,000 with 1,000 USDT, so her
quote is -49,000 and her bankruptcy price is 49,000. At a mark of 49,100 her equity is 100 USDT and
her maintenance is 0.4% x 49,100 = 196.4 USDT: liquidatable.
"""

import pytest

from liqspec.reference import (INSURANCE_FUND, SOCIALIZED_LOSS, Account, Rejection, ResultCode,
                               liquidation_size_lots)
from liqspec.reference.invariants import all_violations
from liqspec.testing import open_long, example_profile, usdt, venue


def alice_long(impl, profile=None, insurance="0", lp_deposit="1000000", mark=491_000):
    state = venue(profile, deposits={"alice": usdt("1000"), "bob": usdt("1000000"),
                                     "lp": usdt(lp_deposit)},
                  insurance_quote=usdt(insurance), backstop_vault="vault")
    open_long(state, "alice", "bob", "BTC", 1000)
    impl.set_mark(state, "BTC", mark)
    return state


def with_account(quote, positions, profile=None, mark=490_000):
    state = venue(profile, marks={"BTC": mark, "ETH": 300_000})
    state.accounts["x"] = Account("x", quote=quote, positions=positions)
    return state, state.accounts["x"]


def test_trigger_is_strict_at_equality_LIQ_TRIGGER_1(impl):
    # at 49,000 the maintenance is 196 USDT; equity = quote + 49,000
    state, x = with_account(-usdt("48804"), {"BTC": 1000})
    assert impl.equity_quote(x, state.marks, state.profile) == usdt("196")
    assert not impl.is_liquidatable(x, state)  # equal: not liquidated (LIQ-INV-5)
    x.quote -= 1  # one quantum below
    assert impl.is_liquidatable(x, state)


def test_flat_account_is_never_liquidatable_LIQ_TRIGGER_1(impl):
    state, x = with_account(-5, {})  # no positions: maintenance is 0
    assert not impl.is_liquidatable(x, state)


def test_backstop_threshold_two_thirds_exact_LIQ_TRIGGER_2(impl):
    profile = example_profile(backstop_ratio=(2, 3))
    # MM = 196 USDT at 49,000; 2/3 of it is 130.666..: 130.666666 is below, 130.666667 is not
    state, x = with_account(-usdt("49000") + usdt("130.666666"), {"BTC": 1000}, profile)
    assert impl.is_below_backstop(x, state)
    x.quote += 1
    assert not impl.is_below_backstop(x, state)
    assert impl.is_liquidatable(x, state)
    state, y = with_account(-usdt("49000") + usdt("100"), {"BTC": 1000})  # no backstop policy
    assert not impl.is_below_backstop(y, state)


def test_size_full_policy_LIQ_EXEC_1(impl):
    state = alice_long(impl)
    assert liquidation_size_lots(state.account("alice"), "BTC", state) == 1000


def test_size_portion_policy_LIQ_EXEC_1():
    profile = example_profile(liquidation_size="portion", portion_ppm=200_000,
                          portion_threshold_quote=usdt("100000"))
    state, big = with_account(0, {"BTC": 3001}, profile, mark=500_000)  # 150,050 notional
    assert liquidation_size_lots(big, "BTC", state) == 601  # ceil(3001 * 20%) = ceil(600.2)
    state, small = with_account(0, {"BTC": -2000}, profile, mark=500_000)  # 100,000: not above
    assert liquidation_size_lots(small, "BTC", state) == 2000


def test_size_tier_step_policy_LIQ_EXEC_1():
    profile = example_profile(liquidation_size="tier_step")
    # 6 BTC at 50,000 = 300,000 (tier 3, floor 250,000): keep the most lots below 250,000,
    # i.e. ceil(250,000 / 50) - 1 = 4,999 lots, so close 1,001
    state, x = with_account(0, {"BTC": 6000}, profile, mark=500_000)
    assert liquidation_size_lots(x, "BTC", state) == 1001
    state, y = with_account(0, {"BTC": 900}, profile, mark=500_000)  # tier 1: all of it
    assert liquidation_size_lots(y, "BTC", state) == 900


def test_fee_capped_by_surplus_LIQ_FEE_1_LIQ_INV_7(impl):
    state = alice_long(impl)
    receipt = impl.liquidate(state, "alice", "BTC", "lp", 491_000)
    # fill at 49,100: alice's quote -49,000 + 49,100 = 100; fee min(1.25% x 49,100 = 613.75, 100)
    assert receipt.amounts["fee"] == usdt("100") == receipt.amounts["surplus"]
    assert state.holders[INSURANCE_FUND] == usdt("100")
    assert state.account("alice").quote == 0 and state.account("alice").is_flat()
    assert state.account("lp").positions == {"BTC": 1000}
    assert all_violations(state) == []


def test_fee_at_rate_when_surplus_allows_LIQ_FEE_1(impl):
    state = alice_long(impl)
    receipt = impl.liquidate(state, "alice", "BTC", "lp", 497_000)  # a fill above the mark
    # quote 700 after the fill; fee 1.25% x 49,700 = 621.25 (exact) < 700
    assert receipt.amounts["fee"] == usdt("621.25")
    assert state.account("alice").quote == usdt("700") - usdt("621.25")


def test_fee_rounds_up_LIQ_FEE_1_LIQ_ROUND_1(impl):
    state = alice_long(impl)
    receipt = impl.liquidate(state, "alice", "BTC", "lp", 497_000, lots=1)
    # one lot at 49,700 = 49.7 USDT; 1.25% of it = 0.62125 USDT = 621,250 quantums (exact)
    assert receipt.amounts["fee"] == 621_250
    state = alice_long(impl)
    receipt = impl.liquidate(state, "alice", "BTC", "lp", 497_001, lots=1)
    # 49.7001 USDT x 1.25% = 621,251.25 quantums: rounded up to 621,252
    assert receipt.amounts["fee"] == 621_252


def test_all_surplus_fee_takes_everything_above_bankruptcy_LIQ_FEE_1(impl):
    state = alice_long(impl, example_profile(fee_policy="all_surplus"))
    receipt = impl.liquidate(state, "alice", "BTC", "lp", 491_000)
    # bankruptcy 49,000, fill 49,100: 1 BTC x 100 = 100 USDT to the fund (BitMEX, Bybit)
    assert receipt.amounts["fee"] == usdt("100")
    state = alice_long(impl, example_profile(fee_policy="all_surplus"))
    receipt = impl.liquidate(state, "alice", "BTC", "lp", 497_000, lots=500)
    # half the position at 49,700: gain over bankruptcy 0.5 x 700 = 350, surplus is larger
    assert receipt.amounts["fee"] == usdt("350")


def test_fill_worse_than_bankruptcy_paid_by_fund_LIQ_INSURANCE_1(impl):
    state = alice_long(impl, insurance="250")
    receipt = impl.liquidate(state, "alice", "BTC", "lp", 489_000)  # 100 below bankruptcy (49,000)
    assert receipt.amounts["fee"] == 0
    assert receipt.amounts["fund_paid"] == usdt("100")
    assert state.holders[INSURANCE_FUND] == usdt("150")
    assert state.account("alice").quote == 0
    assert all_violations(state) == []


def test_fund_never_below_zero_remainder_written_off_LIQ_INSURANCE_1_LIQ_SOCIAL_1(impl):
    state = alice_long(impl, insurance="60")
    receipt = impl.liquidate(state, "alice", "BTC", "lp", 489_000)
    assert receipt.amounts["fund_paid"] == usdt("60")
    assert receipt.amounts["written_off"] == usdt("40")
    assert state.holders[INSURANCE_FUND] == 0  # LIQ-INV-3
    assert state.holders[SOCIALIZED_LOSS] == -usdt("40")  # recorded bad debt (LIQ-INV-4)
    assert state.account("alice").quote == 0


def test_insurance_top_up_LIQ_INSURANCE_2(impl):
    state = venue()
    impl.fund_insurance(state, usdt("5"))
    assert state.holders[INSURANCE_FUND] == usdt("5") and state.holders["outside"] == -usdt("5")


def test_healthy_account_is_not_liquidated_LIQ_INV_5_LIQ_EXEC_2(impl):
    state = alice_long(impl, mark=500_000)
    before = state.snapshot()
    with pytest.raises(Rejection) as error:
        impl.liquidate(state, "alice", "BTC", "lp", 500_000)
    assert error.value.code == ResultCode.NOT_LIQUIDATABLE
    assert state.snapshot() == before


def test_size_beyond_policy_rejected_LIQ_EXEC_2(impl):
    state = alice_long(impl, example_profile(liquidation_size="portion", portion_ppm=100_000,
                                   portion_threshold_quote=0))
    before = state.snapshot()
    with pytest.raises(Rejection) as error:
        impl.liquidate(state, "alice", "BTC", "lp", 491_000, lots=101)  # the policy allows 100
    assert error.value.code == ResultCode.SIZE_EXCEEDS_POLICY
    assert state.snapshot() == before
    receipt = impl.liquidate(state, "alice", "BTC", "lp", 491_000)
    assert receipt.amounts["lots"] == 100 and state.account("alice").positions == {"BTC": 900}


def test_counterparty_must_meet_initial_margin_LIQ_EXEC_2_LIQ_TRADE_2(impl):
    state = alice_long(impl, lp_deposit="10")  # 10 USDT cannot carry 1 BTC long (IM 491)
    before = state.snapshot()
    with pytest.raises(Rejection) as error:
        impl.liquidate(state, "alice", "BTC", "lp", 491_000)
    assert error.value.code == ResultCode.INSUFFICIENT_INITIAL_MARGIN
    assert state.snapshot() == before
    impl.liquidate(state, "alice", "BTC", "vault", 491_000)  # a backstop vault has no margin check
    assert state.account("vault").positions == {"BTC": 1000}


def test_partial_step_progresses_LIQ_INV_6(impl):
    state = alice_long(impl)
    impl.liquidate(state, "alice", "BTC", "lp", 491_000, lots=400)
    assert state.account("alice").positions == {"BTC": 600}
    assert state.account("lp").positions == {"BTC": 400}


def test_backstop_takes_positions_and_remaining_equity_LIQ_BACKSTOP_1(impl):
    profile = example_profile(backstop_ratio=(2, 3))
    state = alice_long(impl, profile, mark=490_800)  # equity 80 < 2/3 x 196.32
    vault_quote = state.account("vault").quote
    receipt = impl.backstop_liquidate(state, "alice", "vault")
    assert receipt.amounts["taken_quote"] == usdt("80")
    assert state.account("alice").is_flat() and state.account("alice").quote == 0
    assert state.account("vault").positions == {"BTC": 1000}
    # the vault paid 49,080 for the position and received alice's 80 USDT
    assert state.account("vault").quote == vault_quote - usdt("49080") + usdt("80")
    assert all_violations(state) == []


def test_backstop_requires_threshold_and_policy_LIQ_BACKSTOP_1(impl):
    # at 49,150 equity is 150 and maintenance 196.6: liquidatable, but 150 >= 2/3 x 196.6 = 131.07
    state = alice_long(impl, example_profile(backstop_ratio=(2, 3)), mark=491_500)
    assert impl.is_liquidatable(state.account("alice"), state)
    with pytest.raises(Rejection) as error:
        impl.backstop_liquidate(state, "alice", "vault")
    assert error.value.code == ResultCode.NOT_LIQUIDATABLE
    state = alice_long(impl, mark=490_800)
    with pytest.raises(Rejection) as error:
        impl.backstop_liquidate(state, "alice", "vault")
    assert error.value.code == ResultCode.POLICY_FORBIDS
    with pytest.raises(Rejection) as error:
        impl.backstop_liquidate(state, "alice", "lp")
    assert error.value.code == ResultCode.POLICY_FORBIDS  # lp is not a backstop vault


def test_isolated_vault_cannot_take_other_markets_LIQ_BACKSTOP_1_LIQ_ACCOUNT_2(impl):
    state = venue(example_profile(backstop_ratio=(2, 3)), deposits={"alice": usdt("1000"),
                                                                "bob": usdt("100000")})
    impl.open_account(state, "btc-vault", isolated_market="BTC", role="backstop")
    open_long(state, "alice", "bob", "ETH", 1000)  # 10 ETH at 3,000
    impl.set_mark(state, "ETH", 291_000)  # equity 100 < 2/3 x 145.5 (0.5% x 29,100)
    before = state.snapshot()
    with pytest.raises(Rejection) as error:
        impl.backstop_liquidate(state, "alice", "btc-vault")
    assert error.value.code == ResultCode.ISOLATED_MARKET_MISMATCH
    assert state.snapshot() == before
