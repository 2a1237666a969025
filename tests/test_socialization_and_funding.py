"""Socialized loss and funding (LIQ-SOCIAL-2, LIQ-ROUND-3, LIQ-FUNDING-1/2)."""

import pytest

from liqspec.reference import (FEE_SINK, FUNDING_POOL, SOCIALIZED_LOSS, InvalidRate, InvalidSize,
                               Rejection, ResultCode, funding_owed_quote)
from liqspec.reference.invariants import all_violations
from liqspec.testing import open_long, example_profile, usdt, venue


def with_bad_debt(impl, policy="socialize"):
    """alice long 1 BTC from 50,000 with 1,000 USDT, liquidated at 48,960: 40 USDT of bad debt."""
    state = venue(example_profile(bad_debt_policy=policy),
                  deposits={"alice": usdt("1000"), "bob": usdt("100000"), "carol": usdt("100000"),
                            "lp": usdt("1000000")})
    open_long(state, "alice", "lp", "BTC", 1000)
    open_long(state, "lp", "bob", "BTC", 2000)
    open_long(state, "lp", "carol", "BTC", 1000)
    impl.set_mark(state, "BTC", 489_600)
    impl.liquidate(state, "alice", "BTC", "lp", 489_600)
    assert state.holders[SOCIALIZED_LOSS] == -usdt("40")
    return state


def test_socialize_charges_one_side_pro_rata_rounding_up_LIQ_SOCIAL_2_LIQ_ROUND_3(impl):
    state = with_bad_debt(impl)
    bob, carol = state.account("bob").quote, state.account("carol").quote
    receipt = impl.socialize_loss(state, "BTC", -1)
    # bob holds 2 of the 3 short BTC: ceil(40 x 2/3) = 26.666667; carol ceil(40/3) = 13.333334
    assert state.account("bob").quote == bob - usdt("26.666667")
    assert state.account("carol").quote == carol - usdt("13.333334")
    assert receipt.amounts["residual"] == 1  # one quantum over: swept to the fee sink
    assert state.holders[FEE_SINK] == 1 and state.holders[SOCIALIZED_LOSS] == 0
    assert all_violations(state) == []


def test_socialize_a_part_raises_the_holder_by_exactly_that_part_LIQ_SOCIAL_2(impl):
    """10 of the 40 USDT recorded, over the shorts: bob ceil(10 x 2/3) = 6.666667, carol
    ceil(10/3) = 3.333334; the one quantum over goes to the fee sink and 30 USDT stays
    recorded (a cascade charges each round's write-offs so, LIQ-CASCADE-2)."""
    state = with_bad_debt(impl)
    bob, carol = state.account("bob").quote, state.account("carol").quote
    receipt = impl.socialize_loss(state, "BTC", -1, usdt("10"))
    assert (bob - state.account("bob").quote, carol - state.account("carol").quote) \
        == (usdt("6.666667"), usdt("3.333334"))
    assert receipt.amounts == {"loss": usdt("10"), "charged": usdt("10") + 1, "residual": 1}
    assert state.holders[SOCIALIZED_LOSS] == -usdt("30") and state.holders[FEE_SINK] == 1
    assert all_violations(state) == []
    # the rest, named exactly, clears the holder; one quantum more is refused, nothing changed
    impl.socialize_loss(state, "BTC", -1, usdt("30"))
    assert state.holders[SOCIALIZED_LOSS] == 0


@pytest.mark.parametrize("part, error, code", [
    (usdt("40") + 1, Rejection, ResultCode.NOTHING_TO_SOCIALIZE),
    (0, InvalidSize, ResultCode.INVALID_SIZE),
    (-1, InvalidSize, ResultCode.INVALID_SIZE),
])
def test_socialize_a_part_beyond_the_recorded_debt_is_refused_LIQ_SOCIAL_2(impl, part, error,
                                                                            code):
    state = with_bad_debt(impl)
    before = state.snapshot()
    with pytest.raises(error) as refused:
        impl.socialize_loss(state, "BTC", -1, part)
    assert refused.value.code == code
    assert state.snapshot() == before


