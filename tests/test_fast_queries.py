"""liqspec.fast.queries against the reference: the tier and requirements of a notional
(LIQ-TIER-1/2/3/4), the liquidation size (LIQ-EXEC-1) and fee (LIQ-FEE-1) of a step, the
deleveraging allocation (LIQ-ADL-2) and what a bankrupt account receives (LIQ-ADL-4).

Hand cases on the boundaries the compiled arithmetic turns on, then hypothesis over every venue
profile (and the socializing one) and over generated profiles (every sizing, fee and ranking
policy): each query gives the reference's result, or the same typed error with the same result
code, and leaves the state as it was.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liqspec import codec
from liqspec import reference as ref
from liqspec.conformance.catalogue import REFERENCE
from liqspec.conformance.vectors import _random, example_profiles, venue_state
from liqspec.fast import queries
from liqspec.testing.cases import random_case
from liqspec.reference.arithmetic import INT64_MAX, INT64_MIN
from liqspec.reference.errors import LiqspecError, Overflow, ResultCode, UnknownMarket
from liqspec.reference.profiles import PROFILES
from liqspec.reference.state import TRADER

PROFILE_NAMES = sorted(PROFILES)
ALL_PROFILES = [PROFILES[n] for n in PROFILE_NAMES] + example_profiles()


def outcome(function, *args):
    """A call's result, or its error as (type name, result code): what must agree."""
    try:
        return ("ok", function(*args))
    except (LiqspecError, ArithmeticError) as error:
        code = getattr(error, "code", None)
        return ("error", type(error).__name__, None if code is None else code.name)


def snapshot(state):
    return codec.state_to_json(state, journal=True)


def both(name, state, *args):
    """The query on the reference and on liqspec.fast; the fast one must change nothing."""
    before = snapshot(state)
    fast = outcome(getattr(queries, name), *args)
    assert snapshot(state) == before, f"{name} changed the state"
    return outcome(getattr(REFERENCE, name), *args), fast


def agree(name, state, *args):
    expected, got = both(name, state, *args)
    assert got == expected, (name, args)
    return got


