"""The state-changing operations on both implementations (the ``impl`` fixture): new accounts
(LIQ-ACCOUNT-1), deposits and withdrawals (LIQ-DEPOSIT-1, LIQ-WITHDRAW-1/2), trades with the
initial-margin check (LIQ-TRADE-1/2, LIQ-ACCOUNT-2, LIQ-TIER-4), marks (LIQ-MARK-1), book
rebuilds (LIQ-BOOK-1), liquidation steps with fee and fund (LIQ-EXEC-2, LIQ-FEE-1,
LIQ-INSURANCE-1, LIQ-SOCIAL-1), market orders against a book (LIQ-BOOK-2/3), the backstop
(LIQ-BACKSTOP-1), auto-deleveraging with every ranking (LIQ-ADL-1..4), socialized loss
(LIQ-SOCIAL-2), funding (LIQ-FUNDING-1/2) and top-ups (LIQ-INSURANCE-2).

Each hand case runs on liqspec.reference and on liqspec.fast and asserts hand-computed values
(shown beside each assertion); the hypothesis tests drive both implementations in lockstep over
generated venues and operation sequences and require equal receipts (journal entries included),
equal result codes and exception types, and equal resulting states.

The example venue EX (liqspec.testing): one BTC lot (0.001 BTC) at one tick (0.1 USDT) is worth 100 quote
quantums; BTC maintenance 0.4% below 50,000 USDT of notional, liquidation fee 1.25%.
"""

import importlib.machinery
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import liqspec.fast
from liqspec.fast import operations
from liqspec.fast.compare import IMPLEMENTATIONS, OPERATIONS
from liqspec.reference import (FEE_SINK, FUNDING_POOL, INSURANCE_FUND, OUTSIDE, SOCIALIZED_LOSS,
                               Account, Fill, InvalidAmount, InvalidPrice, InvalidSize,
                               LiqspecError, MalformedState, OpenInterestScaling, Overflow,
                               Rejection, ResultCode, Transfer, UnknownAccount, UnknownMarket,
                               deposit, free_collateral_quote, open_account, set_mark, trade)
from liqspec.reference.book import BookShape, build_book
from liqspec.reference.invariants import all_violations
from liqspec.reference.profiles import PROFILES, get_profile
from liqspec.reference.state import BACKSTOP, LIQUIDITY, TRADER
from liqspec.reference.arithmetic import INT64_MAX, INT64_MIN
from liqspec.testing import open_long, example_profile, usdt, venue

REFERENCE, FAST = IMPLEMENTATIONS["reference"], IMPLEMENTATIONS["fast"]


def outcome(call):
    """A comparable outcome: the receipt, or the error's type and result code."""
    try:
        return ("ok", call())
    except LiqspecError as error:
        return ("error", type(error).__name__, error.code)


def run_both(state, op, *args):
    """Run ``op`` on a copy of ``state`` per implementation; assert equal outcomes and states.
    Returns the reference's outcome and resulting state."""
    results = {}
    for name, impl in IMPLEMENTATIONS.items():
        copy = state.copy()
        before = copy.snapshot()
        got = outcome(lambda: getattr(impl, op)(copy, *args))
        if got[0] == "error":
            assert copy.snapshot() == before, (name, op, "a failed operation changed the state")
        results[name] = (got, copy)
    (want, ref_state), (got, fast_state) = results["reference"], results["fast"]
    assert got == want, (op, args)
    assert fast_state.snapshot() == ref_state.snapshot(), (op, args)
    return want, ref_state


def test_operations_are_compiled_not_a_fallback():
    """Rule: the design's "no pure-Python fallback" for liqspec.fast."""
    engine = liqspec.fast._engine
    assert engine.__file__.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))
    assert type(engine.Engine).__name__ == "type" and engine.Engine.__module__ == \
        "liqspec.fast._engine"
    for op in OPERATIONS:
        assert getattr(FAST, op) is getattr(operations, op)
        assert getattr(REFERENCE, op).__module__.startswith("liqspec.reference")


def test_every_operation_runs_in_the_engine():
    """Each fast operation reaches a compiled Engine method of its name: none is the reference's
    function re-exported, and none is missing from the engine."""
    for op in OPERATIONS:
        assert callable(getattr(liqspec.fast._engine.Engine, op)), op
        assert getattr(liqspec.fast, op) is getattr(operations, op)
        assert getattr(FAST, op) is not getattr(REFERENCE, op)


# -- accounts, deposits, withdrawals (LIQ-ACCOUNT-1, LIQ-DEPOSIT-1, LIQ-WITHDRAW-1/2) -------------

def test_open_account_appends_an_empty_account_LIQ_ACCOUNT_1(impl):
    state = venue(deposits={"bob": usdt("10")})
    receipt = impl.open_account(state, "alice", "BTC")
    assert (receipt.code, receipt.seq, receipt.entries, receipt.amounts) == (ResultCode.OK, 3, (),
                                                                             {})
    assert list(state.accounts) == ["bob", "alice"]  # appended, as the reference appends
    alice = state.account("alice")
    assert (alice.quote, alice.positions, alice.isolated_market, alice.role) == (0, {}, "BTC",
                                                                               TRADER)
    impl.open_account(state, "book", role=LIQUIDITY)
    assert state.account("book").role == LIQUIDITY and state.seq == 4


@pytest.mark.parametrize("args, error", [
    (("",), MalformedState), (("outside",), MalformedState), ((7,), MalformedState),
    (("bob",), MalformedState), (("carol", None, "maker"), MalformedState),
    (("carol", "DOGE"), UnknownMarket),
])
def test_open_account_rejections_change_nothing_LIQ_ACCOUNT_1(impl, args, error):
    state = venue(deposits={"bob": usdt("10")})
    before = state.snapshot()
    with pytest.raises(error):
        impl.open_account(state, *args)
    assert state.snapshot() == before


def test_deposit_moves_quote_from_outside_LIQ_DEPOSIT_1(impl):
    state = venue(deposits={"alice": usdt("1000")})
    receipt = impl.deposit(state, "alice", usdt("250"))
    assert receipt.entries == (Transfer(3, OUTSIDE, "alice", 250_000_000, "LIQ-DEPOSIT-1"),)
    assert state.account("alice").quote == usdt("1250")
    assert state.holders[OUTSIDE] == -usdt("1250")
    assert all_violations(state) == []


@pytest.mark.parametrize("account, amount, error", [
    ("ghost", 0, UnknownAccount),  # the account before the amount
    ("alice", 0, InvalidAmount), ("alice", -1, InvalidAmount),
    ("alice", INT64_MAX + 1, InvalidAmount),
    # outside is at -1,000 USDT: INT64_MAX more would take it below INT64_MIN
    ("alice", INT64_MAX, Overflow),
])
def test_deposit_rejections_change_nothing_LIQ_DEPOSIT_1_LIQ_DOMAIN_3(impl, account, amount,
                                                                       error):
    state = venue(deposits={"alice": usdt("1000")})
    before = state.snapshot()
    with pytest.raises(error):
        impl.deposit(state, account, amount)
    assert state.snapshot() == before