@pytest.mark.parametrize("setup, side, code", [
    ("adl_profile", -1, ResultCode.POLICY_FORBIDS),
    ("no_debt", -1, ResultCode.NOTHING_TO_SOCIALIZE),
    ("nobody_on_side", 1, ResultCode.NO_SOCIALIZATION_BASE),
])
def test_socialize_rejections_LIQ_SOCIAL_2(impl, setup, side, code):
    if setup == "adl_profile":
        state = with_bad_debt(impl, "adl")
    elif setup == "no_debt":
        state = venue(example_profile(bad_debt_policy="socialize"))
    else:
        state = with_bad_debt(impl)
        state.account("lp").role = "backstop"  # lp is the only long; a backstop vault is not charged
    before = state.snapshot()
    with pytest.raises(Rejection) as error:
        impl.socialize_loss(state, "BTC", side)
    assert error.value.code == code
    assert state.snapshot() == before


@pytest.mark.parametrize("side", [2, -2])
def test_socialize_side_must_be_a_side_or_both_LIQ_SOCIAL_2(impl, side):
    state = with_bad_debt(impl)
    before = state.snapshot()
    with pytest.raises(InvalidSize):
        impl.socialize_loss(state, "BTC", side)
    assert state.snapshot() == before


@pytest.mark.parametrize("policy", ["socialize", "socialize_both_sides"])
def test_socialize_both_sides_charges_every_holder_pro_rata_LIQ_SOCIAL_2(impl, policy):
    """Side 0 charges the longs and the shorts together, under either socializing policy: lp is
    long 3 BTC (alice's 1 taken over, and 2 from bob), bob short 2 and carol short 1, so the 40
    USDT falls 20 / 13.333334 / 6.666667 (ceil(40 x 3/6), ceil(40 x 2/6), ceil(40 x 1/6)), one
    quantum over, swept."""
    state = with_bad_debt(impl, policy)
    quote = {a: state.account(a).quote for a in ("lp", "bob", "carol")}
    receipt = impl.socialize_loss(state, "BTC", 0)
    assert [(t.source, t.amount_quote) for t in receipt.entries if t.rule_id == "LIQ-SOCIAL-2"] \
        == [("bob", usdt("13.333334")), ("carol", usdt("6.666667")), ("lp", usdt("20"))]
    assert {a: quote[a] - state.account(a).quote for a in quote} \
        == {"lp": usdt("20"), "bob": usdt("13.333334"), "carol": usdt("6.666667")}
    assert receipt.amounts == {"loss": usdt("40"), "charged": usdt("40") + 1, "residual": 1}
    assert state.holders[SOCIALIZED_LOSS] == 0 and state.holders[FEE_SINK] == 1
    assert all_violations(state) == []


def test_drift_resolve_perp_bankruptcy_example_LIQ_SOCIAL_2(impl):
    """Drift v2, programs/drift/src/controller/liquidation/tests.rs
    ``successful_resolve_perp_bankruptcy``: a bankrupt user with 100 USDC of loss (quote -100,
    no position), the insurance fund empty, the market's longs 5 base and shorts 5 base. The
    cumulative funding rates move by ceil(100e6 x 1e9 / 10e9) x 1000 = 10e9 (10 USDC per base),
    the long's quote goes from -500 to -550 and the short's from 500 to 450: each pays 50 USDC.
    The model under ``socialize_both_sides``: the same 50 and 50, the loss cleared exactly.
    Source: https://github.com/drift-labs/protocol-v2/blob/0ae3e3b1db782a6765c3525b3dec38ad4d9d3a62/programs/drift/src/controller/liquidation/tests.rs
    (read 2026-12-06). Rules: LIQ-SOCIAL-1, LIQ-SOCIAL-2."""
    state = venue(example_profile(bad_debt_policy="socialize_both_sides"),
                  deposits={"user": usdt("900"), "long": usdt("10000"), "short": usdt("10000"),
                            "lp": usdt("1000000")})
    open_long(state, "user", "lp", "BTC", 1000)  # from 50,000: bankrupt below 49,100
    open_long(state, "long", "short", "BTC", 5000)
    impl.set_mark(state, "BTC", 490_000)
    impl.liquidate(state, "user", "BTC", "lp", 490_000)  # 1 BTC sold at 49,000: 100 USDT short
    assert state.account("user").quote == 0 and state.holders[SOCIALIZED_LOSS] == -usdt("100")
    # the user's long went to lp, which now holds it: charge the two holders Drift's test has
    state.account("lp").role = "backstop"  # not a trader, so not charged (as Drift's AMM)
    quote = {a: state.account(a).quote for a in ("long", "short")}
    impl.socialize_loss(state, "BTC", 0)
    assert {a: quote[a] - state.account(a).quote for a in quote} \
        == {"long": usdt("50"), "short": usdt("50")}
    assert state.holders[SOCIALIZED_LOSS] == 0 and state.holders[FEE_SINK] == 0