def every_query(state, notionals=(), fee_args=()):
    """Every query of this module on every trader and market of ``state``; returns how many
    answered with a value (so a test can tell it judged something)."""
    answered = 0
    for market_id in state.profile.markets:
        for notional in notionals:
            for name, args in (("maintenance_requirement", (notional,)),
                               ("initial_requirement", (notional, notional // 3))):
                answered += agree(name, state, state, market_id, *args)[0] == "ok"
        for args in fee_args:
            answered += agree("liquidation_fee", state, state, market_id, *args)[0] == "ok"
        for account in state.accounts.values():
            if account.role != TRADER:
                continue
            answered += agree("liquidation_size_lots", state, account, market_id, state)[0] == "ok"
            held = abs(account.position(market_id))
            if held:  # a flat subject: the flat-position test below
                answered += agree("adl_allocation", state, state, account, market_id)[0] == "ok"
            for lots in {1, held, held // 2}:
                answered += agree("adl_receive_quote", state, account, market_id, lots,
                                  state)[0] == "ok"
    return answered


# -- hand cases -------------------------------------------------------------------------------

@pytest.mark.parametrize("profile", ALL_PROFILES, ids=lambda p: p.name)
def test_LIQ_TIER_1_requirements_at_every_tier_floor_of_every_profile(profile):
    state = venue_state(profile)
    for market in profile.markets.values():
        for index, tier in enumerate(market.tiers):
            floor = tier.floor_notional_quote
            for notional in {max(floor - 1, 0), floor, floor + 1}:
                got = agree("maintenance_requirement", state, state, market.market_id, notional)
                # the floor itself is in its tier, one below it is in the one before
                if notional == floor and floor > 0:
                    assert got[1]["tier"] == index
                if notional == floor - 1:
                    assert got[1]["tier"] == index - 1
                agree("initial_requirement", state, state, market.market_id, notional, floor)
        agree("maintenance_requirement", state, state, market.market_id, INT64_MAX)
        agree("initial_requirement", state, state, market.market_id, INT64_MAX, INT64_MAX)


def test_LIQ_TIER_1_a_negative_notional_is_in_the_base_tier_on_both():
    profile = PROFILES["binance_usdm"]
    state = venue_state(profile)
    market_id = next(iter(profile.markets))
    got = agree("maintenance_requirement", state, state, market_id, INT64_MIN)
    assert got[0] == "ok" and got[1]["tier"] == 0
    assert got[1]["maint_margin_quote"] == profile.markets[market_id].min_maint_margin_quote


def test_LIQ_EXEC_1_sizes_of_the_venue_boundary_accounts():
    """Every step size in 1..|position|; under account_share (LIQ-SHARE-2) no step of one
    market exists, and both refuse it POLICY_FORBIDS."""
    for profile in ALL_PROFILES:
        state = venue_state(profile, stressed=True)
        for account in state.accounts.values():
            for market_id in account.positions:
                got = agree("liquidation_size_lots", state, account, market_id, state)
                if profile.liquidation_size == "account_share":
                    assert got == ("error", "Rejection", ResultCode.POLICY_FORBIDS.name)
                    continue
                assert got[0] == "ok" and 1 <= got[1] <= abs(account.position(market_id))


def test_LIQ_FEE_1_a_gain_beyond_128_bits_is_capped_by_the_surplus_as_in_the_reference():
    """side x lots x m x (price x den - num) leaves 128 bits: the gain is then far above any
    int64 surplus, so the fee is the whole surplus (long, above B) or nothing (below B)."""
    profile = next(p for p in ALL_PROFILES if p.fee_policy == "all_surplus")
    state = venue_state(profile)
    market_id = next(iter(profile.markets))
    # gain = 1 x (2^63 - 1) x m x ((2^63 - 1) x 1 - 0) / 1 > 2^126 x m
    assert agree("liquidation_fee", state, state, market_id, 1, INT64_MAX, INT64_MAX, 0, 1,
                 777) == ("ok", 777)
    assert agree("liquidation_fee", state, state, market_id, -1, INT64_MAX, INT64_MAX, 0, 1,
                 777) == ("ok", 0)
    # a small gain: 3 lots, price 10, B = 19/2: gain = 3 x m x (10 - 9.5) = 1.5 m, rounded up
    m = profile.markets[market_id].value_per_lot_tick
    fee = agree("liquidation_fee", state, state, market_id, 1, 3, 10, 19, 2, 10**18)
    assert fee == ("ok", -(-3 * m // 2))
    # the denominator is checked before anything else, as the catalogue's wrapper does
    assert agree("liquidation_fee", state, state, "no-such-market", 1, 1, 1, 1, 0, 1)[1] == \
        "MalformedState"


def test_LIQ_FEE_1_rate_policy_notional_overflow_is_overflow_on_both():
    profile = next(p for p in ALL_PROFILES if p.fee_policy == "rate")
    state = venue_state(profile)
    market_id = next(iter(profile.markets))
    got = agree("liquidation_fee", state, state, market_id, 1, INT64_MAX, INT64_MAX, 0, 1, 5)
    assert got == ("error", "Overflow", ResultCode.OVERFLOW.name)


def test_LIQ_FEE_1_the_step_and_the_query_charge_the_same_fee():
    """liquidate's fee (the engine's fee_quote inside liquidate_step) equals the query's at the
    account's bankruptcy price: one source for the rule."""
    from liqspec import fast
    for profile in ALL_PROFILES:
        if profile.liquidation_size == "account_share":  # no step of one market (LIQ-SHARE-2)
            continue
        state = venue_state(profile)
        account = state.accounts["below_mm"]
        market_id = next(iter(account.positions))
        position = account.position(market_id)
        bankruptcy = ref.bankruptcy_price(account, market_id, state.marks, profile).exact
        price = state.marks[market_id]
        size = ref.liquidation_size_lots(account, market_id, state)
        delta = ref.insurance_fund_delta_quote(account, market_id, size, price, state)
        before = state.copy()
        receipt = fast.liquidate(state, "below_mm", market_id, "book", price)
        surplus, lots = receipt.amounts["surplus"], receipt.amounts["lots"]
        args = (state, market_id, 1 if position > 0 else -1, lots, price,
                bankruptcy.numerator, bankruptcy.denominator, surplus)
        if profile.fee_policy == "per_fill":  # the fee is LIQ-FEE-2's delta, not LIQ-FEE-1's
            assert receipt.amounts["fee"] == max(delta, 0), profile.name
            assert receipt.amounts["fund_delta"] == delta, profile.name
            assert agree("liquidation_fee", state, *args) == (
                "error", "Rejection", ResultCode.POLICY_FORBIDS.name)
            continue
        if profile.fee_policy == "liquidator_and_fund":  # LIQ-FEE-3 and LIQ-FEE-4's fees
            assert receipt.amounts == ref.liquidate(
                before, "below_mm", market_id, "book", price).amounts, profile.name
            assert agree("liquidation_fee", state, *args) == (
                "error", "Rejection", ResultCode.POLICY_FORBIDS.name)
            continue
        assert receipt.amounts["fee"] == queries.liquidation_fee(*args), profile.name


def test_LIQ_ADL_2_a_thin_opposite_side_lists_everyone_as_the_reference_does():
    """The ranking index only says the opposite side is too thin; the query still lists what
    the reference returns then: every opposite trader with all its lots, in ranking order."""
    for profile in ALL_PROFILES:
        state = venue_state(profile, stressed=True)
        deep = state.accounts["deep"]
        market_id = next(iter(deep.positions))
        side = 1 if deep.position(market_id) > 0 else -1
        deep.positions[market_id] = side * 10**12  # more than the whole opposite side holds
        expected, got = both("adl_allocation", state, state, deep, market_id)
        assert got == expected, profile.name
        if got[0] == "ok":
            assert 0 < sum(lots for _, lots in got[1]) < 10**12


@pytest.mark.parametrize("ranking", ["pro_rata", "seeded"])
def test_LIQ_ADL_2_a_flat_position_has_the_references_allocation(ranking):
    """Flat: the reference's candidates are the flat traders (pro rata lists each with 0). (A
    scored ranking makes the reference divide by a flat candidate's zero leverage: an exception
    that is no result code, which the conformance harness sets apart as the reference's.)"""
    from dataclasses import replace
    profile = replace(PROFILES["dydx_v4"], adl_ranking=ranking)
    state = venue_state(profile)
    market_id = next(iter(profile.markets))
    flat = state.accounts["flat"]
    assert flat.position(market_id) == 0
    expected, got = both("adl_allocation", state, state, flat, market_id)
    assert got == expected
    if ranking == "pro_rata":
        assert got[1] and all(lots == 0 for _, lots in got[1])
    else:
        assert got == ("ok", [])


def test_LIQ_ADL_4_lots_that_carry_the_position_past_int64_are_overflow():
    profile = PROFILES["dydx_v4"]
    state = venue_state(profile, stressed=True)
    account = state.accounts["bankrupt"]
    market_id = next(iter(account.positions))
    got = agree("adl_receive_quote", state, account, market_id, INT64_MIN, state)
    assert got[:2] == ("error", "Overflow")
    # and the whole position closes at its bankruptcy value: equity after is exactly zero
    held = abs(account.position(market_id))
    assert agree("adl_receive_quote", state, account, market_id, held, state)[0] == "ok"


def test_LIQ_ADL_4_all_of_a_position_of_minus_2_63_lots_is_overflow():
    """Closing all of a position of -2^63 lots is 2^63 lots, outside int64: OVERFLOW on both
    (LIQ-DOMAIN-1), as the reference's every other count of lots is, where the reference
    answered -(2^63 - 1). The generated venue a random seed of the test below found it on
    (a market of mark 1 and one quote unit per lot tick, so that nothing else overflows); one
    lot fewer is answered alike, with a value."""
    state = random_case(1139057, n_accounts=4).state()
    account = state.accounts["a1"]
    assert (account.positions, account.quote, state.marks["M1"]) == (
        {"M1": INT64_MIN}, INT64_MAX, 1)  # the case as found
    got = agree("adl_receive_quote", state, account, "M1", 2**63, state)
    assert got == ("error", "Overflow", ResultCode.OVERFLOW.name)
    assert agree("adl_receive_quote", state, account, "M1", 2**63 - 1, state)[0] == "ok"


def test_unknown_market_and_out_of_domain_arguments_are_the_references_errors():
    state = venue_state(PROFILES["bybit"])
    account = state.accounts["below_mm"]
    for name, args in (("maintenance_requirement", (state, "nope", 1)),
                       ("initial_requirement", (state, "nope", 1, 0)),
                       ("liquidation_size_lots", (account, "nope", state)),
                       ("adl_receive_quote", (account, "nope", 1, state))):
        expected, got = both(name, state, *args)
        assert got == expected == ("error", "UnknownMarket", ResultCode.UNKNOWN_MARKET.name)
    with pytest.raises(Overflow):
        queries.maintenance_requirement(state, next(iter(state.profile.markets)), 2**63)


def test_an_engine_result_code_is_the_references_typed_error():
    state = venue_state(PROFILES["binance_usdm"])  # the rate policy: the notional is checked
    market_id = next(iter(state.profile.markets))
    with pytest.raises(Overflow) as caught:
        queries.liquidation_fee(state, market_id, 1, INT64_MAX, INT64_MAX, 0, 1, 1)
    assert caught.value.code == ResultCode.OVERFLOW
    with pytest.raises(UnknownMarket):
        queries.adl_allocation(state, state.accounts["below_mm"], "nope")


# -- hypothesis: both implementations on every profile -----------------------------------------

@settings(max_examples=40)
@given(profile=st.sampled_from(ALL_PROFILES), seed=st.integers(0, 2**32 - 1),
       notional=st.integers(0, INT64_MAX), fill=st.integers(1, 10**12),
       lots=st.integers(1, 10**9), num=st.integers(0, 10**15), den=st.integers(1, 10**6),
       surplus=st.integers(-10**9, 10**15))
def test_every_query_agrees_on_random_states_of_every_profile(profile, seed, notional, fill, lots,
                                                              num, den, surplus):
    state = next(_random(profile, seed, 1))[0]
    fee_args = [(side, lots, fill, num, den, surplus) for side in (1, -1)]
    assert every_query(state, (notional, notional // 7), fee_args) > 0


@settings(max_examples=40)
@given(seed=st.integers(0, 2**32 - 1), notional=st.integers(-10**6, INT64_MAX))
def test_every_query_agrees_on_generated_profiles(seed, notional):
    """Generated profiles: random tiers, minimums, open-interest scaling, and every sizing, fee,
    ranking and deleveraging-price policy."""
    scenario = random_case(seed, n_accounts=4)
    state = scenario.state()
    every_query(state, (notional,), [(1, 1, 1, 1, 1, 10**12)])  # each answer judged inside
