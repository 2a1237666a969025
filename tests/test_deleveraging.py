"""Auto-deleveraging (LIQ-ADL-1/2/3/4).

Running example: alice is long 1 BTC bought at 50,000 with 1,000 USDT (quote -49,000). At a mark
of 48,500 her equity is -500 USDT: bankrupt. Bob is short 2 BTC and carol short 1 BTC, both sold at
50,000; bob posted 5,000 USDT and carol 50,000, so bob is far more leveraged.
"""

from fractions import Fraction

import pytest

from liqspec.reference import (INSURANCE_FUND, SOCIALIZED_LOSS, Account, Fill, InvalidAmount,
                               MalformedState, NotAnInteger, Rejection, ResultCode,
                               adl_allocation, adl_receive_quote, fund_in_drawdown)
from liqspec.fast import adl_receive_quote as fast_adl_receive_quote
from liqspec.reference.invariants import all_violations
from liqspec.testing import open_long, example_profile, usdt, venue


def bankrupt_alice(impl, profile=None, insurance="100", mark=485_000):
    state = venue(profile, deposits={"alice": usdt("1000"), "bob": usdt("5000"),
                                     "carol": usdt("50000"), "dave": usdt("100000")},
                  insurance_quote=usdt(insurance))
    open_long(state, "alice", "dave", "BTC", 1000)
    open_long(state, "dave", "bob", "BTC", 2000)
    open_long(state, "dave", "carol", "BTC", 1000)
    impl.set_mark(state, "BTC", mark)
    return state


def test_bankruptcy_value_brings_equity_to_zero_LIQ_ADL_4(impl):
    state = bankrupt_alice(impl)
    alice = state.account("alice")
    assert impl.equity_quote(alice, state.marks, state.profile) == -usdt("500")
    # closing 1 BTC at 48,500 yields 48,500; plus the whole deficit, 500: the bankruptcy value
    assert adl_receive_quote(alice, "BTC", 1000, state) == usdt("49000")


def test_ranking_pnl_leverage_prefers_the_leveraged_winner_LIQ_ADL_2(impl):
    state = bankrupt_alice(impl)
    # both shorts gain 3% (1,500 on 50,000 per BTC); bob's leverage 97,000/8,000 far exceeds
    # carol's 48,500/51,500, so bob goes first and absorbs all 1,000 lots
    assert adl_allocation(state, state.account("alice"), "BTC") == [("bob", 1000)]


def test_ranking_greedy_spills_to_the_next_LIQ_ADL_2(impl):
    state = bankrupt_alice(impl)
    open_long(state, "bob", "dave", "BTC", 1500, 485_000)  # bob keeps only 0.5 BTC short
    assert adl_allocation(state, state.account("alice"), "BTC") == [("bob", 500),
                                                                    ("carol", 500)]


def test_pro_rata_largest_remainder_LIQ_ADL_2(impl):
    state = bankrupt_alice(impl, example_profile(adl_ranking="pro_rata"))
    # 1000 x 2/3 = 666.67 and 1000 x 1/3 = 333.33; the leftover lot goes to bob's larger remainder
    assert adl_allocation(state, state.account("alice"), "BTC") == [("bob", 667), ("carol", 333)]


def test_seeded_order_is_deterministic_and_covers_the_position_LIQ_ADL_2(impl):
    profile = example_profile(adl_ranking="seeded", adl_seed=7)
    state = bankrupt_alice(impl, profile)
    first = adl_allocation(state, bankrupt_alice(impl, profile).account("alice"), "BTC")
    state = bankrupt_alice(impl, profile)
    again = adl_allocation(state, bankrupt_alice(impl, profile).account("alice"), "BTC")
    assert first == again
    assert sum(lots for _, lots in first) == 1000
    assert {account for account, _ in first} <= {"bob", "carol"}