def test_funding_owed_rounds_against_the_account_LIQ_FUNDING_1():
    assert funding_owed_quote(150_000_300, 100) == 15_001  # owes 15,000.03: rounded up
    assert funding_owed_quote(-50_000_100, 100) == -5_000  # owed 5,000.01: rounded down
    assert funding_owed_quote(-150_000_300, -100) == 15_001  # a short pays when the rate is < 0
    assert funding_owed_quote(0, 100) == 0


def test_funding_exchange_and_residual_LIQ_FUNDING_1_LIQ_FUNDING_2(impl):
    state = venue(deposits={"alice": usdt("1000"), "bob": usdt("1000"), "carol": usdt("1000")})
    open_long(state, "alice", "bob", "BTC", 1)
    open_long(state, "alice", "carol", "BTC", 2)
    impl.set_mark(state, "BTC", 500_001)
    before = {a: state.account(a).quote for a in ("alice", "bob", "carol")}
    receipt = impl.apply_funding(state, "BTC", 100)  # 0.01%
    # alice's 3 lots at 50,000.1 are worth 150,000,300 quantums: owes 15,000.03 -> 15,001;
    # bob's 1 lot earns 5,000.01 -> 5,000 and carol's 2 lots 10,000.02 -> 10,000
    assert state.account("alice").quote == before["alice"] - 15_001
    assert state.account("bob").quote == before["bob"] + 5_000
    assert state.account("carol").quote == before["carol"] + 10_000
    assert receipt.amounts["residual"] == 1 and state.holders[FEE_SINK] == 1
    assert state.holders[FUNDING_POOL] == 0
    assert all_violations(state) == []


def test_funding_rate_domain_LIQ_FUNDING_1_LIQ_DOMAIN_3(impl):
    state = venue()
    for bad in (1_000_001, -1_000_001):
        with pytest.raises(InvalidRate):
            impl.apply_funding(state, "BTC", bad)


def test_funding_rate_bounds_are_inclusive_LIQ_FUNDING_1_LIQ_DOMAIN_3(impl):
    """A rate of exactly +-100% is in the domain. alice long 1 lot (0.001 BTC) from bob at
    50,000: the position is worth 1 x 500,000 x 100 = 50,000,000 quantums (50 USDT). At
    -1,000,000 ppm the short pays the long all of it; at +1,000,000 the long pays it back."""
    state = venue(deposits={"alice": usdt("1000"), "bob": usdt("1000")})
    open_long(state, "alice", "bob", "BTC", 1)
    before = {a: state.account(a).quote for a in ("alice", "bob")}
    impl.apply_funding(state, "BTC", -1_000_000)
    assert state.account("alice").quote == before["alice"] + usdt("50")
    assert state.account("bob").quote == before["bob"] - usdt("50")
    impl.apply_funding(state, "BTC", 1_000_000)
    assert {a: state.account(a).quote for a in ("alice", "bob")} == before
