"""The trader's chosen leverage (LIQ-LEVERAGE-1..4) and opening an account where a venue's example
starts (LIQ-ACCOUNT-3), with the venues' published worked examples (sources read 2026-12-04).

The margin checks that read the leverage (``trade``, ``withdraw``, the requirement queries) run on
both implementations (the ``impl`` fixture in conftest.py), and so do the rejections of
``set_leverage``.
"""

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from liqspec import codec
from liqspec.reference import (InvalidLeverage, LiqspecError, Rejection, ResultCode, Tier,
                               initial_margin_at_leverage_quote, initial_margin_quote, new_state,
                               open_account_at, open_isolated_at_leverage, posted_margin_quote,
                               tier_max_leverage, to_units)
from liqspec.reference.invariants import all_violations
from liqspec.reference.margin import notional_quote
from liqspec.reference.prices import round_for_display
from liqspec.reference.profiles import get_profile
from liqspec.testing import EXAMPLE_MARKS, implementation, example_profile, usdt, venue

#: the reference's operations, for the tests that are about it alone
REFERENCE = implementation("reference")

MAKER = "maker"


def venue_at(impl, profile_name: str, prices: dict[str, str]):
    """A fresh venue under a named profile, its markets marked at ``prices`` (others at 1 tick),
    with a maker funded with 10^9 quote units."""
    profile = get_profile(profile_name)
    state = new_state(profile, {m: to_units(prices[m], market.price_decimals) if m in prices
                                else 1 for m, market in profile.markets.items()})
    impl.open_account(state, MAKER)
    impl.deposit(state, MAKER, 10**9 * 10**profile.quote_decimals)
    return state


def refused(state, code, operation, *args, **kwargs):
    """``operation`` is refused with ``code`` and changes nothing (LIQ-RESULT-1)."""
    before = state.snapshot()
    with pytest.raises(LiqspecError) as error:
        operation(state, *args, **kwargs)
    assert error.value.code == code
    assert state.snapshot() == before


# -- the venues' worked examples ------------------------------------------------------------------

@pytest.mark.rule("LIQ-LEVERAGE-3")
def test_bybit_isolated_50x_posts_400_LIQ_LEVERAGE_3(impl):
    """Bybit "Liquidation Price (USDT Contract)", Standard account, isolated: "1 BTC @ 20,000, 50x:
    IM = 400, MM = 100", liquidation price 19,700: Bybit's profile takes an isolated position's
    MM on its entry value (LIQ-TIER-6), so 400 + (P - 20,000) = 100 gives exactly 19,700.
    Source: https://help.bybit.com/hc/en-us/articles/900000181046-Liquidation-Price-USDT-Contract-
    (read 2026-12-04). Rules: LIQ-LEVERAGE-3, LIQ-LEVERAGE-2, LIQ-TIER-6."""
    state = venue_at(impl, "bybit", {"BTCUSDT": "20000"})
    btc = state.market("BTCUSDT")
    receipt = open_isolated_at_leverage(state, "trader", "BTCUSDT", to_units("1", 3),
                                        to_units("20000", 1), 50, MAKER)
    assert receipt.entries[0].amount_quote == usdt("400")  # the deposit: 20,000 / 50
    trader = state.account("trader")
    assert (trader.isolated_market, trader.leverage) == ("BTCUSDT", {"BTCUSDT": 50})
    assert impl.equity_quote(trader, state.marks, state.profile) == usdt("400")
    assert impl.account_initial_margin_quote(trader, state.marks, state.profile) == usdt("400")
    assert impl.free_collateral_quote(state, trader) == 0
    refused(state, ResultCode.INSUFFICIENT_FREE_COLLATERAL, impl.withdraw, "trader", 1)
    exact = impl.liquidation_price(trader, "BTCUSDT", state.marks, state.profile).exact
    assert exact / 10**btc.price_decimals == 19_700
    assert all_violations(state) == []