def test_deleverage_at_bankruptcy_price_LIQ_ADL_3(impl):
    state = bankrupt_alice(impl)
    bob_quote = state.account("bob").quote
    receipt = impl.deleverage(state, "alice", "BTC")
    assert receipt.amounts["lots"] == 1000
    assert state.account("alice").quote == 0 and state.account("alice").is_flat()
    assert state.account("bob").positions == {"BTC": -1000}
    assert state.account("bob").quote == bob_quote - usdt("49000")  # bought back at 49,000
    assert state.holders[INSURANCE_FUND] == usdt("100")  # untouched
    # the fill's cash is the exact bankruptcy value, so it records no traded tick (LIQ-ADL-3)
    fills = [e for e in receipt.entries if isinstance(e, Fill)]
    assert [(f.buyer, f.seller, f.lots, f.quote_amount, f.price_ticks, f.rule_id)
            for f in fills] == [("bob", "alice", 1000, usdt("49000"), None, "LIQ-ADL-3")]
    assert all_violations(state) == []


def test_deleverage_at_mark_leaves_the_deficit_to_settle_LIQ_ADL_4_LIQ_INSURANCE_1(impl):
    state = bankrupt_alice(impl, example_profile(adl_price="mark"))
    receipt = impl.deleverage(state, "alice", "BTC")
    # closed at the mark: the fill records the mark's tick, 485,000 (LIQ-ADL-3)
    fills = [e for e in receipt.entries if isinstance(e, Fill)]
    assert [(f.lots, f.quote_amount, f.price_ticks) for f in fills] == [
        (1000, usdt("48500"), 485_000)]
    # closed at 48,500: alice's quote -500, the fund pays its 100 and 400 is written off
    assert receipt.amounts["fund_paid"] == usdt("100")
    assert receipt.amounts["written_off"] == usdt("400")
    assert state.holders[SOCIALIZED_LOSS] == -usdt("400")
    assert all_violations(state) == []


def test_cross_account_deficit_shared_by_maintenance_LIQ_ADL_4(impl):
    """dYdX v4 allocation: each market's close carries the deficit in proportion to the
    maintenance margin it releases (GetBankruptcyPriceInQuoteQuantums)."""
    state = venue(marks={"BTC": 485_000, "ETH": 300_000})
    # long 1 BTC, short 10 ETH. MM: BTC 0.4% x 48,500 = 194; ETH 0.5% x 30,000 = 150.
    # Equity -344 = quote + 48,500 - 30,000, so quote = -18,844.
    state.accounts["x"] = Account("x", quote=-usdt("18844"), positions={"BTC": 1000, "ETH": -1000})
    x = state.accounts["x"]
    assert impl.equity_quote(x, state.marks, state.profile) == -usdt("344")
    # BTC: 48,500 - floor(-344 x 194 / 344) = 48,500 + 194
    assert adl_receive_quote(x, "BTC", 1000, state) == usdt("48694")
    x.quote += usdt("48694")
    del x.positions["BTC"]
    # ETH (short, so the account pays): -30,000 - floor(-150 x 150 / 150) = -29,850
    assert adl_receive_quote(x, "ETH", 1000, state) == -usdt("29850")
    x.quote -= usdt("29850")
    del x.positions["ETH"]
    assert x.quote == 0


@pytest.mark.parametrize("case, code", [
    ("solvent", ResultCode.NOT_BANKRUPT),
    ("fund_covers", ResultCode.FUND_CAN_COVER),
    ("socialize_profile", ResultCode.POLICY_FORBIDS),
    ("no_position", ResultCode.NO_POSITION),
    ("only_vault_opposite", ResultCode.INSUFFICIENT_ADL_LIQUIDITY),
])
def test_deleverage_rejections_change_nothing_LIQ_ADL_1(impl, case, code):
    market = "BTC"
    if case == "solvent":
        state = bankrupt_alice(impl, mark=495_000)
    elif case == "fund_covers":
        state = bankrupt_alice(impl, insurance="500")
    elif case == "socialize_profile":
        state = bankrupt_alice(impl, example_profile(bad_debt_policy="socialize"))
    elif case == "no_position":
        state, market = bankrupt_alice(impl), "ETH"
    else:
        state = venue(deposits={"alice": usdt("1000")}, backstop_vault="vault")
        open_long(state, "alice", "vault", "BTC", 1000)
        impl.set_mark(state, "BTC", 485_000)
    before = state.snapshot()
    with pytest.raises(Rejection) as error:
        impl.deleverage(state, "alice", market)
    assert error.value.code == code
    assert state.snapshot() == before


