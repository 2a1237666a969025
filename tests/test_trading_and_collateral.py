"""Accounts, trades and the initial-margin check, deposits and withdrawals
(LIQ-ACCOUNT-1/2, LIQ-TRADE-1/2, LIQ-DEPOSIT-1, LIQ-WITHDRAW-1/2)."""

import pytest

from liqspec.reference import OUTSIDE, MalformedState, Rejection, ResultCode, withdrawals_gated
from liqspec.reference.invariants import all_violations
from liqspec.testing import open_long, usdt, venue


def rejected(state, code, operation, *args):
    before = state.snapshot()
    with pytest.raises(Rejection) as error:
        operation(state, *args)
    assert error.value.code == code
    assert state.snapshot() == before  # LIQ-INV-9


def test_open_cross_and_isolated_accounts_LIQ_ACCOUNT_1(impl):
    state = venue()
    impl.open_account(state, "cross")
    impl.open_account(state, "iso", isolated_market="BTC")
    assert state.account("cross").isolated_market is None
    assert state.account("iso").isolated_market == "BTC"
    for bad in ("cross", "", "insurance_fund", 7):
        with pytest.raises(MalformedState):
            impl.open_account(state, bad)


def test_isolated_account_trades_only_its_market_LIQ_ACCOUNT_2(impl):
    state = venue(deposits={"bob": usdt("100000")})
    impl.open_account(state, "iso", isolated_market="BTC")
    impl.deposit(state, "iso", usdt("1000"))
    impl.trade(state, "iso", "bob", "BTC", 100, 500_000)
    rejected(state, ResultCode.ISOLATED_MARKET_MISMATCH, impl.trade, "iso", "bob", "ETH", 1,
             300_000)


def test_trade_moves_base_and_quote_LIQ_TRADE_1(impl):
    state = venue(deposits={"alice": usdt("1000"), "bob": usdt("1000")})
    receipt = impl.trade(state, "alice", "bob", "BTC", 10, 500_000)  # 0.01 BTC at 50,000 = 500 USDT
    assert receipt.amounts["notional"] == usdt("500")
    assert state.account("alice").quote == usdt("500") and state.account("bob").quote == usdt("1500")
    assert state.account("alice").positions == {"BTC": 10}
    assert state.account("bob").positions == {"BTC": -10}
    rejected(state, ResultCode.SAME_ACCOUNT, impl.trade, "alice", "alice", "BTC", 1, 500_000)


def test_initial_margin_check_boundary_LIQ_TRADE_2(impl):
    # 1 BTC at 50,000 is tier 2: IM = 1% x 50,000 - 100 = 400 USDT
    state = venue(deposits={"alice": usdt("400"), "bob": usdt("100000"), "carol": usdt("399.999999")})
    impl.trade(state, "alice", "bob", "BTC", 1000, 500_000)  # exactly enough: equity 400 >= IM 400
    rejected(state, ResultCode.INSUFFICIENT_INITIAL_MARGIN, impl.trade, "carol", "bob", "BTC", 1000,
             500_000)


def test_reducing_trade_exempt_but_must_not_worsen_health_LIQ_TRADE_2(impl):
    state = venue(deposits={"alice": usdt("500"), "bob": usdt("100000"), "carol": usdt("100000")})
    open_long(state, "alice", "bob", "BTC", 1000)
    impl.set_mark(state, "BTC", 497_000)  # equity 200 < IM 0.8% x 49,700 = 397.6: under initial margin
    # selling 0.5 BTC far below the mark would cut equity to 200 - 0.5 x 700 < 0
    rejected(state, ResultCode.REDUCE_ONLY_WORSENS_HEALTH, impl.trade, "carol", "alice", "BTC", 500,
             490_000)
    # increasing is refused outright
    rejected(state, ResultCode.INSUFFICIENT_INITIAL_MARGIN, impl.trade, "alice", "carol", "BTC", 1,
             497_000)
    impl.trade(state, "carol", "alice", "BTC", 500, 497_000)  # reducing at the mark is allowed
    assert state.account("alice").positions == {"BTC": 500}


def test_backstop_vault_has_no_margin_check_LIQ_TRADE_2(impl):
    state = venue(deposits={"alice": usdt("100000")}, backstop_vault="vault")
    impl.trade(state, "vault", "alice", "BTC", 1000, 500_000)  # the vault holds no collateral
    assert state.account("vault").quote == -usdt("50000")


def test_deposit_moves_quote_from_outside_LIQ_DEPOSIT_1(impl):
    state = venue(deposits={"alice": 0})
    impl.deposit(state, "alice", usdt("12.5"))
    assert state.account("alice").quote == usdt("12.5")
    assert state.holders[OUTSIDE] == -usdt("12.5")
    assert state.journal[-1].rule_id == "LIQ-DEPOSIT-1"


def test_withdrawal_limited_by_free_collateral_LIQ_WITHDRAW_1(impl):
    state = venue(deposits={"alice": usdt("1000"), "bob": usdt("100000")})
    open_long(state, "alice", "bob", "BTC", 1000)  # IM 400: free collateral 600
    rejected(state, ResultCode.INSUFFICIENT_FREE_COLLATERAL, impl.withdraw, "alice",
             usdt("600") + 1)
    impl.withdraw(state, "alice", usdt("600"))
    assert state.holders[OUTSIDE] == -usdt("101000") + usdt("600")
    assert all_violations(state) == []


def test_withdrawals_gated_by_negative_equity_LIQ_WITHDRAW_2(impl):
    state = venue(deposits={"alice": usdt("1000"), "bob": usdt("100000"), "carol": usdt("10")})
    open_long(state, "alice", "bob", "BTC", 1000)
    assert not withdrawals_gated(state)
    impl.set_mark(state, "BTC", 489_000)  # alice's equity -100
    assert withdrawals_gated(state)
    rejected(state, ResultCode.WITHDRAWALS_GATED, impl.withdraw, "carol", usdt("1"))
