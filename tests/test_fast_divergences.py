"""The documented differences between liqspec.fast and liqspec.reference (docs/engine.rst,
"Divergences"), each pinned: the reference's outcome, the fast path's, and that nothing else
differs.

The example venue EX (liqspec.testing): a BTC lot at a BTC tick is worth 100 quote quantums; BTC's first
tier has a maintenance rate of 0.4% (4,000 ppm) and no minimum.
"""

from dataclasses import replace
from fractions import Fraction

import pytest

from liqspec.fast.compare import FAST, REFERENCE, expected_fast, outcome
from liqspec.reference import Account, Overflow
from liqspec.reference.profile import validate_profile
from liqspec.testing import EXAMPLE_MARKS, example_profile, usdt, venue

PROFILE = example_profile()
OVERFLOW = {"error": "Overflow", "code": "OVERFLOW"}


def test_a_threshold_price_beyond_int64_is_overflow_on_the_fast_path_only_LIQ_PRICE_1_LIQ_PRICE_2():
    """A long of 2^62 lots with a quote of -1 quantum: its bankruptcy price is -C / (s x m) =
    1 / (2^62 x 100) tick (LIQ-PRICE-1), rounded up to 1 tick for a long (LIQ-PRICE-3); its
    liquidation price (LIQ-PRICE-2, first tier, no minimum) solves -1 + N - N x 0.004 = 0, so
    N = 10^6 / 996,000 = 250 / 249 and the price is 250 / (249 x 2^62 x 100) = 5 / (249 x 2^63)
    in lowest terms. The reference reports both exactly; their denominators leave int64, so the
    fast path answers Overflow, and expected_fast maps the reference's outcome to exactly that."""
    account = Account("a", quote=-1, positions={"BTC": 2**62})
    assert PROFILE.market("BTC").value_per_lot_tick == 100
    bankruptcy = REFERENCE.bankruptcy_price(account, "BTC", EXAMPLE_MARKS, PROFILE)
    assert (bankruptcy.ticks, bankruptcy.exact) == (1, Fraction(1, 2**62 * 100))
    liquidation = REFERENCE.liquidation_price(account, "BTC", EXAMPLE_MARKS, PROFILE)
    assert (liquidation.ticks, liquidation.exact) == (1, Fraction(5, 249 * 2**63))
    assert min(2**62 * 100, 249 * 2**63) > 2**63 - 1  # neither denominator fits int64
    for op, call in (("bankruptcy_price", lambda impl: impl.bankruptcy_price),
                     ("liquidation_price", lambda impl: impl.liquidation_price)):
        want = outcome(lambda: call(REFERENCE)(account, "BTC", EXAMPLE_MARKS, PROFILE))
        assert "ok" in want
        with pytest.raises(Overflow):
            call(FAST)(account, "BTC", EXAMPLE_MARKS, PROFILE)
        assert expected_fast(op, want) == OVERFLOW
        assert outcome(lambda: call(FAST)(account, "BTC", EXAMPLE_MARKS, PROFILE)) == OVERFLOW
    # one lot: the same account's prices fit, and both implementations report them alike
    small = Account("b", quote=-1, positions={"BTC": 1})
    for op, name in (("bankruptcy_price", "bankruptcy_price"),
                     ("liquidation_price", "liquidation_price")):
        want = outcome(lambda: getattr(REFERENCE, name)(small, "BTC", EXAMPLE_MARKS, PROFILE))
        assert expected_fast(op, want) == want
        assert outcome(lambda: getattr(FAST, name)(small, "BTC", EXAMPLE_MARKS, PROFILE)) == want


@pytest.mark.parametrize("change", ["min_maint_margin", "backstop_ratio"])
def test_a_profile_parameter_beyond_int64_is_refused_when_packed_LIQ_DOMAIN_1(change):
    """The reference's profile domain (LIQ-DOMAIN-2) bounds neither BTC's minimum maintenance
    margin nor the backstop ratio's terms; the fast path packs them as int64 (liqspec.fast.pack)
    and refuses a profile where they do not fit, with Overflow, even for a deposit, which reads
    neither: the reference deposits, the fast path raises and changes nothing. A ratio whose
    terms fit after reduction, (2^63, 2^64) = 1 / 2, packs."""
    btc = PROFILE.market("BTC")
    if change == "min_maint_margin":
        profile = replace(PROFILE, markets={**PROFILE.markets,
                                            "BTC": replace(btc, min_maint_margin_quote=2**63)})
    else:
        profile = replace(PROFILE, backstop_ratio=(2**63, 2**63 + 1))  # coprime: no reduction
    validate_profile(profile)  # inside the reference's domain
    states = {name: venue(profile=profile, deposits={"alice": usdt("1")})
              for name in ("reference", "fast")}
    assert REFERENCE.deposit(states["reference"], "alice", 5).code.name == "OK"
    before = states["fast"].snapshot()
    with pytest.raises(Overflow):
        FAST.deposit(states["fast"], "alice", 5)
    assert states["fast"].snapshot() == before
    reduced = replace(PROFILE, backstop_ratio=(2**63, 2**64))
    validate_profile(reduced)
    state = venue(profile=reduced, deposits={"alice": usdt("1")})
    assert FAST.deposit(state, "alice", 5).code.name == "OK"
