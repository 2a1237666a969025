"""The closed value domain (LIQ-DOMAIN-1) on both implementations: every stored quantity (book
levels, transfer and fill amounts, funding amounts) and the Binance ranking's wallet balance
stay in int64, and the operation that would take one out is refused with Overflow, at the same
point on the reference and on liqspec.fast, changing nothing.

Each test here failed before: the reference stored the out-of-range value (a book ask above
2^63 - 1, merged lots of 2^63, a funding amount of 2^63, a wallet balance beyond int64) and the
fast path either raised Overflow later, where the reference answered a rejection, or wrapped.

The example venue EX (liqspec.testing): a BTC lot at a BTC tick is worth 100 quote quantums.
"""

from dataclasses import replace

import pytest

from liqspec.fast.compare import IMPLEMENTATIONS
from liqspec.reference import (Account, LiqspecError, Market, Overflow, Profile, open_account,
                               set_mark)
from liqspec.reference.arithmetic import INT64_MAX, INT64_MIN
from liqspec.reference.book import Book, BookShape, build_book
from liqspec.reference.cascade import CascadeConfig, PricePath, replace_book
from liqspec.reference.funding import funding_owed_quote
from liqspec.reference.ledger import transfer
from liqspec.reference.state import INSURANCE_FUND, LIQUIDITY
from liqspec.testing import example_profile, usdt, venue

OVERFLOW = {"error": "Overflow", "code": "OVERFLOW"}


def outcome(call) -> dict:
    """A call's result (any value), or its typed error's type and result code."""
    try:
        return {"ok": call()}
    except LiqspecError as error:
        return {"error": type(error).__name__, "code": error.code.name}


# -- book levels (LIQ-BOOK-1) ---------------------------------------------------------------------

def test_a_book_around_a_mark_near_2_63_is_refused_and_nothing_changes_LIQ_DOMAIN_1():
    """ceil((2^63 - 1) x 1.001) > 2^63 - 1: the first ask cannot be stored. The rebuild is
    refused; the old book and the mark stay (LIQ-RESULT-1)."""
    state = venue(deposits={"alice": usdt("1000")})
    open_account(state, "book", role=LIQUIDITY)
    replace_book(state, "BTC", BookShape(2, 1000, 5), "book")
    assert state.books["BTC"].asks == [[500_500, 5], [501_000, 5]]  # 50,000.0 x 1.001, x 1.002
    set_mark(state, "BTC", INT64_MAX)
    before = state.snapshot()
    with pytest.raises(Overflow, match="ask level 1"):
        replace_book(state, "BTC", BookShape(2, 1000, 5), "book")
    assert state.snapshot() == before
    # the deepest book that fits is still built: 10^-6 above 2^63 - 1 - 10^13 rounds to a tick
    assert build_book(BookShape(1, 1, 5), INT64_MAX - 10**13, "book").asks[0][0] <= INT64_MAX


def test_after_a_refused_rebuild_both_answer_the_same_rejections_LIQ_DOMAIN_1(impl):
    """The issue's case: set_mark(BTC, 2^63 - 1) and a book rebuild. The reference used to store
    asks above int64, after which the fast deleverage and market_liquidate raised Overflow
    (packing the book) where the reference answered NO_POSITION and NOT_LIQUIDATABLE."""
    state = venue(deposits={"alice": usdt("1000")})
    open_account(state, "book", role=LIQUIDITY)
    set_mark(state, "BTC", INT64_MAX)
    with pytest.raises(Overflow):
        replace_book(state, "BTC", BookShape(2, 1000, 5), "book")
    assert outcome(lambda: impl.deleverage(state.copy(), "alice", "BTC")) == \
        {"error": "Rejection", "code": "NO_POSITION"}
    assert outcome(lambda: impl.market_liquidate(state.copy(), "alice", "BTC")) == \
        {"error": "Rejection", "code": "NOT_LIQUIDATABLE"}


def test_merged_levels_keep_their_lots_in_int64_LIQ_DOMAIN_1():
    """Around an index of 1 tick, levels 1 and 2 (0.0001% and 0.0002% up) both round up to 2
    ticks and merge: 2 x 2^62 lots = 2^63, one more than int64 holds (the fast path used to
    wrap it to -2^63); 2 x (2^62 - 1) fits."""
    assert build_book(BookShape(2, 1, 2**62 - 1), 1, "book").asks == [[2, 2**63 - 2]]
    with pytest.raises(Overflow, match="lots of the book level at 2 ticks"):
        build_book(BookShape(2, 1, 2**62), 1, "book")
    with pytest.raises(Overflow):
        BookShape(1, 1, 2**63)  # one level of 2^63 lots cannot be stored either