def long_alice(lots=100, carol_deposit=None):
    """alice: 1,000 USDT and ``lots`` BTC lots bought from bob at 50,000 (100 lots: notional
    5,000 USDT, IM 0.8% = 40 USDT, so 960 USDT free); carol optionally 100 lots on
    ``carol_deposit``."""
    state = venue(deposits={"alice": usdt("1000"), "bob": usdt("1000000")})
    open_long(state, "alice", "bob", "BTC", lots)
    if carol_deposit is not None:
        open_account(state, "carol")
        deposit(state, "carol", usdt(carol_deposit))
        open_long(state, "carol", "bob", "BTC", 100)
    return state


def test_withdraw_up_to_free_collateral_LIQ_WITHDRAW_1_LIQ_MARGIN_5(impl):
    state = long_alice()
    before = state.snapshot()
    with pytest.raises(Rejection) as error:
        impl.withdraw(state, "alice", usdt("960") + 1)  # one quantum past the free 960 USDT
    assert error.value.code == ResultCode.INSUFFICIENT_FREE_COLLATERAL
    assert state.snapshot() == before
    receipt = impl.withdraw(state, "alice", usdt("960"))
    assert receipt.entries == (Transfer(state.seq, "alice", OUTSIDE, usdt("960"),
                                        "LIQ-WITHDRAW-1"),)
    assert state.account("alice").quote == usdt("1000") - usdt("5000") - usdt("960")
    assert free_collateral_quote(state, state.account("alice")) == 0


def test_withdrawals_gated_by_negative_equity_LIQ_WITHDRAW_2(impl):
    # carol: 60 USDT on 100 lots at 50,000; at 49,000 she has lost 100 USDT: equity -40
    state = long_alice(carol_deposit="60")
    set_mark(state, "BTC", 490_000)
    before = state.snapshot()
    with pytest.raises(Rejection) as error:  # alice has 851 USDT free, yet the venue is gated
        impl.withdraw(state, "alice", usdt("1"))
    assert error.value.code == ResultCode.WITHDRAWALS_GATED
    with pytest.raises(Rejection) as error:  # the gate comes before the free-collateral check
        impl.withdraw(state, "alice", usdt("100000"))
    assert error.value.code == ResultCode.WITHDRAWALS_GATED
    with pytest.raises(InvalidAmount):  # and after the amount's domain
        impl.withdraw(state, "alice", 0)
    assert state.snapshot() == before
    impl.deposit(state, "carol", usdt("40"))  # equity 0: no longer negative
    assert impl.withdraw(state, "alice", usdt("1")).code == ResultCode.OK


def test_withdraw_free_collateral_overflow_LIQ_DOMAIN_1(impl):
    """free = equity - initial margin must lie in int64. A vault (outside the gate, which reads
    traders only) short 100 lots (IM 50 USDT) with equity INT64_MIN + 10 has none."""
    state = venue(deposits={"bob": usdt("1000000")}, backstop_vault="vault")
    open_long(state, "bob", "vault", "BTC", 100)  # the vault's short is worth -5,000 USDT
    state.account("vault").quote = INT64_MIN + 10 + usdt("5000")
    before = state.snapshot()
    with pytest.raises(Overflow):
        impl.withdraw(state, "vault", 1)
    assert state.snapshot() == before


def test_withdrawal_gate_reads_traders_in_the_state_order_LIQ_WITHDRAW_2(impl):
    """The gate stops at the first trader with negative equity, in the state's account order:
    zed (opened first, equity beyond INT64_MAX) raises Overflow before amy (equity -1) gates;
    with amy opened first the venue is gated before zed's equity is read."""
    for first, outcome_ in (("zed", Overflow), ("amy", Rejection)):
        state = venue(deposits={first: usdt("100"), ({"zed", "amy"} - {first}).pop(): usdt("100"),
                                "bob": usdt("1000000")})
        open_long(state, "zed", "bob", "BTC", 100)  # worth 5,000 USDT
        state.account("zed").quote = INT64_MAX - 1
        state.account("amy").quote = -1
        before = state.snapshot()
        with pytest.raises(outcome_) as error:
            impl.withdraw(state, "bob", 1)
        assert error.value.code == (ResultCode.OVERFLOW if first == "zed"
                                    else ResultCode.WITHDRAWALS_GATED)
        assert state.snapshot() == before


# -- trades and the initial-margin check (LIQ-TRADE-1/2, LIQ-ACCOUNT-2, LIQ-TIER-4) ---------------

def test_trade_fills_and_books_cost_LIQ_TRADE_1(impl):
    state = venue(deposits={"alice": usdt("1000"), "bob": usdt("1000")})
    receipt = impl.trade(state, "alice", "bob", "BTC", 100, 500_000)
    # 100 lots x 500,000 ticks x 100 quantums = 5,000 USDT
    assert receipt.amounts == {"notional": usdt("5000")}
    assert receipt.entries == (
        Transfer(5, "alice", "bob", usdt("5000"), "LIQ-TRADE-1"),
        Fill(5, "BTC", "alice", "bob", 100, usdt("5000"), 500_000, "LIQ-TRADE-1"))
    assert state.account("alice").positions == {"BTC": 100}
    assert state.account("alice").cost_quote == {"BTC": usdt("5000")}
    assert state.account("bob").cost_quote == {"BTC": -usdt("5000")}


def test_trade_at_exactly_initial_margin_LIQ_TRADE_2_LIQ_TIER_3(impl):
    # 2,200 lots at 50,000 = 110,000 USDT, tier 2: 1% - 100 = 1,000 USDT = alice's equity:
    # allowed; 2,201 lots: 1% x 110,050 - 100 = 1,000.5 USDT > 1,000: refused
    state = venue(deposits={"alice": usdt("1000"), "bob": usdt("1000000")})
    before = state.snapshot()
    with pytest.raises(Rejection) as error:
        impl.trade(state, "alice", "bob", "BTC", 2201, 500_000)
    assert error.value.code == ResultCode.INSUFFICIENT_INITIAL_MARGIN
    assert state.snapshot() == before
    assert impl.trade(state, "alice", "bob", "BTC", 2200, 500_000).code == ResultCode.OK


def test_reducing_trade_exemption_LIQ_TRADE_2(impl):
    # alice long 2,200 lots (2.2 BTC) at 50,000 on 1,000 USDT; at 49,900 equity is 780 USDT,
    # below IM (109,780 x 1% - 100 = 997.8). Selling 1 lot at 49,900 keeps equity and shrinks MM
    # (eq - MM 281.1 -> 281.3495 USDT): allowed. Selling 1 lot at 40,000 costs 9.9 USDT (eq - MM
    # 271.4495 < 281.1): refused. Selling 4,400 lots flips the position: not a reduction.
    state = venue(deposits={"alice": usdt("1000"), "bob": usdt("1000000")})
    open_long(state, "alice", "bob", "BTC", 2200)
    set_mark(state, "BTC", 499_000)
    before = state.snapshot()
    for lots, price, code in ((1, 400_000, ResultCode.REDUCE_ONLY_WORSENS_HEALTH),
                              (4400, 499_000, ResultCode.INSUFFICIENT_INITIAL_MARGIN)):
        with pytest.raises(Rejection) as error:
            impl.trade(state, "bob", "alice", "BTC", lots, price)
        assert error.value.code == code
        assert state.snapshot() == before
    impl.trade(state, "bob", "alice", "BTC", 1, 499_000)
    assert state.account("alice").position("BTC") == 2199