@pytest.mark.rule("LIQ-LEVERAGE-3")
def test_binance_isolated_20x_posts_462_665_LIQ_LEVERAGE_3(impl):
    """Binance "How to Calculate Cost Required to Open a Position in Perpetual Futures Contracts":
    "Initial Margin = Notional Value / Leverage = (9,253.30 * 1 BTC) / 20 = 462.66"; exactly
    462.665 USDT, which Binance prints truncated. 20x is within BTCUSDT's first bracket (125x).
    Source: https://www.binance.com/en/support/faq/87fa7ee33b574f7084d42bd2ce2e463b ; the leverage
    is the trader's choice: "the Initial Margin is determined by the leverage you selected"
    (https://www.binance.com/en/support/faq/360033162192), both read 2026-12-04.
    Rules: LIQ-LEVERAGE-3, LIQ-LEVERAGE-2."""
    state = venue_at(impl, "binance_usdm", {"BTCUSDT": "9253.30"})
    btc = state.market("BTCUSDT")
    lots, entry = to_units("1", 3), to_units("9253.30", 2)
    notional = notional_quote(lots, entry, btc)
    assert posted_margin_quote(notional, 20) == usdt("462.665")
    open_isolated_at_leverage(state, "trader", "BTCUSDT", lots, entry, 20, MAKER)
    trader = state.account("trader")
    assert impl.equity_quote(trader, state.marks, state.profile) == usdt("462.665")
    assert round_for_display(Fraction(usdt("462.665"), 10**6), 2, "down") == "462.66"
    assert impl.account_initial_margin_quote(trader, state.marks, state.profile) == usdt("462.665")
    # the venue's own requirement of the bracket, without a chosen leverage: 0.80%
    assert initial_margin_quote(btc, notional) == usdt("74.0264")


@pytest.mark.rule("LIQ-LEVERAGE-1")
def test_tier_maximum_gives_back_the_published_maximum_LIQ_LEVERAGE_1():
    """Each tier's maximum is 10^6 / initial rate to the nearest whole multiple: Binance BTCUSDT
    125x / 100x / 50x / 20x at 0.80% / 1.00% / 2.00% / 5.00% (COIN-M page: "Initial Margin Rate = 1 /
    Leverage", https://www.binance.com/en/support/faq/be2c7d9d95b04a7e8044ed02dd7dfe5c); Bybit
    BTCUSDT 90x at 1.11% and 70x at 1.43% (risk-limit table); Hyperliquid 15x, whose rate 1/15
    the profile keeps exact, 200,000 in the scale 3 (LIQ-TIER-7). Binance prints ETH's 75x
    bracket as 1.30%: the rule gives 77x there (the documented divergence). Rule: LIQ-LEVERAGE-1."""
    binance = get_profile("binance_usdm").market("BTCUSDT")
    assert [tier_max_leverage(binance, t) for t in binance.tiers[:4]] == [125, 100, 50, 20]
    bybit = get_profile("bybit").market("BTCUSDT")
    assert {t.init_margin_ppm: tier_max_leverage(bybit, t) for t in bybit.tiers[1:5]} == {
        11_100: 90, 12_500: 80, 13_300: 75, 14_300: 70}
    eth = get_profile("hyperliquid").market("ETH")
    fifteen = eth.tiers[1]
    assert (eth.rate_scale, fifteen.init_margin_ppm, tier_max_leverage(eth, fifteen)) \
        == (3, 200_000, 15)
    binance_eth = get_profile("binance_usdm").market("ETHUSDT")
    assert tier_max_leverage(binance_eth, binance_eth.tiers[1]) == 77
    # a tie goes down; 100% allows 1x and one ppm allows 10^6x
    assert tier_max_leverage(binance, Tier(0, 1, 0, 400_000)) == 2  # 2.5
    assert [tier_max_leverage(binance, Tier(0, 1, 0, r)) for r in (1_000_000, 1)] \
        == [1, 1_000_000]


