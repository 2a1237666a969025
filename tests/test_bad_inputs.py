"""Out-of-domain input gets its typed error and changes nothing (LIQ-DOMAIN-2/3, LIQ-RESULT-1/2).

Each case names the operation, its arguments, and the error class and result code expected; the
state image before and after must be identical.
"""

import pytest

from liqspec.reference import (INT64_MAX, Account, DomainError, InvalidAmount, InvalidPrice,
                               InvalidRate, InvalidSize, MalformedState, NotAnInteger, Overflow,
                               ResultCode, UnknownAccount, UnknownMarket, new_state)
from liqspec.reference.errors import Rejection
from liqspec.testing import EXAMPLE_MARKS, open_long, example_profile, usdt, venue

CASES = [
    # (operation name, args, error class, code)
    ("deposit", ("nobody", 5), UnknownAccount, ResultCode.UNKNOWN_ACCOUNT),
    ("deposit", ("alice", 0), InvalidAmount, ResultCode.INVALID_AMOUNT),
    ("deposit", ("alice", -5), InvalidAmount, ResultCode.INVALID_AMOUNT),
    ("deposit", ("alice", 2**63), InvalidAmount, ResultCode.INVALID_AMOUNT),
    ("deposit", ("alice", 1.5), NotAnInteger, ResultCode.NOT_AN_INTEGER),
    ("deposit", ("alice", True), NotAnInteger, ResultCode.NOT_AN_INTEGER),
    ("deposit", ("alice", "5"), NotAnInteger, ResultCode.NOT_AN_INTEGER),
    ("deposit", ("alice", INT64_MAX), Overflow, ResultCode.OVERFLOW),
    ("withdraw", ("alice", 0), InvalidAmount, ResultCode.INVALID_AMOUNT),
    ("withdraw", (None, 1), UnknownAccount, ResultCode.UNKNOWN_ACCOUNT),
    ("fund_insurance", (-1,), InvalidAmount, ResultCode.INVALID_AMOUNT),
    ("trade", ("alice", "bob", "DOGE", 1, 100), UnknownMarket, ResultCode.UNKNOWN_MARKET),
    ("trade", ("alice", "nobody", "BTC", 1, 100), UnknownAccount, ResultCode.UNKNOWN_ACCOUNT),
    ("trade", ("alice", "bob", "BTC", 0, 500_000), InvalidSize, ResultCode.INVALID_SIZE),
    ("trade", ("alice", "bob", "BTC", -3, 500_000), InvalidSize, ResultCode.INVALID_SIZE),
    ("trade", ("alice", "bob", "BTC", 1, 0), InvalidPrice, ResultCode.INVALID_PRICE),
    ("trade", ("alice", "bob", "BTC", 1, -500_000), InvalidPrice, ResultCode.INVALID_PRICE),
    ("trade", ("alice", "bob", "BTC", 1.0, 500_000), NotAnInteger, ResultCode.NOT_AN_INTEGER),
    ("trade", ("alice", "bob", "BTC", 2**62, 2**62), Overflow, ResultCode.OVERFLOW),
    ("set_mark", ("BTC", 0), InvalidPrice, ResultCode.INVALID_PRICE),
    ("set_mark", ("BTC", 2**63), InvalidPrice, ResultCode.INVALID_PRICE),
    ("set_mark", ("XRP", 5), UnknownMarket, ResultCode.UNKNOWN_MARKET),
    ("apply_funding", ("BTC", 2_000_000), InvalidRate, ResultCode.INVALID_RATE),
    ("apply_funding", ("BTC", 0.5), NotAnInteger, ResultCode.NOT_AN_INTEGER),
    ("liquidate", ("alice", "BTC", "bob", 0), InvalidPrice, ResultCode.INVALID_PRICE),
    ("liquidate", ("alice", "BTC", "ghost", 1), UnknownAccount, ResultCode.UNKNOWN_ACCOUNT),
    ("liquidate", ("alice", "BTC", "bob", 1, 0), InvalidSize, ResultCode.INVALID_SIZE),
    ("deleverage", ("alice", "SOL"), UnknownMarket, ResultCode.UNKNOWN_MARKET),
    ("backstop_liquidate", ("alice", "ghost"), UnknownAccount, ResultCode.UNKNOWN_ACCOUNT),
    ("socialize_loss", ("BTC", 2), InvalidSize, ResultCode.INVALID_SIZE),
]