def test_trade_rejections_in_reference_order_LIQ_RESULT_2(impl):
    state = venue(deposits={"alice": usdt("1000"), "bob": usdt("1000")})
    impl.open_account(state, "iso", "BTC")
    before = state.snapshot()
    for args, error in (
            (("ghost", "bob", "DOGE", 0, 0), UnknownAccount),
            (("alice", "bob", "DOGE", 0, 0), UnknownMarket),
            (("alice", "alice", "BTC", 0, 0), InvalidSize),
            (("alice", "alice", "BTC", 1, 0), InvalidPrice),
            # the notional (100 x INT64_MAX ticks) leaves int64 before SAME_ACCOUNT is looked at
            (("alice", "alice", "BTC", 100, INT64_MAX), Overflow)):
        with pytest.raises(error):
            impl.trade(state, *args)
    for args, code in ((("alice", "alice", "BTC", 1, 500_000), ResultCode.SAME_ACCOUNT),
                       (("alice", "iso", "ETH", 1, 300_000), ResultCode.ISOLATED_MARKET_MISMATCH),
                       (("iso", "bob", "ETH", 1, 300_000), ResultCode.ISOLATED_MARKET_MISMATCH)):
        with pytest.raises(Rejection) as raised:
            impl.trade(state, *args)
        assert raised.value.code == code
    assert state.snapshot() == before


def test_trade_balance_overflow_LIQ_DOMAIN_1(impl):
    # bob's balance sits at INT64_MAX - 1: receiving 100 quantums leaves int64
    state = venue(deposits={"alice": usdt("1000"), "bob": usdt("1")})
    state.account("bob").quote = INT64_MAX - 1
    before = state.snapshot()
    with pytest.raises(Overflow):
        impl.trade(state, "alice", "bob", "BTC", 1, 1)
    assert state.snapshot() == before


def oi_scaled_profile():
    """The example venue with dYdX-style open-interest scaling on BTC: the initial fraction rises
    from 0.8% to 100% as open interest goes from 10,000 to 110,000 USDT."""
    profile = example_profile()
    btc = replace(profile.markets["BTC"],
                  oi_scaling=OpenInterestScaling(usdt("10000"), usdt("110000")))
    return replace(profile, markets={**profile.markets, "BTC": btc})


def test_trade_margin_at_post_trade_open_interest_LIQ_TIER_4(impl):
    # 600 lots at 50,000: 30,000 USDT of open interest after the trade, 20% of the way up, so
    # the fraction is 0.8% + 20% x 99.2% = 20.64%: IM = 6,192 USDT. alice with 6,192 USDT may
    # trade, with one quantum less she may not.
    state = venue(oi_scaled_profile(), deposits={"alice": usdt("6192") - 1,
                                                 "bob": usdt("1000000")})
    with pytest.raises(Rejection) as error:
        impl.trade(state, "alice", "bob", "BTC", 600, 500_000)
    assert error.value.code == ResultCode.INSUFFICIENT_INITIAL_MARGIN
    impl.deposit(state, "alice", 1)
    assert impl.trade(state, "alice", "bob", "BTC", 600, 500_000).code == ResultCode.OK


# -- marks and books (LIQ-MARK-1, LIQ-BOOK-1) ----------------------------------------------------

def test_set_mark_moves_no_quote_LIQ_MARK_1(impl):
    state = long_alice()
    receipt = impl.set_mark(state, "BTC", 490_000)
    assert (receipt.seq, receipt.entries, receipt.amounts) == (state.seq, (), {})
    assert state.marks == {"BTC": 490_000, "ETH": 300_000}
    before = state.snapshot()
    for market, price, error in (("DOGE", 0, UnknownMarket), ("BTC", 0, InvalidPrice),
                                 ("BTC", -1, InvalidPrice), ("BTC", INT64_MAX + 1, InvalidPrice)):
        with pytest.raises(error):
            impl.set_mark(state, market, price)
    assert state.snapshot() == before
    impl.set_mark(state, "ETH", INT64_MAX)
    assert state.marks["ETH"] == INT64_MAX


def test_replace_book_builds_the_ladder_around_the_mark_LIQ_BOOK_1(impl):
    state = venue(deposits={"alice": usdt("10")})
    open_account(state, "book", role=LIQUIDITY)
    set_mark(state, "BTC", 500_001)
    # a book already there is replaced by a new Book, the old one left as it was
    state.books["BTC"] = old_book = build_book(BookShape(1, 1000, 1), 500_001, "book")
    assert impl.replace_book(state, "BTC", BookShape(2, 1_000, 7), "book") is None
    # bids 500,001 x 0.999 = 499,500.999 -> 499,500 (down), x 0.998 -> 499,000; asks
    # 500,001 x 1.001 = 500,501.001 -> 500,502 (up), x 1.002 = 501,001.002 -> 501,002
    assert state.books["BTC"].image() == ("book", ((499_500, 7), (499_000, 7)),
                                          ((500_502, 7), (501_002, 7)))
    assert state.books["BTC"] is not old_book and old_book.bids == [[499_500, 1]]
    # a 1-tick mark: every bid rounds to 0 and is left out; asks round up onto one tick, merged
    impl.set_mark(state, "ETH", 1)
    impl.replace_book(state, "ETH", BookShape(3, 1_000, 5), "book")
    assert state.books["ETH"].image() == ("book", (), ((2, 15),))


def test_replace_book_rejections_LIQ_BOOK_1_LIQ_DOMAIN_1(impl):
    state = venue(deposits={"alice": usdt("10")})
    open_account(state, "book", role=LIQUIDITY)
    set_mark(state, "BTC", INT64_MAX - 10)
    before = state.snapshot()
    for args, error in ((("DOGE", BookShape(1, 1, 1), "ghost"), UnknownMarket),
                        (("BTC", BookShape(1, 1, 1), "ghost"), UnknownAccount),
                        (("BTC", BookShape(1, 1, 1), "alice"), MalformedState),
                        # around a mark near 2^63 the first ask leaves int64
                        (("BTC", BookShape(1, 1_000, 1), "book"), Overflow)):
        with pytest.raises(error):
            impl.replace_book(state, *args)
    assert state.snapshot() == before
    # merged levels: 2 levels onto one tick of a 1-tick mark with INT64_MAX lots each
    impl.set_mark(state, "ETH", 1)
    with pytest.raises(Overflow):
        impl.replace_book(state, "ETH", BookShape(2, 1, INT64_MAX), "book")


# -- liquidation step, fee, fund (LIQ-EXEC-2, LIQ-FEE-1, LIQ-INSURANCE-1, LIQ-SOCIAL-1) ------------