def test_pro_rata_never_allocates_more_than_a_trader_holds_LIQ_ADL_2(impl):
    """A vault holds most of the opposite side; the one trader short 10 lots must not be made to
    take 110 (which would flip it long): the shortfall is a rejection instead."""
    state = venue(example_profile(adl_ranking="pro_rata"),
                  deposits={"alice": usdt("100"), "t": usdt("100000")}, backstop_vault="vault")
    open_long(state, "alice", "t", "BTC", 10)
    open_long(state, "alice", "vault", "BTC", 100)
    impl.set_mark(state, "BTC", 480_000)
    assert adl_allocation(state, state.account("alice"), "BTC") == [("t", 10)]
    before = state.snapshot()
    with pytest.raises(Rejection) as error:
        impl.deleverage(state, "alice", "BTC")
    assert error.value.code == ResultCode.INSUFFICIENT_ADL_LIQUIDITY
    assert state.snapshot() == before


def test_counterparty_left_flat_in_deficit_is_settled_LIQ_ADL_3_LIQ_INV_4(impl):
    """ADL at a long's bankruptcy value makes the short buy back above the mark. Here thin shorted
    1 BTC at 48,500 on 490 USDT (initial margin 1% = 485); deleveraged at alice's bankruptcy
    value of 49,000 it loses 500 and is left flat at -10, which the fund pays at once."""
    state = venue(deposits={"alice": usdt("1000"), "dave": usdt("100000"), "thin": usdt("490")},
                  insurance_quote=usdt("30"))
    open_long(state, "alice", "dave", "BTC", 1000)  # alice long 1 BTC at 50,000: quote -49,000
    impl.set_mark(state, "BTC", 485_000)  # alice's equity -500 (bankrupt; the fund holds only 30)
    open_long(state, "dave", "thin", "BTC", 1000, 485_000)  # dave is flat; thin is the only short
    receipt = impl.deleverage(state, "alice", "BTC")
    assert state.account("alice").quote == 0  # 48,500 + 500 received: exactly zero equity
    thin = state.account("thin")
    assert thin.is_flat() and thin.quote == 0  # 490 + 48,500 - 49,000 = -10, then paid
    assert receipt.amounts["fund_paid"] == usdt("10")
    assert state.holders[INSURANCE_FUND] == usdt("20")
    assert all_violations(state) == []


def test_price_ratio_leverage_for_a_short_is_entry_over_mark_LIQ_ADL_2(impl):
    """Hyperliquid's index for a short uses entry / mark. At 48,500: bob (short 2 BTC sold at
    50,000, 5,000 USDT posted) has ratio 100,000 / 97,000 and leverage 97,000 / (105,000 -
    97,000 = 8,000): 100/97 x 97/8 = 25/2. carol (short 1 BTC, 50,000 posted): 50,000 / 48,500
    x 48,500 / (100,000 - 48,500 = 51,500) = 100/103."""
    from liqspec.reference.deleveraging import score_price_ratio_leverage
    state = bankrupt_alice(impl, example_profile(adl_ranking="price_ratio_leverage"))
    assert score_price_ratio_leverage(state.account("bob"), "BTC", state) == Fraction(25, 2)
    assert score_price_ratio_leverage(state.account("carol"), "BTC", state) == Fraction(100, 103)


