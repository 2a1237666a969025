"""The trigger at equality (LIQ-TRIGGER-3): the reference's rule, the liquidation price that
goes with it, and the compiled engine, kernels, state files, codec and explain agreeing with it."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

import liqspec.codec as codec
import liqspec.fast as fast
from liqspec import statefile
from liqspec.explain import explain_loaded, render_text
from liqspec.fast.compare import FAST, REFERENCE, divergences
from liqspec.fast.difftest import KINDS, check_example, kind_of
from liqspec.reference import (Account, LiqspecError, Overflow, Tier, Trigger,
                               account_initial_margin_quote, account_maintenance_margin_quote,
                               equity_quote, is_below_backstop, is_liquidatable, liquidation_price,
                               trigger_equity_quote)
from liqspec.statefile import StateFileError
from liqspec.testing import EXAMPLE_MARKS, example_profile, venue
from liqspec.testing.cases import (Case, random_adl_cascade, random_cascade, random_case,
                                   random_operations)

BELOW = example_profile()
AT = replace(BELOW, trigger="at_or_below")


def usdt(amount: int) -> int:
    return amount * 10**6


def _at_equality(profile, extra_quote: int = 0, backstop=None) -> tuple:
    """A cross account long 1 BTC and short 20 ETH whose equity is its maintenance requirement
    plus ``extra_quote`` quantums, at the example marks."""
    profile = replace(profile, backstop_ratio=backstop)
    state = venue(profile=profile)
    account = Account("t", quote=0, positions={"BTC": 1_000, "ETH": -20_000})
    gap = account_maintenance_margin_quote(account, state.marks, profile) - equity_quote(
        account, state.marks, profile)
    state.accounts["t"] = replace(account, quote=gap + extra_quote)
    return state, state.accounts["t"]


@pytest.mark.rule("LIQ-TRIGGER-3")
@pytest.mark.parametrize("impl", [REFERENCE, FAST], ids=["reference", "fast"])
def test_equality_liquidates_only_under_at_or_below_LIQ_TRIGGER_3(impl):
    """At equity == maintenance the strict trigger (LIQ-TRIGGER-1) holds off and at_or_below
    liquidates; one quantum more, neither does; one less, both do. The backstop threshold stays
    strict under both."""
    for extra, strict, inclusive in ((-1, True, True), (0, False, True), (1, False, False)):
        for profile, expected in ((BELOW, strict), (AT, inclusive)):
            state, account = _at_equality(profile, extra)
            assert impl.is_liquidatable(account, state) is expected, (profile.trigger, extra)
    assert trigger_equity_quote(7, AT) == 6 and trigger_equity_quote(7, BELOW) == 7
    # the backstop threshold (LIQ-TRIGGER-2), equity at exactly 1/2 of maintenance: strict under
    # both triggers, one quantum less is below it
    for profile in (BELOW, AT):
        state, account = _at_equality(profile, 0, backstop=(1, 2))
        maintenance = account_maintenance_margin_quote(account, state.marks, state.profile)
        assert maintenance % 2 == 0
        for extra, below in ((0, False), (-1, True)):
            state, account = _at_equality(profile, extra - maintenance // 2, backstop=(1, 2))
            assert 2 * equity_quote(account, state.marks, state.profile) == maintenance + 2 * extra
            assert is_below_backstop(account, state) is below


def test_a_position_less_account_is_never_liquidatable_LIQ_TRIGGER_3():
    """Equity 0 and maintenance 0 are equal, but no requirement means nothing to liquidate."""
    state = venue(profile=AT)
    state.accounts["flat"] = Account("flat", quote=0)
    assert not is_liquidatable(state.accounts["flat"], state)
    assert not FAST.is_liquidatable(state.accounts["flat"], state)


@pytest.mark.rule("LIQ-TRIGGER-3")
@pytest.mark.rule("LIQ-PRICE-2")
@pytest.mark.parametrize("size, quote_usdt", [(1_000, -40_000), (-1_000, 60_000),
                                              (7_000, -280_000), (-20_000, 1_200_000)])
def test_the_liquidation_price_is_the_inclusive_trigger_in_ticks_LIQ_TRIGGER_3(size, quote_usdt):
    """The liquidation price under at_or_below is the root for one quantum less equity (a long's a
    little higher than the strict trigger's, a short's a little lower), the same on both
    implementations, and in ticks it is exactly where the inclusive trigger flips: liquidatable
    at a mark if and only if the mark has crossed it, one tick either side of it."""
    state = venue(profile=AT)
    account = Account("t", quote=usdt(quote_usdt), positions={"BTC": size})
    state.accounts["t"] = account
    at = liquidation_price(account, "BTC", state.marks, AT)
    strict = liquidation_price(account, "BTC", state.marks, BELOW)
    assert (at.exact > strict.exact) if size > 0 else (at.exact < strict.exact)
    fast_at = FAST.liquidation_price(account, "BTC", state.marks, AT)
    assert (fast_at.exact, fast_at.ticks) == (at.exact, at.ticks)
    for mark in (at.ticks - 1, at.ticks, at.ticks + 1):
        state.marks["BTC"] = mark
        assert is_liquidatable(account, state) is at.crossed(mark), mark


@pytest.mark.rule("LIQ-TRIGGER-3")
def test_queries_at_equality_agree_on_both_implementations_LIQ_TRIGGER_3():
    """Every query (health, flags, liquidation and bankruptcy prices, sizes) on accounts at,
    one quantum above and one below equality, cross and isolated, under both triggers."""
    for profile in (BELOW, AT):
        accounts = []
        for k, extra in enumerate((-1, 0, 1)):
            _, account = _at_equality(profile, extra)
            accounts.append(replace(account, account_id=f"x{k}"))
        case = Case(0, profile, dict(EXAMPLE_MARKS), accounts, 100, {"BTC": 0, "ETH": 0})
        assert divergences(case) == [], profile.trigger


@pytest.mark.rule("LIQ-TRIGGER-3")
@pytest.mark.parametrize("scale", [1, 10**7], ids=["64-bit path", "checked path"])
def test_the_kernels_flag_equality_under_at_or_below_LIQ_TRIGGER_3(scale):
    """The batch kernels (health and the flags alone), on positions small enough for the 64-bit
    path and large enough for the checked one: the flag at equality follows the trigger."""
    for profile, expected in ((BELOW, [True, False, False]), (AT, [True, True, False])):
        state = venue(profile=profile)
        for k, extra in enumerate((-1, 0, 1)):
            account = Account(f"x{k}", quote=0, positions={"BTC": 1_000 * scale,
                                                            "ETH": -20_000 * scale})
            gap = account_maintenance_margin_quote(account, state.marks, profile) - \
                equity_quote(account, state.marks, profile)
            state.accounts[f"x{k}"] = replace(account, quote=gap + extra)
        tables = fast.tables_for(profile)
        arrays = fast.pack_state(state, tables)
        equity, maintenance, flags = fast.health(arrays.quote, arrays.lots, arrays.marks, tables)
        assert list(equity - maintenance) == [-1, 0, 1]
        assert [bool(f) for f in flags] == expected, profile.trigger
        assert [bool(f) for f in fast.liquidatable_flags(arrays.quote, arrays.lots,
                                                         arrays.marks, tables)] == expected


def _has_at_or_below(seed: int) -> bool:
    kind = kind_of(seed)
    case = {"queries": lambda: random_case(seed, leverage=True),
            "operations": lambda: random_operations(seed, leverage=True)[0],
            "cascade": lambda: random_cascade(seed)[0],
            "adl": lambda: random_adl_cascade(seed)[0]}[kind]()
    return case.profile.trigger == Trigger.AT_OR_BELOW


@pytest.mark.rule("LIQ-TRIGGER-3")
def test_at_or_below_examples_agree_on_both_implementations_LIQ_TRIGGER_3():
    """Difftest examples whose venue liquidates at equality, 15 of each kind: no divergence."""
    wanted = {kind: 15 for kind in KINDS}
    seed = 0
    while any(wanted.values()) and seed < 2_000:  # the trigger is drawn one time in four
        seed += 1
        if wanted[kind_of(seed)] and _has_at_or_below(seed):
            kind, _, divergence = check_example(seed)
            assert divergence is None, (seed, divergence)
            wanted[kind] -= 1
    assert not any(wanted.values()), wanted


def test_the_generators_reach_accounts_at_equality_under_at_or_below_LIQ_TRIGGER_3():
    """The query and operation generators put accounts exactly at maintenance; with at_or_below
    drawn, the campaign compares the inclusive trigger where it differs from the strict one."""
    hits = {"queries": 0, "operations": 0}
    for seed in range(300):
        for kind, case in (("queries", random_case(seed)), ("operations",
                                                            random_operations(seed)[0])):
            if case.profile.trigger != Trigger.AT_OR_BELOW:
                continue
            state = case.state()
            for account in state.accounts.values():
                try:
                    maintenance = account_maintenance_margin_quote(account, state.marks,
                                                                   state.profile)
                    equity = equity_quote(account, state.marks, state.profile)
                except Overflow:  # an int64-edge account
                    continue
                hits[kind] += maintenance > 0 and equity == maintenance
    assert all(count >= 3 for count in hits.values()), hits



def test_the_query_generator_draws_the_trigger_with_no_accounts_too_LIQ_TRIGGER_3():
    """A case of no accounts still draws its trigger (and raises nothing): the account the
    trigger moves to equality is only chosen where there is one."""
    triggers = {random_case(seed, n_accounts=0).profile.trigger for seed in range(40)}
    assert triggers == {"below", "at_or_below"}

# -- state files, the codec and explain ----------------------------------------------------------

def _document(**venue_fields) -> dict:
    return {"venue": {"name": "okx-like", "quote_decimals": 6, **venue_fields, "markets": {
                "BTC": {"base_decimals": 3, "price_decimals": 1, "tiers": [
                    {"floor_notional": "0", "maint_margin_rate": "0.005", "maint_deduction": "0",
                     "init_margin_rate": "0.01", "init_deduction": "0"}]}}},
            "marks": {"BTC": "30000"},
            # 1 BTC long entered at the mark of 30,000 on a balance of 150 USDT: equity and
            # maintenance (0.5%) both 150 USDT
            "accounts": [{"id": "t", "quote": "150", "positions": {"BTC": {
                "size": "1", "entry_price": "30000"}}}]}


@pytest.mark.rule("LIQ-TRIGGER-3")
def test_a_state_file_names_the_trigger_LIQ_TRIGGER_3():
    strict = statefile.loads(json.dumps(_document()))
    inclusive = statefile.loads(json.dumps(_document(trigger="at_or_below")))
    assert strict.state.profile.trigger == "below"
    assert inclusive.state.profile.trigger == "at_or_below"
    assert not is_liquidatable(strict.state.account("t"), strict.state)
    assert is_liquidatable(inclusive.state.account("t"), inclusive.state)
    text = render_text(explain_loaded(inclusive, "t"))
    assert "equity 150.00 <= maintenance 150.00" in text, text
    assert "liquidated at or below maintenance" in text
    assert "equity 150.00 >= maintenance 150.00" in render_text(explain_loaded(strict, "t"))
    # the rule IDs each line cites: LIQ-TRIGGER-3 only where the venue liquidates at equality
    for loaded, rules in ((strict, ["LIQ-TRIGGER-1"]), (inclusive, ["LIQ-TRIGGER-1",
                                                                      "LIQ-TRIGGER-3"])):
        account = explain_loaded(loaded, "t")["accounts"][0]
        assert account["status"]["rules"] == account["margin_ratio"]["rules"] == rules
        assert ("LIQ-TRIGGER-3" in account["free_collateral"]["rules"]) is (len(rules) == 2)


@pytest.mark.parametrize("value", ["equal", "", 1, None, ["at_or_below"]])
def test_a_bad_trigger_is_a_typed_error_naming_the_field_LIQ_TRIGGER_3(value):
    with pytest.raises(StateFileError) as caught:
        statefile.loads(json.dumps(_document(trigger=value)))
    assert caught.value.path == "venue.trigger"


def test_the_codec_carries_the_trigger_LIQ_TRIGGER_3():
    assert codec.profile_to_json(AT)["trigger"] == "at_or_below"
    assert codec.profile_from_json(codec.profile_to_json(AT)) == AT
    assert codec.profile_from_json(codec.profile_to_json(BELOW)).trigger == "below"


# -- the margin checks: one quantum more (LIQ-TRIGGER-3 with LIQ-TRADE-2 and LIQ-MARGIN-5) --------

#: the example venue with BTC's initial rate equal to its maintenance rate (0.5%): an account
#: that meets initial exactly sits at maintenance
EQUAL = replace(BELOW, markets={**BELOW.markets, "BTC": replace(
    BELOW.market("BTC"), tiers=(Tier(0, 5_000, 0, 5_000, 0),))})


def _outcome(call) -> str:
    try:
        call()
        return "OK"
    except LiqspecError as error:
        return error.code.name


@pytest.mark.rule("LIQ-TRIGGER-3")
@pytest.mark.parametrize("impl", [REFERENCE, FAST], ids=["reference", "fast"])
def test_a_withdrawal_asks_one_quantum_more_under_at_or_below_LIQ_TRIGGER_3(impl):
    """Free collateral is equity less initial margin, and under at_or_below less one quantum
    above maintenance where that is more (here IM = MM): withdrawing all of it leaves the account
    above maintenance, never at it (where it would be liquidated at once). A flat account's is
    its whole quote."""
    for trigger, slack in (("below", 0), ("at_or_below", 1)):
        profile = replace(EQUAL, trigger=trigger)
        state = venue(profile=profile)
        account = Account("t", quote=0, positions={"BTC": 1_000})
        initial = account_initial_margin_quote(account, state.marks, profile)
        assert initial == account_maintenance_margin_quote(account, state.marks, profile) > 0
        state.accounts["t"] = replace(account, quote=initial - equity_quote(
            account, state.marks, profile) + 5)
        state.accounts["flat"] = Account("flat", quote=7)
        assert impl.free_collateral_quote(state, state.accounts["t"]) == 5 - slack
        assert impl.free_collateral_quote(state, state.accounts["flat"]) == 7
        copy = state.copy()
        assert _outcome(lambda: impl.withdraw(copy, "t", 5)) == (
            "OK" if trigger == "below" else "INSUFFICIENT_FREE_COLLATERAL")
        assert _outcome(lambda: impl.withdraw(state, "t", 5 - slack)) == "OK"
        assert not impl.is_liquidatable(state.accounts["t"], state)


@pytest.mark.rule("LIQ-TRIGGER-3")
@pytest.mark.rule("LIQ-MARGIN-5")
def test_the_free_collateral_kernel_asks_one_quantum_more_under_at_or_below_LIQ_TRIGGER_3():
    """The batch kernel, row by row against the reference's free_collateral_quote: an account at
    IM = MM (EQUAL's one rate) 5 quantums above it, one with IM above MM + 1 (the example
    profile's initial rate is above its maintenance rate), one under water and a flat one. Under
    at_or_below only the first loses a quantum; without the rule it would keep all five."""
    from liqspec.reference import free_collateral_quote
    for trigger, slack in (("below", 0), ("at_or_below", 1)):
        for base in (EQUAL, BELOW):
            profile = replace(base, trigger=trigger)
            state = venue(profile=profile)
            for name, extra in (("t", 5), ("sunk", -3)):
                account = Account(name, quote=0, positions={"BTC": 1_000})
                initial = account_initial_margin_quote(account, state.marks, profile)
                state.accounts[name] = replace(account, quote=initial - equity_quote(
                    account, state.marks, profile) + extra)
            state.accounts["flat"] = Account("flat", quote=7)
            names = ["t", "sunk", "flat"]
            tables = fast.tables_for(profile)
            arrays = fast.pack_accounts([state.accounts[n] for n in names], state.marks, tables)
            oi = fast.open_interest_quotes(fast.pack_state(state, tables).lots, arrays.marks,
                                           tables)
            free = fast.free_collateral_quotes(arrays.quote, arrays.lots, arrays.marks, tables,
                                               oi)
            assert list(free) == [free_collateral_quote(state, state.accounts[n])
                                  for n in names]
            shift = slack if base is EQUAL else 0  # IM = MM only in EQUAL
            assert list(free) == [5 - shift, -3 - shift, 7], (trigger, base is EQUAL)


@pytest.mark.rule("LIQ-TRIGGER-3")
@pytest.mark.parametrize("impl", [REFERENCE, FAST], ids=["reference", "fast"])
def test_a_trade_asks_one_quantum_more_under_at_or_below_LIQ_TRIGGER_3(impl):
    """A trade that leaves equity exactly at initial margin (= maintenance here) passes under the
    strict trigger and is refused under at_or_below; one quantum more passes, healthy."""
    for trigger in ("below", "at_or_below"):
        profile = replace(EQUAL, trigger=trigger)
        for extra in (0, 1):
            state = venue(profile=profile)
            mark = state.marks["BTC"]
            initial = account_initial_margin_quote(Account("x", positions={"BTC": 1_000}),
                                                   state.marks, profile)
            state.accounts["b"] = Account("b", quote=initial + extra)
            state.accounts["s"] = Account("s", quote=usdt(10**6))
            code = _outcome(lambda: impl.trade(state, "b", "s", "BTC", 1_000, mark))
            if trigger == "below" or extra:
                assert code == "OK" and not impl.is_liquidatable(state.accounts["b"], state)
            else:
                assert code == "INSUFFICIENT_INITIAL_MARGIN"