def alice_long(profile=None, insurance="0", mark=491_000):
    """alice long 1 BTC bought at 50,000 with 1,000 USDT: quote -49,000, bankruptcy 49,000."""
    state = venue(profile, deposits={"alice": usdt("1000"), "bob": usdt("1000000"),
                                     "lp": usdt("1000000")},
                  insurance_quote=usdt(insurance), backstop_vault="vault")
    open_long(state, "alice", "bob", "BTC", 1000)
    set_mark(state, "BTC", mark)
    return state


def test_fee_capped_by_surplus_LIQ_FEE_1_LIQ_INV_7(impl):
    state = alice_long()
    receipt = impl.liquidate(state, "alice", "BTC", "lp", 491_000)
    # sold at 49,100: quote -49,000 + 49,100 = 100 USDT; fee wanted 1.25% x 49,100 = 613.75,
    # capped by the 100 USDT surplus
    assert receipt.amounts == {"lots": 1000, "fee": usdt("100"), "surplus": usdt("100")}
    assert state.account("alice").quote == 0 and state.account("alice").is_flat()
    assert state.holders[INSURANCE_FUND] == usdt("100")
    assert [e.rule_id for e in receipt.entries] == ["LIQ-EXEC-2", "LIQ-EXEC-2", "LIQ-FEE-1"]
    assert all_violations(state) == []


def test_fee_at_rate_rounds_up_LIQ_FEE_1_LIQ_ROUND_1(impl):
    state = alice_long(mark=491_000)
    # one lot at 49,100.3 (491,003 ticks): notional 49,100,300 quantums; 1.25% of it is
    # 613,753.75 -> 613,754 (rounded up); surplus after the fill is far larger
    receipt = impl.liquidate(state, "alice", "BTC", "lp", 491_003, 1)
    assert receipt.amounts["fee"] == 613_754
    assert receipt.amounts["lots"] == 1


def test_all_surplus_fee_takes_everything_above_bankruptcy_LIQ_FEE_1(impl):
    state = alice_long(example_profile(fee_policy="all_surplus"), mark=490_500)
    # sold 400 lots at 49,050 against bankruptcy 49,000: gain 400 x 100 x 500 = 20,000,000
    receipt = impl.liquidate(state, "alice", "BTC", "lp", 490_500, 400)
    assert receipt.amounts["fee"] == usdt("20")


def test_all_surplus_fee_rounds_up_a_fractional_bankruptcy_LIQ_FEE_1_LIQ_ROUND_1(impl):
    # quote -49,000,000,001 on 1,000 lots: bankruptcy 490,000.00001 ticks; selling 3 lots at
    # 491,000 gains 3 x 100 x (491,000 - 490,000.00001) = 299,999.997 -> 300,000 (rounded up)
    state = alice_long(example_profile(fee_policy="all_surplus"), mark=491_000)
    state.account("alice").quote -= 1
    receipt = impl.liquidate(state, "alice", "BTC", "lp", 491_000, 3)
    assert receipt.amounts["fee"] == 300_000


def test_fill_worse_than_bankruptcy_paid_by_fund_LIQ_INSURANCE_1(impl):
    state = alice_long(insurance="500", mark=489_000)
    receipt = impl.liquidate(state, "alice", "BTC", "lp", 489_000)
    # sold at 48,900: quote -100 USDT; the fund pays it: 500 - 100 = 400 left
    assert receipt.amounts["fund_paid"] == usdt("100") and receipt.amounts["written_off"] == 0
    assert state.holders[INSURANCE_FUND] == usdt("400")
    assert all_violations(state) == []


def test_fund_never_below_zero_remainder_written_off_LIQ_SOCIAL_1(impl):
    state = alice_long(insurance="30", mark=489_000)
    receipt = impl.liquidate(state, "alice", "BTC", "lp", 489_000)
    # deficit 100 USDT: the fund pays its 30, 70 is written off
    assert (receipt.amounts["fund_paid"], receipt.amounts["written_off"]) == (usdt("30"),
                                                                              usdt("70"))
    assert state.holders[INSURANCE_FUND] == 0
    assert state.holders[SOCIALIZED_LOSS] == -usdt("70")


@pytest.mark.parametrize("case, code", [
    ("healthy", ResultCode.NOT_LIQUIDATABLE),
    ("too_many", ResultCode.SIZE_EXCEEDS_POLICY),
    ("no_position", ResultCode.NO_POSITION),
    ("same", ResultCode.SAME_ACCOUNT),
    ("counterparty_margin", ResultCode.INSUFFICIENT_INITIAL_MARGIN),
])
def test_liquidation_rejections_change_nothing_LIQ_EXEC_2_LIQ_RESULT_1(impl, case, code):
    state = alice_long(mark=495_000 if case == "healthy" else 491_000)
    args = ["alice", "BTC", "lp", 491_000, None]
    if case == "too_many":
        args[4] = 1001
    elif case == "no_position":
        args[1] = "ETH"
    elif case == "same":
        args[2] = "alice"
    elif case == "counterparty_margin":
        open_account(state, "poor")
        deposit(state, "poor", usdt("100"))  # 100 USDT cannot carry 49,100 of BTC (IM 0.8%)
        args[2] = "poor"
    before = state.snapshot()
    with pytest.raises(Rejection) as error:
        impl.liquidate(state, *args)
    assert error.value.code == code
    assert state.snapshot() == before


def test_liquidation_argument_errors_in_reference_order_LIQ_RESULT_2(impl):
    state = alice_long()
    from liqspec.reference import InvalidPrice, InvalidSize, UnknownAccount, UnknownMarket
    with pytest.raises(UnknownAccount):
        impl.liquidate(state, "nobody", "BTC", "lp", 0, 0)  # accounts before everything
    with pytest.raises(UnknownMarket):
        impl.liquidate(state, "alice", "DOGE", "lp", 0, 0)
    with pytest.raises(InvalidSize):
        impl.liquidate(state, "alice", "BTC", "lp", 0, 0)  # size before price
    with pytest.raises(InvalidPrice):
        impl.liquidate(state, "alice", "BTC", "alice", 0)  # price before SAME_ACCOUNT