def test_pnl_margin_ratio_counts_no_loss_LIQ_ADL_2(impl):
    """Binance's score takes max(0, unrealized PnL). At 51,500 both shorts lose (bob 100,000 -
    103,000 = -3,000, carol -1,500 USDT) with positive equity (2,000 and 48,500): both scores
    are 0, and the tie goes to the smaller account ID, bob."""
    from liqspec.reference.deleveraging import score_pnl_margin_ratio
    state = bankrupt_alice(impl, example_profile(adl_ranking="pnl_margin_ratio"), mark=515_000)
    assert impl.equity_quote(state.account("bob"), state.marks, state.profile) == usdt("2000")
    assert score_pnl_margin_ratio(state.account("bob"), "BTC", state) == 0
    assert score_pnl_margin_ratio(state.account("carol"), "BTC", state) == 0
    assert adl_allocation(state, state.account("alice"), "BTC") == [("bob", 1000)]
    # at 52,500 bob's equity is 105,000 - 2 x 52,500 = 0: no margin ratio, the score is 0
    impl.set_mark(state, "BTC", 525_000)
    assert impl.equity_quote(state.account("bob"), state.marks, state.profile) == 0
    assert score_pnl_margin_ratio(state.account("bob"), "BTC", state) == 0


def test_pnl_leverage_scores_by_hand_LIQ_ADL_2(impl):
    """PnL% is uPnL over the absolute entry cost. At 48,500 bob's 2 BTC short (cost -100,000)
    gains 3,000: 3/100, times leverage 97,000 / 8,000 = 291/800. carol gains 1,500 on 50,000:
    3/100 x 48,500 / 51,500 = 3/100 x 97/103 = 291/10,300."""
    from liqspec.reference.deleveraging import score_pnl_leverage
    state = bankrupt_alice(impl)
    assert score_pnl_leverage(state.account("bob"), "BTC", state) == Fraction(291, 800)
    assert score_pnl_leverage(state.account("carol"), "BTC", state) == Fraction(291, 10_300)


def test_seeded_start_is_splitmix_of_seed_xor_seq_LIQ_ADL_2(impl):
    """The start index is SplitMix64(adl_seed XOR seq) mod n, seq being the operations applied
    so far. With adl_seed = seq = 14, x = 0 and SplitMix64(0) = 0xE220A8397B1DCDAF (the spec's
    check value), which is odd: of the two candidates in ID order [bob, carol] the walk starts
    at index 1, so carol takes all 1,000 lots. (SplitMix64(14), ignoring seq, is even.)"""
    state = bankrupt_alice(impl, example_profile(adl_ranking="seeded", adl_seed=14))
    impl.set_mark(state, "BTC", 485_000)  # one more operation: the 14th
    assert state.seq == 14
    assert 0xE220A8397B1DCDAF % 2 == 1
    assert adl_allocation(state, state.account("alice"), "BTC") == [("carol", 1000)]


def receive_quote(impl):
    """LIQ-ADL-4's query on ``impl`` (queries are not in its namespace)."""
    return adl_receive_quote if impl.name == "reference" else fast_adl_receive_quote


#: OKX's drawdown rule (LIQ-ADL-5) on the example venue: 30% of the fund's peak within 8 hours
DRAWDOWN = example_profile(adl_drawdown_ppm=300_000, adl_drawdown_window_s=8 * 3600)


