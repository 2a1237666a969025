"""LIQ-RESULT-2: each operation's pure ``check_<operation>`` reports the code the operation itself
reports, in the same order, and changes nothing; liqspec.fast calls the same checks.

The operations are bound from liqspec.reference, so the suite runs this module on both
implementations (tests/conftest.py): the reference's check is compared with each one's operation.
"""

from __future__ import annotations

import pytest

from liqspec.reference import (LiqspecError, ResultCode, apply_funding, backstop_liquidate,
                               deleverage, deposit, fund_insurance, liquidate, market_liquidate,
                               set_mark, share_liquidate, socialize_loss, trade, withdraw)
from liqspec.reference.book import BookShape, check_market_liquidate
from liqspec.reference.cascade import check_replace_book, replace_book
from liqspec.reference.collateral import check_deposit, check_withdraw
from liqspec.reference.deleveraging import check_deleverage
from liqspec.reference.funding import check_apply_funding
from liqspec.reference.insurance import check_fund_insurance
from liqspec.reference.liquidation import check_backstop_liquidate, check_liquidate
from liqspec.reference.marks import check_set_mark
from liqspec.reference.share_liquidation import check_share_liquidate
from liqspec.reference.socialization import check_socialize_loss
from liqspec.reference.trading import check_trade
from liqspec.testing import open_long, example_profile, usdt, venue

C = ResultCode
SHAPE = BookShape(levels=2, spacing_ppm=1_000, lots_per_level=500)


def underwater(**policies: object):
    """alice long 1 BTC from 50,000.0 with 1,000 USDT, the mark at 49,000.0: her equity is 0,
    below her maintenance of 196 USDT (0.4% of 49,000), so she is liquidatable but not bankrupt.
    bob is short the other side; there is no book and no insurance fund."""
    state = venue(example_profile(**policies), deposits={"alice": usdt(1_000),
                                                     "bob": usdt(1_000_000)})
    open_long(state, "alice", "bob", "BTC", 1_000)
    set_mark(state, "BTC", 490_000)
    return state


#: Paradex's policies on the example venue (LIQ-SHARE-1)
SHARES = {"liquidation_size": "account_share", "fee_policy": "maintenance_share",
          "portion_ppm": 200_000, "share_target_ppm": 900_000}

CASES = {
    "deposit, unknown account": (check_deposit, deposit, ("mallory", usdt(1)),
                                 C.UNKNOWN_ACCOUNT, {}),
    "deposit, zero": (check_deposit, deposit, ("alice", 0), C.INVALID_AMOUNT, {}),
    "withdraw, short of free collateral": (
        check_withdraw, withdraw, ("bob", usdt(2_000_000)), C.INSUFFICIENT_FREE_COLLATERAL, {}),
    "trade, same account, size first": (check_trade, trade, ("bob", "bob", "BTC", 0, 0),
                                        C.INVALID_SIZE, {}),
    "trade, same account": (check_trade, trade, ("bob", "bob", "BTC", 1, 490_000),
                            C.SAME_ACCOUNT, {}),
    "set_mark, unknown market": (check_set_mark, set_mark, ("XRP", 0), C.UNKNOWN_MARKET, {}),
    "liquidate, healthy": (check_liquidate, liquidate, ("bob", "BTC", "alice", 490_000),
                           C.NOT_LIQUIDATABLE, {}),
    "liquidate, more than the policy's size": (
        check_liquidate, liquidate, ("alice", "BTC", "bob", 490_000, 1_001),
        C.SIZE_EXCEEDS_POLICY, {}),
    "market_liquidate, no book": (check_market_liquidate, market_liquidate, ("alice", "BTC"),
                                  C.NO_BOOK_LIQUIDITY, {}),
    "backstop_liquidate, no backstop": (check_backstop_liquidate, backstop_liquidate,
                                        ("alice", "bob"), C.POLICY_FORBIDS, {}),
    "share_liquidate, not under account_share": (check_share_liquidate, share_liquidate,
                                                 ("alice", "bob"), C.POLICY_FORBIDS, {}),
    "liquidate, under account_share": (
        check_liquidate, liquidate, ("alice", "BTC", "bob", 490_000), C.POLICY_FORBIDS,
        SHARES),
    "market_liquidate, under account_share, with no book": (
        check_market_liquidate, market_liquidate, ("alice", "BTC"), C.NO_BOOK_LIQUIDITY,
        SHARES),
    "deleverage, not bankrupt": (check_deleverage, deleverage, ("alice", "BTC"),
                                 C.NOT_BANKRUPT, {}),
    "deleverage, policy before position": (check_deleverage, deleverage, ("alice", "ETH"),
                                           C.POLICY_FORBIDS, {"bad_debt_policy": "socialize"}),
    "socialize_loss, nothing to socialize": (check_socialize_loss, socialize_loss,
                                             ("BTC", 1), C.NOTHING_TO_SOCIALIZE,
                                             {"bad_debt_policy": "socialize"}),
    "socialize_loss, side before policy": (check_socialize_loss, socialize_loss, ("BTC", 2),
                                           C.INVALID_SIZE, {}),
    "apply_funding, rate": (check_apply_funding, apply_funding, ("BTC", 1_000_001),
                            C.INVALID_RATE, {}),
    "fund_insurance, zero": (check_fund_insurance, fund_insurance, (0,), C.INVALID_AMOUNT, {}),
}


@pytest.mark.parametrize("name", CASES)
def test_a_check_and_its_operation_reject_with_the_same_code_and_change_nothing(name):
    check, operation, args, code, policies = CASES[name]
    state = underwater(**policies)
    before = state.snapshot()
    with pytest.raises(LiqspecError) as checked:
        check(state, *args)
    assert checked.value.code == code
    assert state.snapshot() == before
    with pytest.raises(LiqspecError) as applied:
        operation(state, *args)
    assert applied.value.code == code
    assert state.snapshot() == before


def test_replace_book_checks_the_owner_is_book_liquidity():
    state = underwater()
    before = state.snapshot()
    for call in (check_replace_book, lambda *a: replace_book(*a[:2], SHAPE, a[2])):
        with pytest.raises(LiqspecError) as refused:
            call(state, "BTC", "bob")
        assert refused.value.code == C.MALFORMED_STATE
        assert state.snapshot() == before


def test_a_check_that_passes_returns_what_the_effect_needs_and_changes_nothing():
    state = underwater()
    before = state.snapshot()
    assert check_liquidate(state, "alice", "BTC", "bob", 490_000) == 1_000  # the full position
    assert check_trade(state, "bob", "alice", "BTC", 2, 490_000) == usdt(98)  # the notional
    assert check_apply_funding(state, "BTC", 100) == {"alice": usdt("4.9"),
                                                      "bob": -usdt("4.9")}
    check_deposit(state, "alice", 1)
    assert state.snapshot() == before
    receipt = liquidate(state, "alice", "BTC", "bob", 490_000)
    assert receipt.amounts["lots"] == 1_000