@pytest.mark.parametrize("operation, args, error, code", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_bad_input_typed_error_state_unchanged_LIQ_DOMAIN_3(impl, operation, args, error, code):
    state = venue(deposits={"alice": usdt("1000"), "bob": usdt("1000")})
    open_long(state, "alice", "bob", "BTC", 10)
    before = state.snapshot()
    with pytest.raises(error) as raised:
        getattr(impl, operation)(state, *args)
    assert raised.value.code == code
    assert isinstance(raised.value, DomainError)
    assert state.snapshot() == before


def test_domain_errors_take_precedence_over_rejections_LIQ_RESULT_2(impl):
    state = venue(deposits={"alice": usdt("1000"), "bob": usdt("1000")})
    before = state.snapshot()
    # unknown account is checked before the amount
    with pytest.raises(UnknownAccount):
        impl.deposit(state, "nobody", 0)
    # a bad size is reported before the trade's own rejection (same account)
    with pytest.raises(InvalidSize):
        impl.trade(state, "alice", "alice", "BTC", 0, 500_000)
    with pytest.raises(Rejection) as rejected:
        impl.trade(state, "alice", "alice", "BTC", 1, 500_000)
    assert rejected.value.code == ResultCode.SAME_ACCOUNT
    # within the liquidation rejections, SAME_ACCOUNT precedes NOT_LIQUIDATABLE
    with pytest.raises(Rejection) as rejected:
        impl.liquidate(state, "alice", "BTC", "alice", 500_000)
    assert rejected.value.code == ResultCode.SAME_ACCOUNT
    assert state.snapshot() == before


def test_result_codes_are_ordered_by_family_LIQ_RESULT_2():
    domain = [c for c in ResultCode if 0 < c < 20]
    rejections = [c for c in ResultCode if c >= 20]
    assert max(domain) < min(rejections)
    assert ResultCode.OK == 0


@pytest.mark.parametrize("marks, error", [
    ({"BTC": 500_000}, MalformedState),  # ETH has no mark
    ({"BTC": 0, "ETH": 1}, InvalidPrice),
    ({"BTC": -1, "ETH": 1}, InvalidPrice),
    ({"BTC": 1.5, "ETH": 1}, NotAnInteger),
    (dict(EXAMPLE_MARKS, DOGE=5), UnknownMarket),
])
def test_malformed_initial_state_LIQ_DOMAIN_2(marks, error):
    with pytest.raises(error):
        new_state(example_profile(), marks)


@pytest.mark.parametrize("policies, message", [
    ({"liquidation_size": "sometimes"}, "liquidation_size"),
    ({"fee_policy": "free"}, "fee_policy"),
    ({"bad_debt_policy": "ignore"}, "bad_debt_policy"),
    ({"adl_price": "index"}, "adl_price"),
    ({"backstop_ratio": (3, 2)}, "backstop_ratio"),
    ({"portion_ppm": 0}, "portion_ppm"),
    ({"quote_decimals": 2}, "exact integer"),
])
def test_malformed_profiles_LIQ_DOMAIN_2(policies, message):
    with pytest.raises(MalformedState, match=message):
        example_profile(**policies)


def test_equity_overflow_is_an_error_not_a_wrap_LIQ_DOMAIN_1(impl):
    state = venue()
    state.accounts["whale"] = Account("whale", quote=INT64_MAX, positions={"BTC": 1})
    state.accounts["other"] = Account("other", quote=0, positions={"BTC": -1})
    with pytest.raises(Overflow):
        impl.withdraw(state, "whale", 1)  # equity INT64_MAX + 50 leaves the domain


@pytest.mark.parametrize("policies, message", [
    ({"adl_ranking": "random"}, "adl_ranking"),
    ({"display_rounding": "banker"}, "display_rounding"),
    ({"backstop_ratio": (2.0, 3)}, "backstop_ratio"),
    ({"backstop_ratio": (2, 3, 4)}, "backstop_ratio"),
    ({"backstop_ratio": 0.66}, "backstop_ratio"),
])
def test_malformed_policies_get_malformed_state_LIQ_DOMAIN_2(policies, message):
    with pytest.raises(MalformedState, match=message):
        example_profile(**policies)


def test_lot_tick_value_must_fit_int64_LIQ_DOMAIN_2_LIQ_UNIT_1():
    from liqspec.reference import Market
    from liqspec.testing import BTC_TIERS
    # lots of 10 units (base_decimals -1) are fine; a lot-tick worth 10**19 quantums is not
    assert example_profile(markets={"X": Market("X", -1, 1, BTC_TIERS)}).markets["X"] \
        .value_per_lot_tick == 10**6
    with pytest.raises(MalformedState, match="10\\*\\*19"):
        example_profile(quote_decimals=18, markets={"X": Market("X", -1, 0, BTC_TIERS)})
    with pytest.raises(MalformedState, match="base_decimals"):
        example_profile(markets={"X": Market("X", -19, 1, BTC_TIERS)})


def test_a_market_shared_by_two_profiles_keeps_each_profiles_unit_LIQ_UNIT_1():
    from liqspec.reference import Market
    from liqspec.testing import BTC_TIERS
    shared = Market("BTC", 3, 1, BTC_TIERS)
    six = example_profile(markets={"BTC": shared})
    eight = example_profile(quote_decimals=8, markets={"BTC": shared})
    assert six.markets["BTC"].value_per_lot_tick == 100
    assert eight.markets["BTC"].value_per_lot_tick == 10_000
    with pytest.raises(MalformedState, match="not bound"):  # the unbound original is unusable
        from liqspec.reference import position_value_quote
        position_value_quote(1, 1, shared)


def test_largest_values_are_in_the_domain_LIQ_DOMAIN_3(impl):
    """The domains are 1..2^63-1 inclusive: a mark of exactly 2^63-1 ticks is a valid price, a
    deposit and a top-up of exactly 2^63-1 quantums are valid amounts, a trade of 2^63-1 lots
    passes the size check (its notional then overflows: OVERFLOW, not INVALID_SIZE) and a fill
    price of 2^63-1 passes the price check (NOT_LIQUIDATABLE, not INVALID_PRICE)."""
    state = venue(deposits={"alice": 0, "bob": 0})
    impl.set_mark(state, "ETH", INT64_MAX)
    assert state.marks["ETH"] == INT64_MAX
    state = venue(deposits={"alice": 0, "bob": 0})
    impl.deposit(state, "alice", INT64_MAX)
    assert state.account("alice").quote == INT64_MAX
    state = venue(deposits={"alice": 0, "bob": 0})
    impl.fund_insurance(state, INT64_MAX)
    with pytest.raises(Overflow):
        impl.trade(state, "alice", "bob", "BTC", INT64_MAX, 1)
    with pytest.raises(Rejection) as refused:  # a valid fill price: the rule check comes next
        impl.liquidate(state, "alice", "BTC", "bob", INT64_MAX)
    assert refused.value.code == ResultCode.NOT_LIQUIDATABLE


#: a market ID the profile does not have, of every kind a caller might pass by mistake
NOT_MARKETS = ["XRP", ["BTC"], ("BTC",), {"BTC": 1}, None, 5]

#: every entry point that takes a market ID, called on a venue where alice is long BTC
MARKET_CALLS = {
    "liquidation_price":
        lambda impl, s, m: impl.liquidation_price(s.account("alice"), m, s.marks, s.profile),
    "bankruptcy_price":
        lambda impl, s, m: impl.bankruptcy_price(s.account("alice"), m, s.marks, s.profile),
    "open_interest_quote": lambda impl, s, m: impl.open_interest_quote(s, m),
    "set_mark": lambda impl, s, m: impl.set_mark(s, m, 5),
    "trade": lambda impl, s, m: impl.trade(s, "alice", "bob", m, 1, 500_000),
    "liquidate": lambda impl, s, m: impl.liquidate(s, "alice", m, "bob", 1),
    "market_liquidate": lambda impl, s, m: impl.market_liquidate(s, "alice", m),
    "deleverage": lambda impl, s, m: impl.deleverage(s, "alice", m),
    "socialize_loss": lambda impl, s, m: impl.socialize_loss(s, m, 1),
    "apply_funding": lambda impl, s, m: impl.apply_funding(s, m, 1),
}


@pytest.mark.parametrize("call", MARKET_CALLS, ids=list(MARKET_CALLS))
@pytest.mark.parametrize("market_id", NOT_MARKETS, ids=[repr(m) for m in NOT_MARKETS])
def test_a_market_not_in_the_profile_is_unknown_market_LIQ_RESULT_2(impl, call, market_id):
    """UNKNOWN_MARKET (a domain error) for any ID the profile lacks, a list or a dict included
    (never a bare TypeError), and before NO_POSITION: the price queries used to answer an unknown
    market with NO_POSITION, as if the account merely held none there."""
    state = venue(deposits={"alice": usdt("1000"), "bob": usdt("1000")})
    open_long(state, "alice", "bob", "BTC", 10)
    before = state.snapshot()
    with pytest.raises(UnknownMarket) as raised:
        MARKET_CALLS[call](impl, state, market_id)
    assert raised.value.code == ResultCode.UNKNOWN_MARKET
    assert state.snapshot() == before


def test_a_known_market_without_a_position_is_still_no_position_LIQ_PRICE_1_LIQ_PRICE_2(impl):
    state = venue(deposits={"alice": usdt("1000"), "bob": usdt("1000")})
    open_long(state, "alice", "bob", "BTC", 10)
    for query in (impl.liquidation_price, impl.bankruptcy_price):
        with pytest.raises(Rejection) as refused:
            query(state.account("alice"), "ETH", state.marks, state.profile)
        assert refused.value.code == ResultCode.NO_POSITION