def _cascade(index_ticks: int, shape: BookShape):
    state = venue(deposits={"alice": usdt("1000")})
    open_account(state, "book", role=LIQUIDITY)
    return state, CascadeConfig(PricePath(60, {"BTC": (index_ticks,)}), {"BTC": shape},
                                book_account="book")


@pytest.mark.parametrize("index_ticks, shape", [
    (INT64_MAX, BookShape(2, 1000, 5)),  # the ask leaves int64
    (1, BookShape(2, 1, 2**62)),  # the merged lots leave int64
])
def test_a_cascade_whose_rebuilt_book_leaves_int64_is_overflow_on_both_LIQ_DOMAIN_1(
        index_ticks, shape):
    """The reference used to run on with the out-of-range book (and the fast path to raise, or
    to wrap the merged lots); now both stop at the same rebuild with Overflow."""
    outcomes = {}
    for name, implementation in IMPLEMENTATIONS.items():
        state, config = _cascade(index_ticks, shape)
        before = state.snapshot()
        outcomes[name] = outcome(lambda: implementation.run_cascade(state, config))
        assert state.snapshot() == before, name  # the input state is never touched
    assert outcomes == {"reference": OVERFLOW, "fast": OVERFLOW}


# -- transfer, fill and funding amounts (LIQ-LEDGER-1/2, LIQ-FUNDING-1) ----------------------------

def test_a_transfer_of_2_63_is_refused_before_any_balance_moves_LIQ_DOMAIN_1():
    """Both balances would fit (2^62 - 2^63 = -2^62 and -2^62 + 2^63 = 2^62), but the journal
    entry would carry 2^63: refused, nothing written."""
    state = venue(deposits={"alice": 1})
    state.accounts["alice"].quote = 2**62
    state.holders[INSURANCE_FUND] = -(2**62)
    before = state.snapshot()
    with pytest.raises(Overflow, match="transfer amount"):
        transfer(state, "alice", INSURANCE_FUND, 2**63, "LIQ-TEST")
    assert state.snapshot() == before


def _funding_state():
    """A market where one lot at one tick is one quantum: a short of 2^62 lots at 2 ticks is
    worth exactly -2^63."""
    unit = Market("U", base_decimals=3, price_decimals=3, tiers=example_profile().market("BTC").tiers)
    profile = Profile("unit", 6, {"U": unit})
    state = venue(profile=profile, marks={"U": 2})
    state.accounts["s"] = Account("s", quote=2**62, positions={"U": -(2**62)})
    state.accounts["l"] = Account("l", quote=0, positions={"U": 2**61})  # worth 2^62
    return state