def test_a_fund_in_drawdown_deleverages_what_it_could_cover_at_the_mark_LIQ_ADL_5(impl):
    """alice's deficit is 500 USDT and the fund holds 500: it can cover, so without a drawdown
    deleveraging is FUND_CAN_COVER. The fund is in drawdown from a peak P when 0.7 P >= 500,
    that is from P = 714.285715 USDT (714,285,715 quantums; one fewer is a fall of 29.99999%).
    There bob takes alice's 1 BTC at the mark, 48,500.0, paying 48,500 USDT; alice is left flat
    at -500, which the fund pays, falling to 0."""
    for peak in (0, usdt("700"), 714_285_714):
        state = bankrupt_alice(impl, DRAWDOWN, insurance="500")
        before = state.snapshot()
        with pytest.raises(Rejection) as error:
            impl.deleverage(state, "alice", "BTC", fund_peak_quote=peak)
        assert error.value.code == ResultCode.FUND_CAN_COVER, peak
        assert state.snapshot() == before
    state = bankrupt_alice(impl, DRAWDOWN, insurance="500")
    receipt = impl.deleverage(state, "alice", "BTC", fund_peak_quote=714_285_715)
    fills = [e for e in receipt.entries if isinstance(e, Fill)]
    assert [(f.buyer, f.seller, f.lots, f.quote_amount, f.price_ticks) for f in fills] == [
        ("bob", "alice", 1000, usdt("48500"), 485_000)]
    assert receipt.amounts["fund_paid"] == usdt("500") and state.holders[INSURANCE_FUND] == 0
    assert state.account("alice").is_flat() and state.account("alice").quote == 0
    assert all_violations(state) == []


def test_the_drawdown_edge_is_exact_and_needs_the_rule_LIQ_ADL_5(impl):
    """A fall of exactly 30% (700 under a peak of 1,000) counts; one quantum less does not. A
    profile without the rule is never in drawdown, so its bankruptcy-price deleveraging is the
    same with any peak."""
    state = bankrupt_alice(impl, DRAWDOWN, insurance="700")
    assert fund_in_drawdown(state, usdt("1000")) and not fund_in_drawdown(state, usdt("1000") - 1)
    assert not fund_in_drawdown(state, 0) and not fund_in_drawdown(state, usdt("700"))
    alice = state.account("alice")
    # in drawdown the quote alice receives is the mark value, 48,500; else her bankruptcy value
    assert receive_quote(impl)(alice, "BTC", 1000, state, usdt("1000")) == usdt("48500")
    assert receive_quote(impl)(alice, "BTC", 1000, state, usdt("1000") - 1) == usdt("49000")
    plain = bankrupt_alice(impl)  # no rule: a fund of 100 against a deficit of 500
    assert not fund_in_drawdown(plain, usdt("10000"))
    receipt = impl.deleverage(plain, "alice", "BTC", fund_peak_quote=usdt("10000"))
    assert [f.quote_amount for f in receipt.entries if isinstance(f, Fill)] == [usdt("49000")]


@pytest.mark.parametrize("peak, error", [
    (-1, InvalidAmount), (2**63, InvalidAmount), (1.5, NotAnInteger), (True, NotAnInteger)])
def test_a_fund_peak_outside_the_domain_changes_nothing_LIQ_ADL_5(impl, peak, error):
    """The peak is a balance: an integer in 0..2^63-1; anything else is refused by type, with
    nothing changed, on both implementations and in the query as in the operation."""
    state = bankrupt_alice(impl, DRAWDOWN)
    before = state.snapshot()
    with pytest.raises(error):
        impl.deleverage(state, "alice", "BTC", fund_peak_quote=peak)
    with pytest.raises(error):
        receive_quote(impl)(state.account("alice"), "BTC", 1000, state, peak)
    assert state.snapshot() == before


@pytest.mark.parametrize("fields", [
    {"adl_drawdown_ppm": 300_000}, {"adl_drawdown_window_s": 3600},
    {"adl_drawdown_ppm": 1_000_001, "adl_drawdown_window_s": 3600},
    {"adl_drawdown_ppm": 300_000, "adl_drawdown_window_s": -1},
    {"adl_drawdown_ppm": 300_000, "adl_drawdown_window_s": 3600, "bad_debt_policy": "socialize"}])
def test_drawdown_parameters_go_together_under_adl_LIQ_ADL_5(fields):
    with pytest.raises(MalformedState):
        example_profile(**fields)