@pytest.mark.rule("LIQ-LEVERAGE-1")
@pytest.mark.rule("LIQ-LEVERAGE-4")
def test_rejected_leverage_changes_nothing_LIQ_LEVERAGE_1_LIQ_LEVERAGE_4(impl):
    """0x, 10^6 + 1 and a boolean are outside the domain; above the tier's maximum is
    LEVERAGE_ABOVE_TIER_MAX, at the flat account's tier 1 (EX's BTC: 0.8% initial, 125x) and at an
    open position's tier (1 BTC at 50,000: tier 2, 1%, 100x); each leaves the state as it was, on
    both implementations. Rules: LIQ-LEVERAGE-1, LIQ-LEVERAGE-4, LIQ-RESULT-1."""
    state = venue(deposits={"alice": usdt("10000"), "bob": usdt("1000000")})
    for bad in (0, -1, 10**6 + 1):
        refused(state, ResultCode.INVALID_LEVERAGE, impl.set_leverage, "alice", "BTC", bad)
    refused(state, ResultCode.NOT_AN_INTEGER, impl.set_leverage, "alice", "BTC", True)
    refused(state, ResultCode.LEVERAGE_ABOVE_TIER_MAX, impl.set_leverage, "alice", "BTC", 126)
    impl.set_leverage(state, "alice", "BTC", 125)
    impl.set_leverage(state, "alice", "BTC", 100)
    impl.trade(state, "alice", "bob", "BTC", 1_000, 500_000)
    refused(state, ResultCode.LEVERAGE_ABOVE_TIER_MAX, impl.set_leverage, "alice", "BTC", 101)
    refused(state, ResultCode.UNKNOWN_ACCOUNT, impl.set_leverage, "mallory", "BTC", 0)
    refused(state, ResultCode.UNKNOWN_MARKET, impl.set_leverage, "alice", "DOGE", 0)
    impl.open_account(state, "iso", isolated_market="ETH")
    refused(state, ResultCode.ISOLATED_MARKET_MISMATCH, impl.set_leverage, "iso", "BTC", 10)
    # opening at a leverage: the same checks, nothing opened
    for bad, code in ((0, ResultCode.INVALID_LEVERAGE), (126, ResultCode.LEVERAGE_ABOVE_TIER_MAX)):
        refused(state, code, open_isolated_at_leverage, "new", "BTC", 100, 500_000, bad, "bob")
    assert "new" not in state.accounts
    with pytest.raises(InvalidLeverage):
        open_account_at(state, "new", 0, {}, "bob", leverage={"ETH": 0})


@pytest.mark.rule("LIQ-LEVERAGE-2")
def test_cross_leverage_sets_the_initial_requirement_of_new_positions_LIQ_LEVERAGE_2(impl):
    """At 20x, 1 BTC at 50,000 requires exactly 2,500 USDT (the venue's own is 400): with 2,500
    USDT alice buys it, with one quantum less she cannot (INSUFFICIENT_INITIAL_MARGIN), on both
    implementations. Rule: LIQ-LEVERAGE-2 (through LIQ-TRADE-2)."""
    for funds, outcome in ((usdt("2500"), None),
                           (usdt("2500") - 1, ResultCode.INSUFFICIENT_INITIAL_MARGIN)):
        state = venue(deposits={"alice": funds, "bob": usdt("1000000")})
        impl.set_leverage(state, "alice", "BTC", 20)
        if outcome is None:
            impl.trade(state, "alice", "bob", "BTC", 1_000, 500_000)
            alice = state.account("alice")
            assert impl.account_initial_margin_quote(alice, state.marks,
                                                     state.profile) == usdt("2500")
            assert impl.free_collateral_quote(state, alice) == 0
        else:
            refused(state, outcome, impl.trade, "alice", "bob", "BTC", 1_000, 500_000)
    state = venue()
    btc = state.market("BTC")
    assert initial_margin_quote(btc, usdt("50000")) == usdt("400")  # 1% - 100 deduction


@pytest.mark.rule("LIQ-LEVERAGE-2")
def test_the_tier_caps_a_leverage_chosen_in_a_lower_tier_LIQ_LEVERAGE_2(impl):
    """100x chosen while flat (tier 1 allows it); at 6 BTC (300,000 USDT, tier 3, 2% initial)
    the requirement is the tier's own, 300,000 x 2% - 2,600 = 3,400 USDT, not 3,000; withdrawing
    above what that leaves is refused on both implementations. Rule: LIQ-LEVERAGE-2."""
    state = venue(deposits={"alice": usdt("3900"), "bob": usdt("10000000")})
    impl.set_leverage(state, "alice", "BTC", 100)
    impl.trade(state, "alice", "bob", "BTC", 6_000, 500_000)
    alice = state.account("alice")
    venue_own = initial_margin_quote(state.market("BTC"), usdt("300000"))
    assert impl.account_initial_margin_quote(alice, state.marks, state.profile) == venue_own
    assert venue_own == usdt("3400")
    free = impl.free_collateral_quote(state, alice)
    assert free == usdt("500")
    refused(state, ResultCode.INSUFFICIENT_FREE_COLLATERAL, impl.withdraw, "alice", free + 1)
    impl.withdraw(state, "alice", free)


@pytest.mark.rule("LIQ-LEVERAGE-2")
@given(notional=st.integers(0, 10**15),
       leverage=st.one_of(st.none(), st.integers(1, 200), st.integers(1, 10**6)))