def test_a_funding_amount_of_2_63_is_overflow_on_both_LIQ_DOMAIN_1(impl):
    """A value of -2^63 at -100% owes 2^63: the reference's funding_owed_quote returned it (the
    fast path raised Overflow, a documented difference); now both raise, and apply_funding
    changes nothing."""
    with pytest.raises(Overflow, match="funding amount"):
        funding_owed_quote(INT64_MIN, -1_000_000)
    assert funding_owed_quote(INT64_MIN + 1, -1_000_000) == INT64_MAX
    state = _funding_state()
    assert outcome(lambda: impl.funding_owed(state, "U", -1_000_000)) == OVERFLOW
    before = state.snapshot()
    assert outcome(lambda: impl.apply_funding(state, "U", -1_000_000)) == OVERFLOW
    assert state.snapshot() == before
    # at -99.9999% the short owes ceil(2^63 x 0.999999) and the long is owed
    # floor(2^62 x 0.999999): both fit
    assert outcome(lambda: impl.funding_owed(state, "U", -999_999)) == \
        {"ok": {"l": -(2**62 * 999_999 // 10**6), "s": -(-(2**63) * 999_999 // 10**6)}}


# -- the Binance ranking's wallet balance (LIQ-ADL-2) ----------------------------------------------

def _adl_state(markets: int):
    """alice is long 1 BTC lot and bankrupt (no fund, no book); bob, the only short, has equity
    near 2^63 and holds 1 lot in each other market with a cost basis of 2^63 - 1 (far above its
    value): bob's wallet balance, quote + the cost bases, is about (markets) x 2^63."""
    base = example_profile(adl_ranking="pnl_margin_ratio")
    btc = base.market("BTC")
    others = {f"M{k}": replace(btc, market_id=f"M{k}", value_per_lot_tick=0)
              for k in range(1, markets)}
    profile = replace(base, markets={"BTC": replace(btc, value_per_lot_tick=0), **others})
    marks = {m: 500_000 for m in profile.markets}
    state = venue(profile=profile, marks=marks)
    state.accounts["alice"] = Account("alice", quote=-usdt("100"), positions={"BTC": 1},
                                      cost_quote={"BTC": 50_000_000})
    positions = {"BTC": -1, **{m: 1 for m in others}}
    cost = {"BTC": -50_000_000, **{m: INT64_MAX for m in others}}
    state.accounts["bob"] = Account("bob", quote=INT64_MAX - 10**9, positions=positions,
                                    cost_quote=cost)
    return state


@pytest.mark.parametrize("markets", [2, 5])
def test_a_wallet_balance_beyond_int64_is_overflow_on_both_LIQ_DOMAIN_1(impl, markets):
    """With 5 markets the wallet x equity denominator of bob's score, about 5 x 2^63 x 2^63,
    left 128 bits: the fast path raised Overflow where the reference ranked bob and
    deleveraged. The wallet balance is now a derived quantity of LIQ-DOMAIN-1: both refuse at
    the same point, with 2 markets (where both used to deleverage) too."""
    state = _adl_state(markets)
    before = state.snapshot()
    assert outcome(lambda: impl.deleverage(state, "alice", "BTC")) == OVERFLOW
    assert state.snapshot() == before
    # with bob's cost bases at their values the wallet fits: both deleverage and agree
    results = {}
    for name, implementation in IMPLEMENTATIONS.items():
        fitting = _adl_state(markets)
        for m in list(fitting.accounts["bob"].cost_quote)[1:]:
            fitting.accounts["bob"].cost_quote[m] = 50_000_000
        receipt = implementation.deleverage(fitting, "alice", "BTC")
        results[name] = (receipt.code.name, fitting.snapshot())
    assert results["reference"] == results["fast"]
    assert results["reference"][0] == "OK"


def test_a_hand_built_book_outside_int64_is_refused_by_the_fast_path_when_packed():
    """The one remaining limit (liqspec.fast.compare): a state built by hand, not by the
    operations, with a stored value outside int64 is refused by the fast path when it is packed
    with a typed Overflow, while the reference raises only when it reads the value. The
    reference's checks (check_<operation>) run first on both, so an operation they refuse is
    refused alike."""
    state = venue(deposits={"alice": usdt("1000")})
    open_account(state, "book", role=LIQUIDITY)
    state.books["BTC"] = Book("book", [], [[2**63, 1]])
    before = state.snapshot()
    assert outcome(lambda: IMPLEMENTATIONS["fast"].deposit(state, "alice", usdt("1"))) == OVERFLOW
    refused = {name: outcome(lambda: impl.deleverage(state, "alice", "BTC"))
               for name, impl in IMPLEMENTATIONS.items()}
    assert refused["fast"] == refused["reference"] == {"error": "Rejection",
                                                       "code": "NO_POSITION"}
    assert state.snapshot() == before


# -- a market without a mark (LIQ-DOMAIN-2) --------------------------------------------------------

def _unmarked_state():
    """A hand-built state whose marks miss BTC, where "a" is long 2 lots; "b" holds only ETH."""
    state = venue(deposits={"a": usdt(1_000), "b": usdt(1_000)})
    state.accounts["a"].positions["BTC"] = 2
    state.accounts["a"].cost_quote["BTC"] = usdt(100)
    state.accounts["b"].positions["ETH"] = 3
    state.accounts["b"].cost_quote["ETH"] = usdt(10)
    del state.marks["BTC"]
    return state


def test_a_position_in_a_market_without_a_mark_is_a_key_error_on_both_LIQ_DOMAIN_2(impl):
    """The reference raises KeyError (the market id) where it reads the missing mark: valuing a
    position in that market, or an operation that does (a withdrawal's gate values every
    trader). The fast path read 1 tick there; now it raises the same error, changing nothing.
    Where no mark of that market is read (b's equity, a deposit) both answer alike."""
    state = _unmarked_state()
    before = state.snapshot()
    with pytest.raises(KeyError, match="BTC"):
        impl.equity_quote(state.accounts["a"], state.marks, state.profile)
    with pytest.raises(KeyError, match="BTC"):
        impl.withdraw(state, "b", 1)
    assert state.snapshot() == before
    assert impl.equity_quote(state.accounts["b"], state.marks, state.profile) == \
        IMPLEMENTATIONS["reference"].equity_quote(state.accounts["b"], state.marks,
                                                  state.profile)
    impl.deposit(state, "a", usdt(1))
    assert state.accounts["a"].quote == usdt(1_001)