def test_fill_notional_overflow_is_an_error_never_a_wrap_LIQ_DOMAIN_1(impl):
    # 1,000 lots at INT64_MAX // 1000 ticks: 1000 x 9,223,372,036,854,775 x 100 leaves int64
    state = alice_long()
    before = state.snapshot()
    with pytest.raises(Overflow):
        impl.liquidate(state, "alice", "BTC", "lp", INT64_MAX // 1000)
    assert state.snapshot() == before


def test_fund_balance_overflow_is_an_error_LIQ_DOMAIN_1(impl):
    state = alice_long()
    state.holders[INSURANCE_FUND] = INT64_MAX - 5  # the 100 USDT fee cannot land
    before = state.snapshot()
    with pytest.raises(Overflow):
        impl.liquidate(state, "alice", "BTC", "lp", 491_000)
    assert state.snapshot() == before
    assert impl.fund_insurance(state, 5).amounts == {}  # exactly to INT64_MAX: fine
    with pytest.raises(Overflow):
        impl.fund_insurance(state, 1)


# -- market orders against the book (LIQ-BOOK-2, LIQ-BOOK-3) ------------------------------------

def with_book(profile=None, insurance="0", mark=491_000, shape=(3, 2_000, 400)):
    state = alice_long(profile, insurance, mark)
    open_account(state, "book", role=LIQUIDITY)
    state.books["BTC"] = build_book(BookShape(*shape), mark, "book")
    return state


def test_market_order_walks_the_book_LIQ_BOOK_2(impl):
    state = with_book(insurance="1000", mark=491_000)
    # bids at 49,100 x 0.998 = 49,001.8, x 0.996 = 48,903.6, x 0.994 = 48,805.4, 400 lots each;
    # every level is a step: 400 at 49,001.8, 400 at 48,903.6, 200 at 48,805.4
    receipt = impl.market_liquidate(state, "alice", "BTC")
    fills = [(e.lots, e.price_ticks) for e in receipt.entries if type(e).__name__ == "Fill"]
    assert fills == [(400, 490_018), (400, 489_036), (200, 488_054)]
    assert receipt.amounts["lots"] == 1000 and receipt.amounts["levels"] == 3
    assert state.books["BTC"].bids == [[488_054, 200]]
    assert state.account("alice").is_flat()
    assert all_violations(state) == []


def test_market_order_stops_within_the_fund_LIQ_BOOK_2(impl):
    # at 49,000 alice's equity is 0; the bid is 49,000 x 0.998 = 48,902.0 (489,020 ticks), so
    # each lot sold there loses 980 x 100 = 98,000 quantums: a fund of 1 USDT affords
    # floor(1,000,000 / 98,000) = 10 lots, and the order stops there
    state = with_book(insurance="1", mark=490_000, shape=(1, 2_000, 1000))
    receipt = impl.market_liquidate(state, "alice", "BTC")
    assert receipt.amounts["lots"] == 10
    assert state.account("alice").position("BTC") == 990
    assert state.books["BTC"].bids == [[489_020, 990]]


def test_market_order_without_book_or_liquidity_LIQ_BOOK_2(impl):
    state = alice_long()
    with pytest.raises(Rejection) as error:
        impl.market_liquidate(state, "alice", "BTC")
    assert error.value.code == ResultCode.NO_BOOK_LIQUIDITY
    state = with_book(insurance="0", mark=489_000)  # equity < 0, fund 0: nothing affordable
    before = state.snapshot()
    with pytest.raises(Rejection) as error:
        impl.market_liquidate(state, "alice", "BTC")
    assert error.value.code == ResultCode.NO_BOOK_LIQUIDITY
    assert state.snapshot() == before


# -- backstop (LIQ-BACKSTOP-1) ---------------------------------------------------------------------

def test_backstop_takes_positions_and_remaining_equity_LIQ_BACKSTOP_1(impl):
    state = alice_long(example_profile(backstop_ratio=(2, 3)), mark=490_500)
    # at 49,050: equity 50 < 2/3 x 196.2 = 130.8: the vault takes 1 BTC at 49,050 and 50 USDT
    receipt = impl.backstop_liquidate(state, "alice", "vault")
    assert receipt.amounts == {"taken_quote": usdt("50")}
    assert state.account("vault").positions == {"BTC": 1000}
    assert state.account("vault").quote == -usdt("49050") + usdt("50")
    assert state.account("alice").quote == 0 and state.account("alice").is_flat()


@pytest.mark.parametrize("profile, mark, vault, code", [
    (None, 490_500, "vault", ResultCode.POLICY_FORBIDS),  # no backstop in the profile
    # at 49,150: equity 150 >= 2/3 x 196.6 = 131.07 (yet below maintenance: not the backstop)
    ("bs", 491_500, "vault", ResultCode.NOT_LIQUIDATABLE),
    ("bs", 490_500, "bob", ResultCode.POLICY_FORBIDS),  # bob is no vault
    ("bs", 490_500, "alice", ResultCode.SAME_ACCOUNT),
])
def test_backstop_rejections_LIQ_BACKSTOP_1(impl, profile, mark, vault, code):
    state = alice_long(example_profile(backstop_ratio=(2, 3)) if profile else None, mark=mark)
    before = state.snapshot()
    with pytest.raises(Rejection) as error:
        impl.backstop_liquidate(state, "alice", vault)
    assert error.value.code == code
    assert state.snapshot() == before


# -- auto-deleveraging (LIQ-ADL-1..4) ----------------------------------------------------------------

def bankrupt_alice(profile=None, insurance="100", mark=485_000):
    """alice long 1 BTC from 50,000 with 1,000 USDT (equity -500 at 48,500); bob short 2 BTC on
    5,000 USDT, carol short 1 BTC on 50,000 USDT, both sold at 50,000."""
    state = venue(profile, deposits={"alice": usdt("1000"), "bob": usdt("5000"),
                                     "carol": usdt("50000"), "dave": usdt("100000")},
                  insurance_quote=usdt(insurance))
    open_long(state, "alice", "dave", "BTC", 1000)
    open_long(state, "dave", "bob", "BTC", 2000)
    open_long(state, "dave", "carol", "BTC", 1000)
    set_mark(state, "BTC", mark)
    return state


@pytest.mark.parametrize("ranking, expected", [
    # bob: leverage 97,000 / 8,000 far above carol's 48,500 / 51,500: bob takes everything
    ("pnl_leverage", [("bob", 1000)]),
    # Binance: pnl 3,000 / wallet 5,000 x MM 388 / 8,000 (bob) vs 1,500 / 50,000 x 194 / 51,500
    ("pnl_margin_ratio", [("bob", 1000)]),
    # Hyperliquid, shorts: entry/mark x notional / equity: bob 100/97 x 97,000 / 8,000
    ("price_ratio_leverage", [("bob", 1000)]),
    # 1000 x 2/3 = 666.67 and 1000 x 1/3 = 333.33: the leftover lot to bob's larger remainder
    ("pro_rata", [("bob", 667), ("carol", 333)]),
])
def test_deleverage_by_ranking_LIQ_ADL_2_LIQ_ADL_3(impl, ranking, expected):
    state = bankrupt_alice(example_profile(adl_ranking=ranking))
    receipt = impl.deleverage(state, "alice", "BTC")
    fills = [(e.seller, e.lots) if e.buyer == "alice" else (e.buyer, e.lots)
             for e in receipt.entries if type(e).__name__ == "Fill"]
    assert fills == expected
    # at the bankruptcy value (LIQ-ADL-4) alice ends at exactly zero: no deficit to settle
    assert state.account("alice").quote == 0 and state.account("alice").is_flat()
    assert receipt.amounts == {"lots": 1000, "counterparties": len(expected)}
    assert all_violations(state) == []


def test_deleverage_bankruptcy_value_LIQ_ADL_4(impl):
    state = bankrupt_alice()
    receipt = impl.deleverage(state, "alice", "BTC")
    # closing 1 BTC at 48,500 yields 48,500, plus the whole deficit of 500: 49,000
    fill = [e for e in receipt.entries if type(e).__name__ == "Fill"][0]
    assert fill.quote_amount == usdt("49000") and fill.price_ticks is None


def test_deleverage_seeded_order_agrees_LIQ_ADL_2(impl):
    state = bankrupt_alice(example_profile(adl_ranking="seeded", adl_seed=7))
    receipt = impl.deleverage(state, "alice", "BTC")
    assert sum(e.lots for e in receipt.entries if type(e).__name__ == "Fill") == 1000
    run_both(bankrupt_alice(example_profile(adl_ranking="seeded", adl_seed=2**70 + 3)),
             "deleverage", "alice", "BTC")


def test_deleverage_at_mark_leaves_the_deficit_to_settle_LIQ_ADL_4(impl):
    state = bankrupt_alice(example_profile(adl_price="mark"), insurance="100")
    receipt = impl.deleverage(state, "alice", "BTC")
    # at the mark alice receives 48,500 and is left with -500: the fund pays 100, 400 written off
    assert (receipt.amounts["fund_paid"], receipt.amounts["written_off"]) == (usdt("100"),
                                                                              usdt("400"))


@pytest.mark.parametrize("case, code", [
    ("solvent", ResultCode.NOT_BANKRUPT),
    ("fund_covers", ResultCode.FUND_CAN_COVER),
    ("socialize_profile", ResultCode.POLICY_FORBIDS),
    ("no_position", ResultCode.NO_POSITION),
])
def test_deleverage_rejections_change_nothing_LIQ_ADL_1(impl, case, code):
    market = "BTC"
    if case == "solvent":
        state = bankrupt_alice(mark=495_000)
    elif case == "fund_covers":
        state = bankrupt_alice(insurance="500")  # equity -500 >= -500
    elif case == "socialize_profile":
        state = bankrupt_alice(example_profile(bad_debt_policy="socialize"))
    else:
        state, market = bankrupt_alice(), "ETH"
    before = state.snapshot()
    with pytest.raises(Rejection) as error:
        impl.deleverage(state, "alice", market)
    assert error.value.code == code
    assert state.snapshot() == before


# -- socialized loss (LIQ-SOCIAL-2) and funding (LIQ-FUNDING-1/2) ----------------------------------

def with_bad_debt():
    """alice long 1 BTC from 50,000 with 1,000 USDT sold at 48,960: 40 USDT of bad debt."""
    state = venue(example_profile(bad_debt_policy="socialize"),
                  deposits={"alice": usdt("1000"), "bob": usdt("100000"), "carol": usdt("100000"),
                            "lp": usdt("1000000")})
    open_long(state, "alice", "lp", "BTC", 1000)
    open_long(state, "lp", "bob", "BTC", 2000)
    open_long(state, "lp", "carol", "BTC", 1000)
    set_mark(state, "BTC", 489_600)
    return state


def test_write_off_then_socialize_LIQ_SOCIAL_1_LIQ_SOCIAL_2_LIQ_ROUND_3(impl):
    state = with_bad_debt()
    impl.liquidate(state, "alice", "BTC", "lp", 489_600)
    assert state.holders[SOCIALIZED_LOSS] == -usdt("40")
    bob, carol = state.account("bob").quote, state.account("carol").quote
    receipt = impl.socialize_loss(state, "BTC", -1)
    # bob holds 2 of the 3 short BTC: ceil(40 x 2/3) = 26.666667; carol ceil(40 / 3) = 13.333334
    assert state.account("bob").quote == bob - usdt("26.666667")
    assert state.account("carol").quote == carol - usdt("13.333334")
    assert receipt.amounts == {"loss": usdt("40"), "charged": usdt("40") + 1, "residual": 1}
    assert state.holders[FEE_SINK] == 1 and state.holders[SOCIALIZED_LOSS] == 0
    with pytest.raises(Rejection) as error:
        impl.socialize_loss(state, "BTC", -1)
    assert error.value.code == ResultCode.NOTHING_TO_SOCIALIZE


def test_funding_exchange_and_residual_LIQ_FUNDING_1_LIQ_FUNDING_2(impl):
    state = with_bad_debt()
    # 100 ppm on 48,960 USDT per BTC: alice and lp are long (1 and 3 - 1 = 2 BTC net... lp is
    # long 3 and short 1: +2 BTC); longs pay 4.896 USDT per BTC, shorts receive the same
    receipt = impl.apply_funding(state, "BTC", 100)
    paid = {e.source: e.amount_quote for e in receipt.entries if e.destination == FUNDING_POOL}
    got = {e.destination: e.amount_quote for e in receipt.entries if e.source == FUNDING_POOL}
    assert paid == {"alice": usdt("4.896"), "lp": usdt("9.792")}
    assert got == {"bob": usdt("9.792"), "carol": usdt("4.896")}
    assert receipt.amounts == {"residual": 0} and state.holders[FUNDING_POOL] == 0


def test_funding_rounds_against_the_account_and_sweeps_LIQ_FUNDING_2(impl):
    state = with_bad_debt()
    set_mark(state, "BTC", 489_601)
    # 1 ppm of 1 BTC at 48,960.1 USDT = 48,960,100,000 quantums: 48,960.1 -> owed 48,961, owed
    # to the shorts: bob (2 BTC) 97,920.2 -> 97,920, carol 48,960; lp (+2 BTC) owes 97,921
    receipt = impl.apply_funding(state, "BTC", 1)
    assert receipt.amounts["residual"] == (48_961 + 97_921) - (97_920 + 48_960)


# -- int64 boundaries and generated lockstep runs ---------------------------------------------------

def test_deleverage_counterparty_balance_at_the_int64_limits_LIQ_DOMAIN_1():
    """Pro rata, bob (2 of the 3 short BTC) buys 667 of alice's lots and pays their share of her
    bankruptcy value. With his quote near INT64_MAX paying is fine; near INT64_MIN it leaves
    int64, and both implementations raise Overflow and leave the state unchanged (run_both).
    (Holders are left unbalanced on purpose: only bob's balance is at the edge.)"""
    state = bankrupt_alice(example_profile(adl_ranking="pro_rata"))
    state.account("bob").quote = INT64_MAX - 1
    (kind, receipt), _ = run_both(state, "deleverage", "alice", "BTC")
    assert kind == "ok" and receipt.amounts["counterparties"] == 2
    state.account("bob").quote = -(2**63) + 5
    got, _ = run_both(state, "deleverage", "alice", "BTC")
    assert got == ("error", "Overflow", ResultCode.OVERFLOW)


def _share_fee(policies: dict) -> dict:
    """account_share sizing goes with its fee (LIQ-SHARE-1), and a share step of 1 ppm would
    try a million shares: 20% instead."""
    if policies["liquidation_size"] != "account_share":
        return policies
    return {**policies, "fee_policy": "maintenance_share",
            "portion_ppm": max(policies["portion_ppm"], 200_000)}


POLICIES = st.fixed_dictionaries({
    "liquidation_size": st.sampled_from(["full", "portion", "tier_step", "account_share",
                                          "two_tier_step"]),
    "portion_ppm": st.sampled_from([1, 200_000, 500_000, 1_000_000]),
    "share_target_ppm": st.sampled_from([900_000, 1_000_000, 1]),
    "portion_threshold_quote": st.sampled_from([0, usdt("1000"), usdt("100000")]),
    "fee_policy": st.sampled_from(["rate", "all_surplus", "per_fill"]),
    "bad_debt_policy": st.sampled_from(["adl", "socialize", "socialize_both_sides"]),
    "adl_ranking": st.sampled_from(["pnl_leverage", "pnl_margin_ratio", "price_ratio_leverage",
                                    "seeded", "pro_rata"]),
    "adl_price": st.sampled_from(["bankruptcy", "mark"]),
    "adl_seed": st.integers(0, 2**64),
    "backstop_ratio": st.sampled_from([None, (2, 3), (1, 2)]),
}).map(_share_fee)


@st.composite
def venues(draw):
    """A venue built by the reference's own operations: traders with random deposits and
    leverage (some isolated), a book account, a vault, a fund, positions opened by trades at
    prices near the mark, then a price move and optional books."""
    profile = example_profile(**draw(POLICIES))
    n = draw(st.integers(2, 6))
    state = venue(profile, insurance_quote=draw(st.sampled_from([0, 1, usdt("50"), usdt("5000")])))
    open_account(state, "book", role=LIQUIDITY)
    open_account(state, "vault", role=BACKSTOP)
    names = [f"t{i}" for i in range(n)]
    for name in names:
        isolated = draw(st.sampled_from([None, None, "BTC", "ETH"]))
        open_account(state, name, isolated_market=isolated)
        deposit(state, name, draw(st.integers(1, usdt("8000"))))
    for _ in range(draw(st.integers(1, 10))):
        buyer, seller = draw(st.sampled_from(names + ["book"])), draw(st.sampled_from(names + ["book"]))
        market = draw(st.sampled_from(["BTC", "ETH"]))
        lots = draw(st.integers(1, 3000))
        price = state.marks[market] * draw(st.integers(950, 1050)) // 1000
        try:
            trade(state, buyer, seller, market, lots, price)
        except LiqspecError:
            pass
    for market in ("BTC", "ETH"):
        move = draw(st.integers(850, 1100))
        set_mark(state, market, state.marks[market] * move // 1000)
        if draw(st.booleans()):
            shape = BookShape(draw(st.integers(1, 8)), draw(st.integers(100, 20_000)),
                              draw(st.integers(1, 2000)))
            state.books[market] = build_book(shape, state.marks[market], "book")
    return state


@st.composite
def operation_calls(draw, state, due=()):
    """One operation with arguments drawn from the venue; ``due`` accounts (liquidatable ones)
    are preferred as subjects when given."""
    accounts = sorted(state.accounts) + ["ghost"]
    market = draw(st.sampled_from(["BTC", "ETH"]))
    op = draw(st.sampled_from(OPERATIONS))
    who = draw(st.sampled_from(list(due) or accounts)) if draw(st.booleans()) else draw(
        st.sampled_from(accounts))
    if op == "liquidate":
        price = state.marks[market] * draw(st.integers(900, 1100)) // 1000
        held = abs(state.accounts[who].position(market)) if who in state.accounts else 0
        lots = draw(st.one_of(st.none(), st.integers(0, held + 2)))
        counterparty = draw(st.sampled_from(["book", "book", "vault"] + accounts))
        return op, (who, market, counterparty, price, lots)
    if op == "market_liquidate" or op == "deleverage":
        return op, (who, market)
    if op in ("backstop_liquidate", "share_liquidate"):
        return op, (who, draw(st.sampled_from(["vault", "vault", who, "book"])))
    if op == "socialize_loss":
        return op, (market, draw(st.sampled_from([1, -1, 1, -1, 0])))
    if op == "apply_funding":
        return op, (market, draw(st.integers(-2000, 2000)))
    if op == "fund_insurance":
        return op, (draw(st.integers(-1, usdt("100"))),)
    return draw(new_operation_call(state, ["BTC", "ETH"], who))


def amounts(state, account_id):
    """A quote amount: the domain's edges, the account's free collateral and one past it, or an
    ordinary size."""
    edges = st.sampled_from([-1, 0, 1, INT64_MAX, INT64_MAX + 1])
    ordinary = st.integers(1, usdt("20000"))
    account = state.accounts.get(account_id)
    if account is None:
        return st.one_of(edges, ordinary)
    try:
        free = free_collateral_quote(state, account)
    except LiqspecError:  # an account at the int64 edges
        return st.one_of(edges, ordinary)
    return st.one_of(edges, ordinary, st.sampled_from([max(1, free), free + 1]))


@st.composite
def new_operation_call(draw, state, markets, who):
    """deposit, withdraw, trade, set_mark, open_account or replace_book with arguments drawn from
    the venue: accounts (unknown ones too), amounts at the domain's edges and at free collateral,
    sizes up to INT64_MAX, prices around the mark and at the edges, new account IDs that clash
    with accounts or holders, every role, valid book shapes with owners of every role."""
    op = draw(st.sampled_from(["deposit", "withdraw", "trade", "set_mark", "open_account",
                               "replace_book"]))
    accounts = sorted(state.accounts) + ["ghost"]
    market = draw(st.sampled_from(markets + ["ghost"]))
    mark = state.marks.get(market, 1)
    price = st.one_of(st.integers(mark * 950 // 1000, mark * 1050 // 1000),
                      st.sampled_from([mark, 0, -1, 1, INT64_MAX]))
    if op in ("deposit", "withdraw"):
        return op, (who, draw(amounts(state, who)))
    if op == "trade":
        other = draw(st.sampled_from(accounts))
        buyer, seller = (who, other) if draw(st.booleans()) else (other, who)
        lots = draw(st.one_of(st.integers(1, 3000), st.sampled_from([-1, 0, INT64_MAX])))
        return op, (buyer, seller, market, lots, draw(price))
    if op == "set_mark":
        return op, (market, draw(price))
    if op == "open_account":
        return op, (draw(st.sampled_from(["n0", "n1", "", "outside", 5] + accounts)),
                    draw(st.sampled_from([None, None, "ghost"] + markets)),
                    draw(st.sampled_from([TRADER, TRADER, LIQUIDITY, BACKSTOP, "maker"])))
    shape = BookShape(draw(st.integers(1, 8)), draw(st.integers(1, 20_000)),
                      draw(st.sampled_from([1, 500, INT64_MAX])))
    return op, (market, shape, draw(st.sampled_from(["book", "n0", who])))


#: for each venue profile, the two markets' marks at 50,000 and 3,000 (BTC- and ETH-like)
HUMAN_MARKS = (50_000, 3_000)


@st.composite
def profile_venues(draw):
    """A venue on a venue profile (sometimes with dYdX-style open-interest scaling on every
    market), built by the reference: a book account, a vault, traders (some isolated) with
    deposits, positions opened at the mark by trades that pass the margin check."""
    profile = get_profile(draw(st.sampled_from(sorted(PROFILES))))
    if draw(st.booleans()):
        lower = draw(st.sampled_from([0, usdt("1000"), usdt("100000")]))
        scaling = OpenInterestScaling(lower, lower + draw(st.sampled_from([1, usdt("200000")])))
        profile = replace(profile, markets={m: replace(market, oi_scaling=scaling)
                                            for m, market in profile.markets.items()})
    markets = list(profile.markets)
    marks = {m: human * 10 ** profile.markets[m].price_decimals
             for m, human in zip(markets, HUMAN_MARKS)}
    state = venue(profile, marks=marks)
    open_account(state, "book", role=LIQUIDITY)
    open_account(state, "vault", role=BACKSTOP)
    names = [f"t{i}" for i in range(draw(st.integers(1, 5)))]
    for name in names:
        open_account(state, name, isolated_market=draw(st.sampled_from([None, None] + markets)))
        deposit(state, name, draw(st.integers(1, usdt("50000"))))
    for _ in range(draw(st.integers(0, 6))):
        buyer, seller = draw(st.sampled_from(names + ["book"])), draw(st.sampled_from(names))
        market = draw(st.sampled_from(markets))
        lots = draw(st.integers(1, 2 * 10 ** profile.markets[market].base_decimals))
        try:  # about 0..2 BTC or ETH: some trades pass the margin check, others not
            trade(state, buyer, seller, market, lots, state.marks[market])
        except LiqspecError:
            pass
    return state


@given(data=st.data(), state=profile_venues())
@settings(max_examples=150)
def test_account_trade_and_mark_operations_in_lockstep_every_profile_LIQ_RESULT_1(data, state):
    """Every venue profile: deposits, withdrawals, trades, marks, new accounts and book rebuilds
    run on both implementations, each with its own code, one after the other; after each call
    the receipts or the errors (type and result code) and the whole states are equal, and a
    rejection changed nothing. Rejections are drawn on purpose: zero and negative amounts,
    unknown accounts and markets, margin shortfalls, values at and past the int64 limits."""
    reference, fast = state, state.copy()
    markets = list(state.profile.markets)
    for _ in range(data.draw(st.integers(1, 12))):
        who = data.draw(st.sampled_from(sorted(reference.accounts) + ["ghost"]))
        op, args = data.draw(new_operation_call(reference, markets, who))
        before = reference.snapshot()
        want = outcome(lambda: getattr(REFERENCE, op)(reference, *args))
        got = outcome(lambda: getattr(FAST, op)(fast, *args))
        assert got == want, (op, args)
        assert fast.snapshot() == reference.snapshot(), (op, args)
        if want[0] == "error":
            assert reference.snapshot() == before, (op, args)
    assert all_violations(fast) == []


@given(data=st.data(), state=venues())
@settings(max_examples=150)
def test_operations_in_lockstep_LIQ_RESULT_1(data, state):
    """Both implementations run the same generated operations on the same venue, one after the
    other; after each, the receipts (with their journal entries) or the errors, and the whole
    resulting states, must be equal. Liquidatable traders are tried first so that the
    liquidation paths run."""
    from liqspec.reference import is_liquidatable
    reference, fast = state, state.copy()
    due = [a for a, acct in sorted(state.accounts.items())
           if acct.role == "trader" and is_liquidatable(acct, state)]
    calls = []
    for a in due:
        for m in ("BTC", "ETH"):
            op = data.draw(st.sampled_from(["market_liquidate", "deleverage", "liquidate",
                                            "backstop_liquidate", "share_liquidate"]))
            if op == "liquidate":
                calls.append((op, (a, m, "book", state.marks[m], None)))
            elif op in ("backstop_liquidate", "share_liquidate"):
                calls.append((op, (a, "vault")))
            else:
                calls.append((op, (a, m)))
    socialize = [("socialize_loss", (m, side)) for m in ("BTC", "ETH") for side in (1, -1)]
    calls += socialize
    calls += [data.draw(operation_calls(state, due)) for _ in range(data.draw(st.integers(1, 8)))]
    calls += socialize
    for op, args in calls:
        want = outcome(lambda: getattr(REFERENCE, op)(reference, *args))
        got = outcome(lambda: getattr(FAST, op)(fast, *args))
        assert got == want, (op, args)
        assert fast.snapshot() == reference.snapshot(), (op, args)
    assert all_violations(fast) == []


@given(ranking=POLICIES.map(lambda p: p["adl_ranking"]), adl_price=st.sampled_from(
           ["bankruptcy", "mark"]), seed=st.integers(0, 2**64),
       shorts=st.lists(st.tuples(st.integers(1, 3000), st.integers(1, usdt("60000")),
                                 st.integers(450_000, 550_000)), min_size=1, max_size=6),
       alice_lots=st.integers(1, 3000), mark=st.integers(400_000, 520_000),
       insurance=st.integers(0, usdt("2000")), with_eth=st.booleans())
@settings(max_examples=150)
def test_deleverage_rankings_differential_LIQ_ADL_2_LIQ_ADL_3_LIQ_ADL_4(
        ranking, adl_price, seed, shorts, alice_lots, mark, insurance, with_eth):
    """alice long at 3% margin (1.5 USDT per 50-USDT lot, 40 USDT for ETH) against shorts of
    random size, margin and entry price: every ranking and both ADL prices give the same
    allocation, fills, settlements and state."""
    profile = example_profile(adl_ranking=ranking, adl_price=adl_price, adl_seed=seed)
    deposits = {"alice": alice_lots * usdt("1.5") + usdt("40"), "dave": usdt("10000000")}
    deposits.update({f"s{i}": margin for i, (_, margin, _) in enumerate(shorts)})
    state = venue(profile, deposits=deposits, insurance_quote=insurance)
    open_long(state, "alice", "dave", "BTC", alice_lots)
    if with_eth:  # a second position makes the bankruptcy share of LIQ-ADL-4 a fraction
        open_long(state, "alice", "dave", "ETH", 100)
    for i, (lots, _, entry) in enumerate(shorts):
        try:
            open_long(state, "dave", f"s{i}", "BTC", lots, entry)
        except Rejection:
            pass
    set_mark(state, "BTC", mark)
    got, after = run_both(state, "deleverage", "alice", "BTC")
    if got[0] == "ok":
        assert all_violations(after) == []


@given(bob=st.integers(1, 5000), carol=st.integers(1, 5000), sold=st.integers(470_000, 489_999),
       insurance=st.integers(0, usdt("30")))
@settings(max_examples=100)
def test_write_off_and_socialize_differential_LIQ_SOCIAL_1_LIQ_SOCIAL_2(bob, carol, sold,
                                                                         insurance):
    """alice's long sold below bankruptcy beyond a small fund; the write-off is charged to the
    shorts pro rata, rounding up, the residual swept: the same on both implementations."""
    state = venue(example_profile(bad_debt_policy="socialize"),
                  deposits={"alice": usdt("1000"), "bob": usdt("100000"),
                            "carol": usdt("100000"), "lp": usdt("10000000")},
                  insurance_quote=insurance)
    open_long(state, "alice", "lp", "BTC", 1000)
    open_long(state, "lp", "bob", "BTC", bob)
    open_long(state, "lp", "carol", "BTC", carol)
    set_mark(state, "BTC", sold)
    got, state = run_both(state, "liquidate", "alice", "BTC", "lp", sold)
    assert got[0] == "ok"
    got, state = run_both(state, "socialize_loss", "BTC", -1)
    assert got[0] == "ok" or got[2] == ResultCode.NOTHING_TO_SOCIALIZE
    assert all_violations(state) == []