def test_requirement_at_leverage_is_the_ceiling_or_the_venues_LIQ_LEVERAGE_2(notional, leverage):
    """ceil(N / L), never below the venue's own; the venue's own without a leverage; never below
    N / L exactly (a rounding toward the account would fail here). Rule: LIQ-LEVERAGE-2."""
    btc = example_profile().market("BTC")
    venue_own = initial_margin_quote(btc, notional)
    required = initial_margin_at_leverage_quote(btc, notional, leverage)
    if leverage is None:
        assert required == venue_own
    else:
        assert required == max(venue_own, -(-notional // leverage))
        assert required * leverage >= notional
        assert required >= venue_own


@pytest.mark.rule("LIQ-LEVERAGE-4")
def test_lowering_the_leverage_needs_the_margin_raising_it_does_not_LIQ_LEVERAGE_4(impl):
    """alice (1,000 USDT) holds 1 BTC at 50,000 (venue requirement 500): 20x would need 2,500,
    refused; 50x needs exactly 1,000, accepted; 25x back down refused again; 50x -> 40x when
    equity covers it after a deposit. Rules: LIQ-LEVERAGE-4, LIQ-RESULT-1."""
    state = venue(deposits={"alice": usdt("1000"), "bob": usdt("1000000")})
    impl.trade(state, "alice", "bob", "BTC", 1_000, 500_000)
    refused(state, ResultCode.INSUFFICIENT_INITIAL_MARGIN, impl.set_leverage, "alice", "BTC", 20)
    receipt = impl.set_leverage(state, "alice", "BTC", 50)
    assert (receipt.code, receipt.entries, receipt.seq) == (ResultCode.OK, (), state.seq)
    refused(state, ResultCode.INSUFFICIENT_INITIAL_MARGIN, impl.set_leverage, "alice", "BTC", 40)
    impl.deposit(state, "alice", usdt("250"))
    impl.set_leverage(state, "alice", "BTC", 40)
    assert state.account("alice").leverage == {"BTC": 40}
    # a backstop is not margined: it has no leverage to choose
    state = venue(backstop_vault="vault")
    refused(state, ResultCode.ACCOUNT_NOT_TRADER, impl.set_leverage, "vault", "BTC", 10)


@pytest.mark.rule("LIQ-ACCOUNT-3")
def test_open_account_at_a_balance_and_positions_LIQ_ACCOUNT_3(impl):
    """carol: wallet 10,000 USDT, short 2 BTC from 48,000 and long 10 ETH from 2,900, at 20x in
    BTC: her equity at the entry prices is the balance, the journal holds the deposit then one
    fill per market in market-ID order, and the state keeps every invariant. A rejected opening
    (an isolated account given another market's position; a negative balance; lots of 0) changes
    nothing. Rules: LIQ-ACCOUNT-3, LIQ-LEDGER-2."""
    state = venue(deposits={"bob": usdt("1000000")})
    receipt = open_account_at(state, "carol", usdt("10000"),
                              {"ETH": (1_000, 290_000), "BTC": (-2_000, 480_000)}, "bob",
                              leverage={"BTC": 20})
    carol = state.account("carol")
    assert carol.positions == {"BTC": -2_000, "ETH": 1_000}
    assert carol.leverage == {"BTC": 20}
    assert impl.equity_quote(carol, {"BTC": 480_000, "ETH": 290_000},
                             state.profile) == usdt("10000")
    assert [type(e).__name__ for e in receipt.entries] == ["Transfer", "Transfer", "Fill",
                                                            "Transfer", "Fill"]
    assert [e.market_id for e in receipt.entries if hasattr(e, "market_id")] == ["BTC", "ETH"]
    assert all_violations(state) == []
    refused(state, ResultCode.ISOLATED_MARKET_MISMATCH, open_account_at, "dan", 0,
            {"BTC": (1, 500_000)}, "bob", isolated_market="ETH")
    refused(state, ResultCode.INVALID_AMOUNT, open_account_at, "dan", -1, {}, "bob")
    refused(state, ResultCode.INVALID_SIZE, open_account_at, "dan", 0, {"BTC": (0, 500_000)},
            "bob")
    refused(state, ResultCode.INVALID_PRICE, open_account_at, "dan", 0, {"BTC": (1, 0)}, "bob")
    refused(state, ResultCode.UNKNOWN_ACCOUNT, open_account_at, "dan", 0, {}, "nobody")
    refused(state, ResultCode.MALFORMED_STATE, open_account_at, "carol", 0, {}, "bob")
    # the leverage is checked at the entry notional: 2 BTC at 48,000 is in tier 2 (100x)
    refused(state, ResultCode.LEVERAGE_ABOVE_TIER_MAX, open_account_at, "dan", 0,
            {"BTC": (2_000, 480_000)}, "bob", leverage={"BTC": 101})


def test_codec_writes_leverage_only_when_chosen_LIQ_LEVERAGE_1(impl):
    """The one integer JSON: an account without a chosen leverage is written as before (no
    ``leverage`` key, so the shipped vectors do not change); one with it round-trips."""
    state = venue(deposits={"alice": usdt("1000"), "bob": usdt("1000")})
    impl.set_leverage(state, "alice", "BTC", 20)
    data = codec.state_to_json(state)
    written = {a["account_id"]: a for a in data["accounts"]}
    assert "leverage" not in written["bob"]
    assert written["alice"]["leverage"] == {"BTC": "20"}
    back = codec.state_from_json(state.profile, data)
    assert back.snapshot() == state.snapshot()
    assert dict(EXAMPLE_MARKS) == back.marks


@pytest.mark.rule("LIQ-LEVERAGE-1")
def test_a_state_file_carries_the_leverage_and_explain_shows_it_LIQ_LEVERAGE_1():
    """A state file's position may give the trader's ``leverage``; the loaded account keeps it,
    and ``explain`` shows it beside the tier's maximum, with the initial margin at that leverage
    (the Bybit example: 1 BTC at 20,000, 50x, IM 400). Rules: LIQ-LEVERAGE-1, LIQ-LEVERAGE-2."""
    import json

    from liqspec import statefile
    from liqspec.explain import explain_loaded, render_text
    document = {"profile": "bybit", "marks": {"BTCUSDT": "20000", "ETHUSDT": "1000"},
                "accounts": [{"id": "trader", "quote": "400", "isolated_market": "BTCUSDT",
                              "positions": {"BTCUSDT": {"size": "1", "entry_price": "20000",
                                                        "leverage": 50}}}]}
    loaded = statefile.loads(json.dumps(document))
    assert loaded.state.account("trader").leverage == {"BTCUSDT": 50}
    report = explain_loaded(loaded, "trader")
    (position,) = report["accounts"][0]["positions"]
    assert (position["leverage"]["value"], position["leverage"]["tier_max"]) == (50, 100)
    assert position["initial_margin"]["value"] == usdt("400")
    assert position["initial_margin"]["rules"][0] == "LIQ-LEVERAGE-2"
    assert report["accounts"][0]["free_collateral"]["value"] == 0
    text = render_text(report)
    assert "leverage" in text and "50x" in text and "tier maximum 100x" in text


@pytest.mark.reference_only
@pytest.mark.rule("LIQ-LEVERAGE-2")
def test_the_batch_kernel_takes_a_leverage_table_LIQ_LEVERAGE_2():
    """``liqspec.fast.initial_margin_quotes(..., leverage=)`` gives each account's requirement at
    its chosen leverages (0: none chosen), as the reference does account by account; a table of
    another shape is MalformedState, a value outside 0..10^6 InvalidLeverage."""
    import numpy as np

    from liqspec import fast
    from liqspec.reference import MalformedState
    state = venue(deposits={"a": usdt("100000"), "b": usdt("100000"), "c": usdt("1000000")})
    REFERENCE.trade(state, "a", "c", "BTC", 1_000, 500_000)
    REFERENCE.trade(state, "c", "b", "ETH", 1_000, 300_000)
    REFERENCE.set_leverage(state, "a", "BTC", 7)
    REFERENCE.set_leverage(state, "b", "ETH", 3)
    tables = fast.tables_for(state.profile)
    arrays = fast.pack_state(state, tables)
    table = np.zeros(arrays.lots.shape, dtype=np.int64)
    for i, account_id in enumerate(arrays.account_ids):
        for market_id, chosen in state.account(account_id).leverage.items():
            table[i, tables.column(market_id)] = chosen
    oi = np.zeros(len(tables.market_ids), dtype=np.int64)
    got = fast.initial_margin_quotes(arrays.lots, arrays.marks, tables, oi, leverage=table)
    want = [REFERENCE.account_initial_margin_quote(state.account(a), state.marks, state.profile)
            for a in arrays.account_ids]
    assert list(got) == want
    assert want[:2] == [-(-usdt("50000") // 7), usdt("10000")]
    with pytest.raises(MalformedState):
        fast.initial_margin_quotes(arrays.lots, arrays.marks, tables, oi, leverage=table[:1])
    with pytest.raises(InvalidLeverage):
        fast.initial_margin_quotes(arrays.lots, arrays.marks, tables, oi, leverage=-table)
